"""A design: points x replications x a seed policy, the one input of the engine.

A *point* is a mapping of inputs (for model studies: ``scenario`` and the
declared parameters it changes). Every point runs ``replications`` times; run
``i`` is replication ``i % replications`` of point ``i // replications`` and
gets its seed from the master seed under the seed policy (``common`` or
``independent``, see ``experiments.engine.seeds``).

A design can grow two ways, and the runs it had keep their ids and seeds:
by appending points (the break-even search's refinement), or by adding a
*round* of replications to every point (a sweep that replicates until its
intervals are narrow enough). Round k's runs are numbered after those of every
earlier round, point by point, and continue its replication numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.engine import limits
from experiments.engine.provenance import digest
from experiments.engine.seeds import SEED_MAX, SEED_POLICIES, child_seed, run_seeds
from experiments.errors import UsageError


@dataclass(frozen=True)
class RunSpec:
    """One run of a design: ids, seed and the inputs it receives."""

    run_id: int
    point: int
    replication: int
    seed: int
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class Design:
    """What a study runs.

    Attributes:
        points: inputs of each design point, in order.
        replications: runs per point (>= 1).
        master_seed: root of every seed, in [0, 2**63 - 1].
        seed_policy: ``"common"`` or ``"independent"``.
        fixed: inputs given to every run (a point's own inputs win).
    """

    points: tuple[Mapping[str, Any], ...]
    replications: int
    master_seed: int
    seed_policy: str = "common"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    rounds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.seed_policy not in SEED_POLICIES:
            raise UsageError(f"seed policy: got {self.seed_policy!r}; allowed: one of "
                             + ", ".join(SEED_POLICIES))
        limits.check_count("master seed", self.master_seed, 0, SEED_MAX)
        limits.check_runs(len(self.points), self.replications)
        rounds = tuple(self.rounds) or (self.replications,)
        if sum(rounds) != self.replications or min(rounds) < 1:
            raise ValueError(f"rounds {rounds} do not add up to {self.replications} "
                             "replications")
        object.__setattr__(self, "rounds", rounds)
        object.__setattr__(self, "points", tuple(dict(p) for p in self.points))
        object.__setattr__(self, "fixed", dict(self.fixed))

    @property
    def n_points(self) -> int:
        """Design points."""
        return len(self.points)

    @property
    def n_runs(self) -> int:
        """Runs: points times replications."""
        return self.n_points * self.replications

    @functools.cached_property
    def seeds(self) -> np.ndarray:
        """Seed of every run, by run id (int64, in [0, 2**63 - 1])."""
        parts, offset = [], 0
        for start, count in self._round_starts():
            if self.seed_policy == "common":  # replication r's seed, whatever its round
                per_rep = run_seeds(self.master_seed, 1, start + count, "common")[start:]
                parts.append(np.tile(per_rep, self.n_points))
            else:  # run i's own seed: the ids of a later round follow the earlier ones
                parts.append(np.array([child_seed(self.master_seed, offset + i)
                                       for i in range(self.n_points * count)], dtype=np.int64))
            offset += self.n_points * count
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _round_starts(self) -> list[tuple[int, int]]:
        """(first replication, replications) of each round."""
        starts, first = [], 0
        for count in self.rounds:
            starts.append((first, count))
            first += count
        return starts

    def inputs(self, point: int) -> dict[str, Any]:
        """Everything run ``point`` receives: the fixed inputs, then the point's own."""
        return {**self.fixed, **self.points[point]}

    def run(self, run_id: int) -> RunSpec:
        """Run ``run_id`` of the design."""
        local = run_id
        for start, count in self._round_starts():
            if local < self.n_points * count:
                point, replication = divmod(local, count)
                return RunSpec(run_id, point, start + replication, int(self.seeds[run_id]),
                               self.inputs(point))
            local -= self.n_points * count
        raise IndexError(f"run {run_id}: the design has {self.n_runs} runs")

    def extended(self, points: Sequence[Mapping[str, Any]]) -> Design:
        """This design with ``points`` appended (existing runs keep their ids and seeds).

        Only a design of one round can grow points: later rounds' ids would move.
        """
        if len(self.rounds) > 1:
            raise ValueError("a design of several rounds cannot grow points")
        return Design((*self.points, *points), self.replications, self.master_seed,
                      self.seed_policy, self.fixed)

    def with_round(self, replications: int) -> Design:
        """This design with a round of ``replications`` more runs of every point."""
        return Design(self.points, self.replications + replications, self.master_seed,
                      self.seed_policy, self.fixed, (*self.rounds, replications))

    def record(self) -> dict[str, Any]:
        """The design as plain data for the manifest (sizes, seeds, digest of the points)."""
        return {"points": self.n_points, "replications": self.replications,
                "runs": self.n_runs, "master_seed": self.master_seed,
                "seed_policy": self.seed_policy, "fixed": dict(self.fixed),
                "rounds": list(self.rounds),
                "points_digest": digest([list(self.points), dict(self.fixed)])}
