"""Running a sweep on the engine: the config's design, into a folder owned by ``sweep``.

``run_sweep(config, out)`` turns the config into an engine design (its points,
replications, master seed and seed policy), checks the folder (the same sweep
is resumed; any other command or configuration is refused) and runs what the
folder lacks on loky or Dask. ``--retry-failed`` runs the failed runs again
in new parts; finished runs are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.engine import (
    Design,
    ModelEvaluation,
    RunStore,
    StudyFolder,
    StudySchema,
    custom_schema,
    execute,
    make_executor,
    model_schema,
    read_manifest,
)
from experiments.engine import provenance as pv
from experiments.engine.execute import Evaluation
from experiments.engine.limits import check_jobs
from experiments.errors import UsageError
from experiments.io import write_parquet
from experiments.sweep.config import SweepConfig
from experiments.sweep.design import build_design

DESIGN_FILE = "design.parquet"


@dataclass
class SweepReport:
    """What a call to ``run_sweep`` did.

    Attributes:
        out: The sweep folder.
        n_runs: Runs in the design.
        skipped: Runs already finished before this call.
        ran: Runs finished by this call.
        failed: Failed runs in the folder after this call.
        wall_seconds: Wall time of this call, in seconds.
        complete: Whether every run of the design is now in the folder.
        first_error: ``"run <id>: <error>"`` of the first failed run, if any.
    """

    out: Path
    n_runs: int
    skipped: int
    ran: int
    failed: int
    wall_seconds: float
    complete: bool
    first_error: str | None = None

    def table(self) -> pd.DataFrame:
        """The results table of the folder (see ``load_results``)."""
        return load_results(self.out)


@dataclass
class Plan:
    """A checked sweep ready to run: engine design, evaluation, schema and folder."""

    config: SweepConfig
    design: Design
    values: pd.DataFrame
    raw: pd.DataFrame
    evaluation: Evaluation
    schema: StudySchema
    folder: StudyFolder


def sweep_schema(config: SweepConfig | dict[str, Any]) -> StudySchema:
    """The runs table's schema: the model's, or the config's inputs and outputs.

    ``config`` may be the config or its plain-data form (as kept in the manifest).
    """
    data = config.to_dict() if isinstance(config, SweepConfig) else config
    if data["model"]:
        return model_schema(series=False)
    return custom_schema([(p["name"], p["kind"]) for p in data["parameters"]],
                         data["outputs"])


def plan_sweep(config: SweepConfig, out: str | Path, *, evaluate: Evaluation | None = None,
               allow_code_change: bool = False) -> Plan:
    """Build the design of ``config`` and check the folder ``out``, writing nothing.

    Raises:
        UsageError: ``out`` is not usable, or holds results of another command or
            configuration, or runs of other code (unless ``allow_code_change``); or the
            sweep is not of the model and no ``evaluate`` is given.
    """
    if evaluate is None:
        if not config.model:
            raise UsageError("this sweep is not of the model: pass evaluate=<function>")
        evaluate = ModelEvaluation(config.scenario)
    built = build_design(config)
    fixed = {**config.fixed, **({"scenario": config.scenario} if config.model else {})}
    points = [{k: _native(v) for k, v in row.items()}
              for row in built.values.to_dict("records")]
    folder = sweep_folder(config, out, evaluate)
    existing = folder.check()
    # rounds of replications added by --target-ci are part of the folder's design
    rounds = tuple((existing or {}).get("design", {}).get("rounds") or (config.replications,))
    design = Design(tuple(points), sum(rounds), config.master_seed, config.seed_policy, fixed,
                    rounds)
    folder.details["design"] = design.record()
    schema = sweep_schema(config)
    if existing is not None:
        _check_code(RunStore(folder.path, schema), pv.code_version_of(evaluate),
                    allow_code_change, folder.path)
    return Plan(config, design, built.values, built.raw, evaluate, schema, folder)


def _check_code(store: RunStore, code: str, allow: bool, out: Path) -> None:
    versions = {v for v in store.code_versions() if v is not None} - {code}
    if not versions:
        return
    message = (f"{str(out)!r} holds runs made by other code (code version "
               f"{', '.join(sorted(versions))}; now {code})")
    if not allow:
        raise UsageError(message + "; resuming would mix them: use a new --out folder, or "
                         "--allow-code-change to mix knowingly")
    pv.warn_code_version(message + "; mixing them as asked")


def sweep_folder(config: SweepConfig, out: str | Path, evaluate: Evaluation,
                 design: dict[str, Any] | None = None) -> StudyFolder:
    """The result folder of a sweep (not entered): its fingerprint is the config's."""
    evaluation_id = pv.evaluation_name(evaluate)
    return StudyFolder(out, "sweep", {**config.fingerprint_data(), "evaluation": evaluation_id},
                       {"name": config.name, "source": config.source,
                        "sweep": config.to_dict(), "design": design or {},
                        "evaluation": evaluation_id,
                        "code_version": pv.code_version_of(evaluate),
                        "model_runs": config.model})


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def run_sweep(config: SweepConfig, out: str | Path, *, jobs: int | None = 1,
              backend: str = "loky", scheduler: str | None = None,
              evaluate: Evaluation | None = None, retry_failed: bool = False,
              allow_code_change: bool = False, progress: bool = True,
              flush_seconds: float = 5.0, add_round: int = 0) -> SweepReport:
    """Run (or resume) a sweep into the folder ``out``.

    Args:
        config: The validated sweep.
        out: Sweep folder; created if needed. It then holds ``manifest.json``,
            ``design.parquet`` and ``runs/part-*.parquet``.
        jobs: Worker processes (None: every core; capped at the cores). With a Dask
            ``scheduler`` the cluster decides.
        backend: ``"loky"`` (joblib) or ``"dask"``.
        scheduler: Address of a Dask scheduler (``tcp://host:port``); None starts a local
            cluster of ``jobs`` workers on 127.0.0.1. Only with ``backend="dask"``.
        evaluate: Evaluation function ``(inputs, seed) -> outputs`` (default: the model).
        retry_failed: Run failed runs again; their old rows stay, superseded.
        allow_code_change: Resume even when the folder's runs come from other code.
        progress: Show a progress bar (runs done, failures, time left) on stderr.
        flush_seconds: Longest time finished runs wait in memory before a part is written.
        add_round: Replications to add to every design point first (a new round; the
            runs the folder holds keep their ids and seeds).
    """
    if not flush_seconds > 0:
        raise UsageError(f"--flush-every: got {flush_seconds!r}; allowed: a number > 0")
    workers = check_jobs(jobs)
    executor = make_executor(backend, workers, scheduler)
    plan = plan_sweep(config, out, evaluate=evaluate, allow_code_change=allow_code_change)
    if add_round:
        plan.design = plan.design.with_round(add_round)
        plan.folder.details["design"] = plan.design.record()
    with executor, plan.folder as folder:  # reach the cluster before writing anything
        if not (folder.path / DESIGN_FILE).exists():
            raw = plan.raw.copy()
            raw.insert(0, "point", range(len(raw)))
            write_parquet(raw, folder.path / DESIGN_FILE)
        done = execute(plan.design, plan.evaluation, plan.schema,
                       store=RunStore(folder.path, plan.schema), executor=executor,
                       retry_failed=retry_failed, progress=progress, desc=config.name,
                       flush_seconds=flush_seconds)
        folder.update(status="complete" if done.complete else "incomplete",
                      runs_done=int(len(done.runs) - done.failed), runs_failed=done.failed)
    return SweepReport(folder.path, done.n_runs, done.skipped, done.ran, done.failed,
                       done.wall_seconds, done.complete, done.first_error)


def load_results(out: str | Path, *, check_code: bool = True) -> pd.DataFrame:
    """The runs table of a sweep folder: one row per run (its latest attempt), by run id.

    Warns loudly (``CodeVersionWarning``) when the runs come from several code
    versions, or from model code other than the code installed now.
    """
    out = Path(out)
    manifest = read_manifest(out)
    if manifest is None or manifest.get("command") != "sweep":
        raise UsageError(f"{str(out)!r} holds no sweep (no sweep manifest); run cisim sweep "
                         "first")
    table = RunStore(out, sweep_schema(manifest["sweep"])).runs()
    if check_code and not table.empty:
        versions = sorted(set(table["code_version"].dropna()))
        if len(versions) > 1:
            pv.warn_code_version(f"{str(out)!r} mixes runs of {len(versions)} code versions "
                                 f"({', '.join(versions)}); compare the code_version column")
        elif (manifest.get("model_runs") and versions
              and versions[0] != pv.model_code_version()):
            pv.warn_code_version(f"{str(out)!r} was made by model code {versions[0]}, but the "
                                 f"installed model code is {pv.model_code_version()}")
    return table
