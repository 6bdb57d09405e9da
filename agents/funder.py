"""Private funders: their regime, priorities and commitment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.time import Schedule

from agents.grantmaker import GrantMaker
from model.grants import GrantProgram, Judging

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel

_COMMITMENT_BOUNDS = (0.5, 1.5)  # budget stays within these multiples of the starting budget
_PROGRESS_NOISE = 0.03  # sd of a funder's reading of yearly progress with no measurement


class Funder(GrantMaker):
    """A philanthropic funder running part of its money in isolated and part in collective mode.

    Attributes:
        collective_share: share of its money run in collective mode (1 collective,
            0 isolated, in between for hybrid).
        priority_domain: the domain its isolated-mode rounds fund.
        wellbeing_seen: community wellbeing it recorded at its last yearly review.
    """

    def __init__(self, model: CollectiveImpactModel, slot: int, budget: float,
                 collective_share: float, priority_domain: int, offset: int) -> None:
        super().__init__(model, slot, budget)
        p = model.params
        self.collective_share = collective_share
        self.priority_domain = priority_domain
        self.wellbeing_seen = model.population.wellbeing().mean()
        interval = p["round_interval_months"]
        if collective_share < 1.0:
            self.programs.append(GrantProgram("isolated", 1.0 - collective_share,
                                              p["isolated_grant_months"], interval, 0))
            cycle = 12.0 * p["priority_cycle_years"]
            model.schedule_recurring(self.change_priority,
                                     Schedule(interval=cycle, start=offset + cycle))
        if collective_share > 0.0:
            self.programs.append(GrantProgram("collective", collective_share,
                                              p["collective_grant_months"], interval, 0))
        model.schedule_recurring(self.review_commitment, Schedule(interval=12, start=12 + offset))

    def step(self) -> None:
        """Fund the backbone, pay running grants, then run any round that is due."""
        self.pay_backbone()
        self.pay_grants()
        self.run_due_rounds()

    # --- money ------------------------------------------------------------------------
    def backbone_payment(self) -> float:
        """Money/month this funder owes the backbone: its part of ``backbone_funding``."""
        p = self.model.params
        if self.model.backbone is None:
            return 0.0
        owed = p["backbone_funding"] * p["total_funding"] / 12.0 / p["n_funders"]
        owed *= self.collective_share * self.budget / self.base_budget if self.base_budget else 0
        return min(owed, self.collective_share * self.budget / 12.0)

    def pay_backbone(self) -> None:
        """Backbone funding comes out of the same budget as grants."""
        if self.model.backbone is not None:
            self.pay(self.model.backbone, self.backbone_payment())

    def program_budget_monthly(self, program: GrantProgram) -> float:
        """Grant money per month of ``program``; the collective one also pays the backbone."""
        money = program.share * self.budget / 12.0
        if program.mode == "collective":
            money -= self.backbone_payment()
        return max(0.0, money)

    # --- priorities and judging -------------------------------------------------------
    def domain_weights(self, program: GrantProgram) -> np.ndarray:
        """Isolated mode funds its own priority domain; collective mode the common agenda."""
        if program.mode == "collective":
            return self.model.common_agenda()
        weights = np.zeros(self.model.params["n_domains"])
        weights[self.priority_domain] = 1.0
        return weights

    def judging(self, program: GrantProgram) -> Judging:
        """Open rounds judge pitch and a noisy signal; collective ones shared measurement."""
        p = self.model.params
        noise = p["review_noise"] * (1.0 - p["measurement_quality"])
        if program.mode == "isolated":
            return Judging(p["pitch_weight"], p["outcome_weight"], noise,
                           effort_power=p["effort_sway"])
        precision = self.model.shared_measurement()
        return Judging(
            pitch_weight=p["pitch_weight"] * (1.0 - precision),
            outcome_weight=p["outcome_weight"],
            noise_sd=noise * (1.0 - precision),
            alignment_weight=p["outcome_weight"],
            effort_power=p["effort_sway"] * (1.0 - precision),
        )

    def change_priority(self) -> None:
        """Scheduled every ``priority_cycle_years``: move isolated money to another domain.

        Grantees of the dropped domain see a broken commitment (their trust in the funder
        erodes) and unaligned nonprofits short of money may drift to the new domain.
        """
        k = self.model.params["n_domains"]
        if k < 2:
            return
        old = self.priority_domain
        self.priority_domain = int((old + self.model.rng.integers(1, k)) % k)
        self.model.on_priority_change(self, old, self.priority_domain)

    def review_commitment(self) -> None:
        """Scheduled yearly: grow the budget on seen progress, shrink it when none is seen.

        Progress is the yearly relative change of community wellbeing as the funder
        reads it: through shared measurement (and more strongly when convened by the
        backbone's 'mobilise funding' role) for collective money, through noisy
        outcome reports otherwise.
        """
        p = self.model.params
        now = float(self.model.population.wellbeing().mean())
        true_progress = now / self.wellbeing_seen - 1.0 if self.wellbeing_seen > 0 else 0.0
        self.wellbeing_seen = now
        precision = max(p["measurement_quality"],
                        self.collective_share * self.model.shared_measurement())
        seen = true_progress + self.model.rng.normal(0.0, _PROGRESS_NOISE * (1.0 - precision))
        mobilised = self.collective_share * self.model.mobilise_funding()
        if seen >= p["progress_threshold"]:
            factor = 1.0 + p["commitment_rate"] * (1.0 + mobilised)
        else:
            factor = 1.0 - p["commitment_rate"]
        lo, hi = _COMMITMENT_BOUNDS
        self.budget = float(np.clip(self.budget * factor, lo * self.base_budget,
                                    hi * self.base_budget))
