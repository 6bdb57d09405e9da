"""Classroom helpers, the browser view's parameters and its asset list (no browser needed)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from experiments.classroom import (
    PredictionBook,
    place_predictions,
    predictions_figure,
    run_class_ensemble,
    scenario_gain,
)
from experiments.errors import UsageError
from model.parameters import ParameterError

TINY = {"n_residents": 150, "n_nonprofits": 8, "n_funders": 2, "steps": 12}


def test_predictions_parse_lines_and_mappings():
    """Class predictions are read from 'name: value' lines in the usual separators."""
    book = PredictionBook("gain", lower=-50, upper=50)
    book.add_many("# the class\nAna: 12\nBen 5,5\nGroup 2 = -3\nZoe, 20%\n\n")
    book.add_many({"Kim": 7})
    assert book.entries == {"Ana": 12.0, "Ben": 5.5, "Group 2": -3.0, "Zoe": 20.0, "Kim": 7.0}


@pytest.mark.parametrize("value", ["lots", math.nan, 51, -50.5, None])
def test_prediction_out_of_range_is_refused_with_its_name(value):
    """A bad prediction is refused naming the student, the value and the range."""
    book = PredictionBook("gain", lower=-50, upper=50)
    with pytest.raises(UsageError, match=r"Ana.*allowed: a number from -50 to 50"):
        book.add("Ana", value)


def test_one_bad_line_records_nothing():
    """A batch with one refused entry leaves the book unchanged."""
    book = PredictionBook("gain", lower=0, upper=10)
    book.add("Ana", 1)
    with pytest.raises(UsageError):
        book.add_many("Ben: 2\nCarl: 99")
    assert book.entries == {"Ana": 1.0}


def test_place_predictions_percentile_and_range():
    """Percentile is the share of simulated values below; 'inside' is the central 90%."""
    simulated = pd.Series(range(1, 101), dtype=float)  # 1..100
    placed = place_predictions(pd.DataFrame({"student": ["a", "b"], "prediction": [50.5, 99.5]}),
                               simulated).set_index("student")
    assert placed.loc["a", "percentile"] == pytest.approx(50.0)
    assert placed.loc["a", "inside"] and not placed.loc["b", "inside"]
    assert placed.loc["b", "error"] == pytest.approx(99.5 - 50.5)


def test_class_ensemble_is_the_same_for_the_same_class_seed():
    """Every machine with the class seed sees the same runs; another seed gives others."""
    first = run_class_ensemble(11, 2, **TINY)
    again = run_class_ensemble(11, 2, **TINY)
    other = run_class_ensemble(12, 2, **TINY)
    pd.testing.assert_series_equal(scenario_gain(first), scenario_gain(again))
    assert not scenario_gain(first).equals(scenario_gain(other))
    fig = predictions_figure(pd.DataFrame({"student": ["a"], "prediction": [0.0]}),
                             scenario_gain(first), xlabel="gain")
    assert fig.axes and fig.axes[0].get_xlabel() == "gain"


@pytest.mark.parametrize("simulated", [[1.0, 2.0, 3.0, 4.0], [0.5] * 3 + [2.0] * 7,
                                       list(range(60))])
def test_prediction_histogram_counts_runs_in_whole_numbers(simulated):
    """The histogram's y axis counts runs: every tick on it is a whole number."""
    fig = predictions_figure(pd.DataFrame({"student": ["a"], "prediction": [2.5]}),
                             simulated, xlabel="gain")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if low <= t <= high]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.parametrize("seed, reps, params, error", [
    (-1, 2, {}, UsageError), (1.5, 2, {}, UsageError), (1, 1, {}, UsageError),
    (1, 2, {"n_residents": 0}, ParameterError), (1, 2, {"bogus": 1}, ParameterError),
])
def test_class_ensemble_refuses_bad_input(seed, reps, params, error):
    """Bad seeds, counts and parameters are refused before any run."""
    with pytest.raises(error):
        run_class_ensemble(seed, reps, **{**TINY, **params})


def test_required_browser_packages_come_from_solara():
    """The offline asset list names Solara's application bundle, RequireJS and the grid."""
    from experiments.web_assets import required_packages, uses_vue3

    packages = required_packages()
    app = "@widgetti/solara-vuetify3-app@" if uses_vue3() else "@widgetti/solara-vuetify-app@"
    assert any(p.startswith(app) for p in packages)
    assert any(p.startswith("requirejs@") for p in packages)
    assert all("@" in p.lstrip("@") for p in packages)
