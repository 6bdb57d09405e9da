"""Calibration by approximate Bayesian computation (ABC-SMC, with ``pyabc``).

``config`` reads and checks a calibration file into a ``CalibrationPlan`` and
holds what the model side needs (per-particle seeds, the simulation of a
particle, the distance); ``smc`` runs pyabc on a plan into a result folder and
turns its database into tables (``posterior.parquet``, ``generations.csv``,
``predictive.parquet``). ``smc`` imports pyabc, which takes seconds and is
only needed when a calibration runs, so it is imported on demand.
"""

from experiments.calibrate.config import (
    CalibrationPlan,
    ConfigError,
    ModelSimulation,
    Pattern,
    Prior,
    load_config,
    particle_seed,
    pattern_distance,
    read_posterior,
)

__all__ = ["CalibrationPlan", "ConfigError", "ModelSimulation", "Pattern", "Prior",
           "load_config", "particle_seed", "pattern_distance", "read_posterior"]
