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
from SALib import ProblemSpec

from experiments.engine.execute import ModelEvaluation
from experiments.engine.provenance import CodeVersionWarning, model_code_version
from experiments.sweep.config import ConfigError, SweepConfig, Varied, load_config
from experiments.sweep.design import Design, build_design
from experiments.sweep.execute import SweepReport, load_results, plan_sweep, run_sweep

if TYPE_CHECKING:
    from experiments.sweep.analysis import Analysis

__all__ = [
    "CodeVersionWarning", "ConfigError", "Design", "ModelEvaluation",
    "SweepConfig", "SweepReport", "Varied", "analyze", "as_config", "build_design",
    "load_config", "load_results", "model_code_version", "plan_sweep", "run_sweep", "sweep",
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

    Raises:
        ConfigError: ``spec`` cannot be swept, or an option is given that it does not
            take (any option for a TOML path or config; ``design`` or ``n`` for samples).
    """
    if isinstance(spec, SweepConfig | str | Path | pd.DataFrame):
        # A config (or TOML file) states everything itself and a samples table is its own
        # design: refuse what they do not take instead of silently ignoring it.
        takes = kwargs if isinstance(spec, pd.DataFrame) else {}
        given = {"design": design, "n": n, **kwargs}
        ignored = [k for k, v in given.items() if v is not None and k not in takes]
        if ignored:
            what = ("a table of samples, which is its own design"
                    if isinstance(spec, pd.DataFrame) else "a sweep config; set it there")
            raise ConfigError(f"{', '.join(ignored)}: not an option of {what}")
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
    column) and announced with a warning. When ``spec`` is a SALib ``ProblemSpec``,
    it comes back with its samples and results set (``spec.samples``,
    ``spec.results``), so SALib's own ``spec.analyze_sobol()`` and friends work on it.
    """
    config = as_config(spec, design=design, n=n, **kwargs)
    report = run_sweep(config, out, jobs=jobs, backend=backend, scheduler=scheduler,
                       evaluate=evaluate, progress=progress)
    if report.failed:
        warnings.warn(f"{report.failed} of {report.n_runs} runs failed (first: "
                      f"{report.first_error})", RuntimeWarning, stacklevel=2)
    table = report.table()
    if isinstance(spec, ProblemSpec):
        _fill_problem_spec(spec, out, table, config)
    return table


def _fill_problem_spec(spec: ProblemSpec, out: str | Path, table: pd.DataFrame,
                       config: SweepConfig) -> None:
    """Set a ProblemSpec's samples and results: the design and the replication means."""
    from experiments.sweep.analysis import replication_means

    design = pd.read_parquet(Path(out) / "design.parquet")
    spec.samples = design[config.names].to_numpy(dtype=float)
    means = replication_means(table, list(config.outputs), len(design))
    results = means.to_numpy(dtype=float)
    spec.results = results[:, 0] if results.shape[1] == 1 else results


def analyze(out: str | Path, outputs: Any = None, **kwargs: Any) -> Analysis:
    """Sensitivity indices, response curves and heat maps of a sweep folder (see ``analyze``)."""
    from experiments.sweep.analysis import analyze as _analyze

    return _analyze(out, outputs, **kwargs)
