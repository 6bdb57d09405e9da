"""``--dry-run``: run count and time, memory and disk estimates, without building the design.

The run count comes from the config's options alone (``SweepConfig.n_points``);
a few pilot runs at the centre of the parameter space (the middle of each
range, the first level of each grid parameter) give the time per run. Nothing
is written.
"""

from __future__ import annotations

import io
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from experiments.engine import ModelEvaluation, RunSpec, evaluate_task
from experiments.engine.execute import Evaluation
from experiments.engine.seeds import child_seed
from experiments.engine.store import RunStore
from experiments.sweep.config import SweepConfig
from experiments.sweep.execute import sweep_folder, sweep_schema


@dataclass(frozen=True)
class Estimate:
    """What a sweep would cost.

    Attributes:
        description: the design in words.
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


def centre(config: SweepConfig) -> dict[str, Any]:
    """Inputs of the pilot runs: the middle of each range, the first level of each grid."""
    point: dict[str, Any] = {}
    for p in config.parameters:
        if p.levels:
            point[p.name] = p.levels[0]
        elif p.bounds is not None:
            mid = (p.bounds[0] + p.bounds[1]) / 2
            point[p.name] = round(mid) if p.kind == "int" else mid
    return point


def estimate(config: SweepConfig, out: str | Path, jobs: int, pilots: int = 3,
             evaluate: Evaluation | None = None) -> Estimate:
    """Run ``pilots`` runs of ``config`` in this process (writing nothing) and extrapolate."""
    n_runs = config.n_points() * config.replications
    evaluate = evaluate or ModelEvaluation(config.scenario)
    done = 0
    if sweep_folder(config, out, evaluate).check() is not None:  # refuses another sweep
        ok, failed = RunStore(out, sweep_schema(config)).status()
        done = len(ok | failed)
    inputs = {**config.fixed, **centre(config)}
    rows, seconds = [], []
    for i in range(min(pilots, max(1, n_runs))):
        spec = RunSpec(i, 0, i, child_seed(config.master_seed, i), inputs)
        start = time.perf_counter()
        row, _ = evaluate_task(evaluate, spec)
        seconds.append(time.perf_counter() - start)
        rows.append({"run_id": i, "point": 0, "replication": i, "seed": spec.seed,
                     **inputs, **row, "key": "0" * 16})
    per_run = sum(seconds) / len(seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    todo = max(0, n_runs - done)
    return Estimate(
        description=(f"{config.design} design over {', '.join(config.names)}: "
                     f"{config.n_points():,} points x {config.replications:,} replications = "
                     f"{n_runs:,} runs"),
        n_runs=n_runs, todo=todo, pilots=len(rows),
        failed_pilots=sum(r["error"] is not None for r in rows), seconds_per_run=per_run,
        wall_seconds=per_run * todo / jobs, memory_bytes=int(rss),
        disk_bytes=int(_bytes_per_row(config, rows) * todo), jobs=jobs)


def _bytes_per_row(config: SweepConfig, rows: list[dict[str, Any]]) -> float:
    schema = sweep_schema(config)

    def size(n: int) -> int:
        buffer = io.BytesIO()
        pq.write_table(schema.runs_table(rows[:n]), buffer)
        return buffer.tell()

    return max(1.0, (size(len(rows)) - size(0)) / max(1, len(rows)))
