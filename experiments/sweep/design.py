"""Designs: the points of a sweep (SALib samplers or a full-factorial grid) and their runs.

Every random choice comes from the config's master seed: the sampler's seed and
the analysers' seed are words of the root state of ``SeedSequence(master_seed)``
(SALib takes 32-bit seeds); run seeds are spawned by the engine under the
config's seed policy (``experiments.engine.seeds``).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from SALib.sample import latin, morris, sobol

from experiments.sweep.config import SweepConfig


def design_seed(master_seed: int) -> int:
    """The (non-zero) seed given to SALib's sampler."""
    return int(np.random.SeedSequence(master_seed).generate_state(2)[0]) or 1


def analysis_seed(master_seed: int) -> int:
    """The (non-zero) seed given to SALib's analysers for bootstrap intervals."""
    return int(np.random.SeedSequence(master_seed).generate_state(2)[1]) or 1


@dataclass(frozen=True)
class Design:
    """The points of a sweep.

    Attributes:
        config: The sweep configuration.
        raw: The sampler's output, one row per point, one column per varied parameter
            (what SALib's analysers expect as X).
        values: The values each run receives (integer parameters rounded), same shape.
    """

    config: SweepConfig
    raw: pd.DataFrame
    values: pd.DataFrame

    @property
    def n_samples(self) -> int:
        """Number of design points."""
        return len(self.values)

    @property
    def n_runs(self) -> int:
        """Number of runs: points times replications."""
        return self.n_samples * self.config.replications

    def runs(self) -> pd.DataFrame:
        """One row per run: ``run_id``, ``sample``, ``replication`` and the varied values."""
        reps = self.config.replications
        table = self.values.loc[self.values.index.repeat(reps)].reset_index(drop=True)
        table.insert(0, "replication", np.tile(np.arange(reps), self.n_samples))
        table.insert(0, "sample", np.repeat(np.arange(self.n_samples), reps))
        table.insert(0, "run_id", np.arange(self.n_runs))
        return table

    def describe(self) -> str:
        """One line: design kind, points, replications, runs."""
        c = self.config
        return (f"{c.design} design over {', '.join(c.names)}: {self.n_samples} points x "
                f"{c.replications} replications = {self.n_runs} runs")


def build_design(config: SweepConfig) -> Design:
    """Sample (or enumerate) the design points of ``config``."""
    if config.design == "grid":
        levels = []
        for p in config.parameters:
            assert p.levels is not None, "every parameter of a grid has levels"
            levels.append(p.levels)
        rows = list(itertools.product(*levels))
        raw = pd.DataFrame(rows, columns=config.names)
    elif config.design == "samples":
        assert config.samples is not None, "a samples design has its table"
        raw = config.samples.reset_index(drop=True)
    else:
        raw = pd.DataFrame(_sample(config), columns=config.names)
    return Design(config, raw, _run_values(config, raw))


def _sample(config: SweepConfig) -> np.ndarray:
    opts, seed, problem = config.options, design_seed(config.master_seed), config.problem
    with warnings.catch_warnings():
        # SALib warns about sample-size conventions the config already enforces.
        warnings.simplefilter("ignore", UserWarning)
        if config.design == "sobol":
            return sobol.sample(problem, opts["n"], calc_second_order=opts["second_order"],
                                scramble=True, seed=seed)
        if config.design == "morris":
            return morris.sample(problem, opts["n"], num_levels=opts["num_levels"],
                                 optimal_trajectories=opts["optimal_trajectories"],
                                 local_optimization=opts["local_optimization"], seed=seed)
        return latin.sample(problem, opts["n"], seed=seed)


def _run_values(config: SweepConfig, raw: pd.DataFrame) -> pd.DataFrame:
    values = raw.copy()
    for p in config.parameters:
        if p.kind == "int" and p.bounds is not None:
            values[p.name] = np.clip(np.rint(raw[p.name]), *p.bounds).astype(np.int64)
        elif p.kind == "float":
            values[p.name] = raw[p.name].astype(np.float64)
    return values
