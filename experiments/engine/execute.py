"""Executing a design: every run through one executor into one store, resumable.

``execute(design, evaluation, schema, store=...)`` runs the design's runs that
the store does not hold yet (and, with ``retry_failed``, those whose last
attempt failed), on a loky or Dask executor. Finished runs are buffered in the
parent and written as a part every ``flush_seconds`` and on the way out (also
after Ctrl-C or an error), so an interrupted study loses at most that much work
and the same call later completes it. Without a store the rows are only
collected in memory. Either way the tables go through the study's Arrow
schema, so a resumed study, an uninterrupted one and an in-memory one give
equal tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from experiments.engine import provenance as pv
from experiments.engine.design import Design, RunSpec
from experiments.engine.executor import LokyExecutor, TaskFailed
from experiments.engine.schema import StudySchema
from experiments.engine.store import RunStore, to_pandas
from experiments.runner import run_one
from model.scenarios import make_scenario

Evaluation = Callable[[dict[str, Any], int], Any]
"""(inputs, seed) -> outputs by name, or (outputs, time series or None). Must pickle."""

_ERROR_LIMIT = 2000  # characters of an error message kept in the table


class ModelEvaluation:
    """The model as an evaluation: one run of ``run_one``, its summary and its parameters.

    Args:
        scenario: named scenario of points that name none.
        keep_series: also return the run's monthly time series.
    """

    def __init__(self, scenario: str = "collective", keep_series: bool = False) -> None:
        self.scenario = scenario
        self.keep_series = keep_series

    def __call__(self, inputs: dict[str, Any], seed: int
                 ) -> tuple[dict[str, Any], pd.DataFrame | None]:
        """Run the model; return (parameters and summary, time series or None)."""
        params = dict(inputs)
        scenario = params.pop("scenario", self.scenario)
        summary, series = run_one(scenario, int(seed), **params)
        full = make_scenario(scenario, rng=int(seed), **params).parameters()
        full.pop("seed", None)
        summary.pop("seed", None)  # the run's seed is an identity column
        return {"scenario": scenario, **full, **summary}, (series if self.keep_series else None)

    def identity(self) -> str:
        """Stable name recorded in manifests and run keys."""
        return f"experiments.runner:run_one(scenario={self.scenario!r})"

    def code_version(self) -> str:
        """Digest of the model's source."""
        return pv.model_code_version()


def evaluate_task(evaluation: Evaluation, spec: RunSpec) -> tuple[dict[str, Any], Any]:
    """Run one evaluation on a worker; never raises for the run's own errors.

    Returns:
        (row, time series or None). The row holds the outputs (or ``error``,
        ``"Type: message"``), ``code_version`` of the worker's code and ``elapsed_s``.
    """
    start = time.perf_counter()
    row: dict[str, Any] = {"error": None, "code_version": None}
    series = None
    try:
        row["code_version"] = pv.code_version_of(evaluation)
        result = evaluation(dict(spec.inputs), spec.seed)
        outputs, series = result if isinstance(result, tuple) else (result, None)
        clash = set(outputs) & {"run_id", "point", "replication", "seed", "key",
                                "code_version", "error", "elapsed_s"}
        if clash:
            raise ValueError(f"outputs use reserved column names: {sorted(clash)}")
        row.update(outputs)
    except Exception as exc:  # noqa: BLE001 - any failure of a run is recorded, not raised
        row["error"] = _message(exc)
        series = None
    row["elapsed_s"] = time.perf_counter() - start
    return row, series


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:_ERROR_LIMIT]


@dataclass
class Execution:
    """What one call of ``execute`` did, and the tables it leaves.

    Attributes:
        runs: one row per run of the design that has a row (see ``RunStore.runs``).
        series: time series of the successful runs (empty when none are kept).
        n_runs: runs in the design.
        skipped: runs already finished before this call.
        ran: runs finished by this call.
        failed: runs whose latest attempt failed, after this call.
        wall_seconds: wall time of this call.
    """

    runs: pd.DataFrame
    series: pd.DataFrame
    n_runs: int
    skipped: int
    ran: int
    failed: int
    wall_seconds: float

    @property
    def complete(self) -> bool:
        """Whether every run of the design has a row."""
        return len(self.runs) == self.n_runs

    @property
    def first_error(self) -> str | None:
        """``"run <id>: <error>"`` of the first failed run, if any."""
        bad = self.runs[self.runs["error"].notna()]
        if bad.empty:
            return None
        return f"run {int(bad['run_id'].iloc[0])}: {bad['error'].iloc[0]}"


class _MemoryStore:
    """Rows kept in memory, through the same schema as parts on disk."""

    def __init__(self, schema: StudySchema) -> None:
        self.schema = schema
        self.rows: list[dict[str, Any]] = []
        self.frames: list[pd.DataFrame] = []

    def append(self, rows: list[dict], series: list[pd.DataFrame] | None = None) -> int:
        self.rows += rows
        self.frames += series or []
        return 0

    def status(self) -> tuple[set[int], set[int]]:
        return set(), set()

    def runs(self) -> pd.DataFrame:
        frame = to_pandas(self.schema.runs_table(self.rows))
        return frame.sort_values("run_id", kind="stable").reset_index(drop=True)

    def series(self, run_ids: pd.Series | None = None) -> pd.DataFrame:
        if self.schema.series is None:
            raise ValueError("this study keeps no time series")
        frame = to_pandas(self.schema.series_table(self.frames))
        return frame.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)


def execute(design: Design, evaluation: Evaluation, schema: StudySchema, *,
            store: RunStore | None = None, executor: Any = None,
            retry_failed: bool = False, progress: bool = True, desc: str = "runs",
            flush_seconds: float = 5.0) -> Execution:
    """Run what ``store`` lacks of ``design`` and return the tables.

    Args:
        design: the runs.
        evaluation: (inputs, seed) -> outputs; ``ModelEvaluation`` for the model.
        schema: the tables' schema (``model_schema`` or ``custom_schema``).
        store: where parts go; None keeps the rows in memory only.
        executor: an entered executor (``make_executor``); None runs in this process.
        retry_failed: run again the runs whose latest attempt failed (their old rows
            stay in their parts; the new attempt supersedes them).
        progress: show a tqdm bar on stderr (runs, failures, rate, time left).
        desc: label of the bar.
        flush_seconds: longest time finished runs wait in memory before a part is written.
    """
    started = time.perf_counter()
    target: Any = store if store is not None else _MemoryStore(schema)
    if store is not None:
        store.remove_orphans()
    done, failed = target.status()
    skip = done | (set() if retry_failed else failed)
    todo = [i for i in range(design.n_runs) if i not in skip]
    evaluation_name = pv.evaluation_name(evaluation)
    executor = executor or LokyExecutor(1)
    tasks = [(evaluation, design.run(i)) for i in todo]
    rows: list[dict[str, Any]] = []
    frames: list[pd.DataFrame] = []
    failures = len(failed) if not retry_failed else 0
    last_flush = time.monotonic()
    ran = 0
    bar = tqdm(total=design.n_runs, initial=design.n_runs - len(todo), unit="run", desc=desc,
               disable=not progress, dynamic_ncols=True)
    bar.set_postfix(failed=failures)

    def flush() -> None:
        nonlocal rows, frames, last_flush
        if rows:
            target.append(rows, frames)
        rows, frames, last_flush = [], [], time.monotonic()

    try:
        for index, result in executor.map_unordered(evaluate_task, tasks):
            spec = tasks[index][1]
            if isinstance(result, TaskFailed):
                row, series = ({"error": str(result)[:_ERROR_LIMIT], "code_version": None,
                                "elapsed_s": None}, None)
            else:
                row, series = result
            row = {"run_id": spec.run_id, "point": spec.point,
                   "replication": spec.replication, "seed": spec.seed,
                   **spec.inputs, **row}
            row["key"] = pv.run_key(evaluation_name, spec.inputs, spec.seed)
            rows.append(row)
            if series is not None:
                frames.append(_tag(series, spec, row.get("scenario")))
            ran += 1
            if row["error"] is not None:
                failures += 1
                bar.set_postfix(failed=failures)
            bar.update(1)
            if time.monotonic() - last_flush >= flush_seconds:
                flush()
    finally:
        flush()
        bar.close()
    runs = target.runs()
    series = target.series(runs["run_id"]) if schema.series is not None else pd.DataFrame()
    return Execution(runs, series, design.n_runs, design.n_runs - len(todo), ran,
                     int(runs["error"].notna().sum()), time.perf_counter() - started)


def _tag(series: pd.DataFrame, spec: RunSpec, scenario: Any) -> pd.DataFrame:
    frame = series.copy()
    frame.insert(0, "scenario", scenario)
    frame.insert(0, "replication", spec.replication)
    frame.insert(0, "point", spec.point)
    frame.insert(0, "run_id", spec.run_id)
    return frame

