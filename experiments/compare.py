"""Comparing funding regimes at equal money: replications, paired contrasts, intervals.

A comparison runs every scenario ``reps`` times. Replication r of every scenario
uses the same seed (common random numbers): the model draws the residents and the
nonprofits' traits first from that seed, so replication r of each scenario starts
from the same community and differences between scenarios are paired. Seeds are
spawned from one master seed with ``numpy.random.SeedSequence``; each run depends
only on its (scenario, parameters, seed), so results are identical whatever the
number of workers.

Typical use::

    comparison = run_comparison(reps=30, jobs=2)
    comparison.summary_table()          # one row per scenario, means and 95% intervals
    comparison.contrasts("isolated")    # paired differences against a reference
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats
from tqdm.auto import tqdm

from experiments.errors import UsageError
from experiments.io import atomic_path, write_parquet
from experiments.runner import run_one
from model.metrics import SUMMARY_FIELDS
from model.parameters import DEFAULTS, get_parameter
from model.scenarios import make_scenario

#: The regimes a funder compares by default, all at the same total_funding.
DEFAULT_SCENARIOS: tuple[str, ...] = (
    "isolated",
    "collective",
    "collective_unfunded_backbone",
    "collective_top_down",
    "funder_churn",
)
DEFAULT_REFERENCE = "isolated"

#: Replications per scenario by default. 24 is the smallest count at which a share
#: (such as "the needle moved") is known to within +/- 0.2 at worst (Wilson, 95%), and
#: a mean paired difference to within 0.42 standard deviations of the differences
#: (t(0.975, 23) / sqrt(24)). Going to 30 would narrow intervals by only 11% for 25%
#: more time; 5 scenarios x 24 runs stay under 3 minutes on 2 cores.
DEFAULT_REPS = 24

CONFIDENCE = 0.95  # level of every interval in summaries and contrasts
BAND = (0.05, 0.95)  # quantiles of the bands drawn around time series (a 90% band)

#: Which direction is better for each summary field (+1 higher, -1 lower). Fields
#: not listed (money flows, baseline) have no better direction.
BETTER: dict[str, int] = {
    "final_wellbeing": +1,
    "improvement_pct": +1,
    "needle_moved": +1,
    "months_to_needle": -1,
    "final_equity_gap": -1,
    "equity_gap_change": -1,
    "nonprofit_closures": -1,
    "churn_rate": -1,
    "grant_overhead_share": -1,
    "final_mean_trust": +1,
    "final_aligned_share": +1,
    "mean_duplication_rate": -1,
    "final_funding_effectiveness_corr": +1,
    "policies_enacted": +1,
    "latent_resources_active": +1,
}

# --- seeds --------------------------------------------------------------------------------
def replication_seeds(master_seed: int, reps: int) -> list[int]:
    """Seeds of replications 0..reps-1, spawned from ``master_seed``.

    Each child ``SeedSequence`` is turned into a non-negative 63-bit integer so it
    is also a valid value of the declared ``seed`` parameter: a single run of a
    comparison can be reproduced with ``cisim run --scenario S --seed SEED``.
    """
    children = np.random.SeedSequence(master_seed).spawn(reps)
    return [int(c.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


# --- plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison: which scenario, which replication, which seed."""

    scenario: str
    replication: int
    seed: int


@dataclass(frozen=True)
class ComparisonPlan:
    """What a comparison runs: validated before any run starts.

    Attributes:
        scenarios: named scenarios, in report order.
        reps: replications per scenario (>= 2, so intervals exist).
        master_seed: the seed every replication seed is spawned from.
        params: declared parameters applied on top of every scenario.
        parameters: the full validated parameter set of each scenario (seed excluded).
    """

    scenarios: tuple[str, ...]
    reps: int
    master_seed: int
    params: dict[str, Any]
    parameters: dict[str, dict[str, Any]] = field(repr=False)

    @property
    def seeds(self) -> list[int]:
        """Seed of each replication (shared by every scenario)."""
        return replication_seeds(self.master_seed, self.reps)

    def runs(self) -> list[RunSpec]:
        """Every run, replication-major so early results cover every scenario."""
        return [RunSpec(s, r, seed) for r, seed in enumerate(self.seeds) for s in self.scenarios]


def plan_comparison(scenarios: Sequence[str] = DEFAULT_SCENARIOS, reps: int = DEFAULT_REPS,
                    seed: int | None = None,
                    params: Mapping[str, Any] | None = None) -> ComparisonPlan:
    """Validate a comparison's inputs and return its plan (no run happens here).

    Args:
        scenarios: named scenarios to compare (at least one, no repeats).
        reps: replications per scenario, at least 2.
        seed: master seed; default the declared ``seed`` parameter (or ``params['seed']``).
        params: declared parameters that override every scenario (``--set``).

    Raises:
        UsageError: bad scenario list or replication count.
        ParameterError: unknown scenario or parameter, or a value out of range.
    """
    params = dict(params or {})
    scenarios = tuple(scenarios)
    if not scenarios:
        raise UsageError("scenarios: give at least one scenario name")
    repeated = sorted({s for s in scenarios if scenarios.count(s) > 1})
    if repeated:
        raise UsageError(f"scenarios: {', '.join(repeated)} listed more than once")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 2:
        raise UsageError(f"reps: got {reps!r}; allowed: an integer of at least 2 "
                         "(intervals need two replications)")
    master = params.pop("seed", None) if seed is None else seed
    if master is None:
        master = DEFAULTS["seed"]
    master = get_parameter("seed").validate(master)
    parameters = {s: make_scenario(s, **params).parameters() for s in scenarios}
    return ComparisonPlan(scenarios, reps, master, params, parameters)


# --- running ------------------------------------------------------------------------------
def _run_task(index: int, spec: RunSpec,
              params: dict[str, Any]) -> tuple[int, dict[str, Any], pd.DataFrame]:
    """Worker entry point: one run, tagged with its index in the plan."""
    summary, series = run_one(spec.scenario, spec.seed, **params)
    return index, summary, series


def execute_runs(specs: Sequence[RunSpec],
                 params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                 jobs: int | None = None, progress: bool = True, desc: str = "runs"
                 ) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Run ``specs`` in parallel with joblib and return (summary, series) in spec order.

    Args:
        specs: the runs.
        params: declared parameters applied to every run, or one mapping per run.
        jobs: worker processes; None means all cores.
        progress: show a tqdm bar (runs done, rate and time left) on stderr.
        desc: label of the progress bar.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise UsageError(f"jobs: got {jobs!r}; allowed: an integer of at least 1")
    if isinstance(params, Mapping):
        per_run = [dict(params)] * len(specs)
    else:
        per_run = [dict(p) for p in params]
        if len(per_run) != len(specs):
            raise ValueError(f"params: {len(per_run)} mappings for {len(specs)} runs")
    tasks = (delayed(_run_task)(i, spec, per_run[i]) for i, spec in enumerate(specs))
    results: list[Any] = [None] * len(specs)
    parallel = Parallel(n_jobs=min(jobs, max(1, len(specs))), return_as="generator_unordered")
    with tqdm(total=len(specs), desc=desc, unit="run", disable=not progress) as bar:
        for index, summary, series in parallel(tasks):
            results[index] = (summary, series)
            bar.update(1)
    return results


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_comparison(scenarios: Sequence[str] = DEFAULT_SCENARIOS, reps: int = DEFAULT_REPS,
                   seed: int | None = None, jobs: int | None = None,
                   params: Mapping[str, Any] | None = None,
                   progress: bool = True) -> Comparison:
    """Plan, validate and run a comparison.

    Args:
        scenarios: named scenarios to compare, in report order.
        reps: replications per scenario (at least 2).
        seed: master seed (default: the declared ``seed``).
        jobs: worker processes (None: all cores). Results do not depend on it.
        params: declared parameters applied to every scenario.
        progress: show a progress bar.

    Raises:
        UsageError, ParameterError: bad input, before any run starts.
    """
    plan = plan_comparison(scenarios, reps, seed, params)
    specs = plan.runs()
    results = execute_runs(specs, plan.params, jobs=jobs, progress=progress,
                           desc="cisim compare")
    return Comparison.from_results(plan, specs, results)


# --- statistics ---------------------------------------------------------------------------
def natural_bounds(unit: str) -> tuple[float, float]:
    """The range a summary field's values can take, read from its declared unit."""
    if unit in ("share", "bool") or "in [0, 1]" in unit:
        return 0.0, 1.0
    if unit in ("organisations", "policies", "money", "1/year", "months", "share of residents"):
        return 0.0, np.inf
    return -np.inf, np.inf


def mean_interval(values: Iterable[float], level: float = CONFIDENCE,
                  bounds: tuple[float, float] = (-np.inf, np.inf)
                  ) -> tuple[float, float, float]:
    """Mean and Student-t interval of ``values`` (NaNs dropped); NaNs when undefined.

    Args:
        values: the sample.
        level: confidence level of the interval.
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
    half = float(stats.t.ppf(0.5 + level / 2.0, x.size - 1)) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, float(max(mean - half, bounds[0])), float(min(mean + half, bounds[1]))


def share_interval(successes: int, trials: int,
                   level: float = CONFIDENCE) -> tuple[float, float, float]:
    """Share of successes and its Wilson score interval; NaNs when there are no trials."""
    if trials <= 0:
        return np.nan, np.nan, np.nan
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(level, method="wilson")
    return successes / trials, float(ci.low), float(ci.high)


def median_months(months: pd.Series) -> float:
    """Median months to the needle over all runs, counting 'never' as later than any month.

    NaN when at least half the runs never moved the needle (the median is 'never').
    """
    values = pd.to_numeric(months, errors="coerce").to_numpy(dtype=float)
    if values.size == 0:
        return np.nan
    ordered = np.sort(np.where(np.isnan(values), np.inf, values))
    median = float(np.median(ordered))
    return median if np.isfinite(median) else np.nan


def numeric_fields(columns: Iterable[str] | None = None) -> list[str]:
    """Summary fields that have a mean (every declared field but months_to_needle).

    Args:
        columns: when given, keep only the fields among these (e.g. a runs table's columns).
    """
    fields = [f for f in SUMMARY_FIELDS if f != "months_to_needle"]
    if columns is not None:
        present = set(columns)
        fields = [f for f in fields if f in present]
    return fields


# --- results ------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Results of a comparison.

    Attributes:
        plan: what was run.
        runs: one row per run: scenario, replication, seed, every declared parameter
            and every summary field.
        timeseries: every step of every run, with scenario, replication and seed columns.
    """

    plan: ComparisonPlan
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    _wide: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_results(cls, plan: ComparisonPlan, specs: Sequence[RunSpec],
                     results: Sequence[tuple[dict[str, Any], pd.DataFrame]]) -> Comparison:
        """Assemble the tables from the runs' outputs (in the order of ``specs``)."""
        rows, frames = [], []
        for spec, (summary, series) in zip(specs, results, strict=True):
            row: dict[str, Any] = {"scenario": spec.scenario, "replication": spec.replication,
                                   "seed": spec.seed}
            row.update({k: v for k, v in plan.parameters[spec.scenario].items() if k != "seed"})
            row.update(summary)
            rows.append(row)
            frame = series.copy()
            frame.insert(0, "seed", spec.seed)
            frame.insert(0, "replication", spec.replication)
            frame.insert(0, "scenario", spec.scenario)
            frames.append(frame)
        runs = pd.DataFrame(rows)
        runs["months_to_needle"] = pd.to_numeric(runs["months_to_needle"]).astype("Float64")
        order = {s: i for i, s in enumerate(plan.scenarios)}
        runs = runs.sort_values(["scenario", "replication"], key=lambda c: c.map(order)
                                if c.name == "scenario" else c, kind="stable")
        timeseries = pd.concat(frames, ignore_index=True)
        timeseries = timeseries.sort_values(
            ["scenario", "replication", "step"],
            key=lambda c: c.map(order) if c.name == "scenario" else c, kind="stable")
        return cls(plan, runs.reset_index(drop=True), timeseries.reset_index(drop=True))

    @property
    def scenarios(self) -> tuple[str, ...]:
        """Scenarios in report order."""
        return self.plan.scenarios

    def summary_table(self) -> pd.DataFrame:
        """One row per scenario: mean and 95% interval of each summary field.

        Columns: ``scenario``, ``runs``, ``needle_share`` with its Wilson interval
        (``needle_share_lo``, ``needle_share_hi``), ``median_months_to_needle`` (NaN
        when most runs never move it), then ``<field>_mean``, ``<field>_lo`` and
        ``<field>_hi`` for every numeric summary field.
        """
        records = []
        for name in self.scenarios:
            group = self.runs[self.runs["scenario"] == name]
            moved = int(group["needle_moved"].astype(bool).sum())
            share, lo, hi = share_interval(moved, len(group))
            rec: dict[str, Any] = {"scenario": name, "runs": len(group), "needle_share": share,
                                   "needle_share_lo": lo, "needle_share_hi": hi,
                                   "median_months_to_needle": median_months(
                                       group["months_to_needle"])}
            for f in numeric_fields(self.runs.columns):
                rec[f"{f}_mean"], rec[f"{f}_lo"], rec[f"{f}_hi"] = mean_interval(
                    group[f].astype(float), bounds=natural_bounds(SUMMARY_FIELDS[f][0]))
            records.append(rec)
        return pd.DataFrame(records)

    def paired(self, scenario: str, reference: str, outcome: str) -> pd.DataFrame:
        """Values of ``outcome`` for ``scenario`` and ``reference``, one row per replication."""
        if outcome not in self._wide:
            self._wide[outcome] = self.runs.pivot(index="replication", columns="scenario",
                                                  values=outcome).astype(float)
        return self._wide[outcome][[scenario, reference]]

    def contrasts(self, reference: str = DEFAULT_REFERENCE) -> pd.DataFrame:
        """Each other scenario against ``reference``, paired by replication.

        One row per (scenario, outcome) with: both means, the mean paired difference
        (scenario minus reference) and its 95% interval; ``prob_better``, the share
        of replications where the scenario does better than the reference (ties count
        half; NaN for outcomes with no better direction) with its Wilson interval;
        and ``difference_per_backbone_million``, the mean difference divided by the
        extra backbone money (millions over the run), NaN when that is zero.

        Raises:
            UsageError: when ``reference`` is not one of the compared scenarios.
        """
        if reference not in self.scenarios:
            raise UsageError(f"reference: got {reference!r}; allowed: one of "
                             + ", ".join(repr(s) for s in self.scenarios))
        records = []
        for name in self.scenarios:
            if name == reference:
                continue
            money = self.paired(name, reference, "backbone_spending")
            extra_backbone = float((money[name] - money[reference]).mean()) / 1e6
            for outcome in numeric_fields(self.runs.columns):
                pair = self.paired(name, reference, outcome)
                diff = (pair[name] - pair[reference]).to_numpy()
                low, high = natural_bounds(SUMMARY_FIELDS[outcome][0])
                mean, lo, hi = mean_interval(diff, bounds=(low - high, high - low))
                direction = BETTER.get(outcome, 0)
                if direction:
                    wins = float(np.sum(direction * diff > 0) + 0.5 * np.sum(diff == 0))
                    prob, plo, phi = share_interval(round(wins), diff.size)
                    prob = wins / diff.size
                else:
                    prob = plo = phi = np.nan
                per_money = mean / extra_backbone if abs(extra_backbone) > 1e-12 else np.nan
                unit, _ = SUMMARY_FIELDS[outcome]
                records.append({
                    "scenario": name, "reference": reference, "outcome": outcome,
                    "unit": unit, "better": {1: "higher", -1: "lower", 0: ""}[direction],
                    "mean_scenario": float(pair[name].mean()),
                    "mean_reference": float(pair[reference].mean()),
                    "mean_difference": mean, "difference_lo": lo, "difference_hi": hi,
                    "prob_better": prob, "prob_better_lo": plo, "prob_better_hi": phi,
                    "extra_backbone_million": extra_backbone,
                    "difference_per_backbone_million": per_money,
                    "pairs": int(diff.size),
                })
        return pd.DataFrame(records)

    def bands(self, column: str, quantiles: tuple[float, float] = BAND) -> pd.DataFrame:
        """Per scenario and step: mean, median and the quantile band of ``column`` over runs."""
        return bands(self.timeseries, column, quantiles)


def bands(timeseries: pd.DataFrame, column: str,
          quantiles: tuple[float, float] = BAND) -> pd.DataFrame:
    """Per scenario and step of ``timeseries``: mean, median, ``lo`` and ``hi`` quantiles."""
    grouped = timeseries.groupby(["scenario", "step"], sort=False)[column]
    out = grouped.agg(mean="mean", median="median")
    out["lo"] = grouped.quantile(quantiles[0])
    out["hi"] = grouped.quantile(quantiles[1])
    return out.reset_index()


# --- files --------------------------------------------------------------------------------
def write_results(comparison: Comparison, out: str | os.PathLike,
                  reference: str = DEFAULT_REFERENCE) -> dict[str, Path]:
    """Write ``runs.parquet``, ``timeseries.parquet``, ``summary.csv`` and ``contrasts.csv``.

    Every file is written atomically into ``out`` (created if needed); returns the paths.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    contrasts = comparison.contrasts(reference)
    paths = {name: out / name for name in ("runs.parquet", "timeseries.parquet",
                                           "summary.csv", "contrasts.csv")}
    write_parquet(comparison.runs, paths["runs.parquet"])
    write_parquet(comparison.timeseries, paths["timeseries.parquet"])
    write_csv(comparison.summary_table(), paths["summary.csv"])
    write_csv(contrasts, paths["contrasts.csv"])
    return paths


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as CSV atomically (no index)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
