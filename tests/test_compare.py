"""The funders' comparison: paired replications, statistics, files and the command line."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.compare import (
    Comparison,
    ComparisonPlan,
    mean_interval,
    median_months,
    plan_comparison,
    replication_seeds,
    run_comparison,
    share_interval,
)
from experiments.errors import UsageError
from experiments.runner import run_one
from model.core import CollectiveImpactModel
from model.metrics import SUMMARY_FIELDS
from model.parameters import PARAMETERS, ParameterError

TINY = {"n_residents": 300, "n_nonprofits": 12, "n_funders": 3, "steps": 12}
PAIR = ("isolated", "collective")


@pytest.fixture(scope="module")
def tiny_comparison() -> Comparison:
    """Two scenarios, three replications, a tiny world, run in this process."""
    return run_comparison(PAIR, reps=3, seed=7, jobs=1, params=TINY, progress=False)


# --- seeds and common random numbers ----------------------------------------------------
def test_replication_seeds_are_reproducible_distinct_and_valid():
    """The same master seed gives the same distinct seeds, each a valid declared seed."""
    seeds = replication_seeds(11, 20)
    assert seeds == replication_seeds(11, 20)
    assert len(set(seeds)) == 20
    assert seeds != replication_seeds(12, 20)
    assert replication_seeds(11, 5) == seeds[:5]  # adding replications keeps the first ones
    assert all(0 <= s <= 2**63 - 1 for s in seeds)


def test_replication_r_starts_from_the_same_world_in_every_scenario():
    """Common random numbers: same residents and same nonprofits' traits across scenarios."""
    seed = replication_seeds(3, 1)[0]
    worlds = [CollectiveImpactModel(name, rng=seed, **TINY) for name in
              ("isolated", "collective", "collective_unfunded_backbone", "funder_churn")]
    first = worlds[0]
    for other in worlds[1:]:
        np.testing.assert_array_equal(first.population.need, other.population.need)
        np.testing.assert_array_equal(first.population.marginalised,
                                      other.population.marginalised)
        traits = [(n.domain, n.effectiveness, n.pitch) for n in first.nonprofits]
        assert traits == [(n.domain, n.effectiveness, n.pitch) for n in other.nonprofits]


def test_every_scenario_of_a_replication_gets_the_same_seed(tiny_comparison):
    """The runs table pairs scenarios: one seed per replication, distinct across them."""
    runs = tiny_comparison.runs
    per_rep = runs.groupby("replication")["seed"].nunique()
    assert (per_rep == 1).all()
    assert runs.groupby("scenario")["seed"].nunique().eq(3).all()


def test_results_do_not_depend_on_the_number_of_workers(tiny_comparison):
    """Two worker processes give exactly the same tables as one."""
    parallel = run_comparison(PAIR, reps=3, seed=7, jobs=2, params=TINY, progress=False)
    pd.testing.assert_frame_equal(parallel.runs.drop(columns="elapsed_s"),
                                  tiny_comparison.runs.drop(columns="elapsed_s"))
    pd.testing.assert_frame_equal(parallel.timeseries, tiny_comparison.timeseries)


def test_a_run_of_the_comparison_is_reproduced_by_its_seed(tiny_comparison):
    """runs.parquet's seed reproduces that run alone (what cisim run --seed does)."""
    row = tiny_comparison.runs.iloc[-1]
    summary, _ = run_one(row["scenario"], int(row["seed"]), **TINY)
    assert summary["improvement_pct"] == row["improvement_pct"]
    assert summary["nonprofit_closures"] == row["nonprofit_closures"]


# --- tables -------------------------------------------------------------------------------
def test_runs_table_has_one_row_per_run_with_parameters_and_summary(tiny_comparison):
    """Scenario, replication, seed, every declared parameter and every summary field."""
    runs = tiny_comparison.runs
    assert len(runs) == 6
    assert list(runs["scenario"]) == ["isolated"] * 3 + ["collective"] * 3
    for column in ["scenario", "replication", "seed", *(p.name for p in PARAMETERS),
                   *SUMMARY_FIELDS]:
        assert column in runs.columns, column
    assert set(runs["regime"]) == {"isolated", "collective"}
    assert (runs["n_residents"] == 300).all()


def test_timeseries_holds_every_step_of_every_run(tiny_comparison):
    """One row per (scenario, replication, month 0..steps), with the spending columns."""
    ts = tiny_comparison.timeseries
    assert len(ts) == 6 * (TINY["steps"] + 1)
    assert ts.groupby(["scenario", "replication"])["step"].max().eq(TINY["steps"]).all()
    for column in ("spend_services", "spend_grant_seeking", "spend_meetings",
                   "spend_backbone", "community_wellbeing"):
        assert column in ts.columns


def test_summary_table_gives_intervals_that_contain_the_mean(tiny_comparison):
    """Per scenario: mean inside its interval, needle share in [0, 1]."""
    table = tiny_comparison.summary_table()
    assert list(table["scenario"]) == list(PAIR)
    assert (table["runs"] == 3).all()
    assert table["needle_share"].between(0, 1).all()
    for field in ("improvement_pct", "nonprofit_closures", "final_mean_trust"):
        assert (table[f"{field}_lo"] <= table[f"{field}_mean"] + 1e-12).all()
        assert (table[f"{field}_mean"] <= table[f"{field}_hi"] + 1e-12).all()


def _synthetic(offset: float) -> Comparison:
    """Two scenarios whose improvement differs by exactly ``offset`` in every replication."""
    base = np.array([3.0, 8.0, 12.0, 5.0])
    rows = []
    for name, shift, backbone in (("a", 0.0, 0.0), ("b", offset, 2e6)):
        for r, value in enumerate(base):
            rows.append({"scenario": name, "replication": r, "seed": r,
                         "improvement_pct": value + shift, "needle_moved": value + shift >= 10,
                         "months_to_needle": None, "backbone_spending": backbone,
                         "nonprofit_closures": 10.0 - shift})
    plan = ComparisonPlan(("a", "b"), 4, 0, {}, {"a": {}, "b": {}})
    return Comparison(plan, pd.DataFrame(rows), pd.DataFrame())


def test_contrasts_are_paired_differences_with_known_answers():
    """A constant paired shift gives that difference, a zero-width interval, P(better)=1."""
    c = _synthetic(2.5).contrasts("a").set_index("outcome")
    gain = c.loc["improvement_pct"]
    assert gain["scenario"] == "b" and gain["reference"] == "a"
    assert gain["mean_difference"] == pytest.approx(2.5)
    assert gain["difference_lo"] == pytest.approx(2.5)
    assert gain["difference_hi"] == pytest.approx(2.5)
    assert gain["prob_better"] == 1.0
    assert gain["difference_per_backbone_million"] == pytest.approx(2.5 / 2.0)
    closures = c.loc["nonprofit_closures"]
    assert closures["mean_difference"] == pytest.approx(-2.5)
    assert closures["prob_better"] == 1.0  # fewer closures is better
    backbone = c.loc["backbone_spending"]
    assert math.isnan(backbone["prob_better"])  # money has no better direction


def test_contrasts_refuse_a_reference_that_was_not_compared():
    """Asking for an unknown reference is a usage error naming the allowed ones."""
    with pytest.raises(UsageError, match="'a'"):
        _synthetic(1.0).contrasts("isolated")


def test_mean_interval_matches_the_student_t_formula():
    """Mean 2 and half-width t(0.975, 2) * s / sqrt(3) for 1, 2, 3."""
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3.0)
    assert (mean, lo, hi) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert mean_interval([0.0, 0.0, 3.0], bounds=(0.0, np.inf))[1] == 0.0  # clipped at 0


def test_share_interval_is_wilson():
    """0 of 10 has a lower end of 0 and upper end of about 0.278 (Wilson)."""
    share, lo, hi = share_interval(0, 10)
    assert share == 0.0 and lo == pytest.approx(0.0, abs=1e-12)
    assert hi == pytest.approx(0.2775, abs=1e-3)


def test_median_months_counts_never_as_later_than_any_month():
    """Two of three runs never moving the needle make the median 'never' (NaN)."""
    assert median_months(pd.Series([12, None, 30], dtype="Float64")) == 30
    assert math.isnan(median_months(pd.Series([12, None, None], dtype="Float64")))


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"reps": 1}, UsageError, "reps"),
    ({"scenarios": ["isolated", "isolated"]}, UsageError, "more than once"),
    ({"scenarios": []}, UsageError, "at least one"),
    ({"scenarios": ["isolated", "nonsense"]}, ParameterError, "nonsense"),
    ({"params": {"n_residents": -5}}, ParameterError, "n_residents"),
    ({"seed": -1}, ParameterError, "seed"),
])
def test_plan_refuses_bad_input_before_running(kwargs, error, match):
    """Every bad input is refused with a message naming it."""
    with pytest.raises(error, match=match):
        plan_comparison(**kwargs)


def test_cli_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    """Exit code 2, one line naming the problem, no output folder created."""
    out = tmp_path / "never"
    assert main(["compare", "--scenarios", "isolated,bogus", "--out", str(out)]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["compare", "--reps", "1", "--out", str(out)]) == 2
    assert main(["compare", "--jobs", "0", "--out", str(out)]) == 2
    assert main(["compare", "--reference", "hybrid", "--out", str(out)]) == 2
    assert main(["compare", "--set", "total_funding=-1", "--out", str(out)]) == 2
    assert not out.exists()


# --- the command end to end ---------------------------------------------------------------
def test_cli_writes_tables_and_a_self_contained_report(tmp_path, capsys):
    """cisim compare writes every file; report.html embeds every figure."""
    out = tmp_path / "cmp"
    args = ["compare", "--scenarios", "isolated,collective,funder_churn", "--reps", "2",
            "--jobs", "1", "--seed", "3", "--steps", "12", "--no-progress", "--out", str(out)]
    args += [a for k, v in TINY.items() if k != "steps" for a in ("--set", f"{k}={v}")]
    assert main(args) == 0
    assert "collective" in capsys.readouterr().out
    for name in ("runs.parquet", "timeseries.parquet", "summary.csv", "contrasts.csv",
                 "report.md", "report.html"):
        assert (out / name).stat().st_size > 0, name
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == ["churn.png", "contrasts.png", "equity_gap.png", "money.png",
                       "trust_alignment.png", "wellbeing.png"]
    md = (out / "report.md").read_text()
    for name in figures:
        assert f"figures/{name}" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    assert 'src="figures/' not in html
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["scenario"]) == ["isolated", "collective", "funder_churn"]
    contrasts = pd.read_csv(out / "contrasts.csv")
    assert set(contrasts["scenario"]) == {"collective", "funder_churn"}
    assert set(contrasts["reference"]) == {"isolated"}
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 6 and (runs["total_funding"] == runs["total_funding"].iloc[0]).all()
