"""Intervals every study and report uses: Student-t means, Wilson shares, percentile bootstrap.

One helper per kind of interval, all from ``scipy.stats``, so the comparison,
the break-even search, the sweep analysis and the reports agree on what an
interval is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
"""Level of every interval in tables and reports."""

BAND = (0.05, 0.95)
"""Quantiles of the bands drawn around time series (a 90% band of runs)."""

BOOTSTRAP_SAMPLES = 2000
"""Resamples of every bootstrap interval."""


def mean_interval(values: Iterable[float], level: float = CONFIDENCE,
                  bounds: tuple[float, float] = (-np.inf, np.inf)
                  ) -> tuple[float, float, float]:
    """Mean and Student-t interval of ``values`` (NaNs dropped); NaNs where undefined.

    Args:
        values: the sample.
        level: confidence level.
        bounds: range the mean can take; the interval is clipped to it (a mean count
            cannot be negative however skewed the sample).
    """
    x = np.asarray(list(values), dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, np.nan, np.nan
    if np.ptp(x) == 0:
        return mean, mean, mean
    low, high = stats.t.interval(level, x.size - 1, loc=mean, scale=stats.sem(x))
    return mean, float(max(low, bounds[0])), float(min(high, bounds[1]))


def share_interval(successes: int, trials: int,
                   level: float = CONFIDENCE) -> tuple[float, float, float]:
    """Share of successes and its Wilson score interval; NaNs when there are no trials."""
    if trials <= 0:
        return np.nan, np.nan, np.nan
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(level, method="wilson")
    return successes / trials, float(ci.low), float(ci.high)


def bootstrap_interval(data: np.ndarray, statistic: Callable[[np.ndarray], float], *,
                       seed: int, level: float = CONFIDENCE,
                       resamples: int = BOOTSTRAP_SAMPLES,
                       upper_limit: float = np.inf) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over the rows of ``data``.

    Whole rows are resampled (for a study, one row per replication, which keeps the
    pairing across design points). A statistic may be infinite for some resamples
    (a target never reached, say); ``upper_limit`` is the largest finite value it can
    take, and an interval end beyond it is reported as inf.

    Args:
        data: (rows, ...) array.
        statistic: function of a resampled array of the same shape.
        seed: seed of the resampling (an analysis seed of the study).
        level: confidence level.
        resamples: bootstrap resamples.
        upper_limit: largest finite value of the statistic.
    """
    data = np.asarray(data, dtype=float)
    ceiling = upper_limit if np.isfinite(upper_limit) else np.finfo(float).max / 4

    def capped(rows: np.ndarray) -> float:
        # scipy resamples a 1-D sample; resample row numbers and index the rows with them.
        return min(float(statistic(data[rows.astype(np.intp)])), 2 * abs(ceiling) + 1.0)

    result = stats.bootstrap((np.arange(data.shape[0]),), capped, vectorized=False,
                             n_resamples=resamples, confidence_level=level,
                             method="percentile", rng=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return (np.inf if low > upper_limit else low), (np.inf if high > upper_limit else high)


def median_months(months: pd.Series) -> float:
    """Median months to an event over all runs, counting 'never' as later than any month.

    NaN when at least half the runs never saw it (the median is 'never').
    """
    values = pd.to_numeric(months, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if values.size == 0:
        return np.nan
    median = float(np.median(np.where(np.isnan(values), np.inf, values)))
    return median if np.isfinite(median) else np.nan


def bands(timeseries: pd.DataFrame, column: str, quantiles: tuple[float, float] = BAND,
          by: str = "scenario") -> pd.DataFrame:
    """Per ``by`` and step: mean, median and the ``lo``/``hi`` quantiles of ``column``."""
    grouped = timeseries.groupby([by, "step"], sort=False)[column]
    out = grouped.agg(mean="mean", median="median")
    out["lo"] = grouped.quantile(quantiles[0])
    out["hi"] = grouped.quantile(quantiles[1])
    return out.reset_index()
