"""Dry runs: what a study would cost, from its size and a few pilot runs, writing nothing.

The run count comes from the study's plan alone (no design is built); a few
pilot runs in this process give the time per run, the memory of one worker and
the bytes per stored row.
"""

from __future__ import annotations

import io
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from experiments.engine.design import RunSpec
from experiments.engine.execute import Evaluation, evaluate_task
from experiments.engine.schema import StudySchema
from experiments.engine.seeds import child_seed


@dataclass(frozen=True)
class Estimate:
    """What a study would cost.

    Attributes:
        description: the design in words.
        n_runs: runs in the design.
        todo: runs not yet in the folder.
        pilots: pilot runs measured.
        failed_pilots: pilot runs that raised.
        seconds_per_run: mean wall time of a pilot run, in seconds.
        wall_seconds: estimated wall time of the remaining runs with ``jobs`` workers.
        memory_bytes: peak resident memory of a process running one model (per worker).
        disk_bytes: estimated size of the result parts of the remaining runs.
        jobs: workers assumed.
    """

    description: str
    n_runs: int
    todo: int
    pilots: int
    failed_pilots: int
    seconds_per_run: float
    wall_seconds: float
    memory_bytes: int
    disk_bytes: int
    jobs: int

    def describe(self) -> str:
        """The estimate as a few lines of text."""
        return "\n".join([
            self.description,
            f"runs: {self.n_runs:,} in the design, {self.todo:,} still to run",
            f"pilot: {self.pilots} runs, {self.seconds_per_run:.2f} s per run"
            + (f" ({self.failed_pilots} failed)" if self.failed_pilots else ""),
            f"time: about {tqdm.format_interval(self.wall_seconds)} (h:mm:ss) with "
            f"{self.jobs} worker(s), plus worker start-up",
            f"memory: about {tqdm.format_sizeof(self.memory_bytes, 'B', 1024)} per worker, "
            f"{tqdm.format_sizeof(self.jobs * self.memory_bytes, 'B', 1024)} in all",
            f"disk: about {tqdm.format_sizeof(self.disk_bytes, 'B', 1024)} of result parts",
        ])


def estimate(description: str, n_runs: int, done: int, evaluation: Evaluation,
             inputs: Mapping[str, Any], schema: StudySchema, master_seed: int, jobs: int,
             pilots: int = 3) -> Estimate:
    """Run ``pilots`` runs of ``inputs`` in this process (writing nothing) and extrapolate.

    Args:
        description: the design in words (first line of the estimate).
        n_runs: runs in the design.
        done: runs the folder already holds.
        evaluation: what a run computes.
        inputs: inputs of the pilot runs (a representative design point).
        schema: the study's table schema (for the bytes per row).
        master_seed: the study's master seed (pilots use its first seeds).
        jobs: workers the study would use.
        pilots: pilot runs.
    """
    rows, seconds, series_bytes = [], [], 0.0
    for i in range(min(pilots, max(1, n_runs))):
        spec = RunSpec(i, 0, i, child_seed(master_seed, i), dict(inputs))
        start = time.perf_counter()
        row, series = evaluate_task(evaluation, spec)
        seconds.append(time.perf_counter() - start)
        rows.append({"run_id": i, "point": 0, "replication": i, "seed": spec.seed,
                     **inputs, **row, "key": "0" * 16})
        if series is not None and schema.series is not None:
            frame = series.assign(run_id=i, point=0, replication=i,
                                  scenario=row.get("scenario"))
            series_bytes += _size(schema.series_table([frame])) / max(1, pilots)
    per_run = sum(seconds) / len(seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    todo = max(0, n_runs - done)
    return Estimate(description, n_runs, todo, len(rows),
                    sum(r["error"] is not None for r in rows), per_run, per_run * todo / jobs,
                    int(rss), int((_bytes_per_row(schema, rows) + series_bytes) * todo), jobs)


def _size(table: Any) -> int:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.tell()


def _bytes_per_row(schema: StudySchema, rows: list[dict[str, Any]]) -> float:
    extra = _size(schema.runs_table(rows)) - _size(schema.runs_table([]))
    return max(1.0, extra / max(1, len(rows)))
