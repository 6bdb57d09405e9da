"""Parameter sweeps and global sensitivity analysis, on one machine or a Dask cluster.

For notebooks::

    from experiments import sweep as sw
    table = sw.sweep("experiments/configs/card_lhs.toml", "/tmp/card-lhs", jobs=2)
    result = sw.analyze("/tmp/card-lhs")          # result.indices, result.curves

    from SALib import ProblemSpec
    problem = ProblemSpec({"names": ["backbone_funding", "initial_trust"],
                           "bounds": [[0.0, 0.2], [0.1, 0.8]],
                           "outputs": ["improvement_pct"]})
    table = sw.sweep(problem, "/tmp/p", design="sobol", n=16, fixed={"steps": 24})

``sweep`` accepts a TOML path, a ``SweepConfig``, a SALib problem (dict or
``ProblemSpec``) or a DataFrame of samples (one column per parameter), and
returns the results as a pandas DataFrame. Importing this package sets no
global state (in particular not the multiprocessing start method).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from experiments.sweep.config import ConfigError, SweepConfig, Varied, load_config
from experiments.sweep.design import Design, build_design, run_seed
from experiments.sweep.execute import (
    ModelRun,
    SweepReport,
    evaluate_run,
    load_results,
    plan_sweep,
    run_sweep,
)
from experiments.sweep.manifest import CodeVersionWarning, model_code_version

if TYPE_CHECKING:
    from experiments.sweep.analysis import Analysis

__all__ = [
    "Analysis", "CodeVersionWarning", "ConfigError", "Design", "ModelRun", "SweepConfig",
    "SweepReport", "Varied", "analyze", "as_config", "build_design", "evaluate_run",
    "load_config", "load_results", "model_code_version", "plan_sweep", "run_seed",
    "run_sweep", "sweep",
]


def as_config(spec: Any, *, design: str | None = None, n: int | None = None,
              **kwargs: Any) -> SweepConfig:
    """A ``SweepConfig`` from a TOML path, a config, a SALib problem or a samples DataFrame.

    Args:
        spec: What to sweep.
        design: For a SALib problem: ``"sobol"`` (default), ``"morris"`` or ``"lhs"``.
        n: For a SALib problem: the base sample size.
        **kwargs: For a problem or samples: ``replications``, ``master_seed``,
            ``scenario``, ``fixed``, ``outputs``, ``model``, ``name`` and design options.
    """
    if isinstance(spec, SweepConfig):
        return spec
    if isinstance(spec, str | Path):
        return load_config(spec)
    if isinstance(spec, pd.DataFrame):
        return SweepConfig.from_samples(spec, **kwargs)
    if isinstance(spec, Mapping) and "names" in spec:
        if n is None:
            raise ConfigError("problem: give n, the base sample size")
        return SweepConfig.from_problem(spec, design or "sobol", n=n, **kwargs)
    raise ConfigError(f"cannot make a sweep from {type(spec).__name__}; give a TOML path, "
                      "a SweepConfig, a SALib problem or a DataFrame of samples")


def sweep(spec: Any, out: str | Path, *, design: str | None = None, n: int | None = None,
          evaluate: Any = None, jobs: int = 1, backend: str = "loky",
          scheduler: str | None = None, progress: bool = True, **kwargs: Any) -> pd.DataFrame:
    """Run (or resume) a sweep into ``out`` and return its results table.

    See ``as_config`` for ``spec``, ``design``, ``n`` and ``kwargs``, and
    ``run_sweep`` for the rest. Failed runs are kept in the table (``error``
    column) and announced with a warning.
    """
    config = as_config(spec, design=design, n=n, **kwargs)
    report = run_sweep(config, out, jobs=jobs, backend=backend, scheduler=scheduler,
                       evaluate=evaluate, progress=progress)
    if report.failed:
        warnings.warn(f"{report.failed} of {report.n_runs} runs failed (first: "
                      f"{report.first_error})", RuntimeWarning, stacklevel=2)
    return report.table()


def analyze(out: str | Path, outputs: Any = None, **kwargs: Any) -> Analysis:
    """Sensitivity indices, response curves and heat maps of a sweep folder (see ``analyze``)."""
    from experiments.sweep.analysis import analyze as _analyze

    return _analyze(out, outputs, **kwargs)
