"""The backbone organisation and its six roles."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.population import row_sum

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel

_REFERRAL_NOISE = 0.3  # sd of the backbone's reading of a need with no capacity or engagement


class Backbone(mesa.Agent):
    """Staff that convene, measure and coordinate for the collective.

    Capacity in [0, 1] approaches 1 - exp(-funding / scale) at ``backbone_build_rate``
    per month, so money buys capacity with diminishing returns and capacity takes
    time to build. Each of the six roles acts through one mechanism of the model.

    Attributes:
        slot: index in the organisations' trust network.
        capacity: current capacity in [0, 1].
        received: cumulative money received from funders.
        spent: cumulative money spent on staff.
        meetings_held: cumulative meetings convened.
    """

    def __init__(self, model: CollectiveImpactModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot
        self.capacity = 0.0
        self.received = 0.0
        self.spent = 0.0
        self.meetings_held = 0
        self._funding_month = 0.0
        self._meeting_debt = 0.0
        self._referrals: dict[int, np.ndarray] = {}
        self._work: tuple[np.ndarray, ...] | None = None  # see _work_arrays()

    def receive(self, amount: float, compliance_share: float = 0.0) -> None:
        """Take funders' payments for this month."""
        self._funding_month += amount
        self.received += amount
        self.model.ledger.record_received(amount)

    def step(self) -> None:
        """Spend the month's funding on capacity, convene, build will, prepare referrals."""
        self.update_capacity()
        self.convene_meetings()
        self.prepare_referrals()

    def update_capacity(self) -> None:
        """Saturating capacity: move toward 1 - exp(-funding/scale); spend all funding on staff."""
        p = self.model.params
        target = 1.0 - math.exp(-self._funding_month / p["backbone_capacity_scale"])
        self.capacity += p["backbone_build_rate"] * (target - self.capacity)
        self.spent += self._funding_month
        self.model.ledger.record_backbone_spending(self._funding_month)
        self._funding_month = 0.0

    # --- role 1: guide vision and strategy ----------------------------------------------
    def guide_vision(self) -> float:
        """Role 'guide vision': strength of guidance toward the common agenda, in [0, 1]."""
        return self.capacity

    # --- role 2: support aligned activities ---------------------------------------------
    def prepare_referrals(self) -> None:
        """Role 'support aligned activity': build this month's shared referral list.

        Residents are ranked per domain by need here times mean need across domains
        (multi-domain need first, so the same people get the services that complement
        each other), read with noise that capacity and the resident's engagement
        reduce. Only residents that outreach reaches this month are listed. Each
        resident-domain appears once, so aligned agencies never duplicate each other.
        """
        model = self.model
        pop = model.population
        demand = model.aligned_capacity_by_domain()
        self._referrals = {}
        if not demand.any():
            return
        rng = model.rng
        reached = np.flatnonzero(rng.random(pop.n) < pop.access())
        m = reached.size
        seen_work, need_work, rank_work = self._work_arrays(pop.need.shape)
        need = np.take(pop.need, reached, axis=0, out=need_work[:m], mode="clip")
        noise_sd = _REFERRAL_NOISE * (1.0 - self.capacity) * (1.0 - pop.engagement[reached])
        seen = rng.standard_normal(out=seen_work[:m])  # reading noise, then the need as read
        seen *= noise_sd[:, None]
        seen += need
        np.clip(seen, 0.0, 1.0, out=seen)
        overall = row_sum(seen) / seen.shape[1]  # mean over domains
        for domain in np.flatnonzero(demand):
            k = min(int(demand[domain]), m)
            if k <= 0:
                continue
            rank = np.multiply(seen[:, domain], overall, out=rank_work[:m])
            np.negative(rank, out=rank)  # minus the priority: the highest priority first
            top = np.argpartition(rank, k - 1)[:k]
            top = top[np.argsort(rank[top], kind="stable")]
            self._referrals[int(domain)] = reached[top]

    def _work_arrays(self, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
        """Reusable (N, K), (N, K) and (N,) arrays: fresh large ones each month cost page faults."""
        if self._work is None or self._work[0].shape != shape:
            self._work = (np.empty(shape), np.empty(shape), np.empty(shape[0]))
        return self._work

    def take_referrals(self, domain: int, cases: int) -> np.ndarray:
        """Hand the next ``cases`` residents of ``domain``'s list to an aligned nonprofit."""
        queue = self._referrals.get(domain)
        if queue is None or queue.size == 0:
            return np.empty(0, dtype=np.intp)
        taken, self._referrals[domain] = queue[:cases], queue[cases:]
        return taken

    # --- role 3: shared measurement -----------------------------------------------------
    def measurement_capacity(self) -> float:
        """Role 'shared measurement': precision of shared outcome data, in [0, 1]."""
        return self.capacity

    # --- role 4: build public will ------------------------------------------------------
    def public_will(self) -> float:
        """Role 'build public will': engagement growth per month at this capacity."""
        return self.model.params["public_will_rate"] * self.capacity

    # --- role 5: advance policy ---------------------------------------------------------
    def policy_advocacy(self) -> float:
        """Role 'advance policy': advocacy strength entering the policy hazard, in [0, 1]."""
        return self.capacity

    # --- role 6: mobilise funding -------------------------------------------------------
    def mobilise_funding(self) -> float:
        """Role 'mobilise funding': boost to funders' commitment growth, in [0, 1]."""
        return self.capacity

    # --- convening ----------------------------------------------------------------------
    def convene_meetings(self) -> None:
        """Hold ``communication_frequency`` meetings this month (fractions carry over).

        Nonprofits attend with probability 0.2 + 0.8 x alignment, funders in
        collective mode and the government always; each attendee pays the meeting's
        time and every pair of attendees builds trust.
        """
        self._meeting_debt += self.model.params["communication_frequency"]
        n_meetings = int(self._meeting_debt + 1e-9)
        self._meeting_debt -= n_meetings
        for _ in range(n_meetings):
            self.model.hold_meeting(self)
            self.meetings_held += 1
