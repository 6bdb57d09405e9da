"""Running a sweep: joblib (loky) or Dask workers, parts written as runs finish, resume.

``run_sweep(config, out)`` runs every run of the design that ``out`` does not
hold yet. Runs go to workers as single tasks; the parent collects finished runs
and writes them as a Parquet part every ``flush_seconds`` (and when stopped by
Ctrl-C or an error), so an interrupted sweep loses at most that much work.
Running it again with the same config skips finished runs. A run that raises
is recorded with its error and the sweep goes on.

Nothing here sets the multiprocessing start method: loky and Dask manage their
own worker processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from experiments.errors import UsageError
from experiments.io import write_parquet
from experiments.runner import run_one
from experiments.sweep import manifest as mf
from experiments.sweep import store
from experiments.sweep.config import ConfigError, SweepConfig
from experiments.sweep.design import Design, build_design, run_seed

BACKENDS: tuple[str, ...] = ("loky", "dask")

Evaluate = Callable[[dict[str, Any], np.random.SeedSequence], Mapping[str, Any]]
"""An evaluation function: (parameters, seed) -> outputs by name. It must pickle."""


class ModelRun:
    """The model as an evaluation function: ``run_one(scenario, seed, **params)``'s summary."""

    def __init__(self, scenario: str = "collective") -> None:
        self.scenario = scenario

    def __call__(self, params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, Any]:
        """Run the model with ``params`` and ``seed``; return its summary."""
        summary, _ = run_one(self.scenario, seed, **params)
        return summary

    def identity(self) -> str:
        """Stable name recorded in the manifest and in run keys."""
        return f"experiments.runner:run_one(scenario={self.scenario!r})"

    def code_version(self) -> str:
        """Digest of the model's source (see ``manifest.model_code_version``)."""
        return mf.model_code_version()


@functools.lru_cache(maxsize=16)
def _cached_code_version(name: str, evaluate: Any) -> str:
    return mf.code_version_of(evaluate)


def evaluate_run(evaluate: Evaluate, run_id: int, master_seed: int,
                 params: dict[str, Any]) -> dict[str, Any]:
    """Run one evaluation on a worker and return its row; never raises for the run's errors.

    The row has ``run_id``, ``code_version`` (of the worker's code), ``error``
    (``"Type: message"`` or None), the outputs as floats and ``elapsed_s`` (seconds).
    """
    start = time.perf_counter()
    row: dict[str, Any] = {"run_id": run_id, "error": None}
    try:
        row["code_version"] = _cached_code_version(mf.evaluation_name(evaluate), evaluate)
        result = evaluate(dict(params), run_seed(master_seed, run_id))
        clash = set(result) & {"run_id", "sample", "replication", "key", "code_version",
                               "error", "elapsed_s", *params}
        if clash:
            raise ValueError(f"outputs use reserved column names: {sorted(clash)}")
        row.update({name: _plain(value) for name, value in result.items()})
    except Exception as exc:  # noqa: BLE001 - any failure of a run is recorded, not raised
        row["error"] = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:2000]
        row.setdefault("code_version", None)
    row["elapsed_s"] = time.perf_counter() - start
    return row


def _plain(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_ | int | float | np.integer | np.floating):
        return float(value)
    return value


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

    def table(self, *, timing: bool = False) -> pd.DataFrame:
        """The results table of the folder (see ``load_results``)."""
        return load_results(self.out, timing=timing)


@dataclass
class Plan:
    """A checked sweep ready to run: design, evaluation, folder and what is already done."""

    config: SweepConfig
    design: Design
    evaluate: Evaluate
    out: Path
    code_version: str
    evaluation: str
    manifest: dict[str, Any] | None
    done: set[int]
    failed: set[int]

    @property
    def todo(self) -> list[int]:
        """Run ids still to run, in order."""
        return [i for i in range(self.design.n_runs) if i not in self.done]

    def params(self, run_id: int) -> dict[str, Any]:
        """The full parameter set of run ``run_id`` (fixed and varied)."""
        return {**self.config.fixed, **self._points[run_id // self.config.replications]}

    @functools.cached_property
    def _points(self) -> list[dict[str, Any]]:
        return [{k: _native(v) for k, v in point.items()}
                for point in self.design.values.to_dict("records")]


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def plan_sweep(config: SweepConfig, out: str | Path, *, evaluate: Evaluate | None = None,
               allow_code_change: bool = False) -> Plan:
    """Check ``config`` against the folder ``out`` without writing anything.

    Raises:
        ConfigError: ``out`` holds a sweep of a different configuration or evaluation.
        UsageError: ``out`` is not a usable folder, or its runs were made by other
            model code and ``allow_code_change`` is false.
    """
    if evaluate is None:
        if not config.model:
            raise UsageError("this sweep is not of the model: pass evaluate=<function>")
        evaluate = ModelRun(config.scenario)
    design = build_design(config)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} exists and is not a folder")
    evaluation, code = mf.evaluation_name(evaluate), mf.code_version_of(evaluate)
    manifest = mf.read_manifest(out) if out.is_dir() else None
    done: set[int] = set()
    failed: set[int] = set()
    if manifest is None:
        if out.is_dir() and any(out.iterdir()):
            raise UsageError(f"--out {str(out)!r} is not empty and holds no sweep manifest; "
                             "use a new or empty folder")
    else:
        _check_same_sweep(manifest, config, evaluation, out)
        table = store.read_parts(out)
        if not table.empty:
            done = set(table["run_id"].astype(int))
            failed = set(table.loc[table["error"].notna(), "run_id"].astype(int))
            versions = set(table["code_version"].dropna()) - {code}
            if versions:
                message = (f"{str(out)!r} holds runs made by other code (code version "
                           f"{', '.join(sorted(versions))}; now {code})")
                if not allow_code_change:
                    raise UsageError(message + "; resuming would mix them: use a new --out "
                                     "folder, or --allow-code-change to mix knowingly")
                mf.warn_code_version(message + "; mixing them as asked")
    return Plan(config, design, evaluate, out, code, evaluation, manifest, done, failed)


def _check_same_sweep(manifest: Mapping[str, Any], config: SweepConfig, evaluation: str,
                      out: Path) -> None:
    old = manifest.get("fingerprint")
    if old != config.fingerprint():
        before, now = manifest.get("config", {}), config.to_dict()
        changed = [k for k in now if k not in ("name", "outputs", "analysis")
                   and before.get(k) != now[k]]
        what = f" (differs in: {', '.join(changed)})" if changed else ""
        raise ConfigError(f"--out {str(out)!r} holds sweep {before.get('name')!r} made from a "
                          f"different config{what}; use a new --out folder")
    if manifest.get("evaluation") != evaluation:
        raise ConfigError(f"--out {str(out)!r} holds runs of {manifest.get('evaluation')}, not "
                          f"of {evaluation}; use a new --out folder")


def run_sweep(config: SweepConfig, out: str | Path, *, jobs: int = 1, backend: str = "loky",
              scheduler: str | None = None, evaluate: Evaluate | None = None,
              retry_failed: bool = False, allow_code_change: bool = False,
              progress: bool = True, flush_seconds: float = 5.0) -> SweepReport:
    """Run (or resume) a sweep into the folder ``out``.

    Args:
        config: The validated sweep.
        out: Sweep folder; created if needed. It then holds ``manifest.json``,
            ``design.parquet`` and ``runs/part-*.parquet``.
        jobs: Worker processes (loky; Dask local cluster), >= 1. Ignored with ``scheduler``.
        backend: ``"loky"`` (joblib) or ``"dask"``.
        scheduler: Address of a Dask scheduler (``tcp://host:port``); None starts a local
            cluster of ``jobs`` workers on 127.0.0.1. Only with ``backend="dask"``.
        evaluate: Evaluation function (default: the model, ``ModelRun(config.scenario)``).
        retry_failed: Run failed runs again instead of keeping their errors.
        allow_code_change: Resume even when the folder's runs come from other model code.
        progress: Show a progress bar (runs done, failures, time left) on stderr.
        flush_seconds: Longest time finished runs wait in memory before a part is written.

    Returns:
        A ``SweepReport``; the results are in ``out`` (``load_results(out)``).
    """
    check_execution(jobs, backend, scheduler, flush_seconds)
    plan = plan_sweep(config, out, evaluate=evaluate, allow_code_change=allow_code_change)
    out = plan.out
    with contextlib.ExitStack() as stack:
        # Reach the cluster before writing anything: a bad address is bad input.
        client = stack.enter_context(_dask_client(jobs, scheduler)) if backend == "dask" \
            else None
        out.mkdir(parents=True, exist_ok=True)
        stack.enter_context(_lock(out))
        store.runs_dir(out).mkdir(exist_ok=True)
        store.remove_stale_temporaries(out)
        if retry_failed and plan.failed:
            store.drop_failed(out)
            plan.done -= plan.failed
            plan.failed = set()
        if not (out / store.DESIGN_FILE).exists():
            raw = plan.design.raw.copy()
            raw.insert(0, "sample", np.arange(len(raw)))
            write_parquet(raw, out / store.DESIGN_FILE)
        session = {"started": mf.now(), "backend": backend, "jobs": jobs,
                   "scheduler": scheduler, "skipped": len(plan.done)}
        manifest = _start_manifest(plan, session)
        start = time.perf_counter()
        ran, failed_now, first_error = 0, 0, None
        try:
            for row in _collect(plan, jobs, client, progress, flush_seconds):
                ran += 1
                if row["error"] is not None:
                    failed_now += 1
                    first_error = first_error or f"run {row['run_id']}: {row['error']}"
        finally:
            wall = time.perf_counter() - start
            failed = len(plan.failed) + failed_now
            complete = len(plan.done) + ran >= plan.design.n_runs
            session.update({"ended": mf.now(), "ran": ran, "failed": failed_now,
                            "wall_seconds": round(wall, 3), "complete": complete})
            manifest["status"] = {"state": "complete" if complete else "incomplete",
                                  "runs_done": len(plan.done) + ran, "failed": failed}
            manifest["updated"] = mf.now()
            mf.write_manifest(out, manifest)
    if first_error is None and plan.failed:
        table = load_results(out, check_code=False)
        bad = table.loc[table["error"].notna()].iloc[0]
        first_error = f"run {bad['run_id']}: {bad['error']}"
    return SweepReport(out, plan.design.n_runs, len(plan.done), ran, failed, wall, complete,
                       first_error)


def check_execution(jobs: int, backend: str, scheduler: str | None,
                    flush_seconds: float = 5.0) -> None:
    """Refuse bad execution options (one line each) before anything runs."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"--jobs: got {jobs!r}; allowed: an integer >= 1")
    if backend not in BACKENDS:
        raise UsageError(f"--backend: got {backend!r}; allowed: one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise UsageError("--scheduler needs --backend dask")
    if not flush_seconds > 0:
        raise UsageError(f"--flush-every: got {flush_seconds!r}; allowed: a number > 0")


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` so two sweeps never write into it at once."""
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another sweep is writing into {str(out)!r}; wait for it "
                             "to finish or stop it") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start_manifest(plan: Plan, session: dict[str, Any]) -> dict[str, Any]:
    config, old = plan.config, plan.manifest or {}
    git = mf.git_state()
    manifest = {
        "format": mf.FORMAT,
        "name": config.name,
        "created": old.get("created", mf.now()),
        "updated": mf.now(),
        "source": config.source,
        "config": config.to_dict(),
        "fingerprint": config.fingerprint(),
        "evaluation": plan.evaluation,
        "model_runs": isinstance(plan.evaluate, ModelRun),
        "parameter_space": {"design": config.design, "problem": config.problem,
                            "parameters": config.to_dict()["parameters"],
                            "fixed": config.fixed, "scenario": config.scenario},
        "master_seed": config.master_seed,
        "seeding": "run i uses numpy SeedSequence(master_seed, spawn_key=(i,)); "
                   "run i is replication i % replications of design point i // replications",
        "n_samples": plan.design.n_samples,
        "replications": config.replications,
        "run_count": plan.design.n_runs,
        "code": {"version": plan.code_version, **git},
        "versions": mf.package_versions(),
        "sessions": [*old.get("sessions", []), session],
        "status": {"state": "running", "runs_done": len(plan.done),
                   "failed": len(plan.failed)},
    }
    seen = list(old.get("code_versions_seen", []))
    if plan.code_version not in seen:
        seen.append(plan.code_version)
    manifest["code_versions_seen"] = seen
    mf.write_manifest(plan.out, manifest)
    return manifest


def _collect(plan: Plan, jobs: int, client: Any, progress: bool,
             flush_seconds: float) -> Iterator[dict[str, Any]]:
    """Yield finished rows; write them as parts every ``flush_seconds`` and on the way out."""
    todo, config = plan.todo, plan.config
    names = config.names
    buffer: list[dict[str, Any]] = []
    last_flush = time.monotonic()
    bar = tqdm(total=plan.design.n_runs, initial=len(plan.done), unit="run",
               desc=config.name, disable=not progress, dynamic_ncols=True)
    failures = len(plan.failed)
    bar.set_postfix(failed=failures)
    try:
        for row in _execute(plan, todo, jobs, client):
            run_id = int(row["run_id"])
            params = plan.params(run_id)
            version = row.get("code_version") or plan.code_version
            full = {"run_id": run_id, "sample": run_id // config.replications,
                    "replication": run_id % config.replications,
                    **{n: params[n] for n in names},
                    "key": mf.run_key(version, plan.evaluation, params, config.master_seed,
                                      run_id),
                    **row}
            if row.get("code_version") not in (None, plan.code_version):
                mf.warn_code_version(f"a worker runs other code (version {version}, "
                                     f"here {plan.code_version}); its rows carry its version")
            buffer.append(full)
            if full["error"] is not None:
                failures += 1
                bar.set_postfix(failed=failures)
            bar.update(1)
            if time.monotonic() - last_flush >= flush_seconds:
                store.write_part(plan.out, buffer)
                buffer, last_flush = [], time.monotonic()
            yield full
    finally:
        if buffer:
            store.write_part(plan.out, buffer)
        bar.close()


def _execute(plan: Plan, todo: list[int], jobs: int, client: Any) -> Iterator[dict[str, Any]]:
    seed, evaluate = plan.config.master_seed, plan.evaluate
    if not todo:
        return
    if client is not None:
        yield from _execute_dask(plan, todo, client)
    elif jobs == 1:
        for run_id in todo:
            yield evaluate_run(evaluate, run_id, seed, plan.params(run_id))
    else:
        parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
        yield from parallel(delayed(evaluate_run)(evaluate, run_id, seed, plan.params(run_id))
                            for run_id in todo)


@contextlib.contextmanager
def _dask_client(jobs: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client of the scheduler at ``scheduler``, or of a local loopback cluster."""
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        try:
            if scheduler is None:
                cluster = stack.enter_context(LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None))
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            where = f"the Dask scheduler at {scheduler!r}" if scheduler else \
                "a local Dask cluster"
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"--scheduler: cannot reach {where}: {message}") from None
        yield client


def _execute_dask(plan: Plan, todo: list[int], client: Any) -> Iterator[dict[str, Any]]:
    from distributed import as_completed

    task = functools.partial(evaluate_run, plan.evaluate)
    seed = plan.config.master_seed
    futures = client.map(task, todo, [seed] * len(todo), [plan.params(i) for i in todo],
                         pure=False)
    run_of = {f.key: run_id for f, run_id in zip(futures, todo, strict=True)}
    try:
        for future in as_completed(futures):
            run_id = run_of[future.key]
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record the run
                row = {"run_id": run_id, "code_version": None, "elapsed_s": math.nan,
                       "error": f"{type(exc).__name__}: {exc}".replace("\n", " ")[:2000]}
            future.release()
            yield row
    finally:
        client.cancel([f for f in futures if not f.done()])


def load_results(out: str | Path, *, timing: bool = False,
                 check_code: bool = True) -> pd.DataFrame:
    """The results table of a sweep folder: one row per finished run, sorted by run id.

    Columns: ``run_id``, ``sample``, ``replication``, the varied parameters, ``key``,
    ``code_version``, ``error`` (None for successful runs) and the outputs (float64);
    ``elapsed_s`` (seconds per run) too when ``timing`` is true. It warns loudly
    (``CodeVersionWarning``) when the runs come from several code versions, or from
    model code other than the code installed now.
    """
    out = Path(out)
    manifest = mf.read_manifest(out)
    if manifest is None:
        raise UsageError(f"{str(out)!r} holds no sweep (no {mf.MANIFEST})")
    names = [p["name"] for p in manifest["config"]["parameters"]]
    table = store.normalise(store.read_parts(out), names, timing=timing)
    if check_code and not table.empty:
        versions = sorted(set(table["code_version"].dropna()))
        if len(versions) > 1:
            mf.warn_code_version(f"{str(out)!r} mixes runs of {len(versions)} code versions "
                                 f"({', '.join(versions)}); compare the code_version column")
        elif manifest.get("model_runs") and versions and versions[0] != mf.model_code_version():
            mf.warn_code_version(f"{str(out)!r} was made by model code {versions[0]}, but the "
                                 f"installed model code is {mf.model_code_version()}")
    return table
