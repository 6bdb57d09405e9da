"""Which condition carries the effect: Shapley values and factorial effects, known answers first."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.conditions import (
    CONDITIONS,
    ConditionsResult,
    factorial_effects,
    label,
    plan_conditions,
    run_conditions,
    shapley_values,
    subsets,
)
from experiments.errors import UsageError

TINY = {"n_residents": 150, "n_nonprofits": 6, "n_funders": 2, "steps": 6}


def synthetic_game(n=5, seed=0, three_way=True):
    """v(S) = constant + additive parts + two-way parts (+ one three-way part), per replication."""
    rng = np.random.default_rng(seed)
    reps = 4
    a = rng.normal(size=(n, reps))
    b = np.triu(rng.normal(size=(n, n, reps)).transpose(2, 0, 1), 1).transpose(1, 2, 0)
    c = rng.normal(size=reps) if three_way else np.zeros(reps)
    values = {}
    for pattern in subsets(n):
        s = np.array(pattern, dtype=float)
        v = 3.0 + (a * s[:, None]).sum(axis=0)
        for i, j in itertools.combinations(range(n), 2):
            v = v + b[i, j] * s[i] * s[j]
        v = v + c * s[0] * s[1] * s[2]
        values[pattern] = v
    return values, a, b, c


def test_shapley_values_equal_the_analytic_ones_of_a_game_with_interactions():
    """phi_i = a_i + half of i's two-way terms + a third of the three-way term it is in."""
    values, a, b, c = synthetic_game()
    phi = shapley_values(values)
    pairs = b + b.transpose(1, 0, 2)
    expected = a + pairs.sum(axis=1) / 2
    expected[:3] += c / 3
    np.testing.assert_allclose(phi, expected, atol=1e-12)
    everything, nothing = values[(1,) * 5], values[(0,) * 5]
    np.testing.assert_allclose(phi.sum(axis=0), everything - nothing, atol=1e-12)


def test_factorial_effects_recover_main_effects_and_interactions():
    """Main effect of i: a_i + half its two-way terms (others at 50%); interaction: b_ij / 2."""
    values, a, b, _ = synthetic_game(seed=1, three_way=False)
    effects = factorial_effects(values)
    pairs = b + b.transpose(1, 0, 2)
    for i, j in itertools.combinations(range(5), 2):
        np.testing.assert_allclose(effects[(i, j)], b[i, j] / 2, atol=1e-12)
    for i in range(5):
        np.testing.assert_allclose(effects[(i,)], a[i] + pairs[i].sum(axis=0) / 2, atol=1e-12)


def test_a_game_needs_every_coalition():
    values, *_ = synthetic_game()
    values.pop((1, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="32 coalitions"):
        shapley_values(values)


@pytest.fixture(scope="module")
def tiny_result() -> ConditionsResult:
    plan = plan_conditions("collective", reps=2, seed=5, params=TINY)
    return run_conditions(plan, progress=False)


def test_the_factorial_runs_all_32_combinations_in_the_same_communities(tiny_result):
    runs = tiny_result.runs
    assert len(runs) == 64 and runs["error"].isna().all()
    assert runs.groupby("replication")["seed"].nunique().eq(1).all()  # common seeds
    points = runs.groupby("point")[list(CONDITIONS)].first()
    patterns = {tuple(int(v > 0) for v in row) for row in points.to_numpy()}
    assert len(patterns) == 32
    assert (runs["regime"] == "collective").all()  # the grant practice stays


def test_shapley_values_add_up_to_all_five_minus_none(tiny_result):
    shapley = tiny_result.shapley().groupby("outcome")["value"].sum()
    totals = tiny_result.totals().set_index("outcome")["difference"]
    pd.testing.assert_series_equal(shapley, totals, check_names=False, atol=1e-9)
    table = tiny_result.shapley()
    assert list(table.columns) == ["condition", "outcome", "value", "low", "high"]
    assert ((table["low"] <= table["value"]) & (table["value"] <= table["high"])).all()


def test_labels_name_the_conditions_that_are_on():
    assert label((0, 0, 0, 0, 0)) == "none"
    assert label((1, 0, 0, 0, 1)) == "common_agenda+backbone"


def test_conditions_off_in_the_base_scenario_need_a_level():
    with pytest.raises(UsageError, match="off in the base scenario"):
        plan_conditions("isolated", reps=2, params=TINY)
    plan = plan_conditions("isolated", reps=2, params={**TINY, **dict.fromkeys(CONDITIONS, 1.0)})
    assert plan.levels == dict.fromkeys(CONDITIONS, 1.0)
    assert all(c not in plan.params for c in CONDITIONS)


def test_unknown_outcomes_are_refused():
    with pytest.raises(UsageError, match="--outcomes"):
        plan_conditions(reps=2, params=TINY, outcomes=["wellbeing"])


def test_cli_writes_the_tables_and_a_self_contained_report(tmp_path, capsys):
    out = tmp_path / "c"
    argv = ["conditions", "--reps", "2", "--jobs", "1", "--no-progress", "--out", str(out)]
    argv += [a for k, v in TINY.items() if k != "steps" for a in ("--set", f"{k}={v}")]
    argv += ["--steps", str(TINY["steps"])]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "all five minus none" in printed and "backbone" in printed
    shapley = pd.read_csv(out / "shapley.csv")
    assert set(shapley["condition"]) == set(CONDITIONS)
    assert set(shapley["outcome"]) == {"improvement_pct", "needle_moved"}
    assert len(pd.read_parquet(out / "factorial.parquet")) == 32
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert "accounts for" in (out / "report.md").read_text() or "no difference" in html
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "conditions" and manifest["status"] == "complete"
    parts = {p.name: p.read_bytes() for p in (out / "runs").glob("part-*.parquet")}
    assert main(argv) == 0  # the same command again resumes: no run is redone
    assert {p.name: p.read_bytes() for p in (out / "runs").glob("part-*.parquet")} == parts
