"""Invariants every run must satisfy, shared by the property and extreme-world tests.

The accounting rules of MODEL.md section 6 (money conserved, needs, trust, alignment
and engagement in range) plus what every output must be: finite, within the range
its declared unit implies, and consistent with the agents that exist. Ranges of the
outputs are read from the bounds declared in ``model.metrics``, not restated here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from agents.funder import Funder
from agents.nonprofit import Nonprofit
from agents.resident import Resident
from model.core import CollectiveImpactModel
from model.metrics import OUTPUTS, SERIES_OUTPUTS, SUMMARY_FIELDS, SUMMARY_OUTPUTS, Output

MONEY_RTOL = 1e-9  # relative tolerance of money conservation


def money_conserved(paid: float, received: float) -> bool:
    """Paid equals received within ``MONEY_RTOL`` (relative to the larger amount)."""
    return math.isclose(paid, received, rel_tol=MONEY_RTOL, abs_tol=1e-6)


def declared_range(output: Output) -> tuple[float, float]:
    """The bounds declared for an output (unbounded sides as infinities)."""
    lower = -math.inf if output.lower is None else output.lower
    upper = math.inf if output.upper is None else output.upper
    return lower, upper


def _in_unit_interval(name: str, values: np.ndarray) -> None:
    values = np.asarray(values, dtype=float)
    assert np.isfinite(values).all(), f"{name}: not finite"
    assert values.size == 0 or (values.min() >= 0.0 and values.max() <= 1.0), (
        f"{name} outside [0, 1]: min {values.min()}, max {values.max()}")


def check_state(model: CollectiveImpactModel) -> None:
    """Check the model's state now: ranges, money and agent counts."""
    p = model.params
    pop = model.population
    _in_unit_interval("need", pop.need)
    _in_unit_interval("structural need", pop.structural)
    _in_unit_interval("engagement", pop.engagement)
    _in_unit_interval("wellbeing", pop.wellbeing())
    _in_unit_interval("trust", model.trust.trust)
    nonprofits = model.nonprofits
    _in_unit_interval("alignment", [n.alignment for n in nonprofits])
    _in_unit_interval("effectiveness", [n.effectiveness for n in nonprofits])
    money = [n.reserves for n in nonprofits] + [n.fixed_cost for n in nonprofits]
    money += [f.budget for f in model.funders] + [model.government.budget]
    assert np.isfinite(money).all(), "an organisation's money is not finite"
    assert min((f.budget for f in model.funders), default=0.0) >= 0.0, "negative funder budget"

    ledger = model.ledger
    assert money_conserved(ledger.paid, ledger.received), (
        f"money not conserved: paid {ledger.paid!r}, received {ledger.received!r}")
    assert all(math.isfinite(v) and v >= 0.0 for v in ledger.spent.values()), ledger.spent

    assert len(nonprofits) == p["n_nonprofits"] - model.closures + model.entries
    assert 0 <= len(nonprofits) <= p["n_nonprofits"]
    assert len(model.agents_by_type.get(Nonprofit, [])) == len(nonprofits)
    assert len({n.slot for n in nonprofits}) == len(nonprofits), "two nonprofits share a slot"
    assert len(model.funders) == len(model.agents_by_type[Funder]) == p["n_funders"]
    assert len(model.agents_by_type[Resident]) == p["n_residents"] == pop.need.shape[0]
    assert pop.need.shape[1] == p["n_domains"] == len(model.domains)
    # A backbone exists exactly when it is switched on and funders have money to pay it.
    # (its money computed as the model does: at a total of 5e-324 the product underflows)
    private = p["total_funding"] * (1.0 - p["government_share"])
    money = min(p["backbone_funding"] * p["total_funding"], private)
    has_backbone = p["backbone"] > 0 and money > 0
    assert (model.backbone is not None) == has_backbone


def check_outputs(model: CollectiveImpactModel, series: pd.DataFrame,
                  summary: dict[str, Any]) -> None:
    """Check the per-step table and the summary of a finished run."""
    steps = model.params["steps"]
    assert len(series) == steps + 1
    assert series["step"].tolist() == list(range(steps + 1))
    expected = {"step", *OUTPUTS, *(f"need_{d}" for d in model.domains)}
    assert set(series.columns) == expected

    numbers = series.to_numpy(dtype=float)
    bad = [c for c in series.columns if not np.isfinite(series[c].to_numpy(float)).all()]
    assert np.isfinite(numbers).all(), f"NaN or infinity in outputs {bad}"
    for name, output in SERIES_OUTPUTS.items():
        col = series[name].to_numpy(float)
        lo, hi = declared_range(output)
        assert col.min() >= lo - 1e-12 and col.max() <= hi + 1e-12, (
            f"{name} ({output.unit}) outside [{lo}, {hi}]: {col.min()}..{col.max()}")
        if output.meaning.startswith("Cumulative"):
            assert (np.diff(col) >= -1e-9 * np.abs(col[1:]).clip(min=1.0)).all(), (
                f"cumulative output {name} decreased")
    for domain in model.domains:
        _in_unit_interval(f"need_{domain}", series[f"need_{domain}"].to_numpy())
    for disbursed, received in zip(series["funds_disbursed"], series["funds_received"],
                                   strict=True):
        assert money_conserved(disbursed, received), (disbursed, received)
    active = series["active_nonprofits"].to_numpy()
    n_slots = model.params["n_nonprofits"]
    assert (active == n_slots - series["closures"] + series["entries"]).all()
    assert active[-1] == len(model.nonprofits)

    assert set(summary) == set(SUMMARY_FIELDS)
    for name, value in summary.items():
        if value is None:
            assert name == "months_to_needle", f"summary {name} is None"
            continue
        assert math.isfinite(float(value)), f"summary {name} = {value!r}"
        lo, hi = declared_range(SUMMARY_OUTPUTS[name])
        assert lo - 1e-12 <= float(value) <= hi + 1e-12, (name, value)
    if summary["months_to_needle"] is not None:
        assert 0 <= summary["months_to_needle"] <= steps
    assert money_conserved(summary["funds_disbursed"], summary["funds_received"])
    assert summary["nonprofit_closures"] == series["closures"].iloc[-1]


def run_checked(scenario: str = "collective", **params: Any) -> CollectiveImpactModel:
    """Build and run a model, checking every invariant at every step; return the model.

    NumPy floating-point warnings (division by zero, overflow, invalid values) count as
    failures: they mean some output was computed from nonsense.
    """
    with warnings.catch_warnings(), np.errstate(divide="raise", over="raise", invalid="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        model = CollectiveImpactModel(scenario, **params)
        check_state(model)
        for _ in range(model.params["steps"]):
            model.step()
            check_state(model)
        check_outputs(model, model.timeseries(), model.summary())
    return model
