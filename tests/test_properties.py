"""Property-based tests over the declared parameter space.

Strategies are generated from ``model.parameters.PARAMETERS``: every valid value a
strategy draws lies inside the declared range or choices, and every invalid one
outside it, so a change to the declarations changes what is tested. The only
numbers set here are caps on world size and horizon, which keep runs small; they
are checked to lie inside the declared ranges.
"""

from __future__ import annotations

import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_invariants import run_checked

from model.core import CollectiveImpactModel
from model.parameters import (
    PARAMETERS,
    PARAMETERS_BY_NAME,
    Parameter,
    ParameterError,
    parse_assignments,
    validate_parameters,
)
from model.scenarios import NAMED_SCENARIOS, make_scenario

#: Upper limits on world size and horizon for generated runs (test budget, not bounds).
FAST_CAPS = {"n_residents": 150, "n_nonprofits": 8, "n_funders": 4, "steps": 18}
SLOW_CAPS = {"n_residents": 600, "n_nonprofits": 30, "n_funders": 8, "steps": 60}
#: Keyword arguments of the model and of make_scenario that are not parameters.
CALL_KEYWORDS = ("scenario", "rng", "summary_reporters")

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=1000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- strategies built from the declarations ---------------------------------------------
def valid_values(p: Parameter, cap: float | None = None) -> st.SearchStrategy[Any]:
    """Any valid value of ``p`` (numbers up to ``cap`` when given)."""
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    hi = p.maximum if cap is None else min(p.maximum, cap)
    if p.kind == "int":
        return st.integers(int(p.minimum), int(hi))
    return st.floats(p.minimum, hi, allow_nan=False, allow_infinity=False)


@st.composite
def valid_worlds(draw: st.DrawFn, caps: dict[str, int]) -> tuple[str, dict[str, Any]]:
    """A named scenario and overrides: capped sizes, a seed, and any subset of the rest."""
    scenario = draw(st.sampled_from(sorted(NAMED_SCENARIOS)))
    params = {name: draw(valid_values(PARAMETERS_BY_NAME[name], cap))
              for name, cap in caps.items()}
    params["seed"] = draw(valid_values(PARAMETERS_BY_NAME["seed"]))
    for p in PARAMETERS:
        if p.name not in params:
            value = draw(st.none() | valid_values(p))  # None: keep the scenario's value
            if value is not None:
                params[p.name] = value
    return scenario, params


def out_of_range(p: Parameter) -> st.SearchStrategy[Any]:
    """Finite numbers just outside or far outside the declared range of ``p``."""
    lo, hi = p.minimum, p.maximum
    # Python compares floats with the (possibly huge) integer bounds exactly.
    below = st.floats(max_value=math.nextafter(float(lo), -math.inf), allow_nan=False,
                      allow_infinity=False).filter(lambda x: x < lo)
    above = st.floats(min_value=math.nextafter(float(hi), math.inf), allow_nan=False,
                      allow_infinity=False).filter(lambda x: x > hi)
    if p.kind == "int":
        below = below | st.integers(max_value=int(lo) - 1)
        above = above | st.integers(min_value=int(hi) + 1)
    return below | above


WRONG_TYPES = (st.text(max_size=5) | st.none() | st.booleans()
               | st.lists(st.integers(), max_size=2) | st.complex_numbers(max_magnitude=5))


def invalid_values(p: Parameter) -> st.SearchStrategy[Any]:
    """Values ``p`` must refuse: out of range, wrong type, NaN, infinity, bad choice."""
    if p.kind == "choice":
        allowed = set(p.choices or ())
        return (st.text(max_size=12).filter(lambda s: s not in allowed)
                | st.sampled_from(sorted(allowed)).map(str.upper).filter(
                    lambda s: s not in allowed)
                | st.integers() | st.floats() | st.none() | st.booleans()
                | st.lists(st.sampled_from(sorted(allowed)), min_size=1, max_size=2))
    non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
    strategy = out_of_range(p) | non_finite | WRONG_TYPES.filter(
        lambda v: not isinstance(v, int | float) or isinstance(v, bool))
    if p.kind == "int":
        strategy |= st.floats(float(p.minimum), float(p.maximum)).filter(
            lambda x: not x.is_integer())
    return strategy


def invalid_texts(p: Parameter) -> st.SearchStrategy[str]:
    """Command-line texts (``--set name=TEXT``) that ``p`` must refuse."""
    letters = st.text(string.ascii_letters + "_- ", min_size=1, max_size=10)
    if p.kind == "choice":
        return (letters | st.just("")).filter(lambda s: s.strip() not in (p.choices or ()))
    # Words never parse to a finite number; spelled-out NaN and infinity are refused too.
    spelled = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", ""])
    return out_of_range(p).map(repr) | letters | spelled


@st.composite
def invalid_assignments(draw: st.DrawFn) -> tuple[Parameter, Any]:
    """A declared parameter and a value it must refuse."""
    p = draw(st.sampled_from(PARAMETERS))
    return p, draw(invalid_values(p))


#: Names that collide with attributes of the scenario object or look like parameters.
TRICKY_NAMES = ["", "name", "_preset", "_scenario_id", "model", "Steps", "n_residents ",
                "seeds", "regime_"]
unknown_names = st.text(max_size=20).filter(
    lambda s: s not in PARAMETERS_BY_NAME and s not in CALL_KEYWORDS)


def assert_names(exc: ParameterError, p: Parameter) -> None:
    """The message names the parameter and what is allowed."""
    message = str(exc)
    assert f"'{p.name}'" in message, message
    assert p.allowed in message, message


# --- the caps themselves are valid -------------------------------------------------------
@pytest.mark.parametrize("caps", [FAST_CAPS, SLOW_CAPS])
def test_caps_lie_inside_the_declared_ranges(caps):
    """The world-size caps are valid values, so generated worlds never leave the space."""
    for name, cap in caps.items():
        p = PARAMETERS_BY_NAME[name]
        assert p.minimum <= cap <= p.maximum


# --- valid worlds run and keep every invariant -------------------------------------------
@FAST
@given(world=valid_worlds(FAST_CAPS))
def test_any_valid_world_keeps_every_invariant(world):
    """Valid parameters run; money, ranges, finiteness and agent counts hold every month."""
    scenario, params = world
    run_checked(scenario, **params)


@pytest.mark.slow
@SLOW
@given(world=valid_worlds(SLOW_CAPS))
def test_any_valid_world_keeps_every_invariant_long(world):
    """The same invariants over 1,000 generated worlds, larger and longer."""
    scenario, params = world
    run_checked(scenario, **params)


# --- invalid values are refused with a message that names them ---------------------------
def _check_refusal(p: Parameter, value: Any) -> None:
    with pytest.raises(ParameterError) as exc:
        validate_parameters({p.name: value})
    assert_names(exc.value, p)
    with pytest.raises(ParameterError) as exc:
        make_scenario("collective", **{p.name: value})
    assert_names(exc.value, p)
    with pytest.raises(ParameterError) as exc:
        CollectiveImpactModel("isolated", **{p.name: value})
    assert_names(exc.value, p)


@FAST
@given(case=invalid_assignments())
def test_invalid_value_is_refused_naming_parameter_and_range(case):
    """Out of range, wrong type, NaN, infinity or a bad choice: refused, named, range given."""
    _check_refusal(*case)


@pytest.mark.slow
@SLOW
@given(case=invalid_assignments())
def test_invalid_value_is_refused_naming_parameter_and_range_long(case):
    """The same refusal over 1,000 generated invalid values."""
    _check_refusal(*case)


@pytest.mark.parametrize("p", [p for p in PARAMETERS if p.is_numeric], ids=lambda p: p.name)
def test_nan_and_infinity_refused_for_every_numeric_parameter(p):
    """Every numeric parameter refuses NaN, +inf and -inf, whichever entry point."""
    for value in (math.nan, math.inf, -math.inf):
        _check_refusal(p, value)


@pytest.mark.parametrize("p", PARAMETERS, ids=lambda p: p.name)
def test_bounds_are_inclusive(p):
    """The declared minimum and maximum (or every choice) are themselves accepted."""
    values = p.choices if p.kind == "choice" else (p.minimum, p.maximum)
    for declared in values:
        value = int(declared) if p.kind == "int" else declared
        assert validate_parameters({p.name: value}, complete=False) == {p.name: value}


@FAST
@given(data=st.data())
def test_invalid_command_line_text_is_refused(data):
    """``--set name=TEXT`` with an unparsable, non-finite or out-of-range TEXT is refused."""
    p = data.draw(st.sampled_from(PARAMETERS))
    text = data.draw(invalid_texts(p))
    with pytest.raises(ParameterError) as exc:
        parse_assignments([f"{p.name}={text}"])
    assert_names(exc.value, p)


@FAST
@given(data=st.data())
def test_valid_command_line_text_round_trips(data):
    """``--set name=repr(value)`` gives back the valid value that was written."""
    p = data.draw(st.sampled_from(PARAMETERS))
    value = data.draw(valid_values(p))
    text = value if p.kind == "choice" else repr(value)
    assert parse_assignments([f"{p.name}={text}"]) == {p.name: value}


def _check_unknown_name(name: str) -> None:
    for call in (lambda: validate_parameters({name: 1}),
                 lambda: make_scenario("collective", **{name: 1}),
                 lambda: CollectiveImpactModel("collective", **{name: 1})):
        with pytest.raises(ParameterError) as exc:
            call()
        assert repr(name) in str(exc.value) and "allowed" in str(exc.value)


@FAST
@given(name=unknown_names)
def test_unknown_parameter_name_is_refused(name):
    """A name that is not declared is refused by name, pointing at the allowed list."""
    _check_unknown_name(name)


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_names_of_scenario_internals_are_refused_as_unknown(name):
    """Names the scenario object uses itself are refused as unknown, not crashed on."""
    _check_unknown_name(name)


@FAST
@given(name=st.text(max_size=20).filter(lambda s: s not in NAMED_SCENARIOS)
       | st.sampled_from(["", " ", "Collective", "collective ", "ISOLATED"]))
def test_unknown_or_empty_scenario_is_refused(name):
    """An empty or unknown scenario name is refused, listing every named scenario."""
    for call in (lambda: make_scenario(name), lambda: CollectiveImpactModel(name)):
        with pytest.raises(ParameterError) as exc:
            call()
        message = str(exc.value)
        assert "scenario" in message and repr(name) in message
        assert all(repr(s) in message for s in NAMED_SCENARIOS), message


@pytest.mark.parametrize("scenario", [None, 0, 1.5, ["collective"], b"collective"])
def test_scenario_of_wrong_type_is_refused(scenario):
    """A scenario that is neither a name nor a scenario object is refused cleanly."""
    with pytest.raises(ParameterError, match="scenario"):
        make_scenario(scenario)
