"""The funders' report of a comparison: ``report.md``, ``report.html`` and ``figures/``.

The report answers a funder's question in the order a board memo would: the
question, the setup in plain words, the headline numbers with their intervals,
tables, then figures with captions. ``report.html`` carries the same text with
the figures embedded, so it opens anywhere without the folder.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import markdown
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.breakeven import BOOTSTRAP_SAMPLES  # noqa: E402
from experiments.compare import BAND, CONFIDENCE, Comparison, bands  # noqa: E402
from experiments.io import atomic_path, write_text  # noqa: E402
from model.metrics import NEEDLE_THRESHOLD, SUMMARY_FIELDS  # noqa: E402
from model.parameters import get_parameter  # noqa: E402
from model.scenarios import NAMED_SCENARIOS  # noqa: E402

if TYPE_CHECKING:
    from experiments.breakeven import BreakevenResult

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
class Figure:
    """One figure of the report: file name, title and caption."""

    name: str
    title: str
    caption: str


# --- formatting ---------------------------------------------------------------------------
def _num(x: float, digits: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.{digits}f}"


def _ci(mean: float, lo: float, hi: float, digits: int = 1, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{mean:{sign},.{digits}f}"
    return f"{mean:{sign},.{digits}f} [{lo:,.{digits}f} to {hi:,.{digits}f}]"


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.0f}%"


def _millions(x: float) -> str:
    return f"{x / 1e6:,.1f} million"


def _table(df: pd.DataFrame) -> str:
    """A Markdown pipe table of ``df`` (strings as they are, index dropped)."""
    cells = df.astype(str).map(lambda s: s.replace("|", "\\|"))
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _colours(scenarios: tuple[str, ...]) -> dict[str, str]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {s: cycle[i % len(cycle)] for i, s in enumerate(scenarios)}


# --- figures ------------------------------------------------------------------------------
def _band_panel(ax, comparison: Comparison, series: pd.DataFrame, column: str,
                colours: dict[str, str]) -> None:
    b = bands(series, column)
    for name in comparison.scenarios:
        part = b[b["scenario"] == name]
        ax.fill_between(part["step"], part["lo"], part["hi"], color=colours[name], alpha=0.15,
                        lw=0)
        ax.plot(part["step"], part["mean"], color=colours[name], lw=2, label=name)
    ax.grid(alpha=0.3)
    ax.set_xlabel("month")
    ax.set_xlim(0, series["step"].max())


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def figure_wellbeing(comparison: Comparison, path: Path, colours: dict[str, str]) -> Figure:
    """Change in community wellbeing from month 0, mean and 90% band per scenario."""
    ts = comparison.timeseries
    base = ts.groupby(["scenario", "replication"])["community_wellbeing"].transform("first")
    series = ts.assign(change=(ts["community_wellbeing"] / base - 1.0) * 100.0)
    fig, ax = plt.subplots(figsize=(9, 5.2), layout="constrained")
    _band_panel(ax, comparison, series, "change", colours)
    ax.axhline(NEEDLE_THRESHOLD * 100, color="black", ls="--", lw=1)
    ax.annotate(f"needle moved (+{NEEDLE_THRESHOLD:.0%})", (0.01, NEEDLE_THRESHOLD * 100),
                xycoords=("axes fraction", "data"), va="bottom", fontsize=9)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel("change in community wellbeing since month 0 (%)")
    ax.set_title("Community wellbeing over time")
    ax.legend(loc="upper left", bbox_to_anchor=(0, 0.93), fontsize=9)
    _save(fig, path)
    return Figure(path.name, "Community wellbeing over time",
                  f"Mean change in community wellbeing (CES index of residents' needs) since "
                  f"month 0, in percent, per scenario; shaded: the middle {_BAND_PCT}% of "
                  f"replications. The dashed line is the +{NEEDLE_THRESHOLD:.0%} mark at "
                  f"which practitioners say the needle has moved.")


def figure_equity(comparison: Comparison, path: Path, colours: dict[str, str]) -> Figure:
    """Equity gap over time per scenario, mean and band."""
    fig, ax = plt.subplots(figsize=(9, 5.2), layout="constrained")
    _band_panel(ax, comparison, comparison.timeseries, "equity_gap", colours)
    ax.set_ylabel("equity gap (wellbeing index points, 0-1 scale)")
    ax.set_title("Equity gap: wellbeing of other residents minus marginalised residents")
    ax.legend(fontsize=9)
    _save(fig, path)
    return Figure(path.name, "Equity gap",
                  f"Wellbeing of residents who are not marginalised minus that of marginalised "
                  f"residents (index points on the 0-1 wellbeing scale; lower is fairer). Lines: "
                  f"mean over replications; shaded: the middle {_BAND_PCT}%.")


def _two_band_panels(comparison: Comparison, path: Path, colours: dict[str, str],
                     title: str, panels: list[tuple[str, str, str]],
                     ylim: tuple[float | None, float | None], legend_on: int) -> None:
    """Two side-by-side band panels over time: (column, y label, panel title) each."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained", sharex=True)
    for ax, (column, ylabel, panel_title) in zip(axes, panels, strict=True):
        _band_panel(ax, comparison, comparison.timeseries, column, colours)
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title)
        ax.set_ylim(*ylim)
    axes[legend_on].legend(fontsize=9)
    fig.suptitle(title)
    _save(fig, path)


def figure_trust(comparison: Comparison, path: Path, colours: dict[str, str]) -> Figure:
    """Mean trust and aligned share over time, two panels."""
    _two_band_panels(comparison, path, colours, "Trust and membership over time", [
        ("mean_trust", "mean trust among nonprofits (0-1)", "Trust"),
        ("aligned_share", "share of nonprofits that are members",
         "Membership of the collective"),
    ], ylim=(-0.02, 1.02), legend_on=1)
    return Figure(path.name, "Trust and membership",
                  f"Left: mean trust between nonprofits (0 = none, 1 = full). Right: share of "
                  f"nonprofits that have chosen to be members of the collective (or of a "
                  f"voluntary coalition). Lines: mean over replications; shaded: the middle "
                  f"{_BAND_PCT}%.")


def figure_money(comparison: Comparison, path: Path) -> Figure:
    """Where the money went: mean cumulative spending by purpose, stacked per scenario."""
    ts = comparison.timeseries
    last = ts[ts["step"] == ts["step"].max()]
    cols = [c for c, _, _ in _SPENDING]
    money = last.groupby("scenario", sort=False)[cols].mean().reindex(comparison.scenarios)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.7 * len(money)), layout="constrained")
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
    _save(fig, path)
    return Figure(path.name, "Where the money went",
                  "Money spent by nonprofits and the backbone over the whole run, by purpose, in "
                  "millions (mean over replications); labels give each purpose's share of the "
                  "total. Grant seeking includes applications and government compliance "
                  "reporting. Every scenario pays out the same pool; totals also include what "
                  "nonprofits raise outside it (donors, fees), so they differ with how many "
                  "nonprofits survive, with reserves and, when it is on, funder commitment.")


def figure_churn(comparison: Comparison, path: Path, colours: dict[str, str]) -> Figure:
    """Cumulative closures and active nonprofits over time, two panels."""
    _two_band_panels(comparison, path, colours, "Nonprofit churn", [
        ("closures", "nonprofits closed so far (organisations)", "Closures (cumulative)"),
        ("active_nonprofits", "nonprofits operating (organisations)", "Active nonprofits"),
    ], ylim=(0, None), legend_on=0)
    return Figure(path.name, "Nonprofit churn",
                  f"Left: nonprofits closed since the start (reserves negative for several "
                  f"months). Right: nonprofits operating; closed slots are refilled by new "
                  f"entrants over time. Lines: mean over replications; shaded: the middle "
                  f"{_BAND_PCT}%.")


def figure_contrasts(comparison: Comparison, contrasts: pd.DataFrame, reference: str,
                     path: Path, colours: dict[str, str]) -> Figure:
    """Paired difference in wellbeing gain and chance of beating the reference."""
    rows = contrasts[contrasts["outcome"] == "improvement_pct"].reset_index(drop=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.6 + 0.6 * max(1, len(rows))),
                             layout="constrained", sharey=True)
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
    _save(fig, path)
    return Figure(path.name, f"Each scenario against {reference}",
                  f"Left: mean paired difference in the wellbeing gain (percentage points), "
                  f"same community, same seed, with its {_CI_PCT}% interval. Right: share of "
                  f"replications in which the scenario's gain beats {reference}'s, with its "
                  f"{_CI_PCT}% Wilson interval; the dotted line is a coin toss.")


# --- text ---------------------------------------------------------------------------------
def _setup_section(comparison: Comparison) -> str:
    plan = comparison.plan
    p = plan.parameters[plan.scenarios[0]]
    years = p["steps"] / 12
    total = p["total_funding"] * years
    lines = [
        "## The setup",
        "",
        f"- **Money**: {_millions(p['total_funding'])} a year in every scenario "
        f"({_millions(total)} over the horizon), of which "
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
    lines += [_table(pd.DataFrame(rows)), "",
              f"`backbone_funding` is the {backbone.unit} paid to the backbone "
              f"(default {backbone.default:g}).", ""]
    return "\n".join(lines)


def _headline_section(comparison: Comparison, summary: pd.DataFrame, contrasts: pd.DataFrame,
                      reference: str) -> str:
    s = summary.set_index("scenario")
    ref = s.loc[reference]
    n = int(ref["runs"])
    lines = ["## The answer in numbers", "",
             f"Numbers are means over replications with their {_CI_PCT}% interval in brackets.",
             "",
             f"- **{reference}** (the reference): community wellbeing changed by "
             f"{_ci(ref['improvement_pct_mean'], ref['improvement_pct_lo'], ref['improvement_pct_hi'], signed=True)}%; "  # noqa: E501
             f"the needle moved in {round(ref['needle_share'] * n)} of {n} runs "
             f"({_pct(ref['needle_share'])}, {_pct(ref['needle_share_lo'])} to "
             f"{_pct(ref['needle_share_hi'])})."]
    for name in comparison.scenarios:
        if name == reference:
            continue
        row = s.loc[name]
        c = contrasts[(contrasts["scenario"] == name)].set_index("outcome")
        gain = c.loc["improvement_pct"]
        gap = c.loc["final_equity_gap"]
        closures = c.loc["nonprofit_closures"]
        text = (
            f"- **{name}**: wellbeing changed by "
            f"{_ci(row['improvement_pct_mean'], row['improvement_pct_lo'], row['improvement_pct_hi'], signed=True)}%, "  # noqa: E501
            f"that is {_ci(gain['mean_difference'], gain['difference_lo'], gain['difference_hi'], signed=True)} "  # noqa: E501
            f"percentage points against {reference} in the same community; it did better in "
            f"{_pct(gain['prob_better'])} of paired runs. The needle moved in "
            f"{round(row['needle_share'] * n)} of {n} runs ({_pct(row['needle_share'])}, "
            f"{_pct(row['needle_share_lo'])} to {_pct(row['needle_share_hi'])})"
        )
        months = row["median_months_to_needle"]
        if np.isfinite(months):
            text += f", after a median of {months:.0f} months."
        else:
            never = "it never did" if row["needle_share"] == 0 else "in most runs it never did"
            text += f"; {never}."
        text += (f" Equity gap {_ci(gap['mean_difference'], gap['difference_lo'], gap['difference_hi'], digits=3, signed=True)} "  # noqa: E501
                 f"index points; closures {_ci(closures['mean_difference'], closures['difference_lo'], closures['difference_hi'], signed=True)} "  # noqa: E501
                 f"organisations.")
        per = gain["difference_per_backbone_million"]
        if np.isfinite(per) and gain["extra_backbone_million"] > 0:
            text += (f" Each million of backbone money went with {per:+.2f} points of "
                     f"wellbeing gain ({gain['extra_backbone_million']:.1f} million over the "
                     f"run).")
        lines.append(text)
    return "\n".join(lines) + "\n"


_TABLE_FIELDS: tuple[tuple[str, str, Callable[[float, float, float], str]], ...] = (
    ("improvement_pct", "wellbeing gain (%)", lambda m, lo, hi: _ci(m, lo, hi, 1)),
    ("final_equity_gap", "equity gap (index pts)", lambda m, lo, hi: _ci(m, lo, hi, 3)),
    ("nonprofit_closures", "closures", lambda m, lo, hi: _ci(m, lo, hi, 1)),
    ("grant_overhead_share", "grant-seeking share (%)",
     lambda m, lo, hi: _ci(100 * m, 100 * lo, 100 * hi, 1)),
    ("final_mean_trust", "trust (0-1)", lambda m, lo, hi: _ci(m, lo, hi, 2)),
    ("final_aligned_share", "members (%)",
     lambda m, lo, hi: _ci(100 * m, 100 * lo, 100 * hi, 0)),
    ("final_funding_effectiveness_corr", "money-effectiveness corr.",
     lambda m, lo, hi: _ci(m, lo, hi, 2)),
    ("policies_enacted", "policy changes", lambda m, lo, hi: _ci(m, lo, hi, 1)),
)


def _tables_section(summary: pd.DataFrame, contrasts: pd.DataFrame, reference: str) -> str:
    rows = []
    for r in summary.to_dict("records"):
        row = {"scenario": r["scenario"],
               "needle moved": f"{_pct(r['needle_share'])} [{_pct(r['needle_share_lo'])} to "
                               f"{_pct(r['needle_share_hi'])}]",
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
                     "difference": _ci(r["mean_difference"], r["difference_lo"],
                                       r["difference_hi"], 3, signed=True),
                     "better is": r["better"],
                     "beats reference": _pct(r["prob_better"]),
                     "per backbone million": _num(r["difference_per_backbone_million"], 3)})
    parts = [
        "## Summary by scenario", "",
        f"Means with {_CI_PCT}% intervals over replications; needle moved: share of runs with "
        f"a gain of at least {NEEDLE_THRESHOLD:.0%} (Wilson interval).", "",
        _table(pd.DataFrame(rows)), ""]
    if not crow:
        return "\n".join(parts)
    return "\n".join(parts + [
        f"## Paired differences against {reference}", "",
        f"Scenario minus {reference} in the same community, with {_CI_PCT}% intervals; "
        f"'beats reference': share of replications where the scenario does better; "
        f"'per backbone million': the difference per million of extra backbone money.", "",
        _table(pd.DataFrame(crow)), ""])


def build_markdown(comparison: Comparison, figures: list[Figure], summary: pd.DataFrame,
                   contrasts: pd.DataFrame, reference: str) -> str:
    """The report's Markdown text, with figures referenced as ``figures/<name>``."""
    plan = comparison.plan
    parts = [
        "# Isolated or collective impact? A comparison at equal money", "",
        "## The question", "",
        "A community puts the same money into its nonprofits each year. Does it move "
        "community-wide wellbeing more when organisations compete for short grants "
        "(isolated impact) or when funders, government and nonprofits work to a common "
        "agenda with shared measurement and a funded backbone (collective impact)? By how "
        "much, for whom, and how sure can we be? This report answers with "
        f"{plan.reps} simulated replications of each funding regime in the same communities.",
        "", _setup_section(comparison),
        _headline_section(comparison, summary, contrasts, reference),
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


_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def markdown_to_html(text: str, figure_dir: Path, title: str) -> str:
    """Render the report's Markdown to one self-contained HTML page (figures inlined)."""
    body = markdown.markdown(text, extensions=["tables"])

    def inline(match: re.Match) -> str:
        data = (figure_dir / match.group(1)).read_bytes()
        return f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}"'

    body = re.sub(r'src="figures/([^"]+\.png)"', inline, body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def write_report(comparison: Comparison, out: str | os.PathLike,
                 reference: str = "isolated") -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` into ``out``.

    Returns the paths written, by name. ``reference`` must be a compared scenario.
    """
    out = Path(out)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    summary = comparison.summary_table()
    contrasts = comparison.contrasts(reference)
    colours = _colours(comparison.scenarios)
    figures = [figure_wellbeing(comparison, figdir / "wellbeing.png", colours)]
    if len(comparison.scenarios) > 1:
        figures.append(figure_contrasts(comparison, contrasts, reference,
                                        figdir / "contrasts.png", colours))
    figures += [
        figure_equity(comparison, figdir / "equity_gap.png", colours),
        figure_trust(comparison, figdir / "trust_alignment.png", colours),
        figure_money(comparison, figdir / "money.png"),
        figure_churn(comparison, figdir / "churn.png", colours),
    ]
    text = build_markdown(comparison, figures, summary, contrasts, reference)
    write_text(text, out / "report.md")
    title = "Isolated or collective impact? A comparison at equal money"
    write_text(markdown_to_html(text, figdir, title), out / "report.html")
    paths = {"report.md": out / "report.md", "report.html": out / "report.html"}
    paths.update({f"figures/{f.name}": figdir / f.name for f in figures})
    return paths


# --- break-even ---------------------------------------------------------------------------
def figure_breakeven(result: BreakevenResult, path: Path) -> Figure:
    """Response curve: share of runs meeting the target along the searched parameter."""
    plan = result.plan
    curve = result.curve
    param = plan.parameter
    numeric = plan.target.op != "true"
    fig, axes = plt.subplots(2 if numeric else 1, 1, figsize=(9, 7.5 if numeric else 4.8),
                             layout="constrained", sharex=True, squeeze=False)
    ax = axes[0, 0]
    x = curve["value"].to_numpy(float)
    ax.errorbar(x, curve["share_met"], yerr=[curve["share_met"] - curve["share_lo"],
                                             curve["share_hi"] - curve["share_met"]],
                fmt="o-", color="#4c72b0", capsize=3, label="share of runs meeting the target")
    ax.axhline(plan.probability, color="black", ls="--", lw=1,
               label=f"required share ({plan.probability:g})")
    if np.isfinite(result.estimate):
        hi = result.high if np.isfinite(result.high) else plan.high
        ax.axvspan(result.low, hi, color="#dd8452", alpha=0.2,
                   label=f"{_CI_PCT}% interval of the break-even value")
        ax.axvline(result.estimate, color="#dd8452", lw=2,
                   label=f"break-even: {result.estimate:.4g}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel(f"share of runs with {plan.target.describe()}")
    ax.set_title(f"How much {param.name} does it take? ({plan.scenario}, "
                 f"{plan.reps} replications per value)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if numeric:
        ax2 = axes[1, 0]
        unit = SUMMARY_FIELDS[plan.target.output][0]
        ax2.fill_between(x, curve["output_lo"], curve["output_hi"], color="#4c72b0", alpha=0.2,
                         label=f"{_CI_PCT}% interval of the mean")
        ax2.plot(x, curve["output_mean"], "o-", color="#4c72b0", label="mean over runs")
        ax2.axhline(plan.target.threshold, color="black", ls="--", lw=1,
                    label=f"target {plan.target.op} {plan.target.threshold:g}")
        ax2.set_ylabel(f"{plan.target.output} ({unit})")
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8, loc="best")
    axes[-1, 0].set_xlabel(f"{param.name} ({param.unit})")
    _save(fig, path)
    caption = (f"Share of replications in which {plan.target.describe()} at each value of "
               f"{param.name} ({param.unit}), with {_CI_PCT}% Wilson intervals; every value "
               f"uses the same {plan.reps} seeds. The dashed line is the required share; the "
               f"vertical line and band mark the smallest value reaching it and its "
               f"bootstrap interval.")
    if numeric:
        caption += f" Lower panel: mean {plan.target.output} with its {_CI_PCT}% interval."
    return Figure(path.name, "Response curve", caption)


def write_breakeven_report(result: BreakevenResult,
                           out: str | os.PathLike) -> dict[str, Path]:
    """Write the break-even figure, ``report.md`` and ``report.html`` into ``out``."""
    out = Path(out)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    fig = figure_breakeven(result, figdir / "response_curve.png")
    plan = result.plan
    param = plan.parameter
    if result.status == "not reached":
        answer = (f"Within {plan.low:g} to {plan.high:g} {param.unit}, {plan.target.describe()}"
                  f" was never reached in {plan.probability:.0%} of runs.")
    else:
        hi = (f"{result.high:.4g}" if np.isfinite(result.high)
              else f"beyond the searched range (above {plan.high:g})")
        answer = (f"The smallest {param.name} at which {plan.target.describe()} in at least "
                  f"{plan.probability:.0%} of runs is **{result.estimate:.4g} {param.unit}** "
                  f"({_CI_PCT}% bootstrap interval {result.low:.4g} to {hi}).")
        if result.status == "at the low end":
            answer += " The target is already met at the low end of the searched range."
    changed = ", ".join(f"`{k}={v}`" for k, v in plan.params.items()) or "none"
    table = result.curve.assign(
        share=lambda d: [f"{m}/{n} = {s:.0%} [{lo:.0%} to {h:.0%}]" for m, n, s, lo, h in zip(
            d["met"], d["runs"], d["share_met"], d["share_lo"], d["share_hi"], strict=True)])
    table = table[["value", "share"]].rename(columns={"value": f"{param.name} ({param.unit})",
                                                      "share": "runs meeting the target"})
    text = "\n".join([
        f"# Break-even: how much {param.name} does it take?", "",
        f"Question: from which value of `{param.name}` ({param.description}) does the "
        f"`{plan.scenario}` scenario reach `{plan.target.describe()}` in at least "
        f"{plan.probability:.0%} of replications?", "",
        "## Answer", "", answer, "",
        "## Setup", "",
        f"- Searched {plan.low:g} to {plan.high:g} {param.unit}: {plan.points} evenly spaced "
        f"values, then up to {plan.refine} more inside the first crossing.",
        f"- {plan.reps} replications per value, the same seeds at every value (master seed "
        f"{plan.master_seed}); {len(result.runs)} runs in all.",
        f"- Other parameters changed from the scenario: {changed}.", "",
        "## Response curve", "", _table(table), "",
        f"![{fig.title}](figures/{fig.name})", "", f"*{fig.caption}*", "",
        "The estimate interpolates linearly between the two values around the first "
        "crossing; its interval resamples whole replications "
        f"({BOOTSTRAP_SAMPLES:,} bootstrap samples).", ""])
    write_text(text, out / "report.md")
    write_text(markdown_to_html(text, figdir, f"Break-even: {param.name}"), out / "report.html")
    return {"report.md": out / "report.md", "report.html": out / "report.html",
            f"figures/{fig.name}": figdir / fig.name}
