"""The EMA Workbench integration (experiments/ema.py) against the declarations and run_one."""

import math

import numpy as np
import pandas as pd
import pytest
from ema_workbench import (
    CategoricalParameter,
    IntegerParameter,
    Model,
    MultiprocessingEvaluator,
    RealParameter,
    ReplicatorModel,
    ScalarOutcome,
    SequentialEvaluator,
    perform_experiments,
)

from experiments.ema import (
    DEFAULT_GROUPS,
    REPLICATE,
    build_model,
    experiment_seed,
    replay,
)
from experiments.runner import run_one
from model.metrics import SUMMARY_OUTPUTS
from model.parameters import DEFAULTS, PARAMETERS, ParameterError, get_parameter

# A tiny world: the smallest sizes that still have a few organisations to compete.
TINY = {"n_residents": 40, "n_nonprofits": 4, "n_funders": 2}
STEPS = 6
SAMPLER = {"rng": 11}  # the ema_workbench sampler seed


def _tiny_model(**kwargs):
    return build_model("collective", steps=STEPS, fixed=TINY, **kwargs)


def _study(model, n=3, evaluator=None):
    return perform_experiments(model, scenarios=n, evaluator=evaluator,
                               uncertainty_sampling_kwargs=SAMPLER)


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float)
                      and math.isnan(a) and math.isnan(b))


def test_tiny_sizes_are_allowed():
    for name, value in TINY.items():
        assert get_parameter(name).minimum <= value


def test_default_uncertainties_are_the_declared_groups_with_declared_bounds():
    model = build_model()
    assert isinstance(model, Model) and not isinstance(model, ReplicatorModel)
    expected = [p for p in PARAMETERS if p.group in DEFAULT_GROUPS]
    assert {"condition", "community"} == set(DEFAULT_GROUPS)
    assert [u.name for u in model.uncertainties] == [p.name for p in expected]
    for p in expected:
        u = model.uncertainties[p.name]
        kind = {"int": IntegerParameter, "float": RealParameter}[p.kind]
        assert type(u) is kind
        assert (u.lower_bound, u.upper_bound) == (p.minimum, p.maximum)


def test_uncertainties_by_name_and_narrower_bounds():
    model = build_model(uncertainties={"regime": None, "n_domains": None,
                                       "initial_trust": (0.2, 0.4),
                                       "closure_months": (6, 18)})
    regime = model.uncertainties["regime"]
    assert type(regime) is CategoricalParameter
    assert [c.value for c in regime.categories] == list(get_parameter("regime").choices)
    n_domains = model.uncertainties["n_domains"]
    assert type(n_domains) is IntegerParameter
    assert (n_domains.lower_bound, n_domains.upper_bound) == (1, get_parameter("n_domains").maximum)
    trust = model.uncertainties["initial_trust"]
    assert type(trust) is RealParameter and (trust.lower_bound, trust.upper_bound) == (0.2, 0.4)
    closure = model.uncertainties["closure_months"]
    assert type(closure) is IntegerParameter
    assert (closure.lower_bound, closure.upper_bound) == (6, 18)

    subset = build_model(uncertainties={"regime": ("isolated", "collective")})
    assert [c.value for c in subset.uncertainties["regime"].categories] == ["isolated",
                                                                           "collective"]
    assert [u.name for u in build_model(uncertainties=["backbone"]).uncertainties] == ["backbone"]


def test_outcomes_are_the_declared_summary_outputs_with_their_direction():
    model = build_model()
    assert [o.name for o in model.outcomes] == list(SUMMARY_OUTPUTS)
    kinds = {"higher": ScalarOutcome.MAXIMIZE, "lower": ScalarOutcome.MINIMIZE,
             "neither": ScalarOutcome.INFO}
    for output in SUMMARY_OUTPUTS.values():
        outcome = model.outcomes[output.name]
        assert type(outcome) is ScalarOutcome
        assert outcome.kind == kinds[output.better], output.name
    assert model.outcomes["final_wellbeing"].kind == ScalarOutcome.MAXIMIZE
    assert model.outcomes["final_equity_gap"].kind == ScalarOutcome.MINIMIZE
    named = build_model(outcomes=["final_wellbeing", "needle_moved"])
    assert [o.name for o in named.outcomes] == ["final_wellbeing", "needle_moved"]


def test_constants_hold_fixed_values_steps_and_the_master_seed():
    model = build_model(steps=STEPS, fixed={**TINY, "seed": 5})
    constants = {c.name: c.value for c in model.constants}
    assert constants == {**TINY, "seed": 5, "steps": STEPS}
    assert {c.name: c.value for c in build_model().constants} == {"seed": DEFAULTS["seed"]}


@pytest.mark.parametrize("kwargs, named", [
    ({"uncertainties": ["common_agenda", "commn_agenda"]}, "commn_agenda"),
    ({"uncertainties": {"no_such_thing": (0, 1)}}, "no_such_thing"),
    ({"fixed": {"n_residentz": 10}}, "n_residentz"),
    ({"outcomes": ["final_wellbeing", "final_welbeing"]}, "final_welbeing"),
])
def test_unknown_names_are_refused_naming_them(kwargs, named):
    with pytest.raises(ParameterError, match=named) as info:
        build_model(**kwargs)
    assert "unknown" in str(info.value)


@pytest.mark.parametrize("kwargs, named", [
    ({"uncertainties": {"initial_trust": (0.5, 1.5)}}, "initial_trust"),  # wider than declared
    ({"uncertainties": {"initial_trust": (0.4, 0.2)}}, "initial_trust"),  # not increasing
    ({"uncertainties": {"regime": ("collective", "bogus")}}, "regime"),
    ({"uncertainties": ["seed"]}, "seed"),
    ({"uncertainties": ["backbone"], "fixed": {"backbone": 0.5}}, "backbone"),
    ({"fixed": {"n_residents": 0}}, "n_residents"),
    ({"steps": 6, "fixed": {"steps": 6}}, "steps"),
    ({"replications": 0}, "replications"),
])
def test_bad_values_are_refused_before_anything_runs(kwargs, named):
    with pytest.raises(ParameterError, match=named):
        build_model(**kwargs)


def test_unknown_scenario_is_refused():
    with pytest.raises(ParameterError, match="no_such_scenario"):
        build_model("no_such_scenario")


def test_experiment_seed_is_canonical_and_in_range():
    values = {"common_agenda": 0.25, "closure_months": 12}
    seed = experiment_seed(values)
    assert seed == experiment_seed({"closure_months": np.int64(12),
                                    "common_agenda": np.float64(0.25)})
    assert seed == experiment_seed({**values, "closure_months": 12.0})
    assert seed != experiment_seed(values, master_seed=DEFAULTS["seed"] + 1)
    assert seed != experiment_seed(values, replicate=1)
    assert seed != experiment_seed({**values, "common_agenda": 0.2500001})
    assert 0 <= seed <= get_parameter("seed").maximum
    with pytest.raises(ParameterError, match="bogus"):
        experiment_seed({"bogus": 1})


def test_study_outcomes_equal_run_one_with_the_same_parameters_and_seed():
    model = _tiny_model()
    experiments, outcomes = _study(model)
    assert isinstance(experiments, pd.DataFrame) and len(experiments) == 3
    names = [u.name for u in model.uncertainties]
    assert set(names) <= set(experiments.columns)
    assert set(outcomes) == set(SUMMARY_OUTPUTS)
    assert all(len(values) == 3 for values in outcomes.values())
    for i, row in experiments.iterrows():
        values = {name: row[name] for name in names}
        for name in names:  # the sampled values are inside the declared ranges
            assert get_parameter(name).validate(values[name]) == values[name]
        seed = experiment_seed(values)
        summary, _ = run_one("collective", seed, steps=STEPS, **TINY, **values)
        for name in SUMMARY_OUTPUTS:
            expected = summary[name]
            expected = math.nan if expected is None else expected
            assert _same(outcomes[name][i].item(), expected), (i, name)
        if "seed" in SUMMARY_OUTPUTS:  # the run seed is recorded exactly
            assert int(outcomes["seed"][i]) == seed
        replayed, series = replay(model, row)
        assert replayed == summary
        assert len(series) == STEPS + 1
    assert outcomes["needle_moved"].dtype == bool
    assert outcomes["final_wellbeing"].dtype == np.float64


def test_same_study_twice_gives_identical_outcomes():
    model = _tiny_model()
    ex1, out1 = _study(model)
    ex2, out2 = _study(model, evaluator=SequentialEvaluator(model))
    # Sample names ("scenario") come from EMA's process-wide counter; the values are the same.
    pd.testing.assert_frame_equal(ex1.drop(columns="scenario"), ex2.drop(columns="scenario"))
    assert out1.keys() == out2.keys()
    for name in out1:
        np.testing.assert_array_equal(out1[name], out2[name])
    assert len(set(out1["final_wellbeing"])) == 3  # different experiments, different runs


def test_other_scenario_and_master_seed():
    names = ["common_agenda", "regime"]
    model = build_model("isolated", uncertainties=names, steps=STEPS,
                        fixed={**TINY, "seed": 99}, outcomes=["final_wellbeing"])
    experiments, outcomes = _study(model, n=2)
    for i, row in experiments.iterrows():
        values = {name: row[name] for name in names}
        summary, _ = run_one("isolated", experiment_seed(values, master_seed=99),
                             steps=STEPS, **TINY, **values)
        assert outcomes["final_wellbeing"][i] == summary["final_wellbeing"]


def test_replicated_model_aggregates_runs_with_their_own_seeds():
    model = _tiny_model(replications=2, outcomes=["final_wellbeing", "needle_moved"])
    assert isinstance(model, ReplicatorModel)
    assert model.replications == [{REPLICATE: 0}, {REPLICATE: 1}]
    experiments, outcomes = _study(model, n=2)
    names = [u.name for u in model.uncertainties]
    for i, row in experiments.iterrows():
        values = {name: row[name] for name in names}
        runs = [run_one("collective", experiment_seed(values, replicate=r), steps=STEPS,
                        **TINY, **values)[0] for r in range(2)]
        assert runs[0]["final_wellbeing"] != runs[1]["final_wellbeing"]
        assert outcomes["final_wellbeing"][i] == pytest.approx(
            np.mean([r["final_wellbeing"] for r in runs]), abs=0, rel=1e-15)
        assert outcomes["needle_moved"][i] == np.mean([r["needle_moved"] for r in runs])
        assert replay(model, row, replicate=1)[0] == runs[1]
    assert "seed" not in {o.name for o in build_model(replications=2).outcomes}


# EMA starts its log-reader thread before forking the pool; the workers never touch it.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_multiprocessing_evaluator_gives_the_sequential_outcomes():
    model = _tiny_model()
    _, sequential = _study(model)
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        _, parallel = _study(model, evaluator=evaluator)
    for name in sequential:
        np.testing.assert_array_equal(sequential[name], parallel[name])
