"""The break-even search: targets, the crossing, its interval, refusals and the command."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.breakeven import (
    Target,
    first_crossing,
    parse_target,
    plan_breakeven,
    run_breakeven,
)
from experiments.cli import main
from experiments.errors import UsageError
from model.parameters import ParameterError

TINY = {"n_residents": 300, "n_nonprofits": 12, "n_funders": 3, "steps": 6}


def test_parse_target_accepts_flags_and_thresholds():
    """needle_moved alone; numeric outputs with >= or <= and a number."""
    assert parse_target("needle_moved") == Target("needle_moved", "true")
    assert parse_target("improvement_pct>=15") == Target("improvement_pct", ">=", 15.0)
    assert parse_target(" nonprofit_closures <= 3.5 ") == Target("nonprofit_closures", "<=",
                                                                 3.5)


@pytest.mark.parametrize(("text", "match"), [
    ("improvement_pct", "give a threshold"),
    ("wellbeing_bliss", "unknown output"),
    ("improvement_pct>=lots", "not a number"),
    ("improvement_pct>=inf", "finite"),
    ("improvement_pct==3", "expected OUTPUT"),
])
def test_parse_target_refuses_what_it_cannot_check(text, match):
    """Each unusable target is refused with a message saying why."""
    with pytest.raises(UsageError, match=match):
        parse_target(text)


def test_target_treats_missing_values_as_not_met():
    """A run that never moved the needle has no months; it never meets a months target."""
    import pandas as pd

    met = Target("months_to_needle", "<=", 60).met(pd.Series([30, None, 90], dtype="Float64"))
    assert met.tolist() == [True, False, False]


def test_first_crossing_interpolates_between_the_values_around_it():
    """Known answers: interpolation, already met at the start, never met."""
    values = np.array([0.0, 1.0, 2.0, 3.0])
    assert first_crossing(values, np.array([0.0, 0.4, 0.8, 1.0]), 0.6) == pytest.approx(1.5)
    assert first_crossing(values, np.array([0.7, 0.4, 0.8, 1.0]), 0.6) == 0.0
    assert first_crossing(values, np.array([0.0, 0.7, 0.2, 1.0]), 0.6) == pytest.approx(
        1.0 - 0.1 / 0.7)  # the first crossing, not a later one
    assert math.isinf(first_crossing(values, np.array([0.0, 0.1, 0.2, 0.3]), 0.6))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"parameter": "regime"}, UsageError, "numeric"),
    ({"parameter": "backbone_fundng"}, ParameterError, "did you mean"),
    ({"low": 0.3, "high": 0.1}, UsageError, "below"),
    ({"high": 0.9}, ParameterError, "backbone_funding"),
    ({"probability": 0.0}, UsageError, "probability"),
    ({"probability": 1.5}, UsageError, "probability"),
    ({"points": 1}, UsageError, "points"),
    ({"reps": 1}, UsageError, "reps"),
    ({"params": {"backbone_funding": 0.1}}, UsageError, "cannot also be fixed"),
    ({"scenario": "utopia"}, ParameterError, "utopia"),
])
def test_plan_refuses_bad_input(kwargs, error, match):
    """Bad parameter, range, probability, counts or scenario: refused before any run."""
    options = {"parameter": "backbone_funding", "target": "needle_moved", **kwargs}
    with pytest.raises(error, match=match):
        plan_breakeven(**options)


def test_integer_parameters_get_distinct_whole_values():
    """Searching n_funders runs whole numbers only, each once, within the range."""
    plan = plan_breakeven("n_funders", "needle_moved", low=1, high=4, points=6)
    assert plan.grid() == [1, 2, 3, 4]
    assert all(isinstance(v, int) for v in plan.grid())


def test_search_finds_a_known_break_even_point():
    """Backbone spending over 6 months is backbone_funding x total_funding / 2, so
    'backbone_spending >= 55,000' first holds at backbone_funding = 0.022."""
    result = run_breakeven("backbone_funding", "backbone_spending>=55000", probability=0.5,
                           low=0.0, high=0.05, points=6, refine=3, reps=2, seed=5, jobs=1,
                           params=TINY, progress=False)
    assert result.status == "found"
    assert 0.02 < result.estimate <= 0.0225
    assert result.low <= result.estimate <= result.high
    values = result.curve["value"].tolist()
    assert values == sorted(values) and len(values) == 9  # 6 first-pass + 3 refined
    # every value ran the same replications with the same seeds (common random numbers)
    seeds = result.runs.groupby("value")["seed"].apply(tuple)
    assert seeds.nunique() == 1


def test_cli_writes_the_answer_the_curve_and_the_figure(tmp_path, capsys):
    """cisim breakeven writes breakeven.json, curve.csv, runs.parquet and a report."""
    out = tmp_path / "be"
    args = ["breakeven", "--param", "backbone_funding", "--target", "backbone_spending>=55000",
            "--range", "0,0.05", "--points", "3", "--refine", "2", "--reps", "2", "--jobs", "1",
            "--no-progress", "--out", str(out)]
    args += [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert main(args) == 0
    assert "backbone_funding" in capsys.readouterr().out
    record = json.loads((out / "breakeven.json").read_text())
    assert record["status"] == "found" and record["estimate"] is not None
    assert record["interval"][0] <= record["estimate"] <= record["interval"][1]
    for name in ("curve.csv", "runs.parquet", "report.md", "report.html",
                 "figures/response_curve.png"):
        assert (out / name).stat().st_size > 0, name
    assert "data:image/png;base64," in (out / "report.html").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "breakeven" and manifest["status"] == "complete"
    assert manifest["analysis_seeds"]["bootstrap"] == record["bootstrap_seed"]
    assert manifest["config"]["seed_policy"] == "common"
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == record["runs"] and runs["seed"].nunique() == 2


def test_an_interrupted_search_resumes_to_the_same_answer(tmp_path, capsys):
    """A folder holding only the first pass's runs completes to the uninterrupted answer."""
    args = ["breakeven", "--param", "backbone_funding", "--target", "backbone_spending>=55000",
            "--range", "0,0.05", "--points", "3", "--refine", "2", "--reps", "2", "--jobs", "1",
            "--no-progress"]
    args += [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    assert main([*args, "--out", str(tmp_path / "cut")]) == 0
    cut = tmp_path / "cut"
    parts = sorted((cut / "runs").glob("part-*.parquet"))
    assert len(parts) >= 2  # the grid, then the refinement
    parts[-1].unlink()  # as if killed before the refinement was written
    for name in json.loads((cut / "manifest.json").read_text())["outputs"]:
        (cut / name).unlink()
    assert main([*args, "--out", str(cut)]) == 0
    capsys.readouterr()
    assert (json.loads((cut / "breakeven.json").read_text())
            == json.loads((tmp_path / "whole" / "breakeven.json").read_text()))
    assert (cut / "curve.csv").read_bytes() == (tmp_path / "whole" / "curve.csv").read_bytes()


def test_cli_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    """Exit code 2 and no output folder for a bad target, range or parameter."""
    out = tmp_path / "never"
    for extra in (["--param", "regime", "--target", "needle_moved"],
                  ["--param", "backbone_funding", "--target", "improvement_pct"],
                  ["--param", "backbone_funding", "--target", "needle_moved", "--range", "a,b"],
                  ["--param", "backbone_funding", "--target", "needle_moved", "--jobs", "0"]):
        assert main(["breakeven", *extra, "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("cisim: error:") == 4
    assert not out.exists()
