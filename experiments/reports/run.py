"""Figures of a run's time series, drawn on ``Figure`` objects (no pyplot, no backend switch)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from experiments.reports.common import save_figure

PANELS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Community wellbeing", ("community_wellbeing", "wellbeing_marginalised",
                             "wellbeing_others"), "wellbeing index [0, 1]"),
    ("Need by domain", (), "mean need [0, 1]"),
    ("Trust and alignment", ("mean_trust", "aligned_share", "mean_engagement"), "share / level"),
    ("Nonprofits", ("active_nonprofits", "closures"), "organisations"),
    ("Waste", ("overhead_share", "duplication_rate"), "share"),
    ("Backbone and policy", ("backbone_capacity", "latent_resources_active"), "share / level"),
)


def timeseries_figure(series: pd.DataFrame, title: str,
                      path: str | os.PathLike | None = None) -> Figure:
    """A six-panel figure of one run's main outputs over months; saved when ``path`` is given."""
    fig = Figure(figsize=(15, 8), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True)
    months = series["step"]
    for ax, (panel, columns, ylabel) in zip(axes.flat, PANELS, strict=True):
        shown = columns or tuple(c for c in series.columns if c.startswith("need_"))
        for col in shown:
            ax.plot(months, series[col], label=col.removeprefix("need_").replace("_", " "))
        ax.set_title(panel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    if "policies_enacted" in series:
        for step in series.loc[series["policies_enacted"].diff() > 0, "step"]:
            axes.flat[0].axvline(step, color="grey", ls=":", lw=1)
    for ax in axes[1]:
        ax.set_xlabel("month")
    fig.suptitle(title + " (dotted lines: policy changes)")
    if path is not None:
        save_figure(fig, Path(path))
    return fig
