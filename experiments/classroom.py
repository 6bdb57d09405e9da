"""Classroom mode: one class seed, students' predictions, and the simulated answer.

The teacher fixes a *class seed*; every replication's seed is spawned from it with
``numpy.random.SeedSequence`` (as in ``experiments.compare``), so every student's
machine shows the same runs, whatever the number of workers. Students write down a
prediction (for example the wellbeing gain of collective over isolated impact, in
percentage points) before the ensemble runs; the notebook then places their
predictions in the simulated distribution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from experiments.compare import Comparison, run_comparison
from experiments.errors import UsageError
from model.metrics import SUMMARY_FIELDS

#: Central share of the simulated distribution shown as "the model's range".
INTERVAL = 0.90


def run_class_ensemble(class_seed: int, replications: int,
                       scenarios: Sequence[str] = ("isolated", "collective"),
                       jobs: int = 1, progress: bool = False, **params: Any) -> Comparison:
    """Run every scenario ``replications`` times from the class seed.

    The class seed is the master seed of a comparison (``experiments.compare``):
    replicate ``i`` of every scenario uses the same spawned seed (common random
    numbers), so the difference between two scenarios in one replicate is the effect
    of the regime, not of a different community, and the ensemble is the same as
    ``cisim compare --seed CLASS_SEED`` with the same scenarios and parameters.

    Args:
        class_seed: the teacher's seed (integer >= 0).
        replications: runs per scenario (>= 2).
        scenarios: named scenarios to run (see ``model.scenarios.NAMED_SCENARIOS``).
        jobs: joblib workers (1 runs in this process); results do not depend on it.
        progress: show a progress bar.
        **params: declared parameters applied to every run (world size, steps, ...).

    Raises:
        UsageError, ParameterError: before any run, for a bad seed, count, scenario
            name or parameter.
    """
    if isinstance(class_seed, bool) or not isinstance(class_seed, int | np.integer) \
            or class_seed < 0:
        raise UsageError(f"class seed: got {class_seed!r}; allowed: an integer >= 0")
    return run_comparison(tuple(scenarios), replications, seed=int(class_seed), jobs=jobs,
                          params=params, progress=progress)


def scenario_gain(ensemble: Comparison, outcome: str = "improvement_pct",
                  treatment: str = "collective", control: str = "isolated") -> pd.Series:
    """Per-replicate difference ``treatment - control`` of one summary outcome.

    With the default outcome this is the wellbeing gain of collective impact in
    percentage points of improvement over baseline. Indexed by replicate.

    Raises:
        UsageError: if the outcome or either scenario is missing from the ensemble.
    """
    if outcome not in ensemble.runs.columns:
        raise UsageError(f"outcome: got {outcome!r}; allowed: one of "
                         + ", ".join(c for c in SUMMARY_FIELDS if c in ensemble.runs.columns))
    for name in (treatment, control):
        if name not in ensemble.scenarios:
            raise UsageError(f"scenario {name!r} is not in the ensemble; it has "
                             + ", ".join(ensemble.scenarios))
    pair = ensemble.paired(treatment, control, outcome)
    return (pair[treatment] - pair[control]).rename(
        f"{outcome} gain ({treatment} - {control})")


@dataclass
class PredictionBook:
    """Students' predictions of one quantity, written down before the ensemble runs.

    Attributes:
        question: what is predicted, in words, with its unit.
        lower: smallest plausible answer accepted (inclusive).
        upper: largest plausible answer accepted (inclusive).
        entries: student name -> prediction; a second entry under a name replaces it.
    """

    question: str
    lower: float = -100.0
    upper: float = 100.0
    entries: dict[str, float] = field(default_factory=dict)

    def add(self, student: str, value: Any) -> None:
        """Record one prediction, refusing empty names and values out of range.

        Raises:
            UsageError: naming the student, the value and the accepted range.
        """
        name = str(student).strip()
        if not name:
            raise UsageError("prediction: the student's name is empty")
        try:
            number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) \
                else float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or not self.lower <= number <= self.upper:
            raise UsageError(f"prediction of {name!r}: got {value!r}; allowed: a number "
                             f"from {self.lower:g} to {self.upper:g}")
        self.entries[name] = number

    def add_many(self, predictions: Mapping[str, Any] | str) -> None:
        """Record several predictions: a mapping, or text with one ``name: value`` per line.

        Text lines may separate name and value by ``:``, ``=``, ``,``, a tab or a space;
        blank lines and lines starting with ``#`` are skipped. Nothing is recorded
        if any entry is refused.
        """
        if isinstance(predictions, str):
            pairs = _parse_prediction_text(predictions)
        else:
            pairs = list(predictions.items())
        staged = PredictionBook(self.question, self.lower, self.upper, dict(self.entries))
        for name, value in pairs:
            staged.add(name, value)
        self.entries = staged.entries

    def frame(self) -> pd.DataFrame:
        """Return the predictions as a table with columns ``student`` and ``prediction``."""
        return pd.DataFrame({"student": list(self.entries),
                             "prediction": list(self.entries.values())})

    def widget(self):
        """Build an ipywidgets form (name, value, Add button) that records into this book.

        Pressing *Add* records the prediction or shows why it was refused; creating
        the form never waits for input, so notebooks still run top to bottom.
        """
        import ipywidgets as widgets

        name = widgets.Text(description="Name")
        value = widgets.FloatText(description="Prediction")
        button = widgets.Button(description="Add", button_style="primary")
        status = widgets.HTML()

        def on_add(_: Any) -> None:
            try:
                self.add(name.value, value.value)
            except UsageError as exc:
                status.value = f"<span style='color:#b00'>{exc}</span>"
                return
            status.value = f"{len(self.entries)} prediction(s) recorded."
            name.value = ""

        button.on_click(on_add)
        return widgets.VBox([widgets.HTML(f"<b>{self.question}</b>"),
                             widgets.HBox([name, value, button]), status])


_PREDICTION_LINE = re.compile(
    r"^(?P<name>.+?)\s*[:=,\t]?\s*(?P<value>[-+]?\d+(?:[.,]\d*)?)\s*%?$")


def _parse_prediction_text(text: str) -> list[tuple[str, str]]:
    """Split ``name: value`` lines (also ``=``, ``,``, tab or a space before the number)."""
    pairs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PREDICTION_LINE.match(line)
        if match is None:
            raise UsageError(f"prediction line {number}: got {raw!r}; expected 'name: value'")
        pairs.append((match["name"], match["value"]))
    return pairs


def place_predictions(predictions: pd.DataFrame, simulated: Iterable[float],
                      interval: float = INTERVAL) -> pd.DataFrame:
    """Where each prediction falls in the simulated distribution.

    Args:
        predictions: table with ``student`` and ``prediction`` (``PredictionBook.frame``).
        simulated: the simulated values (for example ``scenario_gain(...)``).
        interval: central share of the simulated values counted as the model's range.

    Returns:
        The predictions with ``percentile`` (share of simulated values below the
        prediction, in %), ``error`` (prediction minus the simulated median) and
        ``inside`` (whether it falls in the central ``interval``), closest first.
    """
    sim = np.sort(np.asarray(list(simulated), dtype=float))
    if sim.size == 0:
        raise UsageError("simulated: got no values; run the ensemble first")
    lo, hi = np.quantile(sim, [(1 - interval) / 2, (1 + interval) / 2])
    out = predictions.copy()
    values = out["prediction"].to_numpy(dtype=float)
    out["percentile"] = 100.0 * np.searchsorted(sim, values, side="left") / sim.size
    out["error"] = values - float(np.median(sim))
    out["inside"] = (values >= lo) & (values <= hi)
    return out.sort_values("error", key=np.abs, ignore_index=True)


def predictions_figure(predictions: pd.DataFrame, simulated: Iterable[float], xlabel: str,
                       interval: float = INTERVAL, title: str | None = None) -> Figure:
    """Students' predictions drawn against the simulated distribution.

    The histogram shows the simulated values, the shaded band their central
    ``interval``, the solid line their median; each prediction is a marked tick with
    the student's name. The y axis counts runs, so its ticks are whole numbers.
    Returns a Matplotlib Figure (display it, or ``savefig``).
    """
    sim = np.asarray(list(simulated), dtype=float)
    placed = place_predictions(predictions, sim, interval)
    lo, hi = np.quantile(sim, [(1 - interval) / 2, (1 + interval) / 2])
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    values = np.concatenate([sim, placed["prediction"].to_numpy(dtype=float)])
    span = max(values.max() - values.min(), 1e-9)
    bins = np.linspace(values.min() - 0.05 * span, values.max() + 0.05 * span, 25).tolist()
    ax.hist(sim, bins=bins, color="#9ecae1", edgecolor="white",
            label=f"simulated ({sim.size} runs)")
    ax.axvspan(lo, hi, color="#3182bd", alpha=0.12,
               label=f"middle {interval:.0%} of runs [{lo:.1f}, {hi:.1f}]")
    ax.axvline(np.median(sim), color="#08519c", lw=2, label=f"median {np.median(sim):.1f}")
    top = ax.get_ylim()[1]
    for k, row in enumerate(placed.sort_values("prediction").itertuples()):
        colour = "#238b45" if row.inside else "#cb181d"
        ax.plot([row.prediction] * 2, [0, top * 0.92], color=colour, lw=1.3, ls="--")
        ax.annotate(str(row.student), (row.prediction, top * (0.93 - 0.07 * (k % 4))),
                    fontsize=8, color=colour, ha="center", va="bottom")
    ax.plot([], [], color="#238b45", ls="--", label="prediction inside the range")
    ax.plot([], [], color="#cb181d", ls="--", label="prediction outside the range")
    ax.set_ylim(0, top * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("runs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of runs: whole numbers
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    share = placed["inside"].mean() if len(placed) else 0.0
    ax.set_title(title or f"Predictions against the model: {share:.0%} inside the range",
                 fontsize=11)
    return fig
