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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from SALib.analyze import morris as morris_analyze  # noqa: E402
from SALib.analyze import sobol as sobol_analyze  # noqa: E402
from scipy import stats  # noqa: E402

from experiments.errors import UsageError  # noqa: E402
from experiments.io import atomic_path, write_text  # noqa: E402
from experiments.sweep import manifest as mf  # noqa: E402
from experiments.sweep import store  # noqa: E402
from experiments.sweep.design import analysis_seed  # noqa: E402
from experiments.sweep.execute import load_results  # noqa: E402

INDEX_COLUMNS = ("output", "index", "parameter", "parameter_2", "value", "conf")
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

    Returns a table indexed by sample (0 .. n_samples - 1); NaN where a point has
    no successful run.
    """
    ok = table.loc[table["error"].isna()]
    means = ok.groupby("sample")[list(outputs)].mean()
    return means.reindex(pd.RangeIndex(n_samples, name="sample"))


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
    names, rows = list(problem["names"]), []
    for index in ("S1", "ST"):
        for i, name in enumerate(names):
            rows.append((output, index, name, None, result[index][i],
                         result[f"{index}_conf"][i]))
    if second_order:
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                rows.append((output, "S2", a, names[j], result["S2"][i, j],
                             result["S2_conf"][i, j]))
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def morris_indices(problem: Mapping[str, Any], x: np.ndarray, y: np.ndarray, *,
                   num_levels: int, num_resamples: int, conf_level: float, seed: int,
                   output: str = "y") -> pd.DataFrame:
    """Morris mu, mu* (with interval) and sigma of ``y`` as a long table."""
    result = morris_analyze.analyze(dict(problem), np.asarray(x, dtype=float),
                                    np.asarray(y, dtype=float), num_resamples=num_resamples,
                                    conf_level=conf_level, num_levels=num_levels, seed=seed)
    rows = []
    for i, name in enumerate(problem["names"]):
        rows.append((output, "mu", name, None, result["mu"][i], np.nan))
        rows.append((output, "mu_star", name, None, result["mu_star"][i],
                     result["mu_star_conf"][i]))
        rows.append((output, "sigma", name, None, result["sigma"][i], np.nan))
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def _groups(values: pd.Series, bins: int) -> pd.Series:
    """Group labels: the value itself when few distinct values, else equal-count bins."""
    if values.dtype == object or values.nunique() <= bins:
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
    z = stats.norm.ppf(0.5 + conf_level / 2)
    rows = []
    for name in parameters:
        grouped = ok.groupby(_groups(ok[name], bins), observed=True, sort=True)
        for _, group in grouped:
            y = group[output]
            x = group[name].iloc[0] if group[name].dtype == object else group[name].mean()
            half = z * y.std(ddof=1) / np.sqrt(len(y)) if len(y) > 1 else 0.0
            rows.append((output, name, x, y.mean(), y.mean() - half, y.mean() + half,
                         y.quantile(0.1), y.quantile(0.9), len(y)))
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
            figures: bool = True, write: bool = True) -> Analysis:
    """Analyse the sweep in folder ``out``.

    Args:
        out: A sweep folder (``cisim sweep --out``).
        outputs: Outputs to analyse (default: the config's ``outputs``).
        heatmap: Two varied parameters for the heat map (default: the config's
            ``analysis.heatmap``, else the first two varied parameters).
        bins: Bins per parameter for curves and heat maps of sampled designs.
        figures: Draw PNG figures into ``out/figures``.
        write: Write ``sensitivity.csv`` and ``response.csv`` into ``out``.

    Returns:
        An ``Analysis``. Outputs that cannot be analysed (e.g. a design point with no
        successful run, for Sobol') are listed in ``skipped``.
    """
    out = Path(out)
    manifest = mf.read_manifest(out)
    if manifest is None:
        raise UsageError(f"{str(out)!r} holds no sweep (no {mf.MANIFEST}); run cisim sweep first")
    config = manifest["config"]
    table = load_results(out)
    if table.empty:
        raise UsageError(f"{str(out)!r} holds no finished runs yet")
    design = pd.read_parquet(out / store.DESIGN_FILE)
    return analyze_table(table, design, config, outputs=outputs, heatmap=heatmap, bins=bins,
                         figures_dir=(out / "figures") if figures else None,
                         write_dir=out if write else None)


def analyze_table(table: pd.DataFrame, design: pd.DataFrame, config: Mapping[str, Any], *,
                  outputs: Sequence[str] | None = None, heatmap: Sequence[str] | None = None,
                  bins: int | None = None, figures_dir: Path | None = None,
                  write_dir: Path | None = None) -> Analysis:
    """The analysis of a results table, given the design table and the config (``to_dict``)."""
    params = [p["name"] for p in config["parameters"]]
    numeric = [p["name"] for p in config["parameters"] if p["kind"] != "choice"]
    outputs = list(outputs or config["outputs"])
    missing = [o for o in outputs if o not in table.columns]
    if missing:
        raise UsageError(f"unknown output {missing[0]!r}; the results have: "
                         + ", ".join(c for c in table.columns if c not in _fixed(params)))
    opts = {**config.get("analysis", {})}
    bins = bins or opts.get("bins", 8)
    heat = list(heatmap or opts.get("heatmap") or params[:2])
    if heatmap is not None and (len(heat) != 2 or any(h not in params for h in heat)):
        raise UsageError(f"--heatmap: got {','.join(heat)}; allowed: two varied parameters "
                         f"among {', '.join(params)}")
    result = Analysis(pd.DataFrame(columns=INDEX_COLUMNS), pd.DataFrame(columns=CURVE_COLUMNS))
    n_samples = len(design)
    means = replication_means(table, outputs, n_samples)
    kind = config["design"]
    seed = analysis_seed(config["master_seed"])
    problem = {"num_vars": len(params), "names": params,
               "bounds": [p.get("bounds", [0.0, 1.0]) for p in config["parameters"]]}
    frames, curves = [], []
    for output in outputs:
        y = means[output].to_numpy()
        if kind in ("sobol", "morris"):
            if np.isnan(y).any():
                result.skipped.append(
                    f"{output}: {int(np.isnan(y).sum())} of {n_samples} design points have no "
                    f"successful run or no value; indices need all (rerun with --retry-failed)")
            elif kind == "sobol":
                frames.append(sobol_indices(
                    problem, y, second_order=config["options"]["second_order"],
                    num_resamples=opts.get("num_resamples", 1000),
                    conf_level=opts.get("conf_level", 0.95), seed=seed, output=output))
            else:
                frames.append(morris_indices(
                    problem, design[params].to_numpy(), y,
                    num_levels=config["options"]["num_levels"],
                    num_resamples=opts.get("num_resamples", 1000),
                    conf_level=opts.get("conf_level", 0.95), seed=seed, output=output))
        curves.append(response_curves(table, params, output, bins=bins,
                                      conf_level=opts.get("conf_level", 0.95)))
        if len(params) >= 2 and all(h in numeric or kind == "grid" for h in heat):
            result.heatmaps[output] = heatmap_table(table, heat[0], heat[1], output, bins=bins)
    if frames:
        result.indices = pd.concat(frames, ignore_index=True)
    result.curves = pd.concat(curves, ignore_index=True)
    if write_dir is not None:
        if not result.indices.empty:
            result.files.append(_write_csv(result.indices, write_dir / "sensitivity.csv"))
        result.files.append(_write_csv(result.curves, write_dir / "response.csv"))
    if figures_dir is not None:
        figures_dir.mkdir(parents=True, exist_ok=True)
        result.files += _figures(result, kind, outputs, config, figures_dir)
    return result


def _fixed(params: Sequence[str]) -> set[str]:
    return {*store.META_COLUMNS, *params, *store.PROVENANCE_COLUMNS, *store.TIMING_COLUMNS}


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    write_text(frame.to_csv(index=False), path)
    return path


# --------------------------------------------------------------------------- figures


def _figures(result: Analysis, kind: str, outputs: Sequence[str], config: Mapping[str, Any],
             folder: Path) -> list[Path]:
    files = []
    name = config.get("name", "sweep")
    for output in outputs:
        rows = result.indices.loc[result.indices["output"] == output] \
            if not result.indices.empty else result.indices
        if kind == "sobol" and not rows.empty:
            files.append(_save(sobol_figure(rows, f"{name}: Sobol' indices of {output}"),
                               folder / f"sobol_{output}.png"))
        if kind == "morris" and not rows.empty:
            files.append(_save(morris_figure(rows, f"{name}: Morris screening of {output}"),
                               folder / f"morris_{output}.png"))
        curve = result.curves.loc[result.curves["output"] == output]
        if not curve.empty:
            files.append(_save(curves_figure(curve, f"{name}: response of {output}"),
                               folder / f"response_{output}.png"))
        if output in result.heatmaps:
            cells = result.heatmaps[output]
            files.append(_save(
                heatmap_figure(cells, f"{name}: mean {output}"),
                folder / f"heatmap_{output}_{cells.columns.name}_{cells.index.name}.png"))
    return files


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def sobol_figure(rows: pd.DataFrame, title: str) -> plt.Figure:
    """Bars of S1 and ST per parameter with interval whiskers, and the S2 matrix if any."""
    s2 = rows.loc[rows["index"] == "S2"]
    fig, axes = plt.subplots(1, 2 if not s2.empty else 1, figsize=(11 if not s2.empty else 6, 4),
                             layout="constrained", squeeze=False)
    ax = axes[0, 0]
    names = list(rows.loc[rows["index"] == "S1", "parameter"])
    pos = np.arange(len(names))
    for k, (index, label) in enumerate((("S1", "first order S1"), ("ST", "total ST"))):
        part = rows.loc[rows["index"] == index].set_index("parameter").loc[names]
        ax.bar(pos + (k - 0.5) * 0.38, part["value"], 0.38, yerr=part["conf"], capsize=4,
               label=label)
    ax.set_xticks(pos, [n.replace("_", "\n") for n in names])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("share of output variance")
    ax.set_title("S1 and ST (whiskers: confidence interval)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    if not s2.empty:
        ax2 = axes[0, 1]
        matrix = pd.DataFrame(np.nan, index=names, columns=names)
        for _, r in s2.iterrows():
            matrix.loc[r["parameter"], r["parameter_2"]] = r["value"]
        values = matrix.to_numpy(dtype=float)
        image = ax2.imshow(values, cmap="viridis")
        middle = (np.nanmin(values) + np.nanmax(values)) / 2
        for i in range(len(names)):
            for j in range(len(names)):
                r = s2.loc[(s2["parameter"] == names[i]) & (s2["parameter_2"] == names[j])]
                if not r.empty:
                    ax2.text(j, i, f"{r['value'].iloc[0]:.2f}\n±{r['conf'].iloc[0]:.2f}",
                             ha="center", va="center", fontsize=9,
                             color="black" if values[i, j] > middle else "white")
        ax2.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names])
        ax2.set_yticks(range(len(names)), names)
        ax2.set_title("second order S2 (± interval)")
        fig.colorbar(image, ax=ax2)
    fig.suptitle(title)
    return fig


def morris_figure(rows: pd.DataFrame, title: str) -> plt.Figure:
    """Bars of mu* with interval whiskers, and mu* against sigma."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    star = rows.loc[rows["index"] == "mu_star"].set_index("parameter")
    sigma = rows.loc[rows["index"] == "sigma"].set_index("parameter").loc[star.index]
    pos = np.arange(len(star))
    ax.bar(pos, star["value"], yerr=star["conf"], capsize=4, color="tab:blue")
    ax.set_xticks(pos, [n.replace("_", "\n") for n in star.index])
    ax.set_ylabel("mu* (mean |elementary effect|)")
    ax.set_title("mu* (whiskers: confidence interval)")
    ax.grid(axis="y", alpha=0.3)
    ax2.scatter(star["value"], sigma["value"], color="tab:red")
    for name in star.index:
        ax2.annotate(name, (star.loc[name, "value"], sigma.loc[name, "value"]), fontsize=8,
                     xytext=(4, 4), textcoords="offset points")
    ax2.set_xlabel("mu*")
    ax2.set_ylabel("sigma (interaction / non-linearity)")
    ax2.set_title("mu* against sigma")
    ax2.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def curves_figure(curve: pd.DataFrame, title: str) -> plt.Figure:
    """One panel per parameter: mean, confidence band and 10-90% spread of runs."""
    names = list(dict.fromkeys(curve["parameter"]))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6),
                             layout="constrained", sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        part = curve.loc[curve["parameter"] == name]
        x = part["x"] if part["x"].dtype != object else np.arange(len(part))
        ax.fill_between(x, part["q10"], part["q90"], alpha=0.18, color="tab:blue",
                        label="10-90% of runs")
        ax.fill_between(x, part["ci_low"], part["ci_high"], alpha=0.4, color="tab:blue",
                        label="confidence interval of mean")
        ax.plot(x, part["mean"], marker="o", color="tab:blue", label="mean")
        if part["x"].dtype == object:
            ax.set_xticks(x, part["x"])
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(curve["output"].iloc[0])
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def heatmap_figure(cells: pd.DataFrame, title: str) -> plt.Figure:
    """A heat map of mean values with the value in each cell."""
    fig, ax = plt.subplots(figsize=(6.5, 5), layout="constrained")
    data = cells.to_numpy(dtype=float)
    image = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis")

    def fmt(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, int | float | np.number) else str(v)

    ax.set_xticks(range(data.shape[1]), [fmt(v) for v in cells.columns], rotation=45)
    ax.set_yticks(range(data.shape[0]), [fmt(v) for v in cells.index])
    if data.size <= 100:
        middle = (np.nanmin(data) + np.nanmax(data)) / 2
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if np.isfinite(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:.3g}", ha="center", va="center", fontsize=8,
                            color="black" if data[i, j] > middle else "white")
    ax.set_xlabel(cells.columns.name)
    ax.set_ylabel(cells.index.name)
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
    return fig
