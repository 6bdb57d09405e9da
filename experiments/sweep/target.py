"""Replicating until the sensitivity indices are sure enough: ``cisim sweep --target-ci W``.

A model with random seeds gives noisy outputs at every design point, and an
index computed on too few replications reflects the seeds as much as the
parameters. This adds replications to every design point in rounds (each round
as many as the sweep already has, so rounds double it) until every index's
interval from the bootstrap over replications (``analysis.replicate_bootstrap``)
is narrower than W, or until the next round would exceed the run budget, and
says which of the two ended it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.engine import read_manifest
from experiments.errors import UsageError
from experiments.sweep.analysis import analyze
from experiments.sweep.config import SweepConfig
from experiments.sweep.execute import run_sweep

#: The indices whose intervals must be narrow (second-order Sobol' indices are not).
TARGET_INDICES: dict[str, tuple[str, ...]] = {"sobol": ("S1", "ST"), "morris": ("mu_star",)}


@dataclass(frozen=True)
class TargetReport:
    """How replicating to a target ended.

    Attributes:
        reached: whether every interval got narrower than the target.
        widest: the widest interval at the end (inf when not yet replicated).
        target: the width asked for.
        replications: replications per design point at the end.
        runs: runs in the folder's design at the end.
        budget: the most runs allowed.
        rounds: replications of each round.
    """

    reached: bool
    widest: float
    target: float
    replications: int
    runs: int
    budget: int
    rounds: tuple[int, ...]

    def describe(self) -> str:
        """One line: which it was."""
        if self.reached:
            return (f"target reached: the widest index interval is {self.widest:.4g} "
                    f"(target {self.target:g}) with {self.replications} replications per "
                    f"point, {self.runs:,} runs in rounds {list(self.rounds)}")
        return (f"budget spent: the widest index interval is still {self.widest:.4g} "
                f"(target {self.target:g}) after {self.runs:,} runs (budget {self.budget:,}; "
                f"{self.replications} replications per point, rounds {list(self.rounds)})")


def widest_interval(out: str | Path, design: str) -> float:
    """Widest bootstrap-over-replications interval of the target indices in folder ``out``."""
    result = analyze(out, write=False)
    rows = result.indices[result.indices["index"].isin(TARGET_INDICES[design])]
    if rows.empty or result.skipped:
        return np.inf
    widths = (rows["high"] - rows["low"]).to_numpy(dtype=float)
    return float(np.inf) if np.isnan(widths).any() else float(widths.max())


def replicate_until(config: SweepConfig, out: str | Path, width: float,
                    budget: int | None = None, **options: Any) -> TargetReport:
    """Run the sweep, then add rounds of replications until the intervals are narrow.

    Args:
        config: a Sobol' or Morris sweep.
        out: its folder (resumed like any sweep).
        width: the largest interval width allowed, in the output's units.
        budget: the most runs the folder may hold (default: 8 times the design's).
        **options: passed to ``run_sweep`` (jobs, backend, scheduler, progress...).

    Raises:
        UsageError: a design without indices, or a budget below the design's runs.
    """
    if config.design not in TARGET_INDICES:
        raise UsageError(f"--target-ci: a {config.design} design has no sensitivity indices; "
                         "use a sobol or morris design")
    if not width > 0:
        raise UsageError(f"--target-ci: got {width!r}; allowed: a number above 0")
    points = config.n_points()
    budget = 8 * points * config.replications if budget is None else budget
    if budget < points * config.replications:
        raise UsageError(f"--budget: got {budget:,}; allowed: at least the design's "
                         f"{points * config.replications:,} runs")
    report = run_sweep(config, out, **options)
    if report.failed:
        raise UsageError(f"{report.failed} runs failed ({report.first_error}); fix the cause "
                         "and rerun with --retry-failed before replicating further")
    while True:
        replications = report.n_runs // points
        widest = widest_interval(out, config.design)
        rounds = _rounds(out)
        if widest <= width:
            return TargetReport(True, widest, width, replications, report.n_runs, budget,
                                rounds)
        more = min(replications, (budget - report.n_runs) // points)
        if more < 1:
            return TargetReport(False, widest, width, replications, report.n_runs, budget,
                                rounds)
        report = run_sweep(config, out, add_round=more, **options)


def _rounds(out: str | Path) -> tuple[int, ...]:
    manifest = read_manifest(out) or {}
    return tuple(manifest.get("design", {}).get("rounds", ()))
