"""``--dry-run``: run count and time, memory and disk estimates from a few pilot runs."""

from __future__ import annotations

import io
import resource
import time
from dataclasses import dataclass

import pandas as pd

from experiments.sweep.execute import Plan, evaluate_run
from experiments.sweep.manifest import run_key


@dataclass(frozen=True)
class Estimate:
    """What a sweep would cost.

    Attributes:
        n_runs: Runs in the design.
        todo: Runs not yet in the folder.
        pilots: Pilot runs measured.
        failed_pilots: Pilot runs that raised.
        seconds_per_run: Mean wall time of a pilot run, in seconds.
        wall_seconds: Estimated wall time of the remaining runs with ``jobs`` workers.
        memory_bytes: Peak resident memory of a process running one model (per worker).
        disk_bytes: Estimated size of the result parts of the remaining runs.
        jobs: Workers assumed.
    """

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
            f"runs: {self.n_runs} in the design, {self.todo} still to run",
            f"pilot: {self.pilots} runs, {self.seconds_per_run:.2f} s per run"
            + (f" ({self.failed_pilots} failed)" if self.failed_pilots else ""),
            f"time: about {_duration(self.wall_seconds)} with {self.jobs} worker(s) "
            "(plus worker start-up, a few seconds)",
            f"memory: about {self.memory_bytes / 2**20:.0f} MB per worker, "
            f"{self.jobs * self.memory_bytes / 2**20:.0f} MB in all",
            f"disk: about {_size(self.disk_bytes)} of result parts",
        ])


def estimate(plan: Plan, jobs: int, pilots: int = 3) -> Estimate:
    """Run up to ``pilots`` runs of ``plan`` in this process (writing nothing) and extrapolate.

    The pilots are the first runs still to do; runs elsewhere in the parameter
    space may be faster or slower.
    """
    todo = plan.todo
    chosen = todo[:pilots] or list(range(min(pilots, plan.design.n_runs)))
    rows, seconds = [], []
    for run_id in chosen:
        params = plan.params(run_id)
        start = time.perf_counter()
        row = evaluate_run(plan.evaluate, run_id, plan.config.master_seed, params)
        seconds.append(time.perf_counter() - start)
        row["key"] = run_key(plan.code_version, plan.evaluation, params,
                             plan.config.master_seed, run_id)
        rows.append({"sample": 0, "replication": 0,
                     **{n: params[n] for n in plan.config.names}, **row})
    per_run = sum(seconds) / len(seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return Estimate(
        n_runs=plan.design.n_runs, todo=len(todo), pilots=len(chosen),
        failed_pilots=sum(r["error"] is not None for r in rows), seconds_per_run=per_run,
        wall_seconds=per_run * len(todo) / jobs, memory_bytes=int(rss),
        disk_bytes=int(_bytes_per_row(rows) * len(todo)), jobs=jobs)


def _bytes_per_row(rows: list[dict]) -> float:
    def size(frame: pd.DataFrame) -> int:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.tell()

    frame = pd.DataFrame(rows)
    return max(1.0, (size(frame) - size(frame.iloc[0:0])) / len(frame))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
