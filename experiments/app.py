"""The interactive browser view of the model, built on Mesa's SolaraViz.

Serve it with ``cisim app`` (or ``solara run experiments.app``). The sidebar has
Mesa's controls (Reset, play, Step) and sliders for the key parameters; Reset
builds a new model from the sliders. The main area shows the organisations'
trust network, residents' wellbeing (marginalised against the others) and live
time series.

Named scenarios are combinations of these controls (the guide at the bottom of
the page lists them): Mesa's Reset rebuilds a model as
``type(model.scenario)(**control values)`` and passes it as ``scenario=``, so a
``scenario`` name among the controls would be silently replaced. The view
therefore exposes the parameters the named scenarios change (regime, backbone
funding, resident engagement, priority cycle).

``Page`` is the Solara entry point; the trust-network and wellbeing pictures are
drawn by ``experiments.model_figures`` onto a fresh Matplotlib ``Figure`` per
update (no pyplot state, safe in the server's threads).
"""

from __future__ import annotations

from html import escape
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import Slider, SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from experiments.model_figures import GROUP_COLOURS, draw_trust_network, draw_wellbeing_groups
from model.core import CollectiveImpactModel
from model.parameters import REGIMES, get_parameter
from model.scenarios import NAMED_SCENARIOS

#: World size of the view: small enough that a month takes a few milliseconds.
WORLD: dict[str, int] = {"n_residents": 1000, "n_nonprofits": 20, "n_funders": 4, "steps": 120}

#: Seed the view starts from; the Seed slider changes it.
DEFAULT_SEED = 42

#: Sliders shown, as (parameter, lowest, highest, step): classroom ranges inside the
#: declared bounds; labels, units and starting values come from the declarations.
SLIDERS: tuple[tuple[str, float, float, float], ...] = (
    ("common_agenda", 0.0, 1.0, 0.1),
    ("shared_measurement", 0.0, 1.0, 0.1),
    ("mutually_reinforcing", 0.0, 1.0, 0.1),
    ("continuous_communication", 0.0, 1.0, 0.1),
    ("backbone", 0.0, 1.0, 0.1),
    ("backbone_funding", 0.0, 0.2, 0.01),
    ("initial_trust", 0.0, 1.0, 0.05),
    ("communication_frequency", 0.0, 8.0, 0.5),
    ("resident_engagement", 0.0, 1.0, 0.05),
    ("priority_cycle_years", 0.5, 10.0, 0.5),
    ("measurement_quality", 0.0, 1.0, 0.05),
    ("complementarity", -5.0, 1.0, 0.5),
)


def parameter_slider(name: str, lowest: float, highest: float, step: float) -> Slider:
    """Build a Mesa slider for a declared parameter over a classroom range.

    Raises:
        ValueError: if the range leaves the declared bounds or misses the default.
    """
    p = get_parameter(name)
    assert p.minimum is not None and p.maximum is not None, f"{name} is not a numeric parameter"
    if not (p.minimum <= lowest <= p.default <= highest <= p.maximum):
        raise ValueError(f"slider for {name!r}: range [{lowest}, {highest}] must lie in "
                         f"[{p.minimum}, {p.maximum}] and contain the default {p.default}")
    kind = float if p.kind == "float" else int
    return Slider(name.replace("_", " "), p.default, lowest, highest, step, dtype=kind)


def model_params() -> dict[str, Any]:
    """The ``model_params`` of the view: regime choice, sliders, seed and fixed world size.

    Every key is a declared parameter, which Mesa passes through the model's
    scenario class on Reset.
    """
    regime = get_parameter("regime")
    params: dict[str, Any] = {
        "regime": {"type": "Select", "value": regime.default, "values": list(REGIMES),
                   "label": "funding regime"},
    }
    for name, lowest, highest, step in SLIDERS:
        params[name] = parameter_slider(name, lowest, highest, step)
    params["seed"] = Slider("seed", DEFAULT_SEED, 0, 999, 1, dtype=int)
    params.update(WORLD)
    return params


def initial_values(params: dict[str, Any]) -> dict[str, Any]:
    """The values the controls start at, as model keyword arguments."""
    out = {}
    for name, option in params.items():
        if isinstance(option, Slider):
            out[name] = option.value
        elif isinstance(option, dict):
            out[name] = option["value"]
        else:
            out[name] = option
    return out


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


@solara.component
def TrustNetworkView(model: CollectiveImpactModel) -> None:
    """The organisations' trust network, redrawn after every step."""
    update_counter.get()
    fig = _figure(6.0, 4.6)
    draw_trust_network(model, fig.subplots())
    solara.FigureMatplotlib(fig, format="png", dependencies=[update_counter.value, model])


@solara.component
def WellbeingView(model: CollectiveImpactModel) -> None:
    """Residents' wellbeing now, marginalised against the others."""
    update_counter.get()
    fig = _figure(6.0, 4.0)
    draw_wellbeing_groups(model, fig.subplots())
    solara.FigureMatplotlib(fig, format="png", dependencies=[update_counter.value, model])


def guide_html() -> str:
    """HTML telling how to read the view and how to set each named scenario.

    Plain HTML rather than Markdown: Solara's Markdown component loads diagram and
    formula libraries from its CDN, which a closed classroom network may not reach.
    """
    def item(title: str, text: str) -> str:
        return f"<li><i>{escape(title)}</i>: {escape(text)}</li>"

    scenarios = "".join(
        item(s.name, ", ".join(f"{k.replace('_', ' ')} = {v}" for k, v in s.changes.items()))
        for s in NAMED_SCENARIOS.values())
    sliders = "".join(
        item(name.replace("_", " "), f"{get_parameter(name).unit}, {lo:g} to {hi:g}. "
             f"{get_parameter(name).description}")
        for name, lo, hi, _ in SLIDERS)
    return (
        "<p><b>Named scenarios as settings</b> (set them, then press Reset):</p>"
        f"<ul>{scenarios}</ul><p><b>Sliders</b>:</p><ul>{sliders}</ul>"
        "<p>Network: circles are nonprofits (darker green = more aligned), gold squares "
        "funders, the purple diamond government, the red star the backbone; darker, "
        "thicker lines mean more trust.</p>")


@solara.component
def Guide(model: CollectiveImpactModel) -> None:
    """How to read the view and set the named scenarios."""
    solara.HTML(tag="div", unsafe_innerHTML=guide_html())


def plots() -> list[tuple[str, Any]]:
    """The live time-series charts, as (title, Mesa plot component function) pairs."""
    wellbeing = {"community_wellbeing": "black",
                 "wellbeing_marginalised": GROUP_COLOURS["marginalised"],
                 "wellbeing_others": GROUP_COLOURS["others"]}
    measures = (
        ("Wellbeing over time", wellbeing),
        ("Trust, alignment, engagement", ["mean_trust", "aligned_share", "mean_engagement"]),
        ("Money burnt and wasted", ["overhead_share", "duplication_rate"]),
        ("Backbone and community resources", ["backbone_capacity",
                                              "latent_resources_active"]),
    )
    return [(title, make_plot_component(measure)[0]) for title, measure in measures]


def settings_text(model: CollectiveImpactModel) -> str:
    """One line with the running model's values of the view's controls, with units."""
    parts = [f"regime {model.params['regime']}"]
    for name, *_ in SLIDERS:
        p = get_parameter(name)
        parts.append(f"{name.replace('_', ' ')} {model.params[name]:g} ({p.unit})")
    parts.append(f"seed {model.params['seed']}")
    return "Running: " + "; ".join(parts) + ". Move the sliders, then press Reset."


@solara.component
def Dashboard(model: CollectiveImpactModel) -> None:
    """The main area: network and wellbeing pictures, then the live charts, two per row."""
    solara.Text(settings_text(model), style={"margin": "8px 12px", "font-size": "0.9em"})
    cards: list[tuple[str, Any]] = [("Organisations", TrustNetworkView),
                                    ("Residents", WellbeingView), *plots()]
    for row in range(0, len(cards), 2):
        with solara.Columns([1, 1]):
            for title, view in cards[row:row + 2]:
                with solara.Card(title, margin=1):
                    view(model)
    with solara.Card("How to read this view", margin=1):
        Guide(model)


@solara.component
def Page() -> None:
    """The whole view: Mesa's controls and sliders in the sidebar, the dashboard beside.

    Mesa lays out ``components`` with a draggable grid whose browser library needs
    Vue 2, while this Solara renders with Vue 3; the dashboard is therefore laid out
    here with Solara's own columns, and SolaraViz keeps the controls, the model
    parameters and the reactive model.
    """
    params = solara.use_memo(model_params, [])
    initial = solara.use_memo(lambda: CollectiveImpactModel(**initial_values(params)), [])
    model: solara.Reactive[CollectiveImpactModel] = solara.use_reactive(initial)
    SolaraViz(model, components=[], model_params=params,
              name="Collective impact: isolated vs collective")
    Dashboard(model.value)
