"""Seeds: one 63-bit range, spawned from one master seed, under a stated policy.

Every seed the tools write is a non-negative integer below 2**63, so it fits a
signed 64-bit column and is a valid value of the declared ``seed`` parameter:
any run can be replayed with ``cisim run --seed SEED``.

Seed ``k`` of a study is child ``k`` of ``SeedSequence(master_seed)`` (the same
as ``SeedSequence(master_seed).spawn(k + 1)[k]``), turned into an integer. Which
``k`` a run uses is the *seed policy*:

- ``common``: replication ``r`` of every design point uses child ``r``, so all
  points of a replication meet the same community (common random numbers;
  differences between points are paired);
- ``independent``: run ``i`` uses child ``i``; every run has a seed of its own.

Analyses that draw random numbers (bootstrap intervals, samplers) use children
under a separate spawn key, so they never share a stream with a run.
"""

from __future__ import annotations

import numpy as np

from model.parameters import DEFAULTS
from model.seeds import SEED_MAX, fresh_seed, seed_int

__all__ = ["DEFAULT_MASTER_SEED", "SEED_MAX", "SEED_POLICIES", "analysis_seed", "child_seed",
           "fresh_seed", "run_seeds", "seed_int"]

SEED_POLICIES: tuple[str, ...] = ("common", "independent")
"""How runs get their seeds: shared by replication, or one per run."""

DEFAULT_MASTER_SEED = int(DEFAULTS["seed"])
"""Master seed of the command line and of studies when none is given (the declared default)."""

_ANALYSIS_KEY = 2**32  # spawn-key branch of analysis streams, far from any run index


def child_seed(master_seed: int, index: int) -> int:
    """Seed ``index`` of ``master_seed``: child ``index`` of ``SeedSequence(master_seed)``."""
    return seed_int(np.random.SeedSequence(master_seed, spawn_key=(index,)))


def run_seeds(master_seed: int, n_points: int, replications: int, policy: str) -> np.ndarray:
    """Seeds of every run (run ``i`` is replication ``i % replications`` of point ``i // r``).

    Args:
        master_seed: root of every seed, in [0, SEED_MAX].
        n_points: design points.
        replications: runs per point.
        policy: one of ``SEED_POLICIES``.

    Returns:
        int64 array of length ``n_points * replications``.
    """
    if policy == "common":
        per_rep = np.array([child_seed(master_seed, r) for r in range(replications)],
                           dtype=np.int64)
        return np.tile(per_rep, n_points)
    if policy == "independent":
        return np.array([child_seed(master_seed, i) for i in range(n_points * replications)],
                        dtype=np.int64)
    raise ValueError(f"seed policy: got {policy!r}; allowed: one of {', '.join(SEED_POLICIES)}")


def analysis_seed(master_seed: int, purpose: int = 0) -> int:
    """Seed of analysis stream ``purpose`` (bootstrap, sampler), apart from every run's seed."""
    return seed_int(np.random.SeedSequence(master_seed, spawn_key=(_ANALYSIS_KEY, purpose)))
