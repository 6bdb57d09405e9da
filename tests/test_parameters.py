"""The parameter declarations and their validation."""

import math

import pytest

from model import CollectiveImpactModel, ParameterError
from model.parameters import PARAMETERS, parse_assignments, validate_parameters
from model.scenarios import NAMED_SCENARIOS, CollectiveImpactScenario, make_scenario


def test_every_default_is_valid():
    """The declared defaults pass their own validation."""
    assert validate_parameters({}) == {p.name: p.default for p in PARAMETERS}


def test_model_parameters_include_everything_model_md_lists():
    """MODEL.md section 3 parameters are all declared."""
    names = {p.name for p in PARAMETERS}
    for required in ("n_residents", "n_nonprofits", "n_funders", "n_domains",
                     "marginalised_share", "total_funding", "regime", "backbone_funding",
                     "initial_trust", "communication_frequency", "priority_cycle_years",
                     "resident_engagement", "measurement_quality", "complementarity",
                     "steps", "seed"):
        assert required in names


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"n_residents": 0}, "'n_residents': got 0; allowed: an integer from 1 to"),
        ({"initial_trust": 1.5}, "'initial_trust': got 1.5; allowed: a number from 0 to 1"),
        ({"initial_trust": math.nan}, "'initial_trust': got nan"),
        ({"total_funding": math.inf}, "'total_funding': got inf"),
        ({"n_nonprofits": 2.5}, "'n_nonprofits': got 2.5"),
        ({"n_nonprofits": "40"}, "'n_nonprofits': got '40'"),
        ({"n_funders": True}, "'n_funders': got True"),
        ({"regime": "market"}, "'regime': got 'market'; allowed: one of 'isolated'"),
        ({"trust": 0.5}, "unknown parameter 'trust'"),
    ],
)
def test_invalid_values_are_refused_with_name_value_and_range(params, fragment):
    """A bad value is refused before any run, with the parameter, value and allowed range."""
    with pytest.raises(ParameterError) as err:
        CollectiveImpactModel("collective", rng=1, **params)
    assert fragment in str(err.value)


def test_unknown_name_suggests_close_names():
    """A misspelt parameter name gets a suggestion."""
    with pytest.raises(ParameterError, match="did you mean initial_trust"):
        validate_parameters({"initial_trus": 0.2})


@pytest.mark.parametrize("name", ["", "nope", None])
def test_unknown_or_empty_scenario_is_refused(name):
    """Scenario names other than the presets are refused, listing the presets."""
    with pytest.raises(ParameterError, match=r"scenario: got .*allowed: one of 'isolated'"):
        make_scenario(name)


def test_whole_numbers_given_as_floats_are_accepted_for_integers():
    """3.0 is accepted where an integer is declared (as from a TOML or JSON file)."""
    assert validate_parameters({"n_funders": 3.0})["n_funders"] == 3


def test_parse_assignments_reads_command_line_values():
    """--set strings are parsed to the declared type."""
    assert parse_assignments(["n_funders=3", "regime=isolated", "initial_trust=0.25"]) == {
        "n_funders": 3, "regime": "isolated", "initial_trust": 0.25}
    with pytest.raises(ParameterError, match="name=value"):
        parse_assignments(["n_funders"])
    with pytest.raises(ParameterError, match="'initial_trust': got 'high'"):
        parse_assignments(["initial_trust=high"])


def test_named_scenarios_keep_total_funding_equal():
    """Every preset compares at the same money: none changes total_funding."""
    totals = {make_scenario(name).total_funding for name in NAMED_SCENARIOS}
    assert len(totals) == 1


def test_scenario_object_is_a_mesa_scenario_with_declared_fields():
    """model.scenario holds the typed Mesa Scenario built from the declarations."""
    model = CollectiveImpactModel("isolated", rng=3, n_residents=50, n_nonprofits=5)
    assert isinstance(model.scenario, CollectiveImpactScenario)
    assert model.scenario.regime == "isolated"
    assert model.scenario.n_residents == 50
    assert model.scenario.rng == 3
    again = CollectiveImpactModel(model.scenario, n_nonprofits=6)
    assert again.params["n_residents"] == 50 and again.params["n_nonprofits"] == 6
