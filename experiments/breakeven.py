"""Break-even search: the smallest value of one parameter at which a target is met often enough.

The funder's question "how much backbone money does it take?" becomes: along one
declared numeric parameter, find the smallest value at which the chosen summary
output meets its target (``needle_moved``, or ``improvement_pct>=15``...) in at
least the chosen share of replications.

The search runs ``reps`` replications at each of ``points`` evenly spaced values,
then ``refine`` more values inside the first interval where the share crosses the
chosen probability. Replication r uses the same seed at every value (common random
numbers), so the response curve is smooth and its differences are paired. The
estimate interpolates linearly between the two values around the first crossing;
its interval comes from a bootstrap over replications (resampling whole
replications, which keeps the pairing across values).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.engine import (
    DEFAULT_MASTER_SEED,
    Design,
    ModelEvaluation,
    RunStore,
    StudyFolder,
    analysis_seed,
    execute,
    make_executor,
    model_schema,
)
from experiments.engine.limits import MAX_POINTS, MAX_REPLICATIONS, check_count, check_jobs
from experiments.engine.store import write_frame
from experiments.errors import UsageError
from experiments.io import write_csv, write_json
from experiments.stats import (
    BOOTSTRAP_SAMPLES,
    CONFIDENCE,
    bootstrap_interval,
    mean_interval,
    share_interval,
)
from model.metrics import SUMMARY_OUTPUTS
from model.parameters import Parameter, get_parameter
from model.scenarios import make_scenario

DEFAULT_REPS = 16  # replications per value: a share known to about +/- 0.25 at worst
DEFAULT_POINTS = 6  # evenly spaced values over the range in the first pass
DEFAULT_REFINE = 4  # extra values inside the bracket of the first crossing
MAX_VALUES = 10_000  # values per pass: a response curve finer than this says nothing more

_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:(>=|<=)\s*(\S+))?\s*$")


@dataclass(frozen=True)
class Target:
    """What a run must achieve: a true flag, or an output at or above/below a threshold.

    Attributes:
        output: a summary field (``model.metrics.SUMMARY_FIELDS``).
        op: ``">="``, ``"<="`` or ``"true"`` (for yes/no outputs such as needle_moved).
        threshold: the value compared with (None for ``"true"``).
    """

    output: str
    op: str
    threshold: float | None = None

    def met(self, values: pd.Series) -> np.ndarray:
        """Whether each run's value meets the target (a missing value never does)."""
        x = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        if self.op == "true":
            return np.nan_to_num(x, nan=0.0) > 0.5
        if self.op == ">=":
            return np.nan_to_num(x, nan=-np.inf) >= self.threshold
        return np.nan_to_num(x, nan=np.inf) <= self.threshold

    def describe(self) -> str:
        """The target in words, for titles and reports."""
        if self.op == "true":
            return self.output
        return f"{self.output} {self.op} {self.threshold:g}"


def parse_target(text: str) -> Target:
    """Parse ``needle_moved`` or ``OUTPUT>=VALUE`` / ``OUTPUT<=VALUE``.

    Raises:
        UsageError: unknown output, bad syntax, or a numeric output without a threshold.
    """
    match = _TARGET.match(text or "")
    if not match:
        raise UsageError(f"--target: got {text!r}; expected OUTPUT (a yes/no output such as "
                         "needle_moved) or OUTPUT>=VALUE or OUTPUT<=VALUE")
    output, op, value = match.groups()
    if output not in SUMMARY_OUTPUTS:
        raise UsageError(f"--target: unknown output {output!r}; allowed: one of "
                         + ", ".join(SUMMARY_OUTPUTS))
    is_flag = SUMMARY_OUTPUTS[output].unit == "bool"
    if op is None:
        if not is_flag:
            raise UsageError(f"--target: {output!r} is a number "
                             f"({SUMMARY_OUTPUTS[output].unit}); give a threshold, e.g. "
                             f"'{output}>=VALUE' or '{output}<=VALUE'")
        return Target(output, "true")
    try:
        threshold = float(value)
    except ValueError:
        raise UsageError(f"--target: threshold {value!r} is not a number") from None
    if not math.isfinite(threshold):
        raise UsageError(f"--target: threshold {value!r} is not a finite number")
    return Target(output, op, threshold)


@dataclass(frozen=True)
class BreakevenPlan:
    """A validated break-even search (nothing has run yet)."""

    parameter: Parameter
    target: Target
    probability: float
    scenario: str
    low: float
    high: float
    points: int
    refine: int
    reps: int
    master_seed: int
    params: dict[str, Any]

    def design(self, values: list[float]) -> Design:
        """Runs of ``values`` (in order), ``reps`` each, common seeds across values."""
        fixed = {"scenario": self.scenario, **self.params}
        return Design(tuple({self.parameter.name: v} for v in values), self.reps,
                      self.master_seed, "common", fixed)

    def config(self) -> dict[str, Any]:
        """What determines the runs, as plain data (the result folder's fingerprint)."""
        return {"parameter": self.parameter.name, "target": self.target.describe(),
                "probability": self.probability, "scenario": self.scenario,
                "range": [self.low, self.high], "points": self.points, "refine": self.refine,
                "reps": self.reps, "master_seed": self.master_seed,
                "params": dict(self.params), "seed_policy": "common"}

    def grid(self) -> list[float]:
        """The first-pass values: ``points`` evenly spaced from low to high."""
        return self._values(np.linspace(self.low, self.high, self.points))

    def refinement(self, below: float, above: float, done: list[float]) -> list[float]:
        """``refine`` values strictly between ``below`` and ``above`` not yet run."""
        inner = np.linspace(below, above, self.refine + 2)[1:-1]
        return [v for v in self._values(inner) if below < v < above and v not in done]

    def _values(self, values: np.ndarray) -> list[float]:
        if self.parameter.kind == "int":
            values = np.round(values)
        out: list[float] = []
        for raw in values:
            # 12 significant digits: 0.0375, not 0.037500000000000006
            v = int(raw) if self.parameter.kind == "int" else float(f"{raw:.12g}")
            v = self.parameter.validate(v)
            if v not in out:
                out.append(v)
        return out


def plan_breakeven(parameter: str, target: str | Target, probability: float = 0.5,
                   scenario: str = "collective", low: float | None = None,
                   high: float | None = None, points: int = DEFAULT_POINTS,
                   refine: int = DEFAULT_REFINE, reps: int = DEFAULT_REPS,
                   seed: int | None = None,
                   params: Mapping[str, Any] | None = None) -> BreakevenPlan:
    """Validate a break-even search; see ``run_breakeven`` for the arguments.

    Raises:
        UsageError, ParameterError: bad input, before anything runs.
    """
    param = get_parameter(parameter)
    if not param.is_numeric:
        raise UsageError(f"--param: {parameter!r} is a choice ({param.allowed}); "
                         "a break-even search needs a numeric parameter")
    target = target if isinstance(target, Target) else parse_target(target)
    params = dict(params or {})
    if parameter in params:
        raise UsageError(f"--set {parameter}=...: the searched parameter cannot also be fixed")
    if not (isinstance(probability, int | float) and 0.0 < probability <= 1.0):
        raise UsageError(f"--probability: got {probability!r}; allowed: a number in (0, 1]")
    check_count("--points", points, 2, MAX_VALUES)
    check_count("--refine", refine, 0, MAX_VALUES)
    check_count("--reps", reps, 2, MAX_REPLICATIONS)
    low = param.validate(param.minimum if low is None else low)
    high = param.validate(param.maximum if high is None else high)
    if not low < high:
        raise UsageError(f"--range: got {low:g} to {high:g}; the low end must be below the "
                         "high end")
    master = params.pop("seed", None) if seed is None else seed
    master = get_parameter("seed").validate(DEFAULT_MASTER_SEED if master is None else master)
    make_scenario(scenario, rng=master, **{**params, parameter: low})  # refuses bad input
    plan = BreakevenPlan(param, target, float(probability), scenario, low, high, points,
                         refine, reps, master, params)
    if points + refine > MAX_POINTS:
        raise UsageError(f"--points/--refine: {points + refine:,} values; allowed: at most "
                         f"{MAX_POINTS:,}")
    plan.design([])  # refuses a design too large to run, before any work
    return plan


@dataclass
class BreakevenResult:
    """Outcome of a search.

    Attributes:
        plan: what was searched.
        runs: one row per run: the parameter's value, replication, seed, summary fields,
            and ``met`` (whether the run met the target).
        curve: one row per value: runs, share meeting the target with its Wilson
            interval, and the mean output with its interval.
        estimate: smallest value at which the share reaches the chosen probability
            (NaN when it never does within the range).
        low, high: bootstrap interval of the estimate (``high`` is inf when some
            resamples never reach the probability within the range).
        status: ``"found"``, ``"at the low end"`` (already met at the smallest value) or
            ``"not reached"``.
    """

    plan: BreakevenPlan
    runs: pd.DataFrame
    curve: pd.DataFrame
    estimate: float
    low: float
    high: float
    status: str

    def record(self) -> dict[str, Any]:
        """The result as plain data (``breakeven.json``)."""
        p = self.plan
        return {
            "parameter": p.parameter.name, "unit": p.parameter.unit,
            "target": p.target.describe(), "probability": p.probability,
            "scenario": p.scenario, "status": self.status,
            "estimate": _finite_or_none(self.estimate),
            "interval": [_finite_or_none(self.low), _finite_or_none(self.high)],
            "interval_level": CONFIDENCE,
            "searched_range": [p.low, p.high], "values_run": self.curve["value"].tolist(),
            "reps_per_value": p.reps, "runs": len(self.runs), "master_seed": p.master_seed,
            "parameters_changed": p.params, "parameter_meaning": p.parameter.description,
            "target_output": p.target.output, "target_op": p.target.op,
            "target_threshold": p.target.threshold,
            "target_unit": SUMMARY_OUTPUTS[p.target.output].unit,
            "points": p.points, "refine": p.refine, "bootstrap_samples": BOOTSTRAP_SAMPLES,
            "bootstrap_seed": analysis_seed(p.master_seed), "seed_policy": "common",
            "failed_runs": int(self.runs["error"].notna().sum()),
        }


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def first_crossing(values: np.ndarray, shares: np.ndarray, probability: float) -> float:
    """Smallest value where the (linearly interpolated) share reaches ``probability``.

    ``values`` ascending. Returns ``values[0]`` when the first share already reaches
    it and inf when no share does.
    """
    hits = np.flatnonzero(shares >= probability - 1e-12)
    if hits.size == 0:
        return np.inf
    i = int(hits[0])
    if i == 0:
        return float(values[0])
    x0, x1, p0, p1 = values[i - 1], values[i], shares[i - 1], shares[i]
    return float(x0 + (probability - p0) / (p1 - p0) * (x1 - x0))


def _met_matrix(runs: pd.DataFrame, values: list[float]) -> np.ndarray:
    """(reps, values) matrix of whether replication r met the target at each value."""
    wide = runs.pivot(index="replication", columns="value", values="met")
    return wide[values].to_numpy(dtype=float)


def _curve(runs: pd.DataFrame, plan: BreakevenPlan) -> pd.DataFrame:
    records = []
    flag = SUMMARY_OUTPUTS[plan.target.output].unit == "bool"
    for value, group in runs.groupby("value", sort=True):
        share, lo, hi = share_interval(int(group["met"].sum()), len(group))
        out = pd.to_numeric(group[plan.target.output], errors="coerce").astype(float)
        mean, mlo, mhi = (share, lo, hi) if flag else mean_interval(out)
        records.append({"value": value, "runs": len(group), "met": int(group["met"].sum()),
                        "share_met": share, "share_lo": lo, "share_hi": hi,
                        "output_mean": mean, "output_lo": mlo, "output_hi": mhi})
    return pd.DataFrame(records)


def _execute(plan: BreakevenPlan, values: list[float], store: RunStore | None,
             executor: object, progress: bool) -> pd.DataFrame:
    """Run (or resume) the runs of ``values``; return their rows with ``value`` and ``met``."""
    design = plan.design(values)
    schema = model_schema(series=False)
    done = execute(design, ModelEvaluation(plan.scenario), schema, store=store,
                   executor=executor, progress=progress, desc="cisim breakeven")
    runs = done.runs[done.runs["run_id"] < design.n_runs].copy()
    runs.insert(1, "value", [values[p] for p in runs["point"]])
    runs["met"] = plan.target.met(runs[plan.target.output])
    return runs


def run_breakeven(parameter: str, target: str | Target, probability: float = 0.5,
                  scenario: str = "collective", low: float | None = None,
                  high: float | None = None, points: int = DEFAULT_POINTS,
                  refine: int = DEFAULT_REFINE, reps: int = DEFAULT_REPS,
                  seed: int | None = None, jobs: int | None = None,
                  params: Mapping[str, Any] | None = None,
                  progress: bool = True, *, out: str | os.PathLike | None = None,
                  backend: str = "loky", scheduler: str | None = None) -> BreakevenResult:
    """Search ``parameter`` for the smallest value meeting ``target`` with ``probability``.

    Args:
        parameter: a declared numeric parameter (e.g. ``backbone_funding``).
        target: ``needle_moved`` or ``OUTPUT>=VALUE`` / ``OUTPUT<=VALUE`` (or a Target).
        probability: share of replications that must meet the target, in (0, 1].
        scenario: named scenario the search starts from.
        low: low end of the range (default: the declared minimum).
        high: high end of the range (default: the declared maximum).
        points: evenly spaced values in the first pass (>= 2).
        refine: extra values inside the bracket of the first crossing (>= 0).
        reps: replications per value (>= 2); replication r has the same seed everywhere.
        seed: master seed (default: ``DEFAULT_MASTER_SEED``).
        jobs: worker processes (None: all cores); results do not depend on it.
        params: other declared parameters fixed for every run.
        progress: show progress bars.
        out: a result folder owned by ``breakeven`` for the runs (resumed when it holds
            some); None keeps them in memory.
        backend: ``"loky"`` or ``"dask"``.
        scheduler: address of a Dask scheduler (with ``backend="dask"``).
    """
    plan = plan_breakeven(parameter, target, probability, scenario, low, high, points,
                          refine, reps, seed, params)
    workers = check_jobs(jobs)
    if out is None:
        with make_executor(backend, workers, scheduler) as executor:
            return search(plan, None, executor, progress)
    with open_folder(plan, out) as folder, \
            make_executor(backend, workers, scheduler) as executor:
        return search(plan, RunStore(folder.path, model_schema(series=False)), executor,
                      progress)


def open_folder(plan: BreakevenPlan, out: str | os.PathLike) -> StudyFolder:
    """The result folder of ``plan`` (not yet entered; ``check()`` refuses a wrong one)."""
    return StudyFolder(out, "breakeven", plan.config(),
                       {"analysis_seeds": {"bootstrap": analysis_seed(plan.master_seed)}})


def search(plan: BreakevenPlan, store: RunStore | None, executor: object,
           progress: bool) -> BreakevenResult:
    """The two passes of the search on ``executor``, its runs kept in ``store``."""
    values = plan.grid()
    runs = _execute(plan, values, store, executor, progress)
    shares = _curve(runs, plan)["share_met"].to_numpy()
    hits = np.flatnonzero(shares >= plan.probability - 1e-12)
    if hits.size and hits[0] > 0 and plan.refine:
        extra = plan.refinement(values[hits[0] - 1], values[hits[0]], values)
        if extra:
            values = values + extra
            runs = _execute(plan, values, store, executor, progress)
    failed = runs["error"].notna()
    if failed.any():
        raise UsageError(f"{int(failed.sum())} runs failed (first: "
                         f"{runs.loc[failed, 'error'].iloc[0]}); the search needs every run")
    runs = runs.sort_values(["value", "replication"], kind="stable").reset_index(drop=True)
    curve = _curve(runs, plan)
    grid = curve["value"].tolist()
    estimate = first_crossing(curve["value"].to_numpy(float), curve["share_met"].to_numpy(),
                              plan.probability)
    lo, hi = crossing_interval(plan, _met_matrix(runs, grid), np.asarray(grid, float))
    if not np.isfinite(estimate):
        status, estimate = "not reached", np.nan
    elif estimate <= plan.low:
        status = "at the low end"
    else:
        status = "found"
    return BreakevenResult(plan, runs, curve, estimate, lo, hi, status)


def crossing_interval(plan: BreakevenPlan, met: np.ndarray,
                      values: np.ndarray) -> tuple[float, float]:
    """Percentile bootstrap interval of the crossing, resampling whole replications.

    Resamples that never reach the probability count as beyond the range (inf), so
    an upper end of inf means "possibly not within the searched range".
    """
    return bootstrap_interval(
        met, lambda m: first_crossing(values, m.mean(axis=0), plan.probability),
        seed=analysis_seed(plan.master_seed), upper_limit=float(values[-1]))


def write_breakeven(result: BreakevenResult, out: str | os.PathLike) -> dict[str, Path]:
    """Write ``runs.parquet``, ``curve.csv`` and ``breakeven.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"runs.parquet": out / "runs.parquet", "curve.csv": out / "curve.csv",
             "breakeven.json": out / "breakeven.json"}
    write_frame(result.runs.drop(columns=["value", "met"]), model_schema(series=False).runs,
                paths["runs.parquet"])
    write_csv(result.curve, paths["curve.csv"])
    write_json(result.record(), paths["breakeven.json"])
    return paths
