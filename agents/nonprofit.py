"""Nonprofit organisations: they seek grants, meet, serve residents, align, drift and close."""

from __future__ import annotations

from collections import deque
from operator import attrgetter
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel
    from model.grants import Grant

_MONTHLY = attrgetter("monthly")  # a grant's money per month


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
        alignment: adherence of a member to the common agenda, in [0, 1].
        is_member: whether it has chosen to be a member of the collective (or of a
            voluntary coalition under isolated funding).
        shares_data: whether, as a member, it reports into shared measurement.
        join_threshold: net benefit (share of monthly budget) it needs before it joins.
        autonomy_cost: felt cost of a full common agenda to its autonomy and mission
            fit (share of monthly budget).
        learning_ceiling: potential effectiveness that learning can reach at most.
        closure_months: months in the red it survives before it closes.
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
        months = (model.rng.uniform(p["reserve_months_min"], max(p["reserve_months_min"],
                                                                  p["reserve_months_max"]))
                  if experience >= 1.0
                  else p["entrant_reserve_months"])
        self.reserves = months * base_budget
        self.smoothed_income = base_budget
        self.alignment = 0.0
        self.is_member = False
        self.shares_data = False
        # Heterogeneous thresholds, costs, learning room and staying power: nonprofits
        # differ, so they do not all join, learn or close at the same moment.
        self.join_threshold = float(model.rng.normal(0.0, p["join_threshold_sd"]))
        self.autonomy_cost = float(model.rng.gamma(2.0, p["autonomy_cost_mean"] / 2.0))
        self.learning_ceiling = potential + p["learning_headroom"] * (1.0 - potential)
        self.closure_months = max(1, round(p["closure_months"] * model.rng.uniform(0.5, 1.5)))
        self.months_negative = 0
        self.applications = self.wins = 0  # contests entered and won
        self.early_applications = self.early_wins = 0  # the same in the first three years
        self.grants: list[Grant] = []  # change it through add_grant and end_grant
        self.granted_monthly = 0.0  # money/month of its running grants (their sum)
        self.income_last_year: deque[float] = deque(maxlen=12)  # grant money per month
        # This month's accounts (money), cleared when the month is settled: grant money,
        # other income, and what grant seeking, compliance, meetings and reporting cost.
        # Plain floats: they are added to many times a month.
        self._granted = self._other_income = 0.0
        self._seeking = self._compliance = self._meetings = self._reporting = 0.0

    # --- the month, as MODEL.md tells it ------------------------------------------------
    def step(self) -> None:
        """Decide on membership, pay for the month, serve residents, align, learn, survive."""
        model = self.model
        # Its chance events of the month, drawn by the model for every slot at once.
        review, case, join, share = model.month_draws[self.slot]
        if review < 1.0 / model.params["membership_review_months"]:
            self.review_membership(join, share)
        services = self.settle_budget()
        self.serve_residents(services, case)
        self.update_alignment()
        self.gain_experience()
        self.learn_from_data()
        self.check_solvency()

    @property
    def effectiveness(self) -> float:
        """True (hidden) share of a full dose it delivers per case, in [0, 1]."""
        return self.potential * self.experience

    # --- money ------------------------------------------------------------------------
    def receive(self, amount: float, compliance_share: float = 0.0) -> None:
        """Take a grant instalment; a share of it goes straight to compliance reporting.

        The month's grant money enters the ledger's received side when the month is
        settled (``settle_budget``): one record a month rather than one per instalment.
        """
        self._granted += amount
        if compliance_share > 0:
            self._compliance += compliance_share * amount

    def raise_other_income(self) -> float:
        """Money from outside the pool (donors, fees): ``other_income_share`` of its budget.

        Adds it to the month's income and returns it (money/month).
        """
        amount = self.model.params["other_income_share"] * self.base_budget
        self._other_income += amount
        self.model.ledger.record_other_income(amount)
        return amount

    def pay_grant_seeking(self, amount: float) -> None:
        """Spend ``amount`` on writing an application (grant-seeking overhead)."""
        self._seeking += amount

    def affordable_effort(self, target: float) -> float:
        """Effort it can still put into an application this month, at most ``target``.

        Grant seeking in a month is capped at ``max_seeking_share`` of the monthly
        budget (the larger of fixed cost and smoothed income).
        """
        cap = self.model.params["max_seeking_share"] * self.monthly_budget
        room = cap - self._seeking
        effort = room if room < target else target
        return effort if effort > 0.0 else 0.0

    @property
    def monthly_budget(self) -> float:
        """What it can spend in a month: the larger of fixed cost and smoothed income."""
        # Comparisons rather than max(): the builtin costs ten times as much on two floats.
        income = self.smoothed_income
        return income if income > self.fixed_cost else self.fixed_cost

    def attend_meeting(self, length: float) -> None:
        """Spend staff time on one convened meeting ``length`` times the standard length."""
        self._meetings += self.model.params["meeting_time_share"] * length * self.monthly_budget

    def settle_budget(self) -> float:
        """Mechanism 'monthly spending': pay overheads, return the money left for services.

        The month's spending is at least the fixed cost and otherwise follows smoothed
        income (plus a slow draw on large reserves); grant seeking, compliance and
        meetings come out of it first, services get the rest.
        """
        self.raise_other_income()
        model = self.model
        p = model.params
        granted = self._granted
        model.ledger.record_received(granted)  # its side of the month's grant payments
        income = granted + self._other_income
        self.smoothed_income += (income - self.smoothed_income) / p["income_smoothing_months"]
        self.resize()
        budget = monthly_budget = self.monthly_budget
        surplus = self.reserves - p["reserve_target_months"] * self.fixed_cost
        if surplus > 0:
            budget += surplus / 12.0
        elif self.reserves < 0:
            # In the red nobody lends more: spend under income and pay the debt down.
            cap = p["in_the_red_spending"] * income
            if cap < budget:
                budget = cap
        reporting = self._reporting
        if self.shares_data:
            reporting += p["reporting_cost"] * p["shared_measurement"] * monthly_budget
        seeking = self._seeking + self._compliance  # applications and compliance reporting
        overhead = seeking + self._meetings + reporting
        services = budget - overhead
        if not services > 0.0:
            services = 0.0
        self.reserves += income - overhead - services
        self.income_last_year.append(granted)  # grant money only
        model.ledger.record_spending(services, seeking, self._meetings, reporting)
        self._granted = self._other_income = 0.0
        self._seeking = self._compliance = self._meetings = self._reporting = 0.0
        return services

    def resize(self) -> None:
        """Grow or shrink fixed costs toward what income sustains; costs are sticky.

        Fixed cost tracks ``fixed_cost_share`` of smoothed income (never below a
        fifth of the founding level): organisations hire within months when money
        arrives but take about two years to shed staff and leases when it goes, so
        funding that comes and goes leaves them with costs they cannot carry.
        """
        p = self.model.params
        floor = p["fixed_cost_floor"] * self.base_budget
        income = self.smoothed_income
        target = p["fixed_cost_share"] * (floor if floor > income else income)
        months = p["hire_months"] if target > self.fixed_cost else p["layoff_months"]
        self.fixed_cost += (target - self.fixed_cost) / months

    # --- services ---------------------------------------------------------------------
    def serve_residents(self, services_money: float, case_draw: float) -> None:
        """Mechanism 'caseload choice': how many residents it serves this month, and how.

        Its cases are what the money left for services pays for, plus its share of
        volunteers' cases, rounded to a whole number (``case_draw``, a uniform draw in
        [0, 1), decides the rest). A member takes up to
        ``mutually_reinforcing`` x alignment of them from the shared referral list
        (high, multi-domain need, no duplication among members), accepting each
        referral with its trust in the coordinator, and finds the rest by need itself
        when there is a common agenda. Non-members (and members of a coalition without
        an agenda) pick the reachable residents who promise quick, measurable gains.
        The model hands out the month's referrals and screens residents for everyone
        at once (``CollectiveImpactModel.deliver_services``).
        """
        model = self.model
        paid_cases = services_money / model.params["service_cost"]
        cases = model.draw_case_count(paid_cases + model.volunteer_cases(self), case_draw)
        if cases > 0:
            model.request_cases(self, cases)

    def referral_share(self) -> float:
        """Share of its cases a member means to take from the referral list."""
        if not self.is_member or not self.model.referrals_active():
            return 0.0
        return self.model.params["mutually_reinforcing"] * self.alignment

    # --- collaboration ----------------------------------------------------------------
    @property
    def reporting_precision(self) -> float:
        """Precision of its outcome data as funders read them (shared data, if it reports)."""
        return self.model.measurement_precision() if self.shares_data else 0.0

    def membership_net_benefit(self) -> float:
        """What membership is worth to it now, in shares of its monthly budget.

        Gains: collective-mode funders' preference for members (the share of funder
        money in collective mode x the agenda's strength), and, weighted by its trust in
        the members, the referral list and shared data (each as strong as its condition
        and the coordinator's capacity). Costs: reporting into shared measurement,
        staff time in the meetings it would attend, and the autonomy a common agenda
        takes away.
        """
        model = self.model
        p = model.params
        coordination = model.coordination_capacity(prospective=True)
        trust = model.trust_in_members(self.slot)
        gain = p["funder_preference_value"] * model.collective_share * p["common_agenda"]
        gain += trust * coordination * (p["referral_value"] * p["mutually_reinforcing"]
                                        + p["data_value"] * p["shared_measurement"])
        cost = p["reporting_cost"] * p["shared_measurement"] * (coordination > 0)
        floor = p["attendance_floor"]  # it expects to attend as a half-aligned member at least
        cost += (model.meetings_per_month() * model.meeting_length() * p["meeting_time_share"]
                 * (floor + (1.0 - floor) * (0.5 if self.alignment < 0.5 else self.alignment)))
        cost += self.autonomy_cost * p["common_agenda"]
        return gain - cost

    def review_membership(self, join_draw: float, share_draw: float) -> None:
        """Mechanism 'membership': join when the net benefit passes its own threshold.

        Nobody joins where there is nothing to join (all four working conditions at
        0). A member leaves when the net benefit falls ``membership_hysteresis`` below
        its threshold. A member reports into shared measurement only as far as it trusts
        the other members (free riding: it reads the shared data either way). No
        grant or regime makes a nonprofit a member.

        ``join_draw`` and ``share_draw`` are uniform draws in [0, 1): the first sets the
        alignment a newcomer brings (at most 0.5), the second whether it reports.
        """
        model = self.model
        if not model.coalition_possible():
            self.is_member = self.shares_data = False
            return
        net = self.membership_net_benefit()
        if self.is_member:
            if net < self.join_threshold - model.params["membership_hysteresis"]:
                self.is_member = False
        elif net > self.join_threshold:
            self.is_member = True
            if 0.5 * join_draw > self.alignment:
                self.alignment = 0.5 * join_draw
        self.shares_data = self.is_member and share_draw < model.trust_in_members(self.slot)

    def update_alignment(self) -> None:
        """Mechanism 'alignment': a member's adherence grows with agenda, guidance and trust.

        dA = rate x drive x (1 - A) - decay x A, where for a member drive = common_agenda
        x (0.5 + 0.5 x guidance) x trust in the members, guidance being the coordinator's
        capacity; for a non-member drive is 0 and its alignment fades.
        """
        if not self.is_member and self.alignment == 0.0:
            return  # nothing sustains it and nothing is left to fade
        model = self.model
        p = model.params
        drive = 0.0
        if self.is_member and p["common_agenda"] > 0:
            guidance = model.coordination_capacity()
            drive = p["common_agenda"] * (0.5 + 0.5 * guidance) * model.trust_in_members(
                self.slot)
        a = self.alignment
        a += p["alignment_rate"] * drive * (1.0 - a) - p["alignment_decay"] * a
        self.alignment = (a if a < 1.0 else 1.0) if a > 0.0 else 0.0  # clipped to [0, 1]

    def learn_from_data(self) -> None:
        """Mechanism 'learning from outcome data', open to every nonprofit.

        Potential rises toward its learning ceiling (diminishing returns) at
        learning_rate x data quality. Its own data have ``measurement_quality``; a
        member also reads the shared system, so its quality is 1 - (1 - own) x
        (1 - shared precision) (members pay for it by reporting; those who do not
        report free ride).
        """
        model = self.model
        p = model.params
        quality = p["measurement_quality"]
        if self.is_member:  # two independent sources: what either misses, both miss
            quality = 1.0 - (1.0 - quality) * (1.0 - model.measurement_precision())
        gain = p["learning_rate"] * quality
        room = self.learning_ceiling - self.potential
        if room > 0.0:
            self.potential += gain * room

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
        self.learning_ceiling *= 1.0 - p["drift_effectiveness_loss"]
        self._seeking += p["drift_cost_months"] * self.fixed_cost

    def add_grant(self, grant: Grant) -> None:
        """A grant it won starts paying it."""
        self.grants.append(grant)
        self.granted_monthly = sum(map(_MONTHLY, self.grants))

    def end_grant(self, grant: Grant) -> None:
        """A grant of its own stops paying it (it ended, or the nonprofit closed)."""
        self.grants.remove(grant)
        self.granted_monthly = sum(map(_MONTHLY, self.grants))

    @property
    def wants_funding(self) -> bool:
        """Whether it applies for grants: running grants cover under 1.5x its founding budget."""
        multiple = self.model.params["funding_sought_multiple"]
        return self.granted_monthly < multiple * self.base_budget

    @property
    def short_of_money(self) -> bool:
        """Whether reserves cover less than three months of fixed cost."""
        return self.reserves < self.model.params["short_of_money_months"] * self.fixed_cost

    # --- exit -------------------------------------------------------------------------
    def check_solvency(self) -> None:
        """Mechanism 'exit': close after its own ``closure_months`` in a row in the red."""
        self.months_negative = self.months_negative + 1 if self.reserves < 0 else 0
        if self.months_negative >= self.closure_months:
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
