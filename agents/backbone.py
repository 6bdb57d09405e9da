"""The backbone organisation and its six roles."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel


class Backbone(mesa.Agent):
    """Staff that convene, measure and coordinate for the collective.

    Capacity in [0, 1] approaches mandate x competence x (1 - exp(-funding per
    resident / scale)) at ``backbone_build_rate`` per month: money buys capacity
    with diminishing returns, capacity takes time to build, and how much of it is
    useful depends on the staff the community happens to get (``competence``, drawn
    per community). Each of the six roles acts through one mechanism of the model.

    Attributes:
        slot: index in the organisations' trust network.
        competence: share of bought capacity that becomes useful work, in [0, 1].
        capacity: current useful capacity in [0, 1].
        received: cumulative money received from funders.
        spent: cumulative money spent on staff.
    """

    def __init__(self, model: CollectiveImpactModel, slot: int, competence: float) -> None:
        super().__init__(model)
        self.slot = slot
        self.competence = competence
        self.capacity = 0.0
        self.received = 0.0
        self.spent = 0.0
        self._funding_month = 0.0

    def receive(self, amount: float, compliance_share: float = 0.0) -> None:
        """Take funders' payments for this month."""
        self._funding_month += amount
        self.received += amount
        self.model.ledger.record_received(amount)

    def step(self) -> None:
        """Spend the month's funding on staff, which sets its capacity."""
        self.update_capacity()

    def update_capacity(self) -> None:
        """Saturating capacity: move toward its ceiling; spend all funding on staff."""
        p = self.model.params
        per_resident = self._funding_month / p["n_residents"]
        bought = 1.0 - math.exp(-per_resident / p["backbone_capacity_scale"])
        target = p["backbone"] * self.competence * bought
        self.capacity += p["backbone_build_rate"] * (target - self.capacity)
        self.spent += self._funding_month
        self.model.ledger.record_backbone_spending(self._funding_month)
        self._funding_month = 0.0

    # Four of its six roles (guide vision, support aligned activity, shared measurement,
    # advance policy) act through the collective's coordination capacity, which its
    # capacity sets (``CollectiveImpactModel.coordination_capacity``). The other two:
    def public_will(self) -> float:
        """Role 'build public will': engagement growth per month at this capacity."""
        return self.model.params["public_will_rate"] * self.capacity

    def mobilise_funding(self) -> float:
        """Role 'mobilise funding': boost to funders' commitment growth."""
        return self.capacity
