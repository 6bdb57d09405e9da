"""Government: slow public grants with compliance overhead, and policy change."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.grantmaker import GrantMaker
from model.grants import GrantProgram, Judging

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel


class Government(GrantMaker):
    """The local government: public grants on a slow cycle, and the policy lever.

    Attributes:
        policies_enacted: number of policy changes made so far.
        policy_log: (step, domain) of each policy change.
    """

    def __init__(self, model: CollectiveImpactModel, slot: int, budget: float) -> None:
        super().__init__(model, slot, budget)
        months = model.params["government_grant_months"]
        self.programs.append(GrantProgram("government", 1.0, months, max(1, months // 2), 0))
        self.compliance_share = model.params["compliance_overhead"]
        self.policies_enacted = 0
        self.policy_log: list[tuple[int, int]] = []

    def step(self) -> None:
        """Pay public grants, run a round when the cycle comes round, consider a policy."""
        self.pay_grants()
        self.run_due_rounds()
        self.consider_policy()

    def domain_weights(self, program: GrantProgram) -> np.ndarray:
        """Public money follows where need is greatest (mean need per domain)."""
        need = self.model.population.mean_need()
        return need / need.sum() if need.sum() > 0 else np.full(need.size, 1.0 / need.size)

    def judging(self, program: GrantProgram) -> Judging:
        """Pitch and outcome reports; shared measurement sharpens them when a backbone exists."""
        p = self.model.params
        noise = p["review_noise"] * (1.0 - p["measurement_quality"])
        noise *= 1.0 - self.model.shared_measurement()
        return Judging(p["pitch_weight"], p["outcome_weight"], noise,
                       effort_power=p["effort_sway"])

    def consider_policy(self) -> None:
        """Mechanism 'policy / systems change': a monthly hazard of lowering structural need.

        hazard = base + coalition_hazard * coalition, where coalition strength is
        aligned share x mean resident engagement x the backbone's policy advocacy.
        The policy targets the domain with the highest mean structural need.
        """
        model = self.model
        p = model.params
        coalition = model.aligned_share() * model.mean_engagement() * model.policy_advocacy()
        hazard = p["policy_base_hazard"] + p["policy_coalition_hazard"] * coalition
        if model.rng.random() < min(1.0, hazard):
            domain = int(np.argmax(model.population.structural.mean(axis=0)))
            model.population.lower_structural_need(domain, p["policy_effect"])
            self.policies_enacted += 1
            self.policy_log.append((model.steps, domain))
