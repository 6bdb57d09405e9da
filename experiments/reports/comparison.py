"""The funders' report of a comparison: ``report.md``, ``report.html`` and ``figures/``.

The report answers a funder's question in the order a board memo would: the
question, the setup in plain words, the headline numbers with their intervals,
tables, then figures with captions. ``report.html`` carries the same text with
the figures embedded, so it opens anywhere without the folder.

It reads the comparison's result tables only (``runs.parquet``,
``timeseries.parquet``, ``summary.csv``, ``contrasts.csv``, ``comparison.json``),
never the study's code, so a report can be redrawn from a folder alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from experiments.io import write_text
from experiments.reports.common import (
    FigureNote,
    ci,
    markdown_to_html,
    millions,
    num,
    pct,
    save_figure,
    table,
)
from experiments.reports.common import colours as scenario_colours
from experiments.stats import BAND, CONFIDENCE, bands
from model.metrics import NEEDLE_THRESHOLD
from model.parameters import get_parameter
from model.scenarios import NAMED_SCENARIOS

_BAND_PCT = round((BAND[1] - BAND[0]) * 100)
_CI_PCT = round(CONFIDENCE * 100)
_SPENDING = (  # timeseries column, label, colour
    ("spend_services", "services to residents", "#4c72b0"),
    ("spend_grant_seeking", "seeking grants (applications, compliance)", "#dd8452"),
    ("spend_meetings", "meetings", "#8172b3"),
    ("spend_reporting", "reporting to shared measurement", "#937860"),
    ("spend_backbone", "backbone staff", "#55a868"),
)


@dataclass(frozen=True)
class ComparisonTables:
    """A comparison as its result tables, read from a folder.

    Attributes:
        timeseries: every month of every successful run.
        summary: one row per scenario (``summary.csv``).
        contrasts: paired differences against the reference (``contrasts.csv``).
        setup: the comparison's record (``comparison.json``): scenarios, reference,
            reps, master seed, changed parameters, the scenarios' full parameters,
            interval level and band.
    """

    timeseries: pd.DataFrame
    summary: pd.DataFrame
    contrasts: pd.DataFrame
    setup: dict[str, Any]

    @classmethod
    def read(cls, folder: str | os.PathLike) -> ComparisonTables:
        """Read the tables a comparison wrote into ``folder``."""
        folder = Path(folder)
        contrasts_path = folder / "contrasts.csv"
        contrasts = (pd.read_csv(contrasts_path) if contrasts_path.stat().st_size > 1
                     else pd.DataFrame(columns=["scenario", "outcome"]))
        return cls(pd.read_parquet(folder / "timeseries.parquet"),
                   pd.read_csv(folder / "summary.csv"), contrasts,
                   json.loads((folder / "comparison.json").read_text()))

    @property
    def scenarios(self) -> tuple[str, ...]:
        """Scenarios in report order."""
        return tuple(self.setup["scenarios"])

    @property
    def reference(self) -> str:
        """The scenario the others are compared with."""
        return str(self.setup["reference"])

    @property
    def reps(self) -> int:
        """Replications per scenario."""
        return int(self.setup["reps"])

    @property
    def master_seed(self) -> int:
        """Master seed of the replications."""
        return int(self.setup["master_seed"])

    @property
    def params(self) -> dict[str, Any]:
        """Parameters changed from the defaults in every scenario."""
        return dict(self.setup["params"])

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """Full parameters of each scenario."""
        return dict(self.setup["parameters"])


def _band_panel(ax: Axes, tables: ComparisonTables, series: pd.DataFrame, column: str,
                colours: dict[str, str]) -> None:
    b = bands(series, column)
    for name in tables.scenarios:
        part = b[b["scenario"] == name]
        ax.fill_between(part["step"], part["lo"], part["hi"], color=colours[name], alpha=0.15,
                        lw=0)
        ax.plot(part["step"], part["mean"], color=colours[name], lw=2, label=name)
    ax.grid(alpha=0.3)
    ax.set_xlabel("month")
    ax.set_xlim(0, series["step"].max())


def figure_wellbeing(tables: ComparisonTables, path: Path, colours: dict[str, str]) -> FigureNote:
    """Change in community wellbeing from month 0, mean and 90% band per scenario."""
    ts = tables.timeseries
    base = ts.groupby(["scenario", "replication"])["community_wellbeing"].transform("first")
    series = ts.assign(change=(ts["community_wellbeing"] / base - 1.0) * 100.0)
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.subplots()
    _band_panel(ax, tables, series, "change", colours)
    ax.axhline(NEEDLE_THRESHOLD * 100, color="black", ls="--", lw=1)
    ax.annotate(f"needle moved (+{NEEDLE_THRESHOLD:.0%})", (0.01, NEEDLE_THRESHOLD * 100),
                xycoords=("axes fraction", "data"), va="bottom", fontsize=9)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("change in community wellbeing since month 0 (%)")
    ax.set_title("Community wellbeing over time")
    # Outside the axes: the bands may sit anywhere, the needle label included.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    save_figure(fig, path)
    return FigureNote(path.name, "Community wellbeing over time",
                  f"Mean change in community wellbeing (CES index of residents' needs) since "
                  f"month 0, in percent, per scenario; shaded: the middle {_BAND_PCT}% of "
                  f"replications. The dashed line is the +{NEEDLE_THRESHOLD:.0%} mark at "
                  f"which practitioners say the needle has moved.")


def figure_equity(tables: ComparisonTables, path: Path, colours: dict[str, str]) -> FigureNote:
    """Equity gap over time per scenario, mean and band."""
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax = fig.subplots()
    _band_panel(ax, tables, tables.timeseries, "equity_gap", colours)
    ax.set_ylabel("equity gap (wellbeing index points, 0-1 scale)")
    ax.set_title("Equity gap: wellbeing of other residents minus marginalised residents")
    ax.legend(fontsize=9)
    save_figure(fig, path)
    return FigureNote(path.name, "Equity gap",
                  f"Wellbeing of residents who are not marginalised minus that of marginalised "
                  f"residents (index points on the 0-1 wellbeing scale; lower is fairer). Lines: "
                  f"mean over replications; shaded: the middle {_BAND_PCT}%.")


def _two_band_panels(tables: ComparisonTables, path: Path, colours: dict[str, str],
                     title: str, panels: list[tuple[str, str, str]],
                     ylim: tuple[float | None, float | None], legend_on: int) -> None:
    """Two side-by-side band panels over time: (column, y label, panel title) each."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, (column, ylabel, panel_title) in zip(axes, panels, strict=True):
        _band_panel(ax, tables, tables.timeseries, column, colours)
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title)
        ax.set_ylim(*ylim)
    axes[legend_on].legend(fontsize=9)
    fig.suptitle(title)
    save_figure(fig, path)


def figure_trust(tables: ComparisonTables, path: Path, colours: dict[str, str]) -> FigureNote:
    """Mean trust and aligned share over time, two panels."""
    _two_band_panels(tables, path, colours, "Trust and membership over time", [
        ("mean_trust", "mean trust among nonprofits (0-1)", "Trust"),
        ("aligned_share", "share of nonprofits that are members",
         "Membership of the collective"),
    ], ylim=(-0.02, 1.02), legend_on=1)
    return FigureNote(path.name, "Trust and membership",
                  f"Left: mean trust between nonprofits (0 = none, 1 = full). Right: share of "
                  f"nonprofits that have chosen to be members of the collective (or of a "
                  f"voluntary coalition). Lines: mean over replications; shaded: the middle "
                  f"{_BAND_PCT}%.")


def figure_money(tables: ComparisonTables, path: Path) -> FigureNote:
    """Where the money went: mean cumulative spending by purpose, stacked per scenario."""
    ts = tables.timeseries
    last = ts[ts["step"] == ts["step"].max()]
    cols = [c for c, _, _ in _SPENDING]
    money = last.groupby("scenario", sort=False)[cols].mean().reindex(tables.scenarios)
    fig = Figure(figsize=(10, 1.2 + 0.7 * len(money)), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(money))
    y = np.arange(len(money))[::-1]
    totals = money.sum(axis=1).to_numpy()
    for col, label, colour in _SPENDING:
        values = money[col].to_numpy() / 1e6
        ax.barh(y, values, left=left, color=colour, label=label, height=0.6)
        for yi, v, lft, tot in zip(y, values, left, totals, strict=True):
            share = v * 1e6 / tot if tot > 0 else 0.0
            if share >= 0.04:
                ax.text(lft + v / 2, yi, f"{share:.0%}", ha="center", va="center",
                        fontsize=8, color="white")
        left += values
    ax.set_yticks(y, money.index)
    ax.set_xlabel(f"money spent over the {int(ts['step'].max())} months (millions, mean "
                  f"over replications)")
    ax.set_title("Where the money went")
    fig.legend(loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    save_figure(fig, path)
    return FigureNote(path.name, "Where the money went",
                  "Money spent by nonprofits and the backbone over the whole run, by purpose, in "
                  "millions (mean over replications); labels give each purpose's share of the "
                  "total. Grant seeking includes applications and government compliance "
                  "reporting. Every scenario pays out the same pool; totals also include what "
                  "nonprofits raise outside it (donors, fees), so they differ with how many "
                  "nonprofits survive, with reserves and, when it is on, funder commitment.")


def figure_churn(tables: ComparisonTables, path: Path, colours: dict[str, str]) -> FigureNote:
    """Cumulative closures and active nonprofits over time, two panels."""
    _two_band_panels(tables, path, colours, "Nonprofit churn", [
        ("closures", "nonprofits closed so far (organisations)", "Closures (cumulative)"),
        ("active_nonprofits", "nonprofits operating (organisations)", "Active nonprofits"),
    ], ylim=(0, None), legend_on=0)
    return FigureNote(path.name, "Nonprofit churn",
                  f"Left: nonprofits closed since the start (reserves negative for several "
                  f"months). Right: nonprofits operating; closed slots are refilled by new "
                  f"entrants over time. Lines: mean over replications; shaded: the middle "
                  f"{_BAND_PCT}%.")


def figure_contrasts(tables: ComparisonTables, contrasts: pd.DataFrame, reference: str,
                     path: Path, colours: dict[str, str]) -> FigureNote:
    """Paired difference in wellbeing gain and chance of beating the reference."""
    rows = contrasts[contrasts["outcome"] == "improvement_pct"].reset_index(drop=True)
    fig = Figure(figsize=(12, 1.6 + 0.6 * max(1, len(rows))), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows.itertuples(), strict=True):
        c = colours[r.scenario]
        axes[0].errorbar(r.mean_difference, yi, xerr=[[r.mean_difference - r.difference_lo],
                                                      [r.difference_hi - r.mean_difference]],
                         fmt="o", color=c, capsize=4)
        axes[1].errorbar(r.prob_better, yi, xerr=[[r.prob_better - r.prob_better_lo],
                                                  [r.prob_better_hi - r.prob_better]],
                         fmt="o", color=c, capsize=4)
    axes[0].axvline(0, color="black", lw=1)
    axes[0].set_xlabel(f"difference in wellbeing gain vs {reference} (percentage points)")
    axes[0].set_title(f"How much better than {reference}")
    axes[1].axvline(0.5, color="black", lw=1, ls=":")
    axes[1].set_xlim(-0.02, 1.02)
    axes[1].set_xlabel(f"share of paired communities where it beats {reference}")
    axes[1].set_title(f"How often better than {reference}")
    axes[0].set_yticks(y, rows["scenario"])
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    save_figure(fig, path)
    return FigureNote(path.name, f"Each scenario against {reference}",
                  f"Left: mean paired difference in the wellbeing gain (percentage points), "
                  f"same community, same seed, with its {_CI_PCT}% interval. Right: share of "
                  f"replications in which the scenario's gain beats {reference}'s, with its "
                  f"{_CI_PCT}% Wilson interval; the dotted line is a coin toss.")


# --- text ---------------------------------------------------------------------------------
def _setup_section(tables: ComparisonTables) -> str:
    plan = tables
    p = plan.parameters[plan.scenarios[0]]
    years = p["steps"] / 12
    total = p["total_funding"] * years
    lines = [
        "## The setup",
        "",
        f"- **Money**: {millions(p['total_funding'])} a year in every scenario "
        f"({millions(total)} over the horizon), of which "
        f"{p['government_share']:.0%} flows through government grants. Where there is a "
        f"backbone, funders pay it from the same money.",
        f"- **Horizon**: {p['steps']} months ({years:g} years), one step per month.",
        f"- **Community**: {p['n_residents']:,} residents ({p['marginalised_share']:.0%} "
        f"marginalised) with needs in {p['n_domains']} interdependent domains, "
        f"{p['n_nonprofits']} nonprofit slots, {p['n_funders']} funders, one government.",
        f"- **Replications**: {plan.reps} per scenario. Replication r of every scenario starts "
        f"from the same community (same residents, same nonprofits), so scenarios are "
        f"compared pair by pair. Master seed {plan.master_seed}.",
    ]
    if plan.params:
        changed = ", ".join(f"`{k}={v}`" for k, v in plan.params.items())
        lines.append(f"- **Changed from the defaults in every scenario**: {changed}.")
    lines += ["", "The scenarios:", ""]
    rows = []
    for name in plan.scenarios:
        preset = NAMED_SCENARIOS[name]
        changes = ", ".join(f"{k}={v}" for k, v in preset.changes.items())
        rows.append({"scenario": name, "what it is": preset.description,
                     "changes from defaults": changes})
    backbone = get_parameter("backbone_funding")
    lines += [table(pd.DataFrame(rows)), "",
              f"`backbone_funding` is the {backbone.unit} paid to the backbone "
              f"(default {backbone.default:g}).", ""]
    return "\n".join(lines)


def _headline_section(tables: ComparisonTables, summary: pd.DataFrame, contrasts: pd.DataFrame,
                      reference: str) -> str:
    s = summary.set_index("scenario")
    ref = s.loc[reference]
    n = int(ref["runs"])
    ref_change = ci(ref["improvement_pct_mean"], ref["improvement_pct_lo"],
                    ref["improvement_pct_hi"], signed=True)
    lines = ["## The answer in numbers", "",
             f"Numbers are means over replications with their {_CI_PCT}% interval in brackets.",
             "",
             f"- **{reference}** (the reference): community wellbeing changed by "
             f"{ref_change}%; "
             f"the needle moved in {round(ref['needle_share'] * n)} of {n} runs "
             f"({pct(ref['needle_share'])}, {pct(ref['needle_share_lo'])} to "
             f"{pct(ref['needle_share_hi'])})."]
    for name in tables.scenarios:
        if name == reference:
            continue
        row = s.loc[name]
        c = contrasts[(contrasts["scenario"] == name)].set_index("outcome")
        gain = c.loc["improvement_pct"]
        gap = c.loc["final_equity_gap"]
        closures = c.loc["nonprofit_closures"]
        change = ci(row["improvement_pct_mean"], row["improvement_pct_lo"],
                    row["improvement_pct_hi"], signed=True)
        gain_ci = ci(gain["mean_difference"], gain["difference_lo"], gain["difference_hi"],
                     signed=True)
        gap_ci = ci(gap["mean_difference"], gap["difference_lo"], gap["difference_hi"], digits=3,
                    signed=True)
        closures_ci = ci(closures["mean_difference"], closures["difference_lo"],
                         closures["difference_hi"], signed=True)
        text = (
            f"- **{name}**: wellbeing changed by {change}%, "
            f"that is {gain_ci} "
            f"percentage points against {reference} in the same community; it did better in "
            f"{pct(gain['prob_better'])} of paired runs. The needle moved in "
            f"{round(row['needle_share'] * n)} of {n} runs ({pct(row['needle_share'])}, "
            f"{pct(row['needle_share_lo'])} to {pct(row['needle_share_hi'])})"
        )
        months = row["median_months_to_needle"]
        if np.isfinite(months):
            text += f", after a median of {months:.0f} months."
        else:
            never = "it never did" if row["needle_share"] == 0 else "in most runs it never did"
            text += f"; {never}."
        text += (f" Equity gap {gap_ci} index points; closures {closures_ci} "
                 f"organisations.")
        per = gain["difference_per_backbone_million"]
        if np.isfinite(per) and gain["extra_backbone_million"] > 0:
            text += (f" Each million of backbone money went with {per:+.2f} points of "
                     f"wellbeing gain ({gain['extra_backbone_million']:.1f} million over the "
                     f"run).")
        lines.append(text)
    return "\n".join(lines) + "\n"


_TABLE_FIELDS: tuple[tuple[str, str, Callable[[float, float, float], str]], ...] = (
    ("improvement_pct", "wellbeing gain (%)", lambda m, lo, hi: ci(m, lo, hi, 1)),
    ("final_equity_gap", "equity gap (index pts)", lambda m, lo, hi: ci(m, lo, hi, 3)),
    ("nonprofit_closures", "closures", lambda m, lo, hi: ci(m, lo, hi, 1)),
    ("grant_overhead_share", "grant-seeking share (%)",
     lambda m, lo, hi: ci(100 * m, 100 * lo, 100 * hi, 1)),
    ("final_mean_trust", "trust (0-1)", lambda m, lo, hi: ci(m, lo, hi, 2)),
    ("final_aligned_share", "members (%)",
     lambda m, lo, hi: ci(100 * m, 100 * lo, 100 * hi, 0)),
    ("final_funding_effectiveness_corr", "money-effectiveness corr.",
     lambda m, lo, hi: ci(m, lo, hi, 2)),
    ("policies_enacted", "policy changes", lambda m, lo, hi: ci(m, lo, hi, 1)),
)


def _tables_section(summary: pd.DataFrame, contrasts: pd.DataFrame, reference: str) -> str:
    rows = []
    for r in summary.to_dict("records"):
        row = {"scenario": r["scenario"],
               "needle moved": f"{pct(r['needle_share'])} [{pct(r['needle_share_lo'])} to "
                               f"{pct(r['needle_share_hi'])}]",
               "median months to needle": ("never (most runs)"
                                           if not np.isfinite(r["median_months_to_needle"])
                                           else f"{r['median_months_to_needle']:.0f}")}
        for field, label, fmt in _TABLE_FIELDS:
            row[label] = fmt(r[f"{field}_mean"], r[f"{field}_lo"], r[f"{field}_hi"])
        rows.append(row)
    crow = []
    keep = [f for f, _, _ in _TABLE_FIELDS] + ["needle_moved"]
    records = contrasts[contrasts["outcome"].isin(keep)].to_dict("records") if len(
        contrasts) else []
    for r in records:
        crow.append({"scenario": r["scenario"], "outcome": r["outcome"],
                     "difference": ci(r["mean_difference"], r["difference_lo"],
                                       r["difference_hi"], 3, signed=True),
                     "better is": r["better"],
                     "beats reference": pct(r["prob_better"]),
                     "per backbone million": num(r["difference_per_backbone_million"], 3)})
    parts = [
        "## Summary by scenario", "",
        f"Means with {_CI_PCT}% intervals over replications; needle moved: share of runs with "
        f"a gain of at least {NEEDLE_THRESHOLD:.0%} (Wilson interval).", "",
        table(pd.DataFrame(rows)), ""]
    if not crow:
        return "\n".join(parts)
    return "\n".join([
        *parts,
        f"## Paired differences against {reference}", "",
        f"Scenario minus {reference} in the same community, with {_CI_PCT}% intervals; "
        f"'beats reference': share of replications where the scenario does better; "
        f"'per backbone million': the difference per million of extra backbone money.", "",
        table(pd.DataFrame(crow)), ""])


def build_markdown(tables: ComparisonTables, figures: list[FigureNote], summary: pd.DataFrame,
                   contrasts: pd.DataFrame, reference: str) -> str:
    """The report's Markdown text, with figures referenced as ``figures/<name>``."""
    plan = tables
    parts = [
        "# Isolated or collective impact? A comparison at equal money", "",
        "## The question", "",
        "A community puts the same money into its nonprofits each year. Does it move "
        "community-wide wellbeing more when organisations compete for short grants "
        "(isolated impact) or when funders, government and nonprofits work to a common "
        "agenda with shared measurement and a funded backbone (collective impact)? By how "
        "much, for whom, and how sure can we be? This report answers with "
        f"{plan.reps} simulated replications of each funding regime in the same communities.",
        "", _setup_section(tables),
        _headline_section(tables, summary, contrasts, reference),
        _tables_section(summary, contrasts, reference),
        "## Figures", ""]
    for i, fig in enumerate(figures, start=1):
        parts += [f"### Figure {i}. {fig.title}", "",
                  f"![{fig.title}](figures/{fig.name})", "", f"*{fig.caption}*", ""]
    parts += [
        "## How to read this", "",
        f"- Intervals in brackets are {_CI_PCT}% intervals of the mean over replications "
        "(Student t for means and paired differences, Wilson for shares). Shaded bands in "
        f"figures show where the middle {_BAND_PCT}% of individual runs lie, which is wider.",
        "- A simulation shows what follows from its stated mechanisms (see the model "
        "documentation), not a forecast for a particular city. Use it to compare regimes "
        "and to see which assumptions the answer depends on.",
        "- Any single run can be repeated with `cisim run --scenario NAME --seed SEED`, "
        "taking the seed from `runs.parquet`.",
        "- Files: `runs.parquet` (one row per run), `timeseries.parquet` (every month of "
        "every run), `summary.csv` (per scenario), `contrasts.csv` (paired differences).",
        ""]
    return "\n".join(parts)


def write_report(folder: str | os.PathLike,
                 out: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` of the comparison in ``folder``.

    Args:
        folder: a folder holding a comparison's tables (``experiments.compare.write_results``).
        out: where the report goes (default: ``folder``).

    Returns:
        The paths written, by name.
    """
    tables = ComparisonTables.read(folder)
    out = Path(folder if out is None else out)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    summary, contrasts, reference = tables.summary, tables.contrasts, tables.reference
    colours = scenario_colours(tables.scenarios)
    figures = [figure_wellbeing(tables, figdir / "wellbeing.png", colours)]
    if len(tables.scenarios) > 1 and not contrasts.empty:
        figures.append(figure_contrasts(tables, contrasts, reference,
                                        figdir / "contrasts.png", colours))
    figures += [
        figure_equity(tables, figdir / "equity_gap.png", colours),
        figure_trust(tables, figdir / "trust_alignment.png", colours),
        figure_money(tables, figdir / "money.png"),
        figure_churn(tables, figdir / "churn.png", colours),
    ]
    text = build_markdown(tables, figures, summary, contrasts, reference)
    write_text(text, out / "report.md")
    title = "Isolated or collective impact? A comparison at equal money"
    write_text(markdown_to_html(text, figdir, title), out / "report.html")
    paths = {"report.md": out / "report.md", "report.html": out / "report.html"}
    paths.update({f"figures/{f.name}": figdir / f.name for f in figures})
    return paths
