"""The report of the conditions study: which condition carries the effect, in plain words.

It reads the study's tables only (``shapley.csv``, ``effects.csv``, ``totals.csv``,
``factorial.parquet``, ``conditions.json``) and writes ``report.md``,
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

from experiments.io import write_text
from experiments.reports.common import FigureNote, markdown_to_html, save_figure, table

_WORDS = {"improvement_pct": ("wellbeing gain", "% points"),
          "needle_moved": ("needle moved", "percentage points of the share of communities")}


def _scale(outcome: str) -> float:
    """Shares are shown in percentage points."""
    return 100.0 if outcome == "needle_moved" else 1.0


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def figure_shapley(shapley: pd.DataFrame, totals: pd.DataFrame, path: Path,
                   ci_pct: int) -> FigureNote:
    """One panel per outcome: each condition's Shapley value with its interval."""
    outcomes = list(dict.fromkeys(shapley["outcome"]))
    fig = Figure(figsize=(6 * len(outcomes), 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(outcomes), squeeze=False)[0])
    for ax, outcome in zip(axes, outcomes, strict=True):
        part = shapley[shapley["outcome"] == outcome].reset_index(drop=True)
        k = _scale(outcome)
        y = np.arange(len(part))[::-1]
        values = part["value"].to_numpy(float) * k
        errors = [values - part["low"].to_numpy(float) * k,
                  part["high"].to_numpy(float) * k - values]
        colours = ["#4c72b0" if v >= 0 else "#c44e52" for v in values]
        ax.barh(y, values, xerr=errors, color=colours, capsize=4, height=0.6)
        ax.set_yticks(y, [_pretty(c) for c in part["condition"]])
        ax.axvline(0, color="black", lw=0.8)
        total = totals.set_index("outcome").loc[outcome]
        words, unit = _WORDS.get(outcome, (outcome, "units"))
        ax.set_xlabel(f"contribution ({unit})", fontsize=9)
        ax.set_title(f"{words}\nall five minus none: {total['difference'] * k:+.2f}",
                     fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    save_figure(fig, path)
    return FigureNote(path.name, "What each condition contributes",
                      f"Shapley value of each condition (bar) with its {ci_pct}% interval "
                      "over paired communities (whiskers). The bars of a panel add up to "
                      "the difference between all five conditions and none; an "
                      "interaction is shared equally by the conditions it joins.")


def figure_interactions(effects: pd.DataFrame, outcome: str, path: Path) -> FigureNote:
    """Heat map: main effects on the diagonal, two-way interactions off it."""
    part = effects[effects["outcome"] == outcome]
    names = list(dict.fromkeys(part["condition"]))
    for name in part["condition_2"].dropna():
        if name not in names:
            names.append(name)
    k = _scale(outcome)
    matrix = np.full((len(names), len(names)), np.nan)
    for r in part.itertuples():
        i = names.index(r.condition)
        if r.term == "main":
            matrix[i, i] = r.value * k
        else:
            j = names.index(r.condition_2)
            matrix[i, j] = matrix[j, i] = r.value * k
    fig = Figure(figsize=(7, 5.6), layout="constrained")
    ax = fig.subplots()
    limit = float(np.nanmax(np.abs(matrix))) or 1.0
    # aspect="auto": a square-celled image shrinks inside its space, and the layout then
    # leaves the tick labels outside the figure.
    image = ax.imshow(matrix, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(len(names)):
        for j in range(len(names)):
            strong = abs(matrix[i, j]) > 0.6 * limit
            ax.text(j, i, f"{matrix[i, j]:+.2f}", ha="center", va="center", fontsize=9,
                    color="white" if strong else "black")
    labels = [_pretty(n).replace(" ", "\n") for n in names]
    ax.set_xticks(range(len(names)), labels, fontsize=8)
    ax.set_yticks(range(len(names)), labels, fontsize=8)
    words, unit = _WORDS.get(outcome, (outcome, "units"))
    fig.colorbar(image, ax=ax, label=unit)
    ax.set_title(f"Main effects (diagonal) and interactions: {words}", fontsize=10)
    save_figure(fig, path)
    return FigureNote(path.name, f"Main effects and interactions ({words})",
                      "Diagonal: a condition's main effect, the mean outcome with it on "
                      "minus with it off over every setting of the others. Off the "
                      "diagonal: the two-way interaction, half the difference between one "
                      "condition's effect with the other on and with it off (positive: they "
                      "reinforce each other).")


#: One letter per condition in the combination figure (agenda, not common: C is communication).
_LETTERS = {"common_agenda": "A", "shared_measurement": "S", "mutually_reinforcing": "M",
            "continuous_communication": "C", "backbone": "B"}


def _letter(condition: str) -> str:
    return _LETTERS.get(condition, condition[0].upper())


def code(combination: str, conditions: list[str]) -> str:
    """A combination as five letters, one per condition, '-' where it is off (e.g. 'A-M-B')."""
    on = set(combination.split("+"))
    return "".join(_letter(c) if c in on else "-" for c in conditions)


def figure_combinations(factorial: pd.DataFrame, outcome: str, conditions: list[str],
                        path: Path) -> FigureNote:
    """Every combination's mean outcome with its interval, sorted; colour: how many are on."""
    k = _scale(outcome)
    data = factorial.sort_values(f"{outcome}_mean").reset_index(drop=True)
    fig = Figure(figsize=(8, 8), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(data))
    mean = data[f"{outcome}_mean"].to_numpy(float) * k
    low = data[f"{outcome}_lo"].to_numpy(float) * k
    high = data[f"{outcome}_hi"].to_numpy(float) * k
    for n in range(len(conditions) + 1):
        chosen = data["conditions_on"].to_numpy() == n
        ax.errorbar(mean[chosen], y[chosen],
                    xerr=np.nan_to_num([mean[chosen] - low[chosen], high[chosen] - mean[chosen]]),
                    fmt="o", color=f"C{n}", capsize=2, label=f"{n} on")
    ax.set_yticks(y, [code(c, conditions) for c in data["combination"]], family="monospace",
                  fontsize=8)
    words, _ = _WORDS.get(outcome, (outcome, ""))
    ax.set_xlabel(f"mean {words}" + (" (%)" if outcome == "improvement_pct" else
                                      " (% of communities)" if k != 1 else ""))
    ax.grid(alpha=0.3)
    ax.legend(title="conditions", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)  # outside: intervals may reach any corner
    key = ", ".join(f"{_letter(c)} = {_pretty(c)}" for c in conditions)
    pairs = [f"{_letter(c)} = {_pretty(c)}" for c in conditions]
    half = (len(pairs) + 1) // 2  # the key on two lines, so it fits the figure's width
    ax.set_title(f"All {len(data)} combinations of the conditions\n"
                 f"{', '.join(pairs[:half])}\n{', '.join(pairs[half:])}", fontsize=9)
    save_figure(fig, path)
    return FigureNote(path.name, f"All {len(data)} combinations ({words})",
                      "Mean outcome of each combination of conditions over the same "
                      "communities, with its interval. Each row is named by one letter per "
                      f"condition that is on ({key}) and '-' for each that is off; colour: "
                      "how many conditions are on.")


def _names(conditions: pd.Series) -> str:
    """Condition names in words, joined with commas and 'and'."""
    words = [_pretty(c) for c in conditions]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _sentence(outcome: str, shapley: pd.DataFrame, total: Any) -> str:
    """The answer for one outcome, in plain words."""
    k = _scale(outcome)
    words, unit = _WORDS.get(outcome, (outcome, "units"))
    part = shapley[shapley["outcome"] == outcome].sort_values("value", ascending=False)
    pieces = "; ".join(f"{_pretty(r.condition)} {r.value * k:+.2f} [{r.low * k:.2f} to "
                       f"{r.high * k:.2f}]" for r in part.itertuples())
    diff, low, high = total["difference"] * k, total["low"] * k, total["high"] * k
    text = (f"- **{words}**: all five conditions against none: {diff:+.2f} {unit} "
            f"[{low:.2f} to {high:.2f}] (from {total['none'] * k:.2f} to "
            f"{total['all'] * k:.2f}).")
    if not (low > 0 or high < 0):
        text += (" On these settings the five together make no difference the model can "
                 "tell from none")
    else:
        lead = part.iloc[0] if diff > 0 else part.iloc[-1]
        text += (f" On these settings **{_pretty(lead['condition'])}** accounts for "
                 f"{lead['value'] * k:+.2f} of the {diff:+.2f} {unit}")
        share = lead["value"] * k / diff
        if share > 1:
            text += " (more than the whole: other conditions pulled the other way)"
        elif share > 0:
            text += f" ({share:.0%})"
    text += f". Each condition's part: {pieces}."
    lowered, raised = part[part["high"] < 0], part[part["low"] > 0]
    if len(raised):
        text += f" Clearly above zero: {_names(raised['condition'])}."
    if len(lowered):
        text += f" Clearly below zero (it lowered the outcome): {_names(lowered['condition'])}."
    unclear = part[(part["low"] <= 0) & (part["high"] >= 0)]
    if len(unclear):
        text += (f" The intervals of {_names(unclear['condition'])} include zero: on these "
                 "settings the model cannot tell their part from none.")
    return text


def write_conditions_report(folder: str | os.PathLike,
                            out: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write the report of the conditions study whose tables are in ``folder``."""
    folder = Path(folder)
    out = Path(folder if out is None else out)
    setup = json.loads((folder / "conditions.json").read_text())
    shapley = pd.read_csv(folder / "shapley.csv")
    effects = pd.read_csv(folder / "effects.csv")
    totals = pd.read_csv(folder / "totals.csv")
    factorial = pd.read_parquet(folder / "factorial.parquet")
    ci_pct = round(setup["confidence"] * 100)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    main = setup["outcomes"][0]
    figures = [figure_shapley(shapley, totals, figdir / "shapley.png", ci_pct),
               figure_interactions(effects, main, figdir / f"interactions_{main}.png"),
               figure_combinations(factorial, main, list(setup["conditions"]),
                                   figdir / f"combinations_{main}.png")]
    by_outcome = totals.set_index("outcome")
    lines = [f"# Which of the five conditions carries the effect? ({setup['scenario']})", "",
             "## The question", "",
             "Collective impact prescribes five conditions at once: a common agenda, shared "
             "measurement, mutually reinforcing activities, continuous communication and a "
             "backbone. Which of them does the result depend on? This study runs every one "
             "of the 32 combinations in the same communities and splits the effect of the "
             "whole framework among the conditions (Shapley values).", "",
             "## The answer", "",
             f"Values with {ci_pct}% intervals over {setup['reps']} paired communities.", ""]
    lines += [_sentence(o, shapley, by_outcome.loc[o]) for o in setup["outcomes"]]
    changed = ", ".join(f"`{k}={v}`" for k, v in setup["params"].items()) or "none"
    levels = ", ".join(f"{_pretty(c)} {v:g}" for c, v in setup["levels"].items())
    lines += ["", "## Setup", "",
              f"- Base scenario `{setup['scenario']}`: its grant practice and every other "
              "value stay the same in every combination; a condition is either off (0) or "
              f"at its level ({levels}).",
              f"- {setup['reps']} replications per combination, {setup['runs']} runs; "
              f"replication r of every combination has the same seed (master seed "
              f"{setup['master_seed']}), so combinations are compared in the same "
              "communities.",
              f"- Parameters changed in every run: {changed}.", "",
              "## Shapley values", "",
              table(shapley.assign(**{c: shapley[c].map(lambda v: f"{v:.4g}")
                                      for c in ("value", "low", "high")})), "",
              "## Main effects and interactions", "",
              table(effects.assign(**{c: effects[c].map(lambda v: f"{v:.4g}")
                                      for c in ("value", "low", "high")})), "",
              "## Figures", ""]
    for i, fig in enumerate(figures, start=1):
        lines += [f"### Figure {i}. {fig.title}", "", f"![{fig.title}](figures/{fig.name})",
                  "", f"*{fig.caption}*", ""]
    lines += ["## How to read this", "",
              "- A Shapley value is a condition's average marginal contribution over every "
              "order in which the five could be added; the five add up exactly to all five "
              "minus none. It is not the effect of that condition alone.",
              "- These are the model's answers on these settings, not measurements of a "
              "city: change the base scenario or `--set` to see whether the ranking holds.",
              "- Files: `shapley.csv`, `effects.csv`, `totals.csv`, `factorial.parquet` (one "
              "row per combination), `runs.parquet` (one row per run; `cisim run --seed` "
              "replays any row).", ""]
    text = "\n".join(lines)
    write_text(text, out / "report.md")
    write_text(markdown_to_html(text, figdir, "Which condition carries the effect?"),
               out / "report.html")
    paths = {"report.md": out / "report.md", "report.html": out / "report.html"}
    paths.update({f"figures/{f.name}": figdir / f.name for f in figures})
    return paths
