"""Sensitivity indices, response curves and heat maps of a finished sweep.

Indices are computed with SALib on the *replication means* of each output (one
value per design point): Sobol' first-order (S1), second-order (S2, when
sampled) and total (ST) indices, or Morris mu, mu* and sigma, each with the
half-width of its bootstrap confidence interval. Response curves and heat maps
use every successful run: a curve gives the mean of an output at each level
(grid) or equal-count bin (sampled designs) of one parameter, with the
confidence interval of that mean and the 10-90% spread of runs as bands.

The functions take plain tables, so any evaluation function's sweep (for
instance a test function with known indices) goes through the same pipeline.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

from experiments.engine import read_manifest
from experiments.engine.limits import shown, suggest
from experiments.errors import UsageError
from experiments.io import write_csv
from experiments.stats import mean_interval
from experiments.sweep.design import analysis_seed
from experiments.sweep.execute import DESIGN_FILE, load_results
from model.metrics import SUMMARY_OUTPUTS

INDEX_COLUMNS = ("output", "index", "parameter", "parameter_2", "value", "conf")
NOISE_COLUMNS = ("corrected", "low", "high", "noise_share")
"""Added to the index table when runs are replicated: the index with the bias that
replicate noise puts into it removed, its interval from a bootstrap over
replications, and the share of the output's variance due to seeds."""
CURVE_COLUMNS = ("output", "parameter", "x", "mean", "ci_low", "ci_high", "q10", "q90", "n")


@dataclass
class Analysis:
    """Results of ``analyze``.

    Attributes:
        indices: Long table (output, index, parameter, parameter_2, value, conf);
            ``conf`` is the half-width of the confidence interval. Empty for grid,
            LHS and samples designs.
        curves: Response curves (output, parameter, x, mean, ci_low, ci_high, q10, q90, n).
        heatmaps: For each output, the table of mean values over the heat-map parameters.
        files: Files written.
        skipped: Outputs (or parts of the analysis) left out, with the reason.
    """

    indices: pd.DataFrame
    curves: pd.DataFrame
    heatmaps: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def replication_means(table: pd.DataFrame, outputs: Sequence[str],
                      n_samples: int) -> pd.DataFrame:
    """Mean of each output over the successful replications of each design point.

    Returns a table indexed by design point (0 .. n_samples - 1); NaN where a point
    has no successful run.
    """
    ok = table.loc[table["error"].isna()]
    means = ok.groupby("point")[list(outputs)].agg(lambda v: v.astype(float).mean())
    return means.reindex(pd.RangeIndex(n_samples, name="point"))


def sobol_indices(problem: Mapping[str, Any], y: np.ndarray, *, second_order: bool,
                  num_resamples: int, conf_level: float, seed: int,
                  output: str = "y") -> pd.DataFrame:
    """Sobol' S1, ST (and S2) of ``y`` (in the sampler's order) as a long table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sobol_analyze.analyze(dict(problem), np.asarray(y, dtype=float),
                                       calc_second_order=second_order,
                                       num_resamples=num_resamples, conf_level=conf_level,
                                       seed=seed)
    total, first, *second = result.to_df()
    rows = []
    for index, frame in (("S1", first), ("ST", total)):
        rows += [(output, index, name, None, r[index], r[f"{index}_conf"])
                 for name, r in frame.iterrows()]
    for frame in second:
        rows += [(output, "S2", a, b, r["S2"], r["S2_conf"]) for (a, b), r in frame.iterrows()]
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def morris_indices(problem: Mapping[str, Any], x: np.ndarray, y: np.ndarray, *,
                   num_levels: int, num_resamples: int, conf_level: float, seed: int,
                   output: str = "y") -> pd.DataFrame:
    """Morris mu, mu* (with interval) and sigma of ``y`` as a long table."""
    result = morris_analyze.analyze(dict(problem), np.asarray(x, dtype=float),
                                    np.asarray(y, dtype=float), num_resamples=num_resamples,
                                    conf_level=conf_level, num_levels=num_levels, seed=seed)
    frame = result.to_df()
    rows = []
    for name, r in frame.iterrows():
        rows += [(output, "mu", name, None, r["mu"], np.nan),
                 (output, "mu_star", name, None, r["mu_star"], r["mu_star_conf"]),
                 (output, "sigma", name, None, r["sigma"], np.nan)]
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def noise_share(table: pd.DataFrame, output: str) -> float:
    """Share of ``output``'s variance across runs that seeds cause at a fixed design point.

    The mean over design points of the variance between their replications, over
    the variance of all successful runs (NaN without two replications anywhere).
    """
    ok = table.loc[table["error"].isna() & table[output].notna(), ["point", output]]
    y = ok[output].astype(float)
    within = y.groupby(ok["point"]).var(ddof=1).dropna()
    total = float(y.var(ddof=1)) if len(y) > 1 else np.nan
    if within.empty or not np.isfinite(total) or total == 0:
        return np.nan
    return float(within.mean() / total)


def replicate_bootstrap(table: pd.DataFrame, output: str, n_samples: int,
                        indices: Any, *, resamples: int, conf_level: float,
                        seed: int) -> pd.DataFrame:
    """Noise-aware intervals of the indices, from resampling each point's replications.

    Each resample draws, at every design point, as many replications as it has, with
    replacement, and recomputes the indices on the resampled means. Seed noise left in
    the means biases the indices (total indices up, first-order ones down), and a
    resample carries about as much more noise again, so its indices sit further off by
    about the same amount. The interval is therefore the *basic* bootstrap interval
    (2 x index - upper and lower percentiles), which aims at the indices of the
    noise-free mean output, and ``corrected`` is the index minus the bootstrap's bias
    (2 x index - mean of the resampled indices).

    Args:
        table: the runs.
        output: the output analysed.
        n_samples: design points.
        indices: function of the replication means (array, one per point) that returns
            the index table (``INDEX_COLUMNS``) for them.
        resamples: bootstrap resamples.
        conf_level: level of the interval.
        seed: seed of the resampling.

    Returns:
        ``corrected``, ``low`` and ``high`` per row of the index table (NaN when runs
        are not replicated).
    """
    ok = table.loc[table["error"].isna() & table[output].notna(), ["point", output]]
    groups = [ok.loc[ok["point"] == p, output].to_numpy(dtype=float) for p in range(n_samples)]
    base = indices(np.array([g.mean() if g.size else np.nan for g in groups]))
    if min(g.size for g in groups) < 2:
        return pd.DataFrame({"corrected": np.nan, "low": np.nan, "high": np.nan},
                            index=base.index)
    rng = np.random.default_rng(seed)
    draws = np.column_stack([g[rng.integers(0, g.size, size=(resamples, g.size))].mean(axis=1)
                             for g in groups])  # (resamples, points)
    values = np.column_stack([indices(row)["value"].to_numpy(dtype=float) for row in draws])
    tail = (1.0 - conf_level) / 2.0
    lower, upper = np.nanquantile(values, [tail, 1.0 - tail], axis=1)
    estimate = base["value"].to_numpy(dtype=float)
    return pd.DataFrame({"corrected": 2 * estimate - np.nanmean(values, axis=1),
                         "low": 2 * estimate - upper, "high": 2 * estimate - lower},
                        index=base.index)


def _groups(values: pd.Series, bins: int) -> pd.Series:
    """Group labels: the value itself when few distinct values, else equal-count bins."""
    if not pd.api.types.is_numeric_dtype(values) or values.nunique() <= bins:
        return values
    return pd.qcut(values, bins, duplicates="drop")


def response_curves(table: pd.DataFrame, parameters: Sequence[str], output: str, *,
                    bins: int = 8, conf_level: float = 0.95) -> pd.DataFrame:
    """Mean of ``output`` along each parameter, with confidence and spread bands.

    ``x`` is the level (grid) or the mean parameter value within an equal-count
    bin; ``ci_low``/``ci_high`` bound the mean at ``conf_level``; ``q10``/``q90``
    are the 10% and 90% quantiles of the runs; ``n`` counts runs.
    """
    ok = table.loc[table["error"].isna() & table[output].notna()]
    rows = []
    for name in parameters:
        grouped = ok.groupby(_groups(ok[name], bins), observed=True, sort=True)
        for _, group in grouped:
            y = group[output].astype(float)
            categorical = not pd.api.types.is_numeric_dtype(group[name])
            x = group[name].iloc[0] if categorical else group[name].mean()
            mean, low, high = mean_interval(y, conf_level)
            if len(y) == 1:
                low = high = mean
            rows.append((output, name, x, mean, low, high, y.quantile(0.1), y.quantile(0.9),
                         len(y)))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def heatmap_table(table: pd.DataFrame, x: str, y: str, output: str, *,
                  bins: int = 8) -> pd.DataFrame:
    """Mean of ``output`` over levels/bins of ``x`` (columns) and ``y`` (rows).

    Labels are the levels (grid) or the mean parameter value in each bin.
    """
    ok = table.loc[table["error"].isna() & table[output].notna()]
    gx, gy = _groups(ok[x], bins), _groups(ok[y], bins)
    cells = ok.groupby([gy, gx], observed=True)[output].mean().unstack()
    cells.index = _labels(ok[y], gy, cells.index)
    cells.columns = _labels(ok[x], gx, cells.columns)
    cells.index.name, cells.columns.name = y, x
    return cells


def _labels(values: pd.Series, groups: pd.Series, keys: pd.Index) -> list[Any]:
    if groups is values:
        return list(keys)
    centres = values.groupby(groups, observed=True).mean()
    return [round(float(centres[k]), 6) for k in keys]


# --------------------------------------------------------------------------- the pipeline


def analyze(out: str | Path, outputs: Sequence[str] | None = None, *,
            heatmap: Sequence[str] | None = None, bins: int | None = None,
            write: bool = True) -> Analysis:
    """Analyse the sweep in folder ``out``.

    Args:
        out: A sweep folder (``cisim sweep --out``).
        outputs: Outputs to analyse (default: the config's ``outputs``).
        heatmap: Two varied parameters for the heat map (default: the config's
            ``analysis.heatmap``, else the first two varied parameters).
        bins: Bins per parameter for curves and heat maps of sampled designs.
        write: Write ``sensitivity.csv`` and ``response.csv`` into ``out``.

    Returns:
        An ``Analysis``. Outputs that cannot be analysed (e.g. a design point with no
        successful run, for Sobol') are listed in ``skipped``.
    """
    out = Path(out)
    table = load_results(out)  # refuses a folder that holds no sweep
    manifest = read_manifest(out) or {}
    config = manifest["sweep"]
    if table.empty:
        raise UsageError(f"{str(out)!r} holds no finished runs yet")
    design = pd.read_parquet(out / DESIGN_FILE)
    return analyze_table(table, design, config, outputs=outputs, heatmap=heatmap, bins=bins,
                         write_dir=out if write else None)


def analyze_table(table: pd.DataFrame, design: pd.DataFrame, config: Mapping[str, Any], *,
                  outputs: Sequence[str] | None = None, heatmap: Sequence[str] | None = None,
                  bins: int | None = None, write_dir: Path | None = None) -> Analysis:
    """The analysis of a results table, given the design table and the config (``to_dict``)."""
    params = [p["name"] for p in config["parameters"]]
    numeric = [p["name"] for p in config["parameters"] if p["kind"] != "choice"]
    outputs = list(outputs or config["outputs"])
    allowed = list(SUMMARY_OUTPUTS) if config.get("model", True) else list(config["outputs"])
    allowed = [o for o in allowed if o in table.columns and o != "seed"]
    unknown = [o for o in outputs if o not in allowed]
    if unknown:
        raise UsageError(f"--outputs: unknown output {shown(unknown[0])}"
                         f"{suggest(unknown[0], allowed)}; allowed: {', '.join(allowed)}")
    opts = {**config.get("analysis", {})}
    bins = bins or opts.get("bins", 8)
    heat = list(heatmap or opts.get("heatmap") or params[:2])
    if heatmap is not None and (len(heat) != 2 or any(h not in params for h in heat)):
        raise UsageError(f"--heatmap: got {','.join(heat)}; allowed: two varied parameters "
                         f"among {', '.join(params)}")
    result = Analysis(pd.DataFrame(columns=[*INDEX_COLUMNS, *NOISE_COLUMNS]),
                      pd.DataFrame(columns=CURVE_COLUMNS))
    n_samples = len(design)
    means = replication_means(table, outputs, n_samples)
    kind = config["design"]
    seed = analysis_seed(config["master_seed"])
    problem = {"num_vars": len(params), "names": params,
               "bounds": [p.get("bounds", [0.0, 1.0]) for p in config["parameters"]]}
    frames, curves = [], []
    conf_level = opts.get("conf_level", 0.95)

    def indices(y: np.ndarray, output: str, num_resamples: int) -> pd.DataFrame:
        if kind == "sobol":
            return sobol_indices(problem, y, second_order=config["options"]["second_order"],
                                 num_resamples=num_resamples, conf_level=conf_level,
                                 seed=seed, output=output)
        return morris_indices(problem, design[params].to_numpy(), y,
                              num_levels=config["options"]["num_levels"],
                              num_resamples=num_resamples, conf_level=conf_level, seed=seed,
                              output=output)

    for output in outputs:
        y = means[output].to_numpy()
        if kind in ("sobol", "morris"):
            if np.isnan(y).any():
                result.skipped.append(
                    f"{output}: {int(np.isnan(y).sum())} of {n_samples} design points have no "
                    f"successful run or no value; indices need all (rerun with --retry-failed)")
            else:
                frame = indices(y, output, opts.get("num_resamples", 1000))
                # replicate noise: intervals over replications, and the seeds' variance share
                spread = replicate_bootstrap(
                    table, output, n_samples,
                    lambda m, output=output: indices(m, output, 10),
                    resamples=opts.get("replicate_resamples", 200), conf_level=conf_level,
                    seed=seed)
                frame = frame.join(spread)
                frame["noise_share"] = noise_share(table, output)
                frames.append(frame)
        curves.append(response_curves(table, params, output, bins=bins,
                                      conf_level=opts.get("conf_level", 0.95)))
        if len(params) >= 2 and all(h in numeric or kind == "grid" for h in heat):
            result.heatmaps[output] = heatmap_table(table, heat[0], heat[1], output, bins=bins)
    if frames:
        result.indices = pd.concat(frames, ignore_index=True)
    result.curves = pd.concat(curves, ignore_index=True)
    if write_dir is not None:
        if not result.indices.empty:
            write_csv(result.indices, write_dir / "sensitivity.csv")
            result.files.append(write_dir / "sensitivity.csv")
        write_csv(result.curves, write_dir / "response.csv")
        result.files.append(write_dir / "response.csv")
    return result


