"""The interactive browser view of the model, for a class: one community month by month.

Serve it with ``cisim app`` (or ``solara run experiments.app``). The sidebar holds:

* Mesa's run controls (Reset, Play, Step, from ``mesa.visualization``), a speed
  control and the month reached, as "Month 14 of 120 (year 2)";
* a scenario picker: a named scenario sets every control below it;
* the five conditions of collective impact as switches, and the funders' grant
  practice;
* sliders for the settings a class most often moves, each showing its value and unit;
* the community's seed (the same seed meets the same community).

Changing any of these starts the community again from month 0, so what is drawn
is always the run of what the controls show. Reset does the same with Mesa's own
path: it rebuilds the scenario from its fields, and the preset is one of them
(``CollectiveImpactScenario.preset``), so a preset survives Reset.

The main area has three tabs. *One community* lays its charts out on Mesa's
draggable grid (``mesa.visualization.solara_viz.make_initial_grid_layout``); every
chart is a Vega-Lite specification built by ``experiments.view_charts`` and drawn
by the browser, so a month costs the server a few milliseconds. *Many communities*
runs an ensemble in the background (``experiments.ensemble``) and draws the fan as
runs finish. *How to read this view* explains the pictures and the scenarios.

The community is the model's declared default (2,000 residents, 40 nonprofits,
120 months), the same one ``cisim compare`` runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from html import escape
from typing import Any

import numpy as np
import solara
import solara.lab
from mesa.visualization.solara_viz import ModelController, make_initial_grid_layout
from mesa.visualization.utils import update_counter
from solara.server import settings as server_settings

from experiments import view_charts
from experiments.conditions import CONDITIONS
from experiments.ensemble import (
    DEFAULT_COMMUNITIES,
    MAX_COMMUNITIES,
    Ensemble,
    needle_sentence,
    run_ensemble,
)
from experiments.live_chart import LiveChartView
from experiments.model_figures import network_layout
from model.core import CollectiveImpactModel
from model.parameters import REGIMES, ParameterError, get_parameter
from model.scenarios import NAMED_SCENARIOS, make_scenario

TITLE = "Collective impact: a community month by month"
#: Named scenario the view opens with.
DEFAULT_PRESET = "collective"
#: Seed the view opens with (any integer from 0 to 2**63 - 1 may be typed in).
DEFAULT_SEED = 42
#: Months per second while playing, and the choices offered.
DEFAULT_SPEED = 4
SPEEDS = (1, 2, 4, 8)
#: Sliders shown, as (parameter, lowest, highest, step): classroom ranges inside the
#: declared bounds; names, units and meanings come from the declarations.
SLIDERS: tuple[tuple[str, float, float, float], ...] = (
    ("backbone_funding", 0.0, 0.2, 0.01),
    ("initial_trust", 0.0, 1.0, 0.05),
    ("communication_frequency", 0.0, 8.0, 0.5),
    ("resident_engagement", 0.0, 1.0, 0.05),
    ("priority_cycle_years", 0.5, 10.0, 0.5),
    ("measurement_quality", 0.0, 1.0, 0.05),
)
#: Plain names of the five conditions, in the order of the declarations.
CONDITION_NAMES: dict[str, str] = {
    "common_agenda": "Common agenda",
    "shared_measurement": "Shared measurement",
    "mutually_reinforcing": "Mutually reinforcing activities",
    "continuous_communication": "Continuous communication",
    "backbone": "Backbone organisation",
}
#: One word per condition, for the line that says what is running.
CONDITION_WORDS: dict[str, str] = {
    "common_agenda": "agenda", "shared_measurement": "measurement",
    "mutually_reinforcing": "referrals", "continuous_communication": "meetings",
    "backbone": "backbone",
}
#: Primary colour of the page: white text on it has a contrast of 8.6:1 (WCAG AA: 4.5:1).
PRIMARY = "#1a4f8b"

# Solara's "This website runs on Solara" badge covers the legends of the lower charts.
server_settings.theme.show_banner = False
server_settings.theme.title = TITLE
solara.lab.theme.themes.light.primary = PRIMARY


# --- what the controls hold -----------------------------------------------------------------
@dataclass(frozen=True)
class ViewSettings:
    """What the controls show: a preset and the values set on top of it.

    Attributes:
        preset: named scenario the values start from.
        values: the controlled parameters (grant practice, the five conditions, the
            sliders), each as the run uses it.
        seed: the community's seed.
    """

    preset: str
    values: Mapping[str, Any]
    seed: int

    @classmethod
    def from_preset(cls, preset: str, seed: int = DEFAULT_SEED) -> ViewSettings:
        """The controls as the named scenario ``preset`` sets them."""
        full = make_scenario(preset, rng=seed).parameters()
        return cls(preset, {name: full[name] for name in controlled()}, int(seed))

    def with_value(self, name: str, value: Any) -> ViewSettings:
        """These settings with one control changed (validated against its declaration)."""
        if name not in controlled():
            raise KeyError(f"{name!r} is not a control of the view")
        return replace(self, values={**self.values, name: get_parameter(name).validate(value)})

    def with_condition(self, name: str, on: bool) -> ViewSettings:
        """Switch one condition on (at the preset's level, else full) or off (0)."""
        level = make_scenario(self.preset, rng=self.seed).parameters()[name]
        return self.with_value(name, (level if level > 0 else 1.0) if on else 0.0)

    def scenario_fields(self) -> dict[str, Any]:
        """The scenario's fields: what Mesa's Reset rebuilds the scenario from."""
        return {"preset": self.preset, "seed": self.seed, **self.values}

    def build(self) -> CollectiveImpactModel:
        """A new model of this setting at month 0."""
        return CollectiveImpactModel(make_scenario(self.preset, rng=self.seed, **self.values))


def controlled() -> tuple[str, ...]:
    """The parameters the view's controls set, in sidebar order."""
    return ("regime", *CONDITIONS, *(name for name, *_ in SLIDERS))


def check_sliders() -> None:
    """Refuse a slider range that leaves the declared bounds or misses the default.

    Raises:
        ValueError: naming the parameter and both ranges.
    """
    for name, lowest, highest, _ in SLIDERS:
        p = get_parameter(name)
        assert p.minimum is not None and p.maximum is not None, name
        if not (p.minimum <= lowest <= p.default <= highest <= p.maximum):
            raise ValueError(f"slider for {name!r}: range [{lowest}, {highest}] must lie in "
                             f"[{p.minimum}, {p.maximum}] and contain the default {p.default}")


check_sliders()


def slider_label(name: str, value: float) -> str:
    """``"initial trust: 0.30 (trust in [0, 1])"``: name, value and unit of a slider."""
    p = get_parameter(name)
    return f"{name.replace('_', ' ')}: {value:.2f} ({p.unit})"


# --- charts ---------------------------------------------------------------------------------
def _chart_component(chart: str) -> Callable[[CollectiveImpactModel], Any]:
    @solara.component
    def LineChart(model: CollectiveImpactModel) -> Any:
        update_counter.get()
        return LiveChartView(view_charts.line_chart(model, chart), model.steps)

    LineChart.__name__ = f"{chart.title()}Chart"
    return LineChart


@solara.component
def NetworkChart(model: CollectiveImpactModel) -> Any:
    """The trust network now (positions computed once per model)."""
    update_counter.get()
    layout = solara.use_memo(lambda: network_layout(model), [model])
    return LiveChartView(view_charts.network_chart(model, layout), model.steps)


@solara.component
def DistributionChart(model: CollectiveImpactModel) -> Any:
    """Residents' wellbeing now, by group."""
    update_counter.get()
    return LiveChartView(view_charts.wellbeing_distribution_chart(model), model.steps)


#: The cards of the one-community tab, in Mesa's grid order (two per row).
COMMUNITY_CHARTS: tuple[Callable[[CollectiveImpactModel], Any], ...] = (
    _chart_component("wellbeing"), DistributionChart, NetworkChart,
    _chart_component("organisations"), _chart_component("waste"),
    _chart_component("community"),
)
@solara.component
def CommunityGrid(model: CollectiveImpactModel) -> None:
    """The month-by-month charts, on Mesa's draggable grid (two per row, as SolaraViz)."""
    layout, set_layout = solara.use_state(make_initial_grid_layout(len(COMMUNITY_CHARTS)))
    solara.GridDraggable(items=[chart(model) for chart in COMMUNITY_CHARTS],
                         grid_layout=layout, resizable=True, draggable=True,
                         on_grid_layout=set_layout)


# --- sidebar --------------------------------------------------------------------------------
def running_text(model: CollectiveImpactModel) -> str:
    """What the running model is, read from the model itself (not from the controls)."""
    on = [CONDITION_WORDS[c] for c in CONDITIONS if model.params[c] > 0]
    return (f"running: {model.scenario.preset}, {model.params['regime']} grants, "
            f"conditions on: {', '.join(on) if on else 'none'}; seed {model.run_seed}")


@solara.component
def MonthShown(model: CollectiveImpactModel) -> None:
    """The month reached, in words, and what is running."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<div class='cisim-month' style='font-size:1.25em;font-weight:600;color:#1f1f1f'>"
        f"{escape(view_charts.month_label(model.steps, model.params['steps']))}</div>"
        f"<div class='cisim-running' style='font-size:0.85em;color:#333'>"
        f"{escape(running_text(model))}</div>"))


@solara.component
def Controls(settings: ViewSettings, on_settings: Callable[[ViewSettings], None]) -> None:
    """Scenario picker, grant practice, the five conditions, sliders and seed."""
    seed_error = solara.use_reactive("")

    def pick(name: str) -> None:
        on_settings(ViewSettings.from_preset(name, settings.seed))

    def set_value(name: str, value: Any) -> None:
        on_settings(settings.with_value(name, value))

    def set_condition(name: str, on: bool) -> None:
        on_settings(settings.with_condition(name, on))

    def set_seed(value: Any) -> None:
        try:
            seed = get_parameter("seed").validate(value)
        except ParameterError as exc:
            seed_error.set(str(exc))
            return
        seed_error.set("")
        on_settings(replace(settings, seed=int(seed)))

    with solara.Card("Scenario", margin=0, classes=["mb-2"]):
        solara.Select("start from the named scenario", value=settings.preset,
                      values=list(NAMED_SCENARIOS), on_value=pick)
        solara.Text(NAMED_SCENARIOS[settings.preset].description,
                    style={"font-size": "0.9em", "color": "#333"})
        solara.Select("funders' grant practice", value=str(settings.values["regime"]),
                      values=list(REGIMES),
                      on_value=partial(set_value, "regime"))
    with solara.Card("The five conditions", margin=0, classes=["mb-2"]):
        for name, title in CONDITION_NAMES.items():
            level = float(settings.values[name])
            state = f"on, level {level:g}" if level > 0 else "off"
            solara.Switch(label=f"{title} ({state})",
                          value=level > 0,
                          on_value=partial(set_condition, name))
    with solara.Card("Settings", margin=0, classes=["mb-2"]):
        for name, lowest, highest, step in SLIDERS:
            value = float(settings.values[name])
            solara.Text(slider_label(name, value), style={"font-size": "0.9em"})
            solara.SliderFloat(label="", value=value, min=lowest, max=highest, step=step,
                               thumb_label=True,
                               on_value=partial(set_value, name))
        solara.InputInt("community seed (same seed, same community)", value=settings.seed,
                        on_value=set_seed)
        if seed_error.value:
            solara.Error(seed_error.value)
        solara.Text("Changing a control starts the community again at month 0.",
                    style={"font-size": "0.85em", "color": "#444"})


# --- ensemble -------------------------------------------------------------------------------
#: Shortest time between two redraws of the fan while the ensemble runs, seconds.
REDRAW_SECONDS = 0.5

@dataclass(frozen=True)
class EnsembleState:
    """What the ensemble tab shows: the latest snapshot and whether it is still running."""

    ensemble: Ensemble | None = None
    running: bool = False
    error: str | None = None
    seconds: float = 0.0


def fan_spec(ensemble: Ensemble) -> view_charts.LiveChart:
    """The fan chart of an ensemble snapshot, with its progress in the headline."""
    colours = ("#1a4f8b", "#b3261e")
    arms = []
    for arm, colour in zip(ensemble.arms, colours, strict=True):
        finished = np.isfinite(arm.needle_moved)
        arms.append(view_charts.FanSeries(arm.label, colour, arm.improvement[finished],
                                          arm.needle_moved[finished]))
    return view_charts.fan_chart(
        arms, ensemble.steps,
        headline=f"Wellbeing gain of {ensemble.communities} communities per arm "
                 f"({ensemble.done} of {ensemble.total} runs done)")


@solara.component
def EnsembleTab(settings: ViewSettings) -> None:
    """Run many communities with the settings on screen, against isolated funding."""
    state = solara.use_reactive(EnsembleState())
    communities = solara.use_reactive(DEFAULT_COMMUNITIES)
    stop = solara.use_memo(threading.Event, [])

    def start() -> None:
        stop.clear()
        began = time.perf_counter()
        state.set(EnsembleState(None, True))
        lock = threading.Lock()

        shown = [0.0]

        def progress(snapshot: Ensemble) -> None:
            # At most two redraws a second: the fan's data is large, and the runs need the cores.
            now = time.perf_counter()
            with lock:
                if now - shown[0] >= REDRAW_SECONDS or snapshot.done == snapshot.total:
                    shown[0] = now
                    state.set(EnsembleState(snapshot, True, None, now - began))

        def work() -> None:
            try:
                done = run_ensemble(settings.scenario_fields(), communities.value,
                                    seed=settings.seed, jobs=None,  # every core
                                    labels=(f"{settings.preset} as set", "isolated funding"),
                                    on_progress=progress, cancelled=stop.is_set)
            except Exception as exc:  # noqa: BLE001 - shown in the view instead of lost
                state.set(EnsembleState(None, False, f"{type(exc).__name__}: {exc}"))
                return
            state.set(EnsembleState(done, False, None, time.perf_counter() - began))

        threading.Thread(target=work, name="cisim-ensemble", daemon=True).start()

    solara.use_effect(lambda: stop.set, [])  # stop the runs when the page closes
    current = state.value
    with solara.Row(style={"align-items": "center"}):
        solara.SliderInt(f"communities per arm: {communities.value}", value=communities,
                         min=DEFAULT_COMMUNITIES, max=min(100, MAX_COMMUNITIES), step=10)
        solara.Button(f"Run {communities.value} communities with these settings",
                      color="primary", on_click=start, disabled=current.running)
        if current.running:
            solara.Button("Stop", on_click=stop.set, outlined=True)
    solara.Text(
        "Each community has its own drawn traits, residents and luck (seeds spawned from the "
        "community seed); the same community runs once with the settings on screen and once "
        "under isolated funding (isolated grant rounds, none of the five conditions).",
        style={"font-size": "0.9em", "color": "#333"})
    if current.error:
        solara.Error(current.error)
    ensemble = current.ensemble
    if current.running:
        done = ensemble.done if ensemble else 0
        total = 2 * communities.value
        solara.ProgressLinear(value=100 * done / total)
        solara.Text(f"{done} of {total} runs finished ({current.seconds:.0f} s)")
    if ensemble is not None and ensemble.done:
        if ensemble.settings != settings.scenario_fields():
            solara.Warning("The settings have changed since these communities ran: press Run "
                           "again to see the new ones.")
        LiveChartView(fan_spec(ensemble), ensemble.done)
        if not current.running:
            solara.Text(f"{ensemble.total} runs in {current.seconds:.1f} s. "
                        + needle_sentence(ensemble) + ".",
                        classes=["cisim-ensemble-answer"])


# --- guide ----------------------------------------------------------------------------------
def guide_html() -> str:
    """How to read the view, what each control means and what each scenario is.

    Plain HTML rather than Markdown: Solara's Markdown component loads diagram and
    formula libraries from its CDN, which a closed classroom network may not reach.
    """
    def item(title: str, text: str) -> str:
        return f"<li><b>{escape(title)}</b>: {escape(text)}</li>"

    conditions = "".join(item(CONDITION_NAMES[n], get_parameter(n).description)
                         for n in CONDITIONS)
    scenarios = "".join(item(s.name, s.description) for s in NAMED_SCENARIOS.values())
    sliders = "".join(item(name.replace("_", " "), f"{get_parameter(name).unit}, "
                           f"{lo:g} to {hi:g}. {get_parameter(name).description}")
                      for name, lo, hi, _ in SLIDERS)
    return (
        "<p>Press <b>Step</b> for one month, <b>&#9654;</b> to play. Every chart says which "
        "month it shows. Changing a control starts the community again at month 0 with the "
        "same seed, so two runs differ only by what you changed.</p>"
        f"<p><b>The five conditions</b> (switch one off and watch):</p><ul>{conditions}</ul>"
        f"<p><b>Named scenarios</b>:</p><ul>{scenarios}</ul>"
        f"<p><b>Settings</b>:</p><ul>{sliders}</ul>"
        "<p><b>The network</b>: circles are nonprofits, greener the more aligned with the "
        "common agenda; gold squares are funders, the purple diamond the government, the red "
        "triangle the backbone. A line joins two organisations whose mutual trust is at least "
        f"{view_charts.MIN_TRUST:g}; it is darker and thicker with more trust.</p>"
        "<p><b>Many communities</b>: one community's run is one draw. The ensemble runs many "
        "communities with the same settings and shows how many moved the needle, with a 95 % "
        "interval, against the same communities under isolated funding.</p>")


# --- page -----------------------------------------------------------------------------------
@solara.component
def Page() -> None:
    """The whole view: run controls and settings in the sidebar, three tabs beside."""
    settings = solara.use_reactive(ViewSettings.from_preset(DEFAULT_PRESET))
    model: solara.Reactive[CollectiveImpactModel] = solara.use_reactive(
        solara.use_memo(settings.value.build, []))
    fields = solara.use_reactive(settings.value.scenario_fields())
    speed = solara.use_reactive(DEFAULT_SPEED)
    interval = solara.use_reactive(int(1000 / DEFAULT_SPEED))
    render_every = solara.use_reactive(1)
    threads = solara.use_reactive(False)

    def change(new: ViewSettings) -> None:
        settings.set(new)
        fields.set(new.scenario_fields())
        model.set(new.build())

    def set_speed(value: int) -> None:
        speed.set(value)
        interval.set(int(1000 / value))

    solara.Title(TITLE)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run", margin=0, classes=["mb-2"]):
            MonthShown(model.value)
            ModelController(model, model_parameters=fields, play_interval=interval,
                            render_interval=render_every, use_threads=threads)
            solara.Text(f"play speed: {speed.value} months per second",
                        style={"font-size": "0.9em"})
            solara.ToggleButtonsSingle(value=speed.value, values=list(SPEEDS),
                                       on_value=set_speed)
        Controls(settings.value, change)
    with solara.lab.Tabs():
        with solara.lab.Tab("One community"):
            CommunityGrid(model.value)
        with solara.lab.Tab("Many communities"):
            EnsembleTab(settings.value)
        with solara.lab.Tab("How to read this view"):
            solara.HTML(tag="div", unsafe_innerHTML=guide_html(),
                        style={"max-width": "60em", "padding": "0 12px"})
