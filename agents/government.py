"""Government: slow public grants with compliance overhead, and policy change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.grantmaker import GrantMaker
from model.grants import GrantProgram, Judging

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel


@dataclass
class Policy:
    """An enacted policy lowering one domain's structural need.

    Attributes:
        domain: the need domain it targets.
        enacted: model step it was enacted at.
        implemented: share of its full effect reached so far, in [0, 1].
    """

    domain: int
    enacted: int
    implemented: float = 0.0


class Government(GrantMaker):
    """The local government: public grants on a slow cycle, and the policy lever.

    Attributes:
        policies: policies in force.
        policies_enacted: number of policies enacted so far (repealed ones included).
        policies_repealed: number of policies repealed so far.
        window_open: whether a political window is open this month.
        political_opportunity: this community's multiplier on how often windows open.
    """

    def __init__(self, model: CollectiveImpactModel, slot: int, budget: float,
                 political_opportunity: float) -> None:
        super().__init__(model, slot, budget)
        months = model.params["government_grant_months"]
        self.programs.append(GrantProgram("government", 1.0, months, max(1, months // 2), 0))
        self.compliance_share = model.params["compliance_overhead"]
        self.policies: list[Policy] = []
        self.policies_enacted = 0
        self.policies_repealed = 0
        self.window_open = False
        self.political_opportunity = political_opportunity

    def step(self) -> None:
        """Pay public grants, run a round when due, then politics: windows, enactment, repeal."""
        self.pay_grants()
        self.run_due_rounds()
        self.update_political_window()
        coalition = self.model.coalition_strength()
        self.consider_policy(coalition)
        self.implement_and_repeal(coalition)

    def domain_weights(self, program: GrantProgram) -> np.ndarray:
        """Public money follows where need is greatest (mean need per domain)."""
        need = self.model.population.mean_need()
        return need / need.sum() if need.sum() > 0 else np.full(need.size, 1.0 / need.size)

    def judging(self, program: GrantProgram) -> Judging:
        """Pitch and outcome reports, read through shared data where members report it."""
        p = self.model.params
        return Judging(p["pitch_weight"], p["outcome_weight"],
                       p["review_noise"] * (1.0 - p["measurement_quality"]),
                       effort_power=p["effort_sway"])

    def update_political_window(self) -> None:
        """Political windows open and close at random; nobody in the model controls them.

        A closed window opens with chance ``window_rate`` x political opportunity per
        month; an open one closes with chance 1 / ``window_months``.
        """
        p = self.model.params
        draw = self.model.politics_rng["window"].random()
        if self.window_open:
            self.window_open = draw >= 1.0 / p["window_months"]
        else:
            self.window_open = draw < min(1.0, p["window_rate"] * self.political_opportunity)

    def consider_policy(self, coalition: float) -> None:
        """Mechanism 'policy / systems change': a monthly hazard of enacting a policy.

        hazard = base + coalition_hazard x coalition strength, the second term only
        while a political window is open. Coalition strength comes from any coalition of
        organisations and from organised residents (``model.coalition_strength``). The
        policy targets the domain with the highest mean structural need not yet covered.
        """
        model = self.model
        p = model.params
        hazard = p["policy_base_hazard"]
        if self.window_open:
            hazard += p["policy_coalition_hazard"] * coalition
        if model.politics_rng["enact"].random() >= min(1.0, hazard):
            return
        covered = {policy.domain for policy in self.policies}
        need = model.population.structural.mean(axis=0)
        open_domains = [k for k in np.argsort(-need, kind="stable") if int(k) not in covered]
        if not open_domains:
            return
        self.policies.append(Policy(int(open_domains[0]), model.steps))
        self.policies_enacted += 1

    def implement_and_repeal(self, coalition: float) -> None:
        """Policies phase in as public money implements them, and may be repealed.

        Each month a policy gains 1 / ``policy_implementation_months`` of its effect, up
        to the share that public money can implement (government money over
        ``policy_implementation_share`` of the pool, at most 1). A policy is repealed
        with chance ``policy_reversal_hazard`` x (1 - coalition strength).
        """
        if not self.policies:
            return
        model = self.model
        p = model.params
        pool = p["total_funding"]
        needed = p["policy_implementation_share"] * pool  # public money implementation takes
        if not pool:
            funded = 0.0
        elif needed > 0:
            funded = min(1.0, self.budget / needed)
        else:  # nothing needed, or a pool so small that the product underflows to 0
            share = p["policy_implementation_share"]
            funded = 1.0 if share == 0 else min(1.0, self.budget / pool / share)
        kept = []
        repeal = p["policy_reversal_hazard"] * (1.0 - coalition)
        for policy in self.policies:
            if model.politics_rng["repeal"].random() < repeal:
                self.policies_repealed += 1
                continue
            policy.implemented = min(funded, policy.implemented
                                     + 1.0 / p["policy_implementation_months"])
            kept.append(policy)
        self.policies = kept
        relief = np.zeros(p["n_domains"])
        for policy in kept:
            relief[policy.domain] = p["policy_effect"] * policy.implemented
        model.population.set_policy_relief(relief)
