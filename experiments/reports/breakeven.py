"""The report of a break-even search: ``report.md``, ``report.html`` and the response curve.

It reads the search's result tables only (``curve.csv`` and ``breakeven.json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.io import write_text
from experiments.reports.common import FigureNote, markdown_to_html, save_figure, table


def _finite(x: Any) -> float:
    return float(x) if x is not None else np.inf


def figure_breakeven(record: dict[str, Any], curve: pd.DataFrame, path: Path) -> FigureNote:
    """Response curve: share of runs meeting the target along the searched parameter."""
    ci_pct = round(record["interval_level"] * 100)
    name, unit = record["parameter"], record["unit"]
    numeric = record["target_op"] != "true"
    fig = Figure(figsize=(9, 7.5 if numeric else 4.8), layout="constrained")
    axes = fig.subplots(2 if numeric else 1, 1, sharex=True, squeeze=False)
    ax = axes[0, 0]
    x = curve["value"].to_numpy(float)
    ax.errorbar(x, curve["share_met"], yerr=[curve["share_met"] - curve["share_lo"],
                                             curve["share_hi"] - curve["share_met"]],
                fmt="o-", color="#4c72b0", capsize=3, label="share of runs meeting the target")
    probability = record["probability"]
    ax.axhline(probability, color="black", ls="--", lw=1,
               label=f"required share ({probability:g})")
    estimate = record["estimate"]
    if estimate is not None:
        low, high = (_finite(v) for v in record["interval"])
        high = high if np.isfinite(high) else record["searched_range"][1]
        ax.axvspan(low, high, color="#dd8452", alpha=0.2,
                   label=f"{ci_pct}% interval of the break-even value")
        ax.axvline(estimate, color="#dd8452", lw=2, label=f"break-even: {estimate:.4g}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel(f"share of runs with {record['target']}")
    ax.set_title(f"How much {name} does it take? ({record['scenario']}, "
                 f"{record['reps_per_value']} replications per value)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if numeric:
        ax2 = axes[1, 0]
        ax2.fill_between(x, curve["output_lo"], curve["output_hi"], color="#4c72b0", alpha=0.2,
                         label=f"{ci_pct}% interval of the mean")
        ax2.plot(x, curve["output_mean"], "o-", color="#4c72b0", label="mean over runs")
        ax2.axhline(record["target_threshold"], color="black", ls="--", lw=1,
                    label=f"target {record['target_op']} {record['target_threshold']:g}")
        ax2.set_ylabel(f"{record['target_output']} ({record['target_unit']})")
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8, loc="best")
    axes[-1, 0].set_xlabel(f"{name} ({unit})")
    save_figure(fig, path)
    caption = (f"Share of replications in which {record['target']} at each value of {name} "
               f"({unit}), with {ci_pct}% Wilson intervals; every value uses the same "
               f"{record['reps_per_value']} seeds. The dashed line is the required share; the "
               f"vertical line and band mark the smallest value reaching it and its "
               f"bootstrap interval.")
    if numeric:
        caption += f" Lower panel: mean {record['target_output']} with its {ci_pct}% interval."
    return FigureNote(path.name, "Response curve", caption)


def write_breakeven_report(folder: str | os.PathLike,
                           out: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write the response curve, ``report.md`` and ``report.html`` of the search in ``folder``."""
    folder = Path(folder)
    out = Path(folder if out is None else out)
    record = json.loads((folder / "breakeven.json").read_text())
    curve = pd.read_csv(folder / "curve.csv")
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    fig = figure_breakeven(record, curve, figdir / "response_curve.png")
    name, unit, target = record["parameter"], record["unit"], record["target"]
    low_end, high_end = record["searched_range"]
    ci_pct = round(record["interval_level"] * 100)
    probability = record["probability"]
    if record["status"] == "not reached":
        answer = (f"Within {low_end:g} to {high_end:g} {unit}, {target} was never reached in "
                  f"{probability:.0%} of runs.")
    else:
        low, high = (_finite(v) for v in record["interval"])
        hi = (f"{high:.4g}" if np.isfinite(high)
              else f"beyond the searched range (above {high_end:g})")
        answer = (f"The smallest {name} at which {target} in at least {probability:.0%} of "
                  f"runs is **{record['estimate']:.4g} {unit}** ({ci_pct}% bootstrap interval "
                  f"{low:.4g} to {hi}).")
        if record["status"] == "at the low end":
            answer += " The target is already met at the low end of the searched range."
    changed = ", ".join(f"`{k}={v}`" for k, v in record["parameters_changed"].items()) or "none"
    shown = curve.assign(
        share=lambda d: [f"{m}/{n} = {s:.0%} [{lo:.0%} to {h:.0%}]" for m, n, s, lo, h in zip(
            d["met"], d["runs"], d["share_met"], d["share_lo"], d["share_hi"], strict=True)])
    shown = shown[["value", "share"]].rename(columns={"value": f"{name} ({unit})",
                                                      "share": "runs meeting the target"})
    text = "\n".join([
        f"# Break-even: how much {name} does it take?", "",
        f"Question: from which value of `{name}` ({record['parameter_meaning']}) does the "
        f"`{record['scenario']}` scenario reach `{target}` in at least {probability:.0%} of "
        "replications?", "",
        "## Answer", "", answer, "",
        "## Setup", "",
        f"- Searched {low_end:g} to {high_end:g} {unit}: {record['points']} evenly spaced "
        f"values, then up to {record['refine']} more inside the first crossing.",
        f"- {record['reps_per_value']} replications per value, the same seeds at every value "
        f"(master seed {record['master_seed']}); {record['runs']} runs in all.",
        f"- Other parameters changed from the scenario: {changed}.", "",
        "## Response curve", "", table(shown), "",
        f"![{fig.title}](figures/{fig.name})", "", f"*{fig.caption}*", "",
        "The estimate interpolates linearly between the two values around the first "
        "crossing; its interval resamples whole replications "
        f"({record['bootstrap_samples']:,} bootstrap samples).", ""])
    write_text(text, out / "report.md")
    write_text(markdown_to_html(text, figdir, f"Break-even: {name}"), out / "report.html")
    return {"report.md": out / "report.md", "report.html": out / "report.html",
            f"figures/{fig.name}": figdir / fig.name}
