"""Pictures of one model's current state: the trust network and residents' wellbeing.

These draw onto a Matplotlib ``Axes`` that the caller owns, so the same drawing
serves the class notebooks (pyplot figures) and the browser view (a fresh
``matplotlib.figure.Figure`` per update, which is safe in a server thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib as mpl
import networkx as nx
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from model.core import CollectiveImpactModel

#: Node style per organisation type: (marker, colour, size in points^2).
KIND_STYLE: dict[str, tuple[str, str, float]] = {
    "nonprofit": ("o", "", 150.0),  # colour comes from alignment
    "funder": ("s", "#e6a700", 190.0),
    "government": ("D", "#7b3fa0", 190.0),
    "backbone": ("*", "#d62728", 420.0),
}
ALIGNMENT_CMAP = "YlGn"
TRUST_CMAP = "Blues"
GROUP_COLOURS = {"marginalised": "#d95f02", "others": "#1b9e77"}


def trust_graph(model: CollectiveImpactModel) -> nx.Graph:
    """Build the organisations' weighted graph: one node per active organisation.

    Node attributes: ``kind`` (nonprofit, funder, government, backbone), ``alignment``
    (nonprofits only, in [0, 1]) and ``domain`` (nonprofits only, a domain index).
    Edge attribute ``trust`` is the mean of the two directed trusts, in [0, 1].
    """
    g = nx.Graph()
    for n in model.nonprofits:
        g.add_node(n.slot, kind="nonprofit", alignment=float(n.alignment), domain=n.domain)
    for f in model.funders:
        g.add_node(f.slot, kind="funder")
    g.add_node(model.government_slot, kind="government")
    if model.backbone is not None:
        g.add_node(model.backbone.slot, kind="backbone")
    slots = np.array(sorted(g.nodes), dtype=np.intp)
    mutual = mutual_trust(model, slots)
    rows, cols = np.triu_indices(slots.size, k=1)
    g.add_weighted_edges_from(
        ((int(slots[i]), int(slots[j]), float(mutual[i, j])) for i, j in zip(rows, cols,
                                                                             strict=True)),
        weight="trust",
    )
    return g


def mutual_trust(model: CollectiveImpactModel, slots: np.ndarray) -> np.ndarray:
    """Mean of the two directed trusts between the organisations in ``slots``, in [0, 1]."""
    block = model.trust.trust[np.ix_(slots, slots)]
    return (block + block.T) / 2.0


def network_layout(model: CollectiveImpactModel) -> dict[int, np.ndarray]:
    """Place every organisation slot at a fixed position, so the picture does not jump.

    Nonprofit slots sit on an outer ring; funders, government and the backbone on an
    inner ring. A slot keeps its place when its nonprofit closes and an entrant takes it.
    """
    n_np = model.params["n_nonprofits"]
    outer = list(range(n_np))
    inner = [int(s) for s in model.funder_slots] + [model.government_slot, model.backbone_slot]
    ring = nx.Graph()
    ring.add_nodes_from(outer + inner)
    return nx.shell_layout(ring, nlist=[inner, outer], scale=1.0)


def draw_trust_network(model: CollectiveImpactModel, ax: Axes, min_trust: float = 0.4,
                       colorbar: bool = True) -> None:
    """Draw the organisations' trust network on ``ax``.

    Args:
        model: the model whose current state is drawn.
        ax: Matplotlib axes to draw on.
        min_trust: edges with mutual trust below this value (in [0, 1]) are hidden,
            so the picture shows which ties are strong, not a hairball.
        colorbar: add a colour bar for nonprofits' alignment.

    Nonprofits are circles coloured by alignment (pale = unaligned, dark green =
    aligned); funders are gold squares, government a purple diamond, the backbone a
    red star. Edges darken and thicken with trust.
    """
    g = trust_graph(model)
    pos = network_layout(model)
    edges = [(u, v) for u, v, t in g.edges(data="trust") if t >= min_trust]
    trust = np.array([g.edges[e]["trust"] for e in edges])
    if edges:
        nx.draw_networkx_edges(g, pos, edgelist=edges, ax=ax, edge_color=trust,
                               edge_cmap=mpl.colormaps[TRUST_CMAP], edge_vmin=0.0,
                               edge_vmax=1.0, width=0.3 + 2.2 * trust, alpha=0.6)
    align_norm = Normalize(0.0, 1.0)
    for kind, (marker, colour, size) in KIND_STYLE.items():
        nodes = [v for v, k in g.nodes(data="kind") if k == kind]
        if not nodes:
            continue
        if kind == "nonprofit":
            alignment = [g.nodes[v]["alignment"] for v in nodes]
            nx.draw_networkx_nodes(g, pos, nodelist=nodes, ax=ax, node_shape=marker,
                                   node_color=alignment, cmap=mpl.colormaps[ALIGNMENT_CMAP],
                                   vmin=0.0, vmax=1.0, node_size=size, edgecolors="black",
                                   linewidths=0.6)
        else:
            nx.draw_networkx_nodes(g, pos, nodelist=nodes, ax=ax, node_shape=marker,
                                   node_color=colour, node_size=size, edgecolors="black",
                                   linewidths=0.6)
    handles = [Line2D([], [], marker=KIND_STYLE[k][0], ls="", markersize=8,
                      markerfacecolor=KIND_STYLE[k][1] or "#a1d99b", markeredgecolor="black",
                      label=k) for k in KIND_STYLE]
    handles.append(Line2D([], [], color=mpl.colormaps[TRUST_CMAP](0.85), lw=2.5,
                          label=f"trust >= {min_trust:g}"))
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False,
              bbox_to_anchor=(-0.02, 1.02))
    if colorbar:
        sm = mpl.cm.ScalarMappable(norm=align_norm, cmap=mpl.colormaps[ALIGNMENT_CMAP])
        ax.figure.colorbar(sm, ax=ax, shrink=0.6, pad=0.01, label="nonprofit alignment")
    ax.set_title(f"Trust network, month {model.steps} "
                 f"(mean trust {model.trust.mean_among(model.active_nonprofit_slots()):.2f})",
                 fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.2, 1.2)
    ax.axis("off")


def draw_wellbeing_groups(model: CollectiveImpactModel, ax: Axes, bins: int = 30) -> None:
    """Histogram of residents' wellbeing now, marginalised residents against the others.

    Solid lines mark each group's mean now; dotted lines the group's mean at month 0,
    read from the model's own per-step record.

    Args:
        model: the model whose residents are drawn.
        ax: Matplotlib axes to draw on.
        bins: number of bins over [0, 1].
    """
    pop = model.population
    wb = pop.wellbeing()
    first = model.datacollector.get_model_vars_dataframe().iloc[0]
    edges = np.linspace(0.0, 1.0, bins + 1).tolist()
    for group, mask in (("marginalised", pop.marginalised), ("others", ~pop.marginalised)):
        if not mask.any():
            continue
        colour = GROUP_COLOURS[group]
        values = wb[mask]
        ax.hist(values, bins=edges, density=True, histtype="stepfilled", alpha=0.55, color=colour,
                label=f"{group}: mean {values.mean():.2f} (month 0: "
                      f"{first[f'wellbeing_{group}']:.2f})")
        ax.axvline(values.mean(), color=colour, lw=2)
        ax.axvline(first[f"wellbeing_{group}"], color=colour, lw=1.5, ls=":")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("wellbeing index [0, 1]")
    ax.set_ylabel("density of residents")
    ax.set_title(f"Residents' wellbeing, month {model.steps} (dotted: month 0 means)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
