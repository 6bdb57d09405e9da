"""The report of a calibration: what the field's patterns say about the parameters.

It reads the calibration's tables only (``calibration.json``, ``posterior.parquet``,
``generations.csv``, ``predictive.parquet``) and writes ``report.md``,
``report.html`` and ``figures/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.io import write_text
from experiments.reports.common import FigureNote, markdown_to_html, save_figure, table


def _weighted(values: np.ndarray, weights: np.ndarray) -> tuple[float, float, float, float]:
    """Weighted mean, sd and 5% / 95% quantiles."""
    w = weights / weights.sum()
    mean = float(np.sum(w * values))
    sd = float(np.sqrt(np.sum(w * (values - mean) ** 2)))
    order = np.argsort(values)
    cum = np.cumsum(w[order])
    ranked = values[order]
    lo = float(ranked[int(np.searchsorted(cum, 0.05))])
    hi = float(ranked[min(int(np.searchsorted(cum, 0.95)), len(cum) - 1)])
    return mean, sd, lo, hi


def figure_marginals(last: pd.DataFrame, priors: list[dict[str, Any]],
                     path: Path) -> FigureNote:
    """One panel per parameter: the final generation's weighted histogram and the prior."""
    fig = Figure(figsize=(4.2 * len(priors), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(priors), squeeze=False)[0])
    weights = last["weight"].to_numpy(float)
    for ax, prior in zip(axes, priors, strict=True):
        low, high = prior["low"], prior["high"]
        ax.hist(last[prior["name"]], bins=15, range=(low, high), weights=weights, density=True,
                color="#4c72b0", alpha=0.75, label="posterior")
        ax.hlines(1.0 / (high - low), low, high, colors="#c44e52", linestyles="--",
                  label="prior (uniform)")
        ax.set_xlabel(prior["name"])
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    save_figure(fig, path)
    return FigureNote(path.name, "Posterior and prior of each parameter",
                      "Weighted histogram of the final generation's particles (blue) against "
                      "the uniform prior (dashed).")


def figure_pairs(last: pd.DataFrame, names: list[str], path: Path) -> FigureNote:
    """Pair plot of the final generation (point size by weight)."""
    k = len(names)
    fig = Figure(figsize=(2.6 * k + 0.5, 2.6 * k + 0.3), layout="constrained")
    axes = fig.subplots(k, k, squeeze=False)
    size = 200 * last["weight"].to_numpy(float) / last["weight"].max()
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(last[a], bins=12, weights=last["weight"], color="#4c72b0")
            else:
                ax.scatter(last[b], last[a], s=size, alpha=0.5, color="#4c72b0")
            if i == k - 1:
                ax.set_xlabel(b, fontsize=8)
            if j == 0:
                ax.set_ylabel(a, fontsize=8)
    save_figure(fig, path)
    return FigureNote(path.name, "Pairs of parameters in the final generation",
                      "Each point is a particle (size by weight); the diagonal holds the "
                      "weighted histograms.")


def figure_generations(generations: pd.DataFrame, path: Path) -> FigureNote:
    """Acceptance rate and threshold per generation."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(generations["generation"], generations["acceptance_rate"], "o-")
    left.set_xlabel("generation")
    left.set_ylabel("acceptance rate")
    left.set_ylim(0, 1.05)
    finite = generations[np.isfinite(generations["epsilon"])]
    right.plot(finite["generation"], finite["epsilon"], "o-", color="#c44e52")
    right.set_xlabel("generation")
    right.set_ylabel("threshold epsilon (distance)")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # generations are whole
        ax.grid(alpha=0.3)
    save_figure(fig, path)
    return FigureNote(path.name, "Acceptance and threshold per generation",
                      "Share of proposed particles accepted, and the distance threshold "
                      "(generation 0 accepts every prior draw).")


def figure_predictive(predictive: pd.DataFrame, patterns: list[dict[str, Any]],
                      path: Path) -> FigureNote:
    """Per pattern: the re-simulated statistic's distribution against observed +/- tolerance."""
    fig = Figure(figsize=(4.2 * len(patterns), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(patterns), squeeze=False)[0])
    for ax, p in zip(axes, patterns, strict=True):
        ax.axvspan(p["observed"] - p["tolerance"], p["observed"] + p["tolerance"],
                   color="#55a868", alpha=0.2, label="observed ± tolerance")
        ax.axvline(p["observed"], color="#55a868")
        if not predictive.empty:
            ax.hist(predictive[p["name"]], bins=12, color="#4c72b0", alpha=0.8,
                    label="posterior predictive")
        ax.set_xlabel(f"{p['statistic']} ({p['scenario']})")
        ax.set_ylabel("draws")
        ax.legend(fontsize=8)
    save_figure(fig, path)
    return FigureNote(path.name, "Posterior predictive check",
                      "Each pattern's statistic simulated again, with fresh seeds, at "
                      "particles drawn from the final generation by weight, against the "
                      "observed value and its tolerance (green).")


def write_calibration_report(folder: str | os.PathLike) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and the figures from the folder's tables."""
    folder = Path(folder)
    plan = json.loads((folder / "calibration.json").read_text())
    posterior = pd.read_parquet(folder / "posterior.parquet")
    generations = pd.read_csv(folder / "generations.csv")
    predictive = pd.read_parquet(folder / "predictive.parquet")
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    last = posterior[posterior["generation"] == posterior["generation"].max()]
    names = [p["name"] for p in plan["priors"]]
    notes = [figure_marginals(last, plan["priors"], figures / "marginals.png"),
             figure_pairs(last, names, figures / "pairs.png"),
             figure_generations(generations, figures / "generations.png"),
             figure_predictive(predictive, plan["patterns"], figures / "predictive.png")]

    weights = last["weight"].to_numpy(float)
    rows = []
    for prior in plan["priors"]:
        mean, sd, lo, hi = _weighted(last[prior["name"]].to_numpy(float), weights)
        rows.append({"parameter": prior["name"], "prior": f"uniform [{prior['low']:g}, "
                     f"{prior['high']:g}]", "posterior mean": f"{mean:.3g}",
                     "sd": f"{sd:.2g}", "90% interval": f"{lo:.3g} to {hi:.3g}"})
    checks = []
    for p in plan["patterns"]:
        sim = predictive[p["name"]] if not predictive.empty else pd.Series(dtype=float)
        inside = float(np.mean(np.abs(sim - p["observed"]) <= p["tolerance"])) if len(sim) \
            else float("nan")
        checks.append({"pattern": p["name"], "statistic": p["statistic"],
                       "scenario": p["scenario"], "observed": f"{p['observed']:g}",
                       "tolerance": f"{p['tolerance']:g}",
                       "simulated mean": f"{sim.mean():.3g}" if len(sim) else "n/a",
                       "draws within tolerance": f"{inside:.0%}" if len(sim) else "n/a",
                       "source": p.get("source", "")})
    gen_rows = generations.assign(
        epsilon=generations["epsilon"].map(lambda e: "none" if not np.isfinite(e) else f"{e:.3g}"),
        acceptance_rate=generations["acceptance_rate"].map(lambda a: f"{a:.1%}"))
    gen_rows = gen_rows[["generation", "epsilon", "particles", "samples", "acceptance_rate"]]
    lines = [
        f"# Calibration: {plan['name']}",
        "",
        "Which parameter values make the model reproduce patterns the field has published? "
        "Approximate Bayesian computation (ABC-SMC, pyabc) kept the particles whose "
        f"distance to the field fell below a shrinking threshold; {len(generations)} "
        f"generations of {plan['population_size']} particles, each particle's statistics "
        f"the mean of {plan['replications']} run(s) per scenario of {plan['steps']} months, "
        f"master seed {plan['master_seed']}.",
        "",
        f"Distance: {plan['distance']}. Final threshold: "
        f"{generations['epsilon'].iloc[-1]:.3g}.",
        "",
        "## Posterior",
        "",
        table(pd.DataFrame(rows)),
        "",
        "## Patterns and posterior predictive check",
        "",
        table(pd.DataFrame(checks)),
        "",
        "## Generations",
        "",
        table(gen_rows),
        "",
        "Fixed in every run: " + (", ".join(f"`{k}` = {v}" for k, v in plan["fixed"].items())
                                  or "nothing") + ".",
        "",
    ]
    for note in notes:
        lines += [f"## {note.title}", "", f'<img src="figures/{note.name}" alt="{note.title}">',
                  "", note.caption, ""]
    text = "\n".join(lines)
    paths = {"report.md": folder / "report.md", "report.html": folder / "report.html"}
    write_text(text, paths["report.md"])
    write_text(markdown_to_html(text, figures, f"Calibration: {plan['name']}"),
               paths["report.html"])
    return paths
