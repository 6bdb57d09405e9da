"""Private funders: their grant practice, priorities, fidelity to the agenda and commitment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.time import Schedule

from agents.grantmaker import GrantMaker
from model.grants import GrantProgram, Judging

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel


class Funder(GrantMaker):
    """A philanthropic funder running part of its money in isolated and part in collective mode.

    Attributes:
        collective_share: share of its money run in collective mode (1 collective,
            0 isolated, in between for hybrid).
        priority_domain: the domain its own (isolated-mode) money funds.
        on_agenda: whether its collective-mode money follows the common agenda this
            year (a funder may leave the collective and come back).
        fidelity: the community's yearly chance that a funder stays on the agenda.
        wellbeing_seen: community wellbeing it recorded at its last yearly review.
        mobilised: cumulative money it paid above its starting budget (commitment).
    """

    def __init__(self, model: CollectiveImpactModel, slot: int, budget: float,
                 collective_share: float, priority_domain: int, offset: int,
                 fidelity: float) -> None:
        super().__init__(model, slot, budget)
        p = model.params
        self.collective_share = collective_share
        self.priority_domain = priority_domain
        self.fidelity = fidelity
        self.on_agenda = True
        self.mobilised = 0.0
        self.wellbeing_seen = float(model.population.wellbeing().mean())
        interval = p["round_interval_months"]
        if collective_share < 1.0:
            self.programs.append(GrantProgram("isolated", 1.0 - collective_share,
                                              p["isolated_grant_months"], interval, 0))
        if collective_share > 0.0:
            self.programs.append(GrantProgram("collective", collective_share,
                                              p["collective_grant_months"], interval, 0))
        cycle = 12.0 * p["priority_cycle_years"]
        model.schedule_recurring(self.change_priority,
                                 Schedule(interval=cycle, start=offset + cycle))
        model.schedule_recurring(self.review_year, Schedule(interval=12, start=12 + offset))

    def step(self) -> None:
        """Fund the backbone, pay running grants, then run any round that is due."""
        self.pay_backbone()
        self.pay_grants()
        self.run_due_rounds()
        self.mobilised += (self.budget - self.base_budget) / 12.0

    # --- money ------------------------------------------------------------------------
    def backbone_payment(self) -> float:
        """Money/month this funder owes the backbone: its part of ``backbone_funding``.

        Every funder pays its share of the pool, whatever its grant practice, so the
        backbone comes out of the same money in every regime.
        """
        model = self.model
        p = model.params
        if (model.backbone is None or self.base_budget <= 0
                or model.steps > p["backbone_funding_months"]):
            return 0.0
        owed = p["backbone_funding"] * p["total_funding"] / 12.0 / p["n_funders"]
        owed *= self.budget / self.base_budget
        return min(owed, self.budget / 12.0)

    def pay_backbone(self) -> None:
        """Backbone funding comes out of the same budget as grants."""
        if self.model.backbone is not None:
            self.pay(self.model.backbone, self.backbone_payment())

    def program_budget_monthly(self, program: GrantProgram) -> float:
        """Grant money per month of ``program``: its share of what the backbone leaves."""
        return max(0.0, program.share * (self.budget / 12.0 - self.backbone_payment()))

    # --- priorities and judging -------------------------------------------------------
    def domain_weights(self, program: GrantProgram) -> np.ndarray:
        """Own money leans to its priority; collective money follows the common agenda.

        Its own money puts ``priority_focus`` on the priority domain and spreads the rest
        evenly. Collective-mode money follows the agenda in proportion to
        ``common_agenda`` while the funder stays on it, and its own weights otherwise.
        """
        p = self.model.params
        k = p["n_domains"]
        own = np.full(k, (1.0 - p["priority_focus"]) / k)
        own[self.priority_domain] += p["priority_focus"]
        if program.mode != "collective" or not self.on_agenda:
            return own
        strength = p["common_agenda"]
        return strength * self.model.agenda + (1.0 - strength) * own

    def judging(self, program: GrantProgram) -> Judging:
        """Open rounds weigh pitch and effort; collective ones outcomes, data and membership.

        Shared data sharpen every reviewer's outcome signal for members who report it
        (``Nonprofit.reporting_precision``); collective-mode reviewers also rely on it
        in place of pitch and prefer members aligned with the agenda.
        """
        p = self.model.params
        noise = p["review_noise"] * (1.0 - p["measurement_quality"])
        if program.mode == "isolated":
            return Judging(p["pitch_weight"], p["outcome_weight"], noise,
                           effort_power=p["effort_sway"])
        precision = self.model.measurement_precision()
        preference = p["member_preference_weight"] * p["common_agenda"] * self.on_agenda
        return Judging(
            pitch_weight=p["pitch_weight"] * (1.0 - precision),
            outcome_weight=p["outcome_weight"],
            noise_sd=noise,
            alignment_weight=preference,
            effort_power=p["effort_sway"] * (1.0 - precision),
        )

    def change_priority(self) -> None:
        """Scheduled every ``priority_cycle_years``: move its own money to another domain.

        Its grantees on the money that moves see a broken commitment (their trust in the
        funder erodes) and non-members short of money may drift to the new domain.
        """
        k = self.model.params["n_domains"]
        if k < 2:
            return
        old = self.priority_domain
        self.priority_domain = int((old + self.model.rng.integers(1, k)) % k)
        self.model.on_priority_change(self, old, self.priority_domain)

    def review_year(self) -> None:
        """Scheduled yearly: turnover, whether to stay on the agenda, then commitment."""
        if self.model.rng.random() < self.model.params["funder_turnover_rate"]:
            self.turn_over()
        else:
            self.review_fidelity()
        self.review_commitment()

    def turn_over(self) -> None:
        """Mechanism 'funder turnover': new leadership (or a new funder) takes this seat.

        Running grants are honoured, but the newcomer brings its own priority domain,
        nobody's trust carries over (its trust row and column start afresh), and it
        sits out the common agenda and the collective's meetings until its next yearly
        review.
        """
        model = self.model
        k = model.params["n_domains"]
        old = self.priority_domain
        self.priority_domain = int(model.rng.integers(0, k))
        model.trust.reset_slot(self.slot)
        self.on_agenda = False
        if self.priority_domain != old:
            model.on_priority_change(self, old, self.priority_domain)

    def review_fidelity(self) -> None:
        """Funders who leave the collective: stay on the agenda with a trust-gated chance.

        The chance is the community's funder fidelity times (0.5 + 0.5 x its trust in
        the members), so a funder that has come to distrust the members is likelier to
        take its collective money back to its own priority for the year. Members'
        trust in a funder that leaves erodes.
        """
        model = self.model
        if self.collective_share <= 0 or model.params["common_agenda"] <= 0:
            self.on_agenda = True  # nothing to leave: it takes part as it is
            return
        trust = model.trust_in_members(self.slot)
        stays = model.rng.random() < self.fidelity * (0.5 + 0.5 * trust)
        if self.on_agenda and not stays:
            model.trust.erode(model.member_slots(), np.array([self.slot]))
        self.on_agenda = bool(stays)

    def review_commitment(self) -> None:
        """Mechanism 'funder commitment' (off unless ``funder_commitment`` > 0).

        Progress is the yearly relative change of community wellbeing as the funder
        reads it: through shared measurement (more strongly when convened by the
        backbone's 'mobilise funding' role) for collective money, through noisy
        outcome reports otherwise. Seen progress grows the budget, no progress shrinks
        it, within the declared floor and ceiling.
        """
        model = self.model
        p = model.params
        now = float(model.population.wellbeing().mean())
        true_progress = now / self.wellbeing_seen - 1.0 if self.wellbeing_seen > 0 else 0.0
        self.wellbeing_seen = now
        strength = p["funder_commitment"]
        if strength <= 0:
            return
        precision = max(p["measurement_quality"],
                        self.collective_share * model.measurement_precision())
        seen = true_progress + model.rng.normal(0.0, p["progress_noise"] * (1.0 - precision))
        mobilised = self.collective_share * model.mobilise_funding()
        rate = strength * p["commitment_rate"]
        factor = 1.0 + rate * (1.0 + mobilised) if seen >= p["progress_threshold"] else 1.0 - rate
        self.budget = float(np.clip(self.budget * factor, p["commitment_floor"] * self.base_budget,
                                    p["commitment_ceiling"] * self.base_budget))
