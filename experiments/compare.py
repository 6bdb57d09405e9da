"""Comparing funding regimes at equal money: a design on the engine, paired contrasts.

A comparison is a design of one point per scenario, ``reps`` replications each,
under the ``common`` seed policy: replication r of every scenario uses the same
seed, and the model draws the community first from it, so replication r of each
scenario starts from the same community and differences between scenarios are
paired (common random numbers). Seeds are spawned from one master seed; each
run depends only on its (scenario, parameters, seed), so results are identical
whatever the number of workers or the backend. The runs go through the one
engine (``experiments.engine``): resumable, into a folder with a manifest.

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

from experiments.engine import (
    DEFAULT_MASTER_SEED,
    Design,
    ModelEvaluation,
    RunStore,
    StudyFolder,
    execute,
    make_executor,
    model_schema,
)
from experiments.engine.limits import MAX_REPLICATIONS, check_count, check_jobs
from experiments.engine.seeds import child_seed
from experiments.engine.store import write_frame
from experiments.errors import UsageError
from experiments.io import write_csv, write_json
from experiments.stats import BAND, CONFIDENCE, bands, mean_interval, median_months, share_interval
from model.metrics import SUMMARY_OUTPUTS
from model.parameters import get_parameter
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

#: Which direction is better for each summary field (+1 higher, -1 lower, 0 neither),
#: read from the output declarations.
BETTER: dict[str, int] = {o.name: {"higher": 1, "lower": -1}.get(o.better, 0)
                          for o in SUMMARY_OUTPUTS.values()}


# --- seeds --------------------------------------------------------------------------------
def replication_seeds(master_seed: int, reps: int) -> list[int]:
    """Seeds of replications 0..reps-1 (the ``common`` policy), spawned from ``master_seed``.

    Each is a non-negative 63-bit integer and a valid value of the declared ``seed``
    parameter: a run of a comparison is replayed by ``cisim run --scenario S --seed SEED``.
    """
    return [child_seed(master_seed, r) for r in range(reps)]


# --- plan ---------------------------------------------------------------------------------
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
    posterior: PosteriorDraws | None = None

    @property
    def seeds(self) -> list[int]:
        """Seed of each replication (shared by every scenario)."""
        return replication_seeds(self.master_seed, self.reps)

    def design(self) -> Design:
        """One point per scenario, ``reps`` replications, common seeds.

        With a posterior, replication r's drawn parameters are not in the design:
        ``evaluation()`` adds them to every run by its seed, the seed of replication r
        under the common policy, so run ids and seeds stay those of the design.
        """
        return Design(tuple({"scenario": s} for s in self.scenarios), self.reps,
                      self.master_seed, "common", self.params)

    def config(self) -> dict[str, Any]:
        """What determines the runs, as plain data (the result folder's fingerprint)."""
        config = {"scenarios": list(self.scenarios), "reps": self.reps,
                  "master_seed": self.master_seed, "params": dict(self.params),
                  "seed_policy": "common"}
        if self.posterior is not None:
            config["posterior"] = self.posterior.fingerprint
        return config

    def evaluation(self) -> ModelEvaluation:
        """The evaluation of every run (adding the posterior draws, when there are some)."""
        if self.posterior is None:
            return ModelEvaluation(keep_series=True)
        return PosteriorEvaluation(self.posterior.by_seed(self.seeds),
                                   self.posterior.fingerprint)


# --- communities drawn from a calibration's posterior -------------------------------------
_POSTERIOR_PURPOSE = 10  # analysis stream of the posterior draws (experiments.engine.seeds)


@dataclass(frozen=True)
class PosteriorDraws:
    """The calibrated parameters of each replication, drawn from a posterior.

    Attributes:
        path: the calibration folder.
        fingerprint: its manifest's fingerprint (recorded in the comparison's config).
        names: the calibrated parameters.
        draws: one mapping of values per replication, in replication order.
        particles: the final-generation particle each replication drew.
        base: the calibration's ``[fixed]`` values and ``steps`` (under ``--set``).
    """

    path: str
    fingerprint: str
    names: tuple[str, ...]
    draws: tuple[dict[str, float], ...]
    particles: tuple[int, ...]
    base: dict[str, Any]

    def by_seed(self, seeds: Sequence[int]) -> dict[int, dict[str, float]]:
        """Replication r's values under its seed ``seeds[r]``."""
        return {int(seed): dict(d) for seed, d in zip(seeds, self.draws, strict=True)}


def draw_posterior(folder: str | os.PathLike, reps: int, master_seed: int) -> PosteriorDraws:
    """Draw one final-generation particle per replication, by weight.

    The draws come from a Generator seeded with analysis stream 10 of the
    comparison's master seed; replication r's draw does not depend on ``reps``.

    Raises:
        UsageError: the folder holds no complete calibration.
    """
    from experiments.calibrate import read_posterior
    from experiments.engine.seeds import analysis_seed

    last, names, manifest = read_posterior(folder)
    rng = np.random.default_rng(analysis_seed(master_seed, _POSTERIOR_PURPOSE))
    picks = rng.choice(len(last), size=reps, p=last["weight"].to_numpy(float))
    draws = tuple({n: float(last[n].iloc[i]) for n in names} for i in picks)
    config = manifest.get("config", {})
    base = {**config.get("fixed", {}), "steps": config.get("steps")}
    base = {k: v for k, v in base.items() if v is not None}
    return PosteriorDraws(str(folder), str(manifest["fingerprint"]), tuple(names), draws,
                          tuple(int(last["particle"].iloc[i]) for i in picks), base)


class PosteriorEvaluation(ModelEvaluation):
    """The model with replication r's posterior values added to every run of it.

    A run's replication is known by its seed (common policy: replication r of every
    scenario has the same seed), so the design stays one point per scenario.
    """

    def __init__(self, draws: Mapping[int, Mapping[str, float]], fingerprint: str) -> None:
        super().__init__(keep_series=True)
        self.draws = {int(k): dict(v) for k, v in draws.items()}
        self.fingerprint = fingerprint

    def __call__(self, inputs: dict[str, Any], seed: int
                 ) -> tuple[dict[str, Any], pd.DataFrame | None]:
        """Run the model with this replication's posterior values."""
        return super().__call__({**inputs, **self.draws[int(seed)]}, seed)

    def identity(self) -> str:
        """Stable name: the model evaluation and the posterior's fingerprint."""
        return f"{super().identity()}+posterior({self.fingerprint})"


def plan_comparison(scenarios: Sequence[str] = DEFAULT_SCENARIOS, reps: int = DEFAULT_REPS,
                    seed: int | None = None,
                    params: Mapping[str, Any] | None = None,
                    posterior: str | os.PathLike | None = None) -> ComparisonPlan:
    """Validate a comparison's inputs and return its plan (no run happens here).

    Args:
        scenarios: named scenarios to compare (at least one, no repeats).
        reps: replications per scenario, from 2 to ``MAX_REPLICATIONS``.
        seed: master seed; default ``DEFAULT_MASTER_SEED`` (or ``params['seed']``).
        params: declared parameters that override every scenario (``--set``).
        posterior: a ``cisim calibrate`` folder: replication r's community takes the
            calibrated parameters of a final-generation particle drawn by weight
            (``draw_posterior``), and the calibration's ``[fixed]`` values and steps
            unless ``params`` sets them. Its parameters cannot also be in ``params``.

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
    check_count("--reps", reps, 2, MAX_REPLICATIONS)
    master = params.pop("seed", None) if seed is None else seed
    master = get_parameter("seed").validate(DEFAULT_MASTER_SEED if master is None else master)
    draws = None
    if posterior is not None:
        draws = draw_posterior(posterior, reps, master)
        both = sorted(set(draws.names) & set(params))
        if both:
            raise UsageError(f"--set {both[0]}: is calibrated in --posterior {str(posterior)!r}"
                             "; its values come from the posterior, do not also set it")
        params = {**draws.base, **params}
    example = dict(draws.draws[0]) if draws is not None else {}
    parameters = {s: make_scenario(s, rng=master, **params, **example).parameters()
                  for s in scenarios}
    for values in parameters.values():
        values.pop("seed", None)
    plan = ComparisonPlan(scenarios, reps, master, params, parameters, draws)
    plan.design()  # refuses a design too large to run, before any work
    return plan


# --- running ------------------------------------------------------------------------------
def run_comparison(scenarios: Sequence[str] = DEFAULT_SCENARIOS, reps: int = DEFAULT_REPS,
                   seed: int | None = None, jobs: int | None = None,
                   params: Mapping[str, Any] | None = None, progress: bool = True, *,
                   out: str | os.PathLike | None = None, backend: str = "loky",
                   scheduler: str | None = None,
                   posterior: str | os.PathLike | None = None) -> Comparison:
    """Plan, validate and run a comparison (resuming the runs ``out`` already holds).

    Args:
        scenarios: named scenarios to compare, in report order.
        reps: replications per scenario (at least 2).
        seed: master seed (default: ``DEFAULT_MASTER_SEED``).
        jobs: worker processes (None: all cores). Results do not depend on it.
        params: declared parameters applied to every scenario.
        progress: show a progress bar.
        out: a result folder for the runs (owned by ``compare``); None keeps them in
            memory. Tables and report are written by ``write_results``/``cisim compare``.
        backend: ``"loky"`` or ``"dask"``.
        scheduler: address of a Dask scheduler (with ``backend="dask"``).
        posterior: a calibration folder to draw each replication's community from.

    Raises:
        UsageError, ParameterError: bad input, before any run starts.
    """
    plan = plan_comparison(scenarios, reps, seed, params, posterior)
    if out is None:
        return execute_plan(plan, None, check_jobs(jobs), backend, scheduler, progress)
    with open_folder(plan, out) as folder:
        return execute_plan(plan, folder, check_jobs(jobs), backend, scheduler, progress)


def open_folder(plan: ComparisonPlan, out: str | os.PathLike,
                reference: str | None = None) -> StudyFolder:
    """The result folder of ``plan`` (not yet entered; ``check()`` refuses a wrong one)."""
    return StudyFolder(out, "compare", plan.config(),
                       {"design": plan.design().record(), "reference": reference})


def execute_plan(plan: ComparisonPlan, folder: StudyFolder | None, jobs: int = 1,
                 backend: str = "loky", scheduler: str | None = None,
                 progress: bool = True) -> Comparison:
    """Run ``plan`` into an entered ``folder`` (or in memory), resuming what it holds.

    Runs that failed before are tried again; runs that finished are never redone.
    """
    schema = model_schema(series=True)
    store = RunStore(folder.path, schema) if folder is not None else None
    with make_executor(backend, jobs, scheduler) as executor:
        done = execute(plan.design(), plan.evaluation(), schema, store=store,
                       executor=executor, retry_failed=True, progress=progress,
                       desc="cisim compare")
    if folder is not None:
        folder.update(runs_done=int(len(done.runs) - done.failed), runs_failed=done.failed)
    return Comparison(plan, done.runs, done.series)


# --- statistics ---------------------------------------------------------------------------
def natural_bounds(output: str) -> tuple[float, float]:
    """The range a summary output's values can take, from its declaration."""
    o = SUMMARY_OUTPUTS[output]
    return (-np.inf if o.lower is None else o.lower), (np.inf if o.upper is None else o.upper)


def numeric_fields(columns: Iterable[str] | None = None) -> list[str]:
    """Summary fields that have a mean (every declared field but months_to_needle).

    Args:
        columns: when given, keep only the fields among these (e.g. a runs table's columns).
    """
    fields = [f for f in SUMMARY_OUTPUTS if f not in ("months_to_needle", "seed")]
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
        runs: one row per run (the engine's runs table): run_id, point, replication,
            seed, scenario, every declared parameter, every summary field and the
            provenance columns (``error`` is null for runs that succeeded).
        timeseries: every month of every successful run, with run_id, point, scenario
            and replication columns.
    """

    plan: ComparisonPlan
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    _wide: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property
    def ok(self) -> pd.DataFrame:
        """The runs that succeeded (statistics use these only)."""
        if "error" not in self.runs:
            return self.runs
        return self.runs[self.runs["error"].isna()]

    @property
    def failed(self) -> int:
        """Runs whose latest attempt failed."""
        return int(self.runs["error"].notna().sum()) if "error" in self.runs else 0

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
        ok = self.ok
        for name in self.scenarios:
            group = ok[ok["scenario"] == name]
            moved = int(group["needle_moved"].astype(bool).sum())
            share, lo, hi = share_interval(moved, len(group))
            rec: dict[str, Any] = {"scenario": name, "runs": len(group), "needle_share": share,
                                   "needle_share_lo": lo, "needle_share_hi": hi,
                                   "median_months_to_needle": median_months(
                                       group["months_to_needle"])}
            for f in numeric_fields(self.runs.columns):
                rec[f"{f}_mean"], rec[f"{f}_lo"], rec[f"{f}_hi"] = mean_interval(
                    group[f].astype(float), bounds=natural_bounds(f))
            records.append(rec)
        return pd.DataFrame(records)

    def paired(self, scenario: str, reference: str, outcome: str) -> pd.DataFrame:
        """Values of ``outcome`` for ``scenario`` and ``reference``, one row per replication."""
        if outcome not in self._wide:
            self._wide[outcome] = self.ok.pivot(index="replication", columns="scenario",
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
                diff = diff[~np.isnan(diff)]  # pairs with a failed run drop out
                low, high = natural_bounds(outcome)
                mean, lo, hi = mean_interval(diff, bounds=(low - high, high - low))
                direction = BETTER.get(outcome, 0)
                if direction:
                    wins = float(np.sum(direction * diff > 0) + 0.5 * np.sum(diff == 0))
                    prob, plo, phi = share_interval(round(wins), diff.size)
                    prob = wins / diff.size if diff.size else np.nan
                else:
                    prob = plo = phi = np.nan
                per_money = mean / extra_backbone if abs(extra_backbone) > 1e-12 else np.nan
                unit = SUMMARY_OUTPUTS[outcome].unit
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


# --- files --------------------------------------------------------------------------------
def record(comparison: Comparison, reference: str) -> dict[str, Any]:
    """The comparison's setup as plain data (``comparison.json``, read by the report)."""
    plan = comparison.plan
    return {"scenarios": list(plan.scenarios), "reference": reference, "reps": plan.reps,
            "master_seed": plan.master_seed, "seed_policy": "common",
            "params": dict(plan.params), "parameters": plan.parameters,
            "posterior": None if plan.posterior is None else {
                "path": plan.posterior.path, "fingerprint": plan.posterior.fingerprint,
                "parameters": list(plan.posterior.names),
                "particles": list(plan.posterior.particles)},
            "confidence": CONFIDENCE, "band": list(BAND), "runs": len(comparison.runs),
            "failed": comparison.failed}


def write_results(comparison: Comparison, out: str | os.PathLike,
                  reference: str = DEFAULT_REFERENCE) -> dict[str, Path]:
    """Write the comparison's tables into ``out`` (created if needed); return the paths.

    ``runs.parquet`` and ``timeseries.parquet`` (typed, with units as field metadata),
    ``summary.csv``, ``contrasts.csv`` and ``comparison.json``, each written atomically.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    schema = model_schema(series=True)
    paths = {name: out / name for name in ("runs.parquet", "timeseries.parquet",
                                           "summary.csv", "contrasts.csv", "comparison.json")}
    write_frame(comparison.runs, schema.runs, paths["runs.parquet"])
    write_frame(comparison.timeseries, schema.series, paths["timeseries.parquet"])
    write_csv(comparison.summary_table(), paths["summary.csv"])
    write_csv(comparison.contrasts(reference), paths["contrasts.csv"])
    write_json(record(comparison, reference), paths["comparison.json"])
    return paths
