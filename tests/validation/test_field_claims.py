"""Does the model reproduce what the field reports about isolated and collective impact?

Each test states its statistical criterion and checks it on paired replications
(replication r of every regime starts from the same community) of default-size
worlds, never on one lucky seed. Run with ``pytest -m validation``.
"""

import numpy as np
import pytest
from scipy import stats

from experiments.compare import Comparison

pytestmark = pytest.mark.validation

ALPHA = 0.05  # significance level of every one-sided paired test here
NEEDLE_USUALLY = 0.70  # "moves the needle": in at least 70% of communities
NEEDLE_RARELY = 0.20  # "rarely does": in at most 20% of communities
LARGE_OVERHEAD = 0.10  # "a large share": at least a tenth of all nonprofit spending
CORRELATION_WINDOW = (13, 120)  # months averaged for money-effectiveness correlations


def _paired(c: Comparison, scenario: str, reference: str, outcome: str) -> np.ndarray:
    """Per replication: outcome in ``scenario`` minus outcome in ``reference``."""
    pair = c.paired(scenario, reference, outcome)
    return (pair[scenario] - pair[reference]).to_numpy()


def _greater(diff: np.ndarray) -> float:
    """One-sided p-value of a paired t-test that the mean difference is above 0."""
    if np.ptp(diff) == 0:
        return 0.0 if diff[0] > 0 else 1.0
    return float(stats.ttest_1samp(diff, 0.0, alternative="greater").pvalue)


def _check(criteria: dict[str, bool], report: str) -> None:
    """Fail naming every criterion that does not hold, with the measured values."""
    failed = [name for name, ok in criteria.items() if not ok]
    assert not failed, f"criteria not met: {'; '.join(failed)}. Measured: {report}"


def _series_mean(c: Comparison, scenario: str, column: str) -> np.ndarray:
    """Per replication: mean of a per-month output over CORRELATION_WINDOW."""
    ts = c.timeseries
    lo, hi = CORRELATION_WINDOW
    window = ts[(ts["scenario"] == scenario) & ts["step"].between(lo, hi)]
    return window.groupby("replication")[column].mean().sort_index().to_numpy()


def test_funded_collective_impact_moves_the_needle_far_more_often_than_isolated(
        field_comparison):
    """Claim 1. Criterion: with a funded backbone the needle (>= 10% within 10 years) moves
    in >= 70% of communities, under isolated impact at the same money in <= 20%, and an
    exact McNemar test on the paired communities rejects 'equally often' at 5%."""
    runs = field_comparison.runs
    moved = runs.pivot(index="replication", columns="scenario", values="needle_moved")
    collective = moved["collective"].astype(bool).to_numpy()
    isolated = moved["isolated"].astype(bool).to_numpy()
    only_collective = int(np.sum(collective & ~isolated))
    only_isolated = int(np.sum(isolated & ~collective))
    mcnemar = stats.binomtest(only_collective, only_collective + only_isolated, 0.5,
                              alternative="greater").pvalue if only_collective else 1.0
    report = (f"needle moved: collective {collective.mean():.0%}, isolated "
              f"{isolated.mean():.0%} of {collective.size}; McNemar p={mcnemar:.3g}")
    _check({"collective usually moves the needle": collective.mean() >= NEEDLE_USUALLY,
            "isolated rarely moves the needle": isolated.mean() <= NEEDLE_RARELY,
            "paired difference significant": mcnemar < ALPHA}, report)


def test_without_backbone_money_collective_impact_loses_most_of_its_advantage(
        field_comparison):
    """Claim 2. Criterion: the funded collective's paired advantage over isolated impact in
    wellbeing gain is significantly positive, the unfunded-backbone collective keeps at
    most half of it on average, and funding the backbone significantly beats not funding it
    (one-sided paired t-tests at 5%)."""
    c = field_comparison
    funded = _paired(c, "collective", "isolated", "improvement_pct")
    unfunded = _paired(c, "collective_unfunded_backbone", "isolated", "improvement_pct")
    backbone = _paired(c, "collective", "collective_unfunded_backbone", "improvement_pct")
    report = (f"advantage over isolated (percentage points): funded {funded.mean():+.2f}, "
              f"unfunded {unfunded.mean():+.2f}; funded minus unfunded {backbone.mean():+.2f} "
              f"(p={_greater(backbone):.3g})")
    _check({"funded collective beats isolated": _greater(funded) < ALPHA,
            "unfunded keeps at most half the advantage": unfunded.mean() <= 0.5 * funded.mean(),
            "funding the backbone beats not funding it": _greater(backbone) < ALPHA}, report)


def test_funder_priority_churn_raises_closures_and_lowers_impact(field_comparison):
    """Claim 3. Criterion: against isolated impact with the default priority cycle, yearly
    priority changes give more nonprofit closures and a smaller wellbeing gain in the same
    communities (one-sided paired t-tests at 5%)."""
    c = field_comparison
    closures = _paired(c, "funder_churn", "isolated", "nonprofit_closures")
    gain = _paired(c, "funder_churn", "isolated", "improvement_pct")
    report = (f"funder_churn minus isolated: closures {closures.mean():+.2f} "
              f"(p={_greater(closures):.3g}), wellbeing gain {gain.mean():+.2f} points "
              f"(p={_greater(-gain):.3g})")
    _check({"churn raises closures": _greater(closures) < ALPHA,
            "churn lowers the wellbeing gain": _greater(-gain) < ALPHA}, report)


def test_isolated_money_follows_pitch_and_shared_measurement_redirects_it(field_comparison):
    """Claim 4. Criteria: under isolated impact (a) the lower end of the 95% interval of the
    grant-seeking share of nonprofit spending is at least 10%; (b) over years 2-10 money
    received correlates more with grant-writing skill than with true effectiveness
    (paired over communities, one-sided t-test at 5%); (c) shared measurement raises the
    money-effectiveness correlation: collective impact with a funded backbone beats both
    isolated impact and collective impact without a backbone (paired, 5%)."""
    c = field_comparison
    runs = c.runs
    overhead = runs.loc[runs["scenario"] == "isolated", "grant_overhead_share"].to_numpy(float)
    low = stats.ttest_1samp(overhead, 0.0).confidence_interval(0.95).low
    pitch = _series_mean(c, "isolated", "funding_pitch_corr")
    effect = _series_mean(c, "isolated", "funding_effectiveness_corr")
    measured = _series_mean(c, "collective", "funding_effectiveness_corr")
    unmeasured = _series_mean(c, "collective_unfunded_backbone", "funding_effectiveness_corr")
    report = (f"isolated grant-seeking share {overhead.mean():.1%} (95% low end {low:.1%}); "
              f"isolated corr(money, pitch) {pitch.mean():+.2f} vs corr(money, "
              f"effectiveness) {effect.mean():+.2f}; corr(money, effectiveness) with shared "
              f"measurement {measured.mean():+.2f}, collective without backbone "
              f"{unmeasured.mean():+.2f}; p-values: pitch over effectiveness "
              f"{_greater(pitch - effect):.3g}, measured over isolated "
              f"{_greater(measured - effect):.3g}, measured over no backbone "
              f"{_greater(measured - unmeasured):.3g}")
    _check({"(a) grant seeking is a large share": low >= LARGE_OVERHEAD,
            "(b) money follows pitch more than effectiveness": _greater(pitch - effect) < ALPHA,
            "(c) shared measurement beats isolated": _greater(measured - effect) < ALPHA,
            "(c) shared measurement beats no backbone": _greater(measured - unmeasured) < ALPHA},
           report)
