"""Nonprofit organisations: they seek grants, meet, serve residents, align, drift and close."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.population import row_sum

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel
    from model.grants import Grant

ALIGNED = 0.5  # alignment at or above which a nonprofit counts as aligned
_CANDIDATES_PER_CASE = 3  # residents screened per case an unaligned nonprofit can take
_HIRE_MONTHS = 6  # months to grow fixed cost most of the way toward what income sustains
_LAYOFF_MONTHS = 24  # months to shrink it: cutting costs is slower than adding them
_IN_THE_RED_SPENDING = 0.9  # share of income a nonprofit in debt may spend


class Nonprofit(mesa.Agent):
    """A service nonprofit focused on one need domain.

    Attributes:
        slot: index in the organisations' trust network.
        domain: index of the need domain it serves.
        potential: true (hidden) effectiveness it reaches with full experience, in [0, 1].
        experience: in [0, 1]; entrants start low and learn the work over time.
        pitch: grant-writing skill in [0, 1], only weakly related to effectiveness.
        base_budget: money/month it was set up to spend.
        fixed_cost: money/month it must spend whatever its income (staff, rent).
        reserves: money it holds; negative means debt.
        alignment: adherence to the common agenda, in [0, 1].
        grants: grants currently paying it.
    """

    def __init__(self, model: CollectiveImpactModel, slot: int, domain: int,
                 potential: float, pitch: float, base_budget: float,
                 experience: float = 1.0) -> None:
        super().__init__(model)
        p = model.params
        self.slot = slot
        self.domain = domain
        self.potential = potential
        self.experience = experience
        self.pitch = pitch
        self.base_budget = base_budget
        self.fixed_cost = p["fixed_cost_share"] * base_budget
        # Money raised outside the grant system: 3 to 9 months of budget for an
        # established organisation (they differ, so they do not all run dry at once),
        # three months for a newly founded one.
        months = model.rng.uniform(3.0, 9.0) if experience >= 1.0 else 3.0
        self.reserves = months * base_budget
        self.smoothed_income = base_budget
        self.alignment = 0.0
        self.months_negative = 0
        self.grants: list[Grant] = []
        self.income_last_year: deque[float] = deque(maxlen=12)
        self._month = {"income": 0.0, "seeking": 0.0, "compliance": 0.0, "meetings": 0.0}

    # --- the month, as MODEL.md tells it ------------------------------------------------
    def step(self) -> None:
        """Spend the month's budget, serve residents, update alignment, learn, check solvency."""
        services = self.settle_budget()
        self.serve_residents(services)
        self.update_alignment()
        self.gain_experience()
        self.learn_from_measurement()
        self.check_solvency()

    @property
    def effectiveness(self) -> float:
        """True (hidden) share of a full dose it delivers per case, in [0, 1]."""
        return self.potential * self.experience

    # --- money ------------------------------------------------------------------------
    def receive(self, amount: float, compliance_share: float = 0.0) -> None:
        """Take a grant instalment; a share of it goes straight to compliance reporting."""
        self._month["income"] += amount
        self.model.ledger.record_received(amount)
        if compliance_share > 0:
            self._month["compliance"] += compliance_share * amount

    def pay_grant_seeking(self, amount: float) -> None:
        """Spend ``amount`` on writing an application (grant-seeking overhead)."""
        self._month["seeking"] += amount

    def affordable_effort(self, target: float) -> float:
        """Effort it can still put into an application this month, at most ``target``.

        Grant seeking in a month is capped at ``max_seeking_share`` of the monthly
        budget (the larger of fixed cost and smoothed income).
        """
        cap = self.model.params["max_seeking_share"] * max(self.fixed_cost, self.smoothed_income)
        return max(0.0, min(target, cap - self._month["seeking"]))

    def attend_meeting(self) -> None:
        """Spend staff time on one convened meeting."""
        self._month["meetings"] += self.model.params["meeting_cost"]

    def settle_budget(self) -> float:
        """Mechanism 'monthly spending': pay overheads, return the money left for services.

        The month's spending is at least the fixed cost and otherwise follows smoothed
        income (plus a slow draw on large reserves); grant seeking, compliance and
        meetings come out of it first, services get the rest.
        """
        m = self._month
        self.smoothed_income += (m["income"] - self.smoothed_income) / 6.0
        self.resize()
        budget = max(self.fixed_cost, self.smoothed_income)
        surplus = self.reserves - 6.0 * self.fixed_cost
        if surplus > 0:
            budget += surplus / 12.0
        elif self.reserves < 0:
            # In the red nobody lends more: spend under income and pay the debt down.
            budget = min(budget, _IN_THE_RED_SPENDING * m["income"])
        overhead = m["seeking"] + m["compliance"] + m["meetings"]
        services = max(0.0, budget - overhead)
        self.reserves += m["income"] - overhead - services
        self.income_last_year.append(m["income"])
        self.model.ledger.record_spending(
            services=services, seeking=m["seeking"] + m["compliance"], meetings=m["meetings"]
        )
        for key in m:
            m[key] = 0.0
        return services

    def resize(self) -> None:
        """Grow or shrink fixed costs toward what income sustains; costs are sticky.

        Fixed cost tracks ``fixed_cost_share`` of smoothed income (never below a
        fifth of the founding level): organisations hire within months when money
        arrives but take about two years to shed staff and leases when it goes, so
        funding that comes and goes leaves them with costs they cannot carry.
        """
        share = self.model.params["fixed_cost_share"]
        target = share * max(self.smoothed_income, 0.2 * self.base_budget)
        months = _HIRE_MONTHS if target > self.fixed_cost else _LAYOFF_MONTHS
        self.fixed_cost += (target - self.fixed_cost) / months

    # --- services ---------------------------------------------------------------------
    def serve_residents(self, services_money: float) -> None:
        """Mechanism 'caseload choice': take referrals if aligned, otherwise cream.

        Aligned nonprofits take cases from the backbone's shared referral list (high,
        multi-domain need, no duplication among aligned agencies); without a backbone
        they target need on their own. Unaligned nonprofits pick the reachable residents
        who promise quick, measurable gains.
        """
        paid_cases = services_money / self.model.params["service_cost"]
        cases = self.model.draw_case_count(paid_cases + self.model.volunteer_cases(self))
        if cases == 0:
            return
        backbone = self.model.backbone
        if self.is_aligned and backbone is not None:
            residents = backbone.take_referrals(self.domain, cases)
            if residents.size < cases:  # list exhausted: find the rest by need
                extra = self.choose_own_caseload(cases - residents.size, cream=False)
                residents = np.concatenate([residents, extra])
        else:
            residents = self.choose_own_caseload(cases, cream=not self.is_aligned)
        self.model.record_cases(residents, self.domain, self.effectiveness)

    def choose_own_caseload(self, cases: int, cream: bool) -> np.ndarray:
        """Screen reachable residents and keep the ``cases`` best by this nonprofit's rule.

        Creaming favours a moderate need in this domain and few needs elsewhere (a
        visible gain); need-based targeting favours high need here and elsewhere.
        """
        pop = self.model.population
        candidates = pop.reachable_candidates(self.model.rng, _CANDIDATES_PER_CASE * cases)
        if candidates.size == 0:
            return candidates
        need = pop.need[candidates]
        here = need[:, self.domain]
        elsewhere = row_sum(need) / need.shape[1]  # mean over domains
        score = here * (1.0 - elsewhere) if cream else here * elsewhere
        keep = min(cases, candidates.size)
        best = np.argpartition(-score, keep - 1)[:keep]
        return candidates[best]

    # --- collaboration ----------------------------------------------------------------
    @property
    def is_aligned(self) -> bool:
        """Whether alignment is at least 0.5."""
        return self.alignment >= ALIGNED

    def update_alignment(self) -> None:
        """Mechanism 'alignment': trust in the collective, guidance and funder reward raise it.

        dA = rate * drive * (1 - A) - decay * A, where drive in [0, 1] averages
        (trust toward the collective x backbone guidance) and the reward of holding a
        grant from a funder in collective mode.
        """
        model = self.model
        p = model.params
        backbone = model.backbone
        guidance = backbone.guide_vision() if backbone is not None else 0.0
        trust = model.trust_in_collective(self.slot) if guidance > 0 else 0.0
        reward = 1.0 if any(g.mode == "collective" for g in self.grants) else 0.0
        drive = 0.5 * (trust * guidance + reward)
        a = self.alignment
        a += p["alignment_rate"] * drive * (1.0 - a) - p["alignment_decay"] * a
        self.alignment = min(1.0, max(0.0, a))

    def learn_from_measurement(self) -> None:
        """Backbone role 'shared measurement': aligned members learn and improve.

        Potential effectiveness rises toward 1 at learning_rate x measurement
        capacity x alignment.
        """
        backbone = self.model.backbone
        if backbone is None or not self.is_aligned:
            return
        gain = self.model.params["learning_rate"] * backbone.measurement_capacity() * self.alignment
        self.potential += gain * (1.0 - self.potential)

    def gain_experience(self) -> None:
        """Mechanism 'liability of newness': entrants learn the work over ``experience_months``."""
        self.experience += (1.0 - self.experience) / self.model.params["experience_months"]

    def drift_to(self, domain: int) -> None:
        """Mechanism 'mission drift': switch domain to chase money.

        It loses ``drift_effectiveness_loss`` of its effectiveness and pays
        ``drift_cost_months`` of fixed cost to retool (counted as money spent
        chasing grants).
        """
        p = self.model.params
        self.domain = domain
        self.potential *= 1.0 - p["drift_effectiveness_loss"]
        self._month["seeking"] += p["drift_cost_months"] * self.fixed_cost

    @property
    def wants_funding(self) -> bool:
        """Whether it applies for grants: running grants cover under 1.5x its founding budget."""
        return sum(g.monthly for g in self.grants) < 1.5 * self.base_budget

    @property
    def short_of_money(self) -> bool:
        """Whether reserves cover less than three months of fixed cost."""
        return self.reserves < 3.0 * self.fixed_cost

    # --- exit -------------------------------------------------------------------------
    def check_solvency(self) -> None:
        """Mechanism 'exit': close after ``closure_months`` months in a row of negative reserves."""
        self.months_negative = self.months_negative + 1 if self.reserves < 0 else 0
        if self.months_negative >= self.model.params["closure_months"]:
            self.model.close_nonprofit(self)

    @property
    def income_rate(self) -> float:
        """Money received per month over the past year, or since founding if younger."""
        months = len(self.income_last_year)
        return float(sum(self.income_last_year)) / months if months else 0.0

    @property
    def has_year_of_history(self) -> bool:
        """Whether it has been operating for at least 12 months."""
        return len(self.income_last_year) == self.income_last_year.maxlen
