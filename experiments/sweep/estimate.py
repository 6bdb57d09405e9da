"""``cisim sweep --dry-run``: the engine's estimate for a sweep, without building its design.

The run count comes from the config's options alone (``SweepConfig.n_points``);
the pilot runs sit at the centre of the parameter space (the middle of each
range, the first level of each grid parameter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.engine import ModelEvaluation, RunStore
from experiments.engine.estimate import Estimate
from experiments.engine.estimate import estimate as engine_estimate
from experiments.engine.execute import Evaluation
from experiments.sweep.config import SweepConfig
from experiments.sweep.execute import sweep_folder, sweep_schema


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
    """Pilot runs of ``config`` in this process (writing nothing), extrapolated.

    Raises:
        UsageError: ``out`` holds results of another command or configuration.
    """
    n_runs = config.n_points() * config.replications
    evaluate = evaluate or ModelEvaluation(config.scenario)
    schema = sweep_schema(config)
    done = 0
    if sweep_folder(config, out, evaluate).check() is not None:  # refuses another sweep
        ok, failed = RunStore(out, schema).status()
        done = len(ok | failed)
    fixed = {**config.fixed, **({"scenario": config.scenario} if config.model else {})}
    description = (f"{config.design} design over {', '.join(config.names)}: "
                   f"{config.n_points():,} points x {config.replications:,} replications = "
                   f"{n_runs:,} runs")
    return engine_estimate(description, n_runs, done, evaluate, {**fixed, **centre(config)},
                           schema, config.master_seed, jobs, pilots)
