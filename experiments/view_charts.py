"""Vega-Lite charts of one running model, and of an ensemble, for the browser view.

Each function returns a ``LiveChart``: a Vega-Lite (v5) specification that stays
the same from month to month, the data sets that change, and a headline naming
the month. The browser draws it (``experiments.live_chart``, with ``vega-embed``)
and then only swaps the data, so the server builds a few small lists per month
instead of rasterising a Matplotlib figure: under a millisecond per chart.

Titles say in plain words what is shown and at which month; axes carry the
declared units (``model.metrics.SERIES_OUTPUTS``); every chart has a legend; the
x axis spans the whole run, so lines grow to the right instead of rescaling.
Colours keep a contrast of at least 4.5:1 against white for text and 3:1 for
lines (WCAG 2.1, non-text contrast).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.model_figures import GROUP_COLOURS, mutual_trust, network_layout
from model.metrics import BASELINE_FLOOR, NEEDLE_THRESHOLD, SERIES_OUTPUTS

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
MONTHS_PER_YEAR = 12
#: Height of a chart's plotting area, pixels (the width follows its card).
HEIGHT = 210
TEXT = "#1f1f1f"
MUTED = "#595959"  # 7:1 on white
#: Mutual trust below which a tie is not drawn, so strong ties show (matches the notebooks).
MIN_TRUST = 0.4

#: Chart of the view -> ((series, legend label, colour), ...): what each line chart shows.
LINE_CHARTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "wellbeing": (
        ("community_wellbeing", "all residents", "#1f1f1f"),
        ("wellbeing_marginalised", "marginalised residents", GROUP_COLOURS["marginalised"]),
        ("wellbeing_others", "other residents", GROUP_COLOURS["others"]),
    ),
    "organisations": (
        ("mean_trust", "mean trust between nonprofits", "#1f5fa8"),
        ("aligned_share", "share of nonprofits in the collective", "#2b7a2b"),
        ("mean_engagement", "residents' engagement", "#9c4a00"),
    ),
    "waste": (
        ("overhead_share", "spending on seeking grants", "#b3261e"),
        ("duplication_rate", "cases that duplicated another", "#6a3d9a"),
    ),
    "community": (
        ("backbone_capacity", "backbone capacity", "#c2185b"),
        ("coalition_strength", "coalition pushing for policy", "#00695c"),
        ("latent_resources_active", "residents with resources mobilised", "#8d6e00"),
        ("measurement_precision", "shared data precision", "#37474f"),
    ),
}
LINE_TITLES: dict[str, str] = {
    "wellbeing": "Residents' wellbeing",
    "organisations": "Trust, membership and engagement",
    "waste": "Money and effort lost",
    "community": "Backbone, coalition and community resources",
}
LINE_AXES: dict[str, str] = {
    "wellbeing": "wellbeing (index, 0 to 1)",
    "organisations": "level or share (0 to 1)",
    "waste": "share (0 to 1)",
    "community": "level or share (0 to 1)",
}
#: Organisation kinds of the network: (legend label, Vega shape, fill colour).
KINDS: dict[str, tuple[str, str, str]] = {
    "nonprofit": ("nonprofit", "circle", ""),
    "funder": ("funder", "square", "#e6a700"),
    "government": ("government", "diamond", "#7b3fa0"),
    "backbone": ("backbone", "triangle-up", "#d62728"),
}


def month_label(month: int, steps: int | None = None) -> str:
    """``"Month 14 of 120 (year 2)"``: the month reached, and the year it falls in.

    Month 0 is the community before anything happened; months 1 to 12 are year 1.
    """
    month = int(month)
    of = f" of {int(steps)}" if steps is not None else ""
    if month <= 0:
        return f"Month 0{of} (start)"
    return f"Month {month}{of} (year {(month - 1) // MONTHS_PER_YEAR + 1})"


@dataclass(frozen=True)
class LiveChart:
    """A chart in two parts: what stays the same from month to month, and what changes.

    The browser keeps the drawn chart and, each month, only swaps its data sets and
    its headline (``experiments.live_chart``), which is much cheaper than drawing a
    new chart; the specification is sent again only when it changes.

    Attributes:
        spec: the Vega-Lite specification, referring to its data sets by name.
        data: data set name -> rows.
        headline: the title line, which says which month is shown.
    """

    spec: dict[str, Any]
    data: dict[str, list[dict[str, Any]]]
    headline: str

    def full(self) -> dict[str, Any]:
        """The chart as one standalone Vega-Lite specification (data and headline inlined)."""
        spec = dict(self.spec)
        spec["datasets"] = {name: list(rows) for name, rows in self.data.items()}
        spec["params"] = [{"name": HEADLINE, "value": self.headline}]
        return spec


#: Name of the specification's parameter holding the title line.
HEADLINE = "headline"


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _base(subtitle: str | Sequence[str] = "") -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "width": "container",
        "height": HEIGHT,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "params": [{"name": HEADLINE, "value": ""}],
        "title": {"text": {"expr": HEADLINE}, "subtitle": subtitle, "anchor": "start",
                  "color": TEXT, "subtitleColor": MUTED, "fontSize": 15,
                  "subtitleFontSize": 12},
        "usermeta": {"embedOptions": {"actions": False}},
        "config": {
            "axis": {"labelColor": TEXT, "titleColor": TEXT, "labelFontSize": 12,
                     "titleFontSize": 12, "gridColor": "#e6e6e6"},
            "legend": {"labelColor": TEXT, "titleColor": TEXT, "labelFontSize": 12,
                       "titleFontSize": 12, "orient": "bottom", "columns": 2,
                       "labelLimit": 320},
            "view": {"stroke": None},
        },
    }


def _month_axis(steps: int) -> dict[str, Any]:
    return {"field": "month", "type": "quantitative", "title": "month",
            "scale": {"domain": [0, steps], "nice": False},
            "axis": {"values": list(range(0, steps + 1, MONTHS_PER_YEAR)) if steps <= 240
                     else None, "format": "d"}}


def _unit(series: str) -> str:
    return SERIES_OUTPUTS[series].unit


def line_chart(model: CollectiveImpactModel, chart: str) -> LiveChart:
    """The monthly lines of one chart of ``LINE_CHARTS`` so far.

    The wellbeing chart also marks where the needle counts as moved: community
    wellbeing ``NEEDLE_THRESHOLD`` above its month-0 value (the run's summary
    judges it on the mean of the final months).

    Raises:
        KeyError: ``chart`` is not in ``LINE_CHARTS``.
    """
    lines = LINE_CHARTS[chart]
    recorded = model.datacollector.model_vars
    values: list[dict[str, Any]] = []
    for series, label, _ in lines:
        unit = _unit(series)
        values.extend({"month": month, "line": label, "value": _finite(v), "unit": unit}
                      for month, v in enumerate(recorded[series]))
    steps = int(model.params["steps"])
    # Wellbeing moves by a few hundredths: its axis follows the data (and the needle line).
    y_scale: dict[str, Any] = {"zero": False} if chart == "wellbeing" else \
        {"domainMin": 0} if chart == "waste" else {"domain": [0, 1], "clamp": True}
    encoding = {
        "x": _month_axis(steps),
        "y": {"field": "value", "type": "quantitative", "title": LINE_AXES[chart],
              "scale": y_scale},
        "color": {"field": "line", "type": "nominal", "title": None,
                  "scale": {"domain": [label for _, label, _ in lines],
                            "range": [colour for *_, colour in lines]}},
        "tooltip": [{"field": "line", "title": "line"},
                    {"field": "month", "title": "month"},
                    {"field": "value", "title": "value", "format": ".3f"},
                    {"field": "unit", "title": "unit"}],
    }
    layers: list[dict[str, Any]] = [
        {"data": {"name": "lines"}, "mark": {"type": "line", "strokeWidth": 2.2},
         "encoding": encoding},
        # Dots keep month 0 (a single value per line) visible.
        {"data": {"name": "lines"}, "transform": [{"filter": "datum.month === 0"}],
         "mark": {"type": "point", "filled": True, "size": 40},
         "encoding": {k: encoding[k] for k in ("x", "y", "color")}},
    ]
    data = {"lines": values}
    subtitle = ""
    if chart == "wellbeing":
        base = float(recorded["community_wellbeing"][0]) if recorded["community_wellbeing"] \
            else 0.0
        needle = base + NEEDLE_THRESHOLD * max(base, BASELINE_FLOOR)
        data["needle"] = [{"needle": needle,
                           "label": f"needle moved: +{NEEDLE_THRESHOLD:.0%} over month 0"}]
        layers.append({
            "data": {"name": "needle"},
            "mark": {"type": "rule", "strokeDash": [6, 4], "color": MUTED},
            "encoding": {"y": {"field": "needle", "type": "quantitative"},
                         "tooltip": [{"field": "label", "title": "dashed line"}]},
        })
        subtitle = (f"dashed: the needle moved (all residents +{NEEDLE_THRESHOLD:.0%} "
                    "over month 0)")
    spec = _base(subtitle)
    spec["layer"] = layers
    return LiveChart(spec, data, f"{LINE_TITLES[chart]}: "
                     f"{month_label(model.steps, steps)}")


def network_chart(model: CollectiveImpactModel, layout: Mapping[int, Any] | None = None
                  ) -> LiveChart:
    """The organisations' trust network now: who trusts whom, and who is aligned.

    Organisations keep fixed places (``experiments.model_figures.network_layout``);
    a line joins two whose mutual trust is at least ``MIN_TRUST``, darker and
    thicker with more trust. Nonprofits are circles shaded by their alignment with
    the common agenda.

    Args:
        model: the running model.
        layout: positions by slot (computed once per model by the caller, as they never
            change); None computes them.
    """
    pos = network_layout(model) if layout is None else layout
    nodes: list[dict[str, Any]] = []
    for n in model.nonprofits:
        x, y = pos[n.slot]
        nodes.append({"slot": int(n.slot), "x": float(x), "y": float(y), "kind": "nonprofit",
                      "alignment": round(float(n.alignment), 3),
                      "domain": model.domains[n.domain], "member": bool(n.is_member)})
    others = [(int(f.slot), "funder") for f in model.funders]
    others.append((int(model.government_slot), "government"))
    if model.backbone is not None:
        others.append((int(model.backbone.slot), "backbone"))
    for slot, kind in others:
        x, y = pos[slot]
        nodes.append({"slot": slot, "x": float(x), "y": float(y), "kind": kind})
    slots = np.array([node["slot"] for node in nodes], dtype=np.intp)
    mutual = mutual_trust(model, slots)
    rows, cols = np.nonzero(np.triu(mutual >= MIN_TRUST, k=1))
    edges = [{"x": nodes[i]["x"], "y": nodes[i]["y"], "x2": nodes[j]["x"], "y2": nodes[j]["y"],
              "trust": round(float(mutual[i, j]), 3)} for i, j in zip(rows, cols, strict=True)]
    active = model.active_nonprofit_slots()
    mean_trust = model.trust.mean_among(active) if active.size > 1 else float("nan")
    hidden = {"axis": None, "scale": {"domain": [-1.15, 1.15]}}
    kinds = [k for k in KINDS if k != "nonprofit"]
    spec = _base(f"mean trust between nonprofits; a line joins two organisations with "
                 f"mutual trust of at least {MIN_TRUST:g}")
    spec["height"] = HEIGHT + 50
    spec["layer"] = [
        {"data": {"name": "ties"},
         "mark": {"type": "rule"},
         "encoding": {
             "x": {"field": "x", "type": "quantitative", **hidden},
             "y": {"field": "y", "type": "quantitative", **hidden},
             "x2": {"field": "x2"}, "y2": {"field": "y2"},
             "strokeWidth": {"field": "trust", "type": "quantitative", "legend": None,
                             "scale": {"domain": [MIN_TRUST, 1], "range": [0.5, 3.5]}},
             "opacity": {"field": "trust", "type": "quantitative", "legend": None,
                         "scale": {"domain": [MIN_TRUST, 1], "range": [0.25, 0.85]}},
             "color": {"value": "#1f5fa8"},
             "tooltip": [{"field": "trust", "title": "mutual trust", "format": ".2f"}]}},
        {"data": {"name": "nonprofits"},
         "mark": {"type": "point", "filled": True, "size": 150, "stroke": TEXT,
                  "strokeWidth": 0.8, "shape": "circle"},
         "encoding": {
             "x": {"field": "x", "type": "quantitative", **hidden},
             "y": {"field": "y", "type": "quantitative", **hidden},
             "color": {"field": "alignment", "type": "quantitative",
                       "title": ["nonprofits'", "alignment", "(0 to 1)"],
                       "scale": {"domain": [0, 1], "scheme": "yellowgreen"},
                       "legend": {"orient": "right", "direction": "vertical",
                                  "gradientLength": 110}},
             "tooltip": [{"field": "kind", "title": "organisation"}, {"field": "domain"},
                         {"field": "alignment", "format": ".2f"},
                         {"field": "member", "title": "member of the collective"}]}},
        {"data": {"name": "others"},
         "mark": {"type": "point", "filled": True, "size": 230, "stroke": TEXT,
                  "strokeWidth": 0.8},
         "encoding": {
             "x": {"field": "x", "type": "quantitative", **hidden},
             "y": {"field": "y", "type": "quantitative", **hidden},
             "shape": {"field": "kind", "type": "nominal", "title": "organisation",
                       "scale": {"domain": kinds, "range": [KINDS[k][1] for k in kinds]},
                       "legend": {"orient": "right", "direction": "vertical"}},
             "fill": {"field": "kind", "type": "nominal", "title": "organisation",
                      "scale": {"domain": kinds, "range": [KINDS[k][2] for k in kinds]},
                      "legend": {"orient": "right", "direction": "vertical"}},
             "tooltip": [{"field": "kind", "title": "organisation"}]}},
    ]
    spec["resolve"] = {"scale": {"color": "independent"}}
    data = {"ties": edges, "nonprofits": [n for n in nodes if n["kind"] == "nonprofit"],
            "others": [n for n in nodes if n["kind"] != "nonprofit"]}
    return LiveChart(spec, data, f"Trust network: {month_label(model.steps)}, mean trust "
                     f"{mean_trust:.2f}")


def wellbeing_distribution_chart(model: CollectiveImpactModel, bins: int = 25) -> LiveChart:
    """Residents' wellbeing now, marginalised residents against the others.

    Bars are the share of each group in each wellbeing band (so the two groups
    compare whatever their sizes); solid rules mark each group's mean now, dashed
    rules its mean at month 0.
    """
    pop = model.population
    wellbeing = pop.wellbeing()
    edges = np.linspace(0.0, 1.0, bins + 1)
    recorded = model.datacollector.model_vars
    bars: list[dict[str, Any]] = []
    means: list[dict[str, Any]] = []
    labels = {"marginalised": "marginalised residents", "others": "other residents"}
    for group, mask in (("marginalised", pop.marginalised), ("others", ~pop.marginalised)):
        if not mask.any():
            continue
        counts, _ = np.histogram(wellbeing[mask], bins=edges)
        shares = counts / counts.sum()
        bars.extend({"group": labels[group], "from": float(lo), "to": float(hi),
                     "share": float(s)}
                    for lo, hi, s in zip(edges[:-1], edges[1:], shares, strict=True))
        means.append({"group": labels[group], "mean": float(wellbeing[mask].mean()),
                      "when": "now"})
        if recorded[f"wellbeing_{group}"]:
            means.append({"group": labels[group],
                          "mean": float(recorded[f"wellbeing_{group}"][0]), "when": "month 0"})
    colour = {"field": "group", "type": "nominal", "title": None,
              "scale": {"domain": list(labels.values()),
                        "range": [GROUP_COLOURS["marginalised"], GROUP_COLOURS["others"]]}}
    spec = _base("bars: share of each group by wellbeing; solid line: group mean now, "
                 "dashed: at month 0")
    spec["layer"] = [
        {"data": {"name": "bars"},
         "mark": {"type": "rect", "opacity": 0.55},
         "encoding": {
             "x": {"field": "from", "type": "quantitative", "title": "wellbeing (index, 0 to 1)",
                   "scale": {"domain": [0, 1]}},
             "x2": {"field": "to"},
             "y": {"field": "share", "type": "quantitative", "stack": None,
                   "title": "share of the group", "axis": {"format": ".0%"}},
             "color": colour,
             "tooltip": [{"field": "group"}, {"field": "from", "format": ".2f"},
                         {"field": "to", "format": ".2f"},
                         {"field": "share", "format": ".1%"}]}},
        {"data": {"name": "means"},
         "mark": {"type": "rule", "strokeWidth": 2.2},
         "encoding": {
             "x": {"field": "mean", "type": "quantitative"},
             "color": colour,
             "strokeDash": {"field": "when", "type": "nominal", "title": "group mean",
                            "scale": {"domain": ["now", "month 0"], "range": [[1, 0], [5, 4]]}},
             "tooltip": [{"field": "group"}, {"field": "when"},
                         {"field": "mean", "format": ".3f"}]}},
    ]
    return LiveChart(spec, {"bars": bars, "means": means},
                     f"Where residents stand: {month_label(model.steps, model.params['steps'])}")


@dataclass(frozen=True)
class FanSeries:
    """Months and per-community improvement of wellbeing over month 0, for one arm.

    Attributes:
        label: what the arm is, in words (legend).
        colour: its colour.
        improvement: array (communities x months + 1) of improvement over month 0, %.
        needle_moved: per community, whether its run moved the needle (run summary).
    """

    label: str
    colour: str
    improvement: np.ndarray
    needle_moved: np.ndarray


def fan_chart(arms: Sequence[FanSeries], steps: int, band: tuple[float, float] = (0.1, 0.9),
              headline: str = "Many communities, the same settings") -> LiveChart:
    """Every community's wellbeing gain over the months, with each arm's band and median.

    Thin lines are single communities; the shaded band holds the middle
    ``band`` of them month by month and the thick line is their median. The dashed
    line is where the needle counts as moved.
    """
    lines: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    for arm in arms:
        data = np.asarray(arm.improvement, dtype=float)
        if data.size == 0:
            continue
        for community, row in enumerate(data):
            lines.extend({"arm": arm.label, "community": f"{arm.label} {community}",
                          "month": m, "gain": _finite(v)} for m, v in enumerate(row))
        low, mid, high = np.nanquantile(data, [band[0], 0.5, band[1]], axis=0)
        bands.extend({"arm": arm.label, "month": m, "low": _finite(lo), "median": _finite(md),
                      "high": _finite(hi)}
                     for m, (lo, md, hi) in enumerate(zip(low, mid, high, strict=True)))
    colour = {"field": "arm", "type": "nominal", "title": None,
              "scale": {"domain": [a.label for a in arms], "range": [a.colour for a in arms]}}
    unlabelled = {**colour, "legend": None}  # the legend comes from the medians' lines
    x = _month_axis(steps)
    y_title = "wellbeing gain over month 0 (%)"
    spec = _base(["thin lines: single communities; band: the middle "
                  f"{band[1] - band[0]:.0%} of them; thick line: their median",
                  f"dashed: the needle moved (+{NEEDLE_THRESHOLD:.0%})"])
    spec["height"] = HEIGHT + 90
    spec["layer"] = [
        {"data": {"name": "bands"},
         "mark": {"type": "area", "opacity": 0.18},
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": y_title},
                      "y2": {"field": "high"}, "color": unlabelled}},
        {"data": {"name": "lines"},
         "mark": {"type": "line", "strokeWidth": 0.8, "opacity": 0.35},
         "encoding": {"x": x, "y": {"field": "gain", "type": "quantitative"},
                      "detail": {"field": "community"}, "color": unlabelled,
                      "tooltip": [{"field": "community"}, {"field": "month"},
                                  {"field": "gain", "format": ".1f", "title": "gain (%)"}]}},
        {"data": {"name": "bands"},
         "mark": {"type": "line", "strokeWidth": 3},
         "encoding": {"x": x, "y": {"field": "median", "type": "quantitative"},
                      "color": colour,
                      "tooltip": [{"field": "arm"}, {"field": "month"},
                                  {"field": "median", "format": ".1f",
                                   "title": "median gain (%)"}]}},
        {"data": {"values": [{"needle": NEEDLE_THRESHOLD * 100}]},
         "mark": {"type": "rule", "strokeDash": [6, 4], "color": MUTED},
         "encoding": {"y": {"field": "needle", "type": "quantitative"}}},
    ]
    return LiveChart(spec, {"bands": bands, "lines": lines}, headline)
