"""Figures of a sweep's analysis: Sobol' and Morris indices, response curves, heat maps.

Drawn on ``matplotlib.figure.Figure`` objects from the analysis tables alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.reports.common import save_figure

if TYPE_CHECKING:  # the tables only; the report never calls the study's code
    from experiments.sweep.analysis import Analysis


def write_figures(result: Analysis, folder: str | os.PathLike, config: Mapping[str, Any],
                  outputs: Sequence[str] | None = None) -> list[Path]:
    """Draw the analysis's figures as PNGs into ``folder``; return the paths.

    Args:
        result: the analysis (``experiments.sweep.analysis.analyze``).
        folder: where the figures go (created).
        config: the sweep's configuration as plain data (from its manifest).
        outputs: outputs to draw (default: those analysed).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kind = config["design"]
    outputs = list(outputs or dict.fromkeys(result.curves["output"]))
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


def _save(fig: Figure, path: Path) -> Path:
    save_figure(fig, path)
    return path


def _replicate_whiskers(ax: Any, x: np.ndarray, part: pd.DataFrame, label: bool) -> bool:
    """Orange whiskers: the interval over replications (noise-aware), when there is one."""
    if "low" not in part or part["low"].isna().all():
        return False
    centre = part["value"].to_numpy(dtype=float)
    ax.errorbar(x, centre, yerr=[np.clip(centre - part["low"].to_numpy(float), 0, None),
                                 np.clip(part["high"].to_numpy(float) - centre, 0, None)],
                fmt="none", ecolor="#dd8452", elinewidth=3, capsize=0, alpha=0.9,
                label="interval over replications" if label else None)
    return True


def _whisker_title(what: str, over: str, replicated: bool) -> str:
    """What the whiskers are: over the design's samples, and over replications if drawn."""
    return f"{what} (black: over {over}" + ("; orange: over replications)" if replicated
                                            else ")")


def _noise_title(rows: pd.DataFrame, title: str) -> str:
    """The title, with the seeds' share of variance when the runs were replicated."""
    share = rows["noise_share"].dropna() if "noise_share" in rows else pd.Series(dtype=float)
    return title if share.empty else f"{title} (seeds: {share.iloc[0]:.0%} of run variance)"


def sobol_figure(rows: pd.DataFrame, title: str) -> Figure:
    """Bars of S1 and ST per parameter with interval whiskers, and the S2 matrix if any."""
    s2 = rows.loc[rows["index"] == "S2"]
    fig = Figure(figsize=(11 if not s2.empty else 6, 4), layout="constrained")
    axes = fig.subplots(1, 2 if not s2.empty else 1, squeeze=False)
    ax = axes[0, 0]
    names = list(rows.loc[rows["index"] == "S1", "parameter"])
    pos = np.arange(len(names))
    replicated = False
    for k, (index, label) in enumerate((("S1", "first order S1"), ("ST", "total ST"))):
        part = rows.loc[rows["index"] == index].set_index("parameter").loc[names]
        ax.bar(pos + (k - 0.5) * 0.38, part["value"], 0.38, yerr=part["conf"], capsize=4,
               label=label)
        replicated = _replicate_whiskers(ax, pos + (k - 0.5) * 0.38, part, label=k == 0) \
            or replicated
    ax.set_xticks(pos, [n.replace("_", "\n") for n in names])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("share of output variance")
    ax.set_title(_whisker_title("S1 and ST", "samples", replicated), fontsize=9)
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
    fig.suptitle(_noise_title(rows, title))
    return fig


def morris_figure(rows: pd.DataFrame, title: str) -> Figure:
    """Bars of mu* with interval whiskers, and mu* against sigma."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    star = rows.loc[rows["index"] == "mu_star"].set_index("parameter")
    sigma = rows.loc[rows["index"] == "sigma"].set_index("parameter").loc[star.index]
    pos = np.arange(len(star))
    ax.bar(pos, star["value"], yerr=star["conf"], capsize=4, color="tab:blue")
    replicated = _replicate_whiskers(ax, pos, star, label=True)
    if replicated:
        ax.legend(fontsize=8)
    ax.set_xticks(pos, [n.replace("_", "\n") for n in star.index])
    ax.set_ylabel("mu* (mean |elementary effect|)")
    ax.set_title(_whisker_title("mu*", "trajectories", replicated), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax2.scatter(star["value"], sigma["value"], color="tab:red")
    for name in star.index:
        ax2.annotate(name, (star.loc[name, "value"], sigma.loc[name, "value"]), fontsize=8,
                     xytext=(4, 4), textcoords="offset points")
    ax2.set_xlabel("mu*")
    ax2.set_ylabel("sigma (interaction / non-linearity)")
    ax2.set_title("mu* against sigma")
    ax2.grid(alpha=0.3)
    fig.suptitle(_noise_title(rows, title))
    return fig


def curves_figure(curve: pd.DataFrame, title: str) -> Figure:
    """One panel per parameter: mean, confidence band and 10-90% spread of runs."""
    names = list(dict.fromkeys(curve["parameter"]))
    fig = Figure(figsize=(4.2 * len(names), 3.6), layout="constrained")
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        part = curve.loc[curve["parameter"] == name]
        categorical = not pd.api.types.is_numeric_dtype(part["x"])
        x = np.arange(len(part)) if categorical else part["x"]
        ax.fill_between(x, part["q10"], part["q90"], alpha=0.18, color="tab:blue",
                        label="10-90% of runs")
        ax.fill_between(x, part["ci_low"], part["ci_high"], alpha=0.4, color="tab:blue",
                        label="confidence interval of mean")
        ax.plot(x, part["mean"], marker="o", color="tab:blue", label="mean")
        if categorical:
            ax.set_xticks(x, part["x"])
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(curve["output"].iloc[0])
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def heatmap_figure(cells: pd.DataFrame, title: str) -> Figure:
    """A heat map of mean values with the value in each cell."""
    fig = Figure(figsize=(6.5, 5), layout="constrained")
    ax = fig.subplots()
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
