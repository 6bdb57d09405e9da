"""The collective-impact world as a Mesa model."""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.experimental.scenarios import Scenario
from mesa.time import Schedule

from agents.backbone import Backbone
from agents.funder import Funder
from agents.government import Government
from agents.nonprofit import Nonprofit
from agents.resident import Resident
from model.caseload import choose_caseloads
from model.community import CommunityTraits, beta_shape
from model.ledger import Ledger
from model.metrics import model_reporters, summarise, summary_field_reporters
from model.parameters import domain_names
from model.population import ResidentPopulation
from model.referrals import ReferralList
from model.scenarios import make_scenario
from model.trust import TrustNetwork

_EARLY_MONTHS = 36  # the first three years, over which "won nothing" is counted
_WORKING_CONDITIONS = ("common_agenda", "shared_measurement", "mutually_reinforcing",
                       "continuous_communication")


class CollectiveImpactModel(mesa.Model):
    """Nonprofits, funders, government, a backbone and residents, month by month.

    Seeds are Mesa's: ``rng`` is an int (or a SeedSequence or Generator, turned into
    an int by ``model.seeds.run_seed``); with neither ``rng`` nor a ``seed``
    parameter a fresh seed is drawn from OS entropy, as ``mesa.Model(rng=None)``
    does. The int the run used is ``run_seed`` (also ``params["seed"]`` and the
    summary field ``seed``); passing it back as ``rng`` or ``seed`` replays the run.

    ``mesa.batch_run`` collects the DataCollector's model reporters. With
    ``summary_reporters=True`` every summary field is one of them: ``seed`` at every
    step, the others None until the run's last month (``params["steps"]``), when the
    summary is computed once and fills them (fields that are also per-step outputs,
    such as ``funds_disbursed``, have their summary value in that last row). So
    ``batch_run(CollectiveImpactModel, {"summary_reporters": True, ...})`` returns
    every summary field. Off by default: the per-month reporters stay as they are.

    Args:
        scenario: a named scenario (``"collective"``, ``"isolated"``, ...) or a
            ``CollectiveImpactScenario`` object.
        rng: seed of the run; None draws a fresh one unless ``seed`` is given.
        summary_reporters: also collect the summary fields as model reporters.
        **params: declared parameters overriding the scenario's values.

    Attributes:
        run_seed: the integer seed of this run, in [0, 2**63 - 1].
        params: every declared parameter's value in this run.

    Raises:
        ParameterError: before anything is built, for an unknown scenario or parameter,
            a wrong type, a value out of range or an rng that is no seed.
    """

    def __init__(self, scenario: str | Scenario = "collective", rng: Any = None, *,
                 summary_reporters: bool = False, **params: Any) -> None:
        validated = make_scenario(scenario, rng=rng, **params)
        super().__init__(scenario=validated)
        self.run_seed: int = validated.rng
        self.params: dict[str, Any] = validated.parameters()
        p = self.params
        self.domains = domain_names(p["n_domains"])
        self._coalition_possible = any(p[c] > 0 for c in _WORKING_CONDITIONS)  # fixed per run
        self.collective_share = {"isolated": 0.0, "collective": 1.0,
                                 "hybrid": p["hybrid_collective_share"]}[p["regime"]]
        self.ledger = Ledger()
        self.closures = 0
        self.entries = 0
        self.cases_month = self.duplicates_month = 0
        self.cases_total = self.duplicates_total = 0
        self.meetings_held = 0
        self.applications = self.awards = 0
        # This month's requests for cases: domain, cases, cream, effectiveness, acceptance.
        self._requests: list[tuple[int, int, bool, float, float]] = []
        self._volunteer_cases_per_capacity: float | None = 0.0  # None: see volunteer_cases
        self._volunteer_cases = (0.0, 0.0)  # (cases this month, fixed cost absorbing them)
        self._meeting_debt = 0.0
        self.month_draws: list[list[float]] = []  # per slot, see draw_nonprofit_chances
        self._money_cache: tuple[int, tuple[float, float]] | None = None  # see model.metrics
        self._trust_in_members: tuple[int, list[float]] | None = None  # (trust version, means)
        self._summary_cache: tuple[int, dict[str, Any]] | None = None  # (step, summary)

        # The community is drawn first, so every scenario run with a seed meets the same one.
        self.traits = CommunityTraits.draw(self.rng, p)
        # Politics draws from streams of its own, spawned from the run's seed: paired
        # scenarios then see the same political windows and the same luck in enactment,
        # and differ only in what their coalitions do.
        politics = np.random.SeedSequence(int(self.rng.integers(2**63))).spawn(3)
        self.politics_rng = {name: np.random.default_rng(s)
                             for name, s in zip(("window", "enact", "repeal"), politics,
                                                strict=True)}
        self.population = ResidentPopulation(self.rng, p)
        self.residents = list(Resident.create_agents(self, p["n_residents"],
                                                     list(range(p["n_residents"]))))

        n_np, n_f = p["n_nonprofits"], p["n_funders"]
        self.funder_slots = np.arange(n_np, n_np + n_f)
        self.government_slot = n_np + n_f
        self.backbone_slot = n_np + n_f + 1
        self.trust = self._starting_trust(n_np + n_f + 2)

        public = p["government_share"] * p["total_funding"]
        private = p["total_funding"] - public
        # Funders pay the backbone out of the one pool: no such money, no backbone.
        backbone_money = min(p["backbone_funding"] * p["total_funding"], private)
        has_backbone = p["backbone"] > 0 and backbone_money > 0
        self.backbone = (Backbone(self, self.backbone_slot, self.traits.backbone_competence)
                         if has_backbone else None)
        backbone_money = backbone_money if has_backbone else 0.0
        self.mean_budget = max(0.0, p["total_funding"] - backbone_money) / 12.0 / n_np
        self.award_monthly = p["grant_size_share"] * self.mean_budget
        self.referrals = ReferralList(p["referral_noise"])

        self.agenda = np.full(p["n_domains"], 1.0 / p["n_domains"])
        self.set_agenda()
        self.schedule_recurring(self.set_agenda, Schedule(interval=12, start=12))

        first_priorities = self.rng.integers(0, p["n_domains"], size=n_f)
        self.funders = [
            Funder(self, int(self.funder_slots[i]), private / n_f, self.collective_share,
                   int(first_priorities[i]), offset=(12 * i) // n_f,
                   fidelity=self.traits.funder_fidelity)
            for i in range(n_f)
        ]
        self.government = Government(self, self.government_slot, public,
                                     self.traits.political_opportunity)
        if self.collective_share > 0 and p["collective_practice_months"] < p["steps"]:
            self.schedule_event(self.end_collective_practice, at=p["collective_practice_months"])

        # The field has grown up around the status quo's money (funders' own priorities and
        # public money by need), whatever regime starts now: every scenario starts from it.
        focus = p["priority_focus"]
        status_quo = np.full(p["n_domains"], (1.0 - focus) * private / p["n_domains"])
        np.add.at(status_quo, first_priorities, focus * private / n_f)
        need = self.population.mean_need()
        if need.sum() > 0:
            status_quo += public * need / need.sum()
        self._slots: list[Nonprofit | None] = [None] * n_np
        self.every_nonprofit: list[Nonprofit] = []  # closed ones too, for run statistics
        for slot in range(n_np):
            domain = self._founding_domain(status_quo)
            self._slots[slot] = self._new_nonprofit(slot, domain, established=True)
        # Nobody is a member yet: each nonprofit decides at its first review, in a month
        # of its own, so a collective forms gradually rather than in one jump.
        self.refresh_collective_state()
        for grant_maker in (*self.funders, self.government):
            grant_maker.run_due_rounds()  # the portfolio already running at month 0

        reporters = model_reporters(self.domains)
        self._series_columns = tuple(reporters)  # timeseries() leaves summary reporters out
        if summary_reporters:
            reporters.update(summary_field_reporters(reporters))  # after the series: see there
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    def _starting_trust(self, n_slots: int) -> TrustNetwork:
        """Trust at month 0: the community's mean plus a spread between pairs."""
        p = self.params
        mean = float(np.clip(p["initial_trust"] + self.traits.trust_offset, 0.0, 1.0))
        spread = p["community_variation"] * p["initial_trust_sd"]
        start = mean + spread * self.rng.standard_normal((n_slots, n_slots))
        return TrustNetwork(start, mean, p["trust_build_rate"], p["trust_erosion_ratio"],
                            p["trust_decay"])

    # --- the month ----------------------------------------------------------------------
    def step(self) -> None:
        """One month: fund, convene, coordinate, serve, let the community evolve, exit, entry."""
        self.ledger.start_month()
        self.refresh_collective_state()
        self.agents_by_type[Funder].shuffle_do("step")
        self.government.step()
        if self.backbone is not None:
            self.backbone.step()
        self.convene()
        self.prepare_referrals()
        self.mobilise_latent_resources()
        self.draw_nonprofit_chances()
        self.nonprofit_set().shuffle_do("step")
        self.deliver_services()
        self.evolve_community()
        self.trust.end_month()
        self.enter_new_nonprofits()
        self.datacollector.collect(self)
        if self.steps >= self.params["steps"]:
            self.running = False

    # --- organisations ------------------------------------------------------------------
    @property
    def nonprofits(self) -> list[Nonprofit]:
        """Active nonprofits, in slot order."""
        return [n for n in self._slots if n is not None]

    def nonprofit_set(self) -> mesa.agent.AbstractAgentSet:
        """The Mesa AgentSet of active nonprofits (empty if all have closed)."""
        return self.agents_by_type.get(Nonprofit, mesa.agent.AgentSet([], random=self.random))

    def grant_seekers_by_domain(self) -> list[list[Nonprofit]]:
        """Per domain, the active nonprofits looking for money, in slot order."""
        seekers: list[list[Nonprofit]] = [[] for _ in range(self.params["n_domains"])]
        for n in self._slots:
            if n is not None and n.wants_funding:
                seekers[n.domain].append(n)
        return seekers

    def active_nonprofit_slots(self) -> np.ndarray:
        """Trust-network slots of active nonprofits."""
        return np.array([n.slot for n in self.nonprofits], dtype=np.intp)

    def aligned_share(self) -> float:
        """Share of active nonprofits that are members of the collective."""
        nps = self.nonprofits
        return sum(n.is_member for n in nps) / len(nps) if nps else 0.0

    def mean_engagement(self) -> float:
        """Mean resident engagement in [0, 1]."""
        return self.population.mean_engagement()

    def funding_by_domain(self) -> np.ndarray:
        """Grant money per month that grant makers currently aim at each domain."""
        money = np.zeros(self.params["n_domains"])
        for grant_maker in (*self.funders, self.government):
            for program in grant_maker.programs:
                money += (grant_maker.program_budget_monthly(program)
                          * grant_maker.domain_weights(program))
        return money

    def _founding_domain(self, money: np.ndarray) -> int:
        """Where a founder starts: mostly where ``money`` is aimed, sometimes anywhere."""
        k = money.size
        w = self.params["founding_money_weight"]
        weights = w * money / money.sum() + (1 - w) / k if money.sum() > 0 else np.full(k, 1 / k)
        return int(self.rng.choice(k, p=weights / weights.sum()))

    def _new_nonprofit(self, slot: int, domain: int, established: bool) -> Nonprofit:
        """A nonprofit with fresh attributes: potential effectiveness, pitch, budget.

        Established nonprofits (those present at month 0) work at their potential;
        entrants start at ``entrant_experience`` of it.
        """
        p, rng = self.params, self.rng
        mean, sd = p["effectiveness_mean"], p["effectiveness_sd"]
        effectiveness = float(rng.beta(*beta_shape(mean, sd)))
        # Pitch shares only ``pitch_effectiveness_corr`` of its variation with effectiveness.
        z_eff = (effectiveness - mean) / sd
        c = p["pitch_effectiveness_corr"]
        z_pitch = c * z_eff + np.sqrt(1.0 - c * c) * rng.normal()
        pitch = float(1.0 / (1.0 + np.exp(-z_pitch)))
        spread = p["budget_spread"]
        budget = self.mean_budget * float(rng.lognormal(-spread**2 / 2, spread))
        experience = 1.0 if established else p["entrant_experience"]
        nonprofit = Nonprofit(self, slot, domain, effectiveness, pitch, budget, experience)
        self.every_nonprofit.append(nonprofit)
        return nonprofit

    def close_nonprofit(self, nonprofit: Nonprofit) -> None:
        """Mechanism 'exit': the nonprofit closes; its grants stop and its slot empties."""
        for grant in list(nonprofit.grants):
            grant.payer.cancel_grants_to(nonprofit)
            nonprofit.end_grant(grant)
        self._slots[nonprofit.slot] = None
        self.closures += 1
        nonprofit.remove()

    def enter_new_nonprofits(self) -> None:
        """Mechanism 'entry': each empty slot is filled with probability ``entry_rate``.

        Entrants get fresh attributes and little experience; most found where grant
        money is aimed now.
        """
        for slot, occupant in enumerate(self._slots):
            if occupant is None and self.rng.random() < self.params["entry_rate"]:
                self.trust.reset_slot(slot)
                domain = self._founding_domain(self.funding_by_domain())
                self._slots[slot] = self._new_nonprofit(slot, domain, established=False)
                self.entries += 1

    def record_applications(self, winners: list[Nonprofit], losers: list[Nonprofit]) -> None:
        """Count a contest's applications and awards, in all and per nonprofit."""
        self.applications += len(winners) + len(losers)
        self.awards += len(winners)
        early = self.steps <= _EARLY_MONTHS
        for n in winners:
            n.applications += 1
            n.wins += 1
            if early:
                n.early_applications += 1
                n.early_wins += 1
        for n in losers:
            n.applications += 1
            if early:
                n.early_applications += 1

    def end_collective_practice(self) -> None:
        """Scheduled: a start-up programme ends; funders' collective money goes to open rounds.

        Running collective grants are paid to their end; new money is awarded as in
        isolated mode, on each funder's own priority.
        """
        p = self.params
        for funder in self.funders:
            for program in funder.programs:
                if program.mode == "collective":
                    program.mode = "isolated"
                    program.grant_months = p["isolated_grant_months"]
            funder.collective_share = 0.0
        self.collective_share = 0.0

    # --- the collective, as it stands this month ------------------------------------------
    def refresh_collective_state(self) -> None:
        """Record this month's members, coordination capacity and shared-data precision.

        Membership decisions made during a month take effect from the next one.
        """
        p = self.params
        members = [n for n in self._slots if n is not None and n.is_member]
        self._member_slots = [n.slot for n in members]
        backbone = [self.backbone.slot] if self.backbone is not None else []
        self._trust_group = self._member_slots + backbone
        self._trust_in_members = None  # recomputed on demand (see trust_in_members)
        self._coordination = self._coordination_now(len(members), prospective=False)
        sharing = sum(n.shares_data for n in members) / len(members) if members else 0.0
        # Free riders read the shared data without reporting: the pool is thinner.
        self._precision = p["shared_measurement"] * self._coordination * sharing

    def coalition_possible(self) -> bool:
        """Whether there is anything to join: one of the four working conditions is on."""
        return self._coalition_possible

    def _coordination_now(self, n_members: int, prospective: bool) -> float:
        own = 0.0
        if self.coalition_possible() and (prospective or n_members >= 2):
            own = self.params["self_organised_capacity"]
        if self.backbone is not None:
            capacity = self.backbone.capacity
            return own if own > capacity else capacity  # the larger (max() is slow on floats)
        return own

    def coordination_capacity(self, prospective: bool = False) -> float:
        """Who coordinates the collective, and how well, in [0, 1].

        The larger of the backbone's capacity and the members' own
        ``self_organised_capacity``, which counts once two or more have joined
        (``prospective``: as a nonprofit weighing whether to join would count it).
        """
        if prospective:
            return self._coordination_now(len(self._member_slots), prospective=True)
        return self._coordination

    def member_slots(self) -> np.ndarray:
        """Trust-network slots of this month's members."""
        return np.array(self._member_slots, dtype=np.intp)

    def trust_in_members(self, slot: int) -> float:
        """Mean trust of ``slot`` toward the members and the backbone.

        With nobody to trust in yet, its mean trust toward the other nonprofits: the
        partners it would have.
        """
        cached = self._trust_in_members
        if cached is None or cached[0] != self.trust.version:
            # As Python floats: read one at a time, many times a month.
            cached = (self.trust.version, self._mean_trust_toward_members().tolist())
            self._trust_in_members = cached
        return cached[1][slot]

    def _mean_trust_toward_members(self) -> np.ndarray:
        """Every slot's mean trust toward this month's members and backbone (one pass).

        A slot with nobody else in that group gets its mean trust toward the active
        nonprofits instead. Diagonal entries are 0, so a member's own slot adds nothing.
        """
        trust = self.trust.trust

        def mean_toward(group: list[int]) -> tuple[np.ndarray, np.ndarray]:
            others = np.full(trust.shape[0], float(len(group)))
            others[group] -= 1.0  # nobody counts itself
            sums = trust[:, group].sum(axis=1) if group else np.zeros(trust.shape[0])
            means = np.divide(sums, others, out=np.zeros_like(sums), where=others > 0)
            return means, others

        means, others = mean_toward(self._trust_group)
        if (others <= 0).any():
            fallback, _ = mean_toward([n.slot for n in self._slots if n is not None])
            means = np.where(others > 0, means, fallback)
        return means

    def trust_in_coordinator(self, slot: int) -> float:
        """Trust of ``slot`` in whoever prepares the referral list."""
        if self.backbone is not None:
            return float(self.trust.trust[slot, self.backbone.slot])
        return self.trust_in_members(slot)

    def measurement_precision(self) -> float:
        """Precision of shared measurement in [0, 1] this month.

        shared_measurement x coordination capacity x the share of members who report.
        """
        return self._precision

    def referrals_active(self) -> bool:
        """Whether a shared referral list runs this month."""
        return self.params["mutually_reinforcing"] > 0 and self._coordination > 0

    def policy_advocacy(self) -> float:
        """Advocacy of the organisations' coalition in [0, 1]: its coordination capacity.

        This is how the backbone's role 'advance policy' acts.
        """
        return self._coordination

    def coalition_strength(self) -> float:
        """Strength in [0, 1] of the coalition pushing for policy change.

        Organisations: member share x common_agenda x advocacy. Residents organised on
        their own: mean engagement x the community's organising capacity. Either can
        push; together strength = 1 - (1 - organisations) x (1 - residents).
        """
        organisations = self.aligned_share() * self.params["common_agenda"] * self.policy_advocacy()
        residents = self.mean_engagement() * self.traits.organising_capacity
        return 1.0 - (1.0 - organisations) * (1.0 - residents)

    def mobilise_funding(self) -> float:
        """Backbone funder mobilisation in [0, 1] (0 without a backbone)."""
        return self.backbone.mobilise_funding() if self.backbone is not None else 0.0

    def set_agenda(self) -> None:
        """Mechanism 'common agenda': domain shares the collective works on, revised yearly.

        The agenda follows mean need per domain as the collective reads it: with an
        error of ``agenda_noise`` (relative) per domain that residents' engagement
        shrinks, since engaged residents tell the collective where need is.
        """
        need = self.population.mean_need()
        noise = self.params["agenda_noise"] * (1.0 - self.mean_engagement())
        seen = np.maximum(need * (1.0 + noise * self.rng.standard_normal(need.size)), 0.0)
        total = seen.sum()
        self.agenda = seen / total if total > 0 else np.full(need.size, 1.0 / need.size)

    # --- relationships ------------------------------------------------------------------
    def meetings_per_month(self) -> float:
        """Meetings convened per month: ``communication_frequency`` when someone convenes."""
        p = self.params
        if p["continuous_communication"] <= 0 or self.coordination_capacity(prospective=True) <= 0:
            return 0.0
        return p["communication_frequency"]

    def meeting_length(self) -> float:
        """Length of a meeting relative to a small one: coordination cost grows with size.

        1 + attendees / ``coordination_size`` (members, collective-mode funders, the
        government and the backbone), the growth halved at full backbone capacity.
        """
        attendees = (len(self._member_slots) + 1 + (self.backbone is not None)
                     + len([f for f in self.funders if f.collective_share > 0]))
        capacity = self.backbone.capacity if self.backbone is not None else 0.0
        return 1.0 + attendees / self.params["coordination_size"] * (1.0 - 0.5 * capacity)

    def convene(self) -> None:
        """Mechanism 'continuous communication': this month's convened meetings.

        Members attend with probability attendance_floor + (1 - floor) x alignment;
        collective-mode funders on the agenda and the government always. Each attending
        nonprofit pays the meeting's staff time; every pair of attendees builds trust
        with intensity continuous_communication x (0.5 + 0.5 x coordination) / j for the
        j-th meeting of the month (diminishing returns).
        """
        p = self.params
        self._meeting_debt += self.meetings_per_month()
        n_meetings = int(self._meeting_debt + 1e-9)
        self._meeting_debt -= n_meetings
        if n_meetings == 0:
            return
        length = self.meeting_length()
        depth = p["continuous_communication"] * (0.5 + 0.5 * self.coordination_capacity(True))
        floor = p["attendance_floor"]
        others = [f.slot for f in self.funders if f.collective_share > 0 and f.on_agenda]
        others.append(self.government_slot)
        if self.backbone is not None:
            others.append(self.backbone.slot)
        members = [n for n in (self._slots[s] for s in self._member_slots) if n is not None]
        chance = floor + (1.0 - floor) * np.array([n.alignment for n in members])
        for j in range(1, n_meetings + 1):
            coming = (self.rng.random(chance.size) < chance).tolist()
            attendees = [n for n, c in zip(members, coming, strict=True) if c]
            for n in attendees:
                n.attend_meeting(length)
            self.trust.build(np.array([n.slot for n in attendees] + others, dtype=np.intp),
                             intensity=depth / j)
            self.meetings_held += 1

    def rivalry(self, contests: list[tuple[list[Nonprofit], list[Nonprofit]]]) -> None:
        """Losing a grant to a rival erodes the loser's trust in the winners.

        ``contests`` are one round's (losers, winners), one contest per domain, so no
        pair of nonprofits meets in two of them. Past conflict sharpens it: intensity
        1 + 2 x the community's conflict history.
        """
        self.trust.erode_blocks([([n.slot for n in losers], [n.slot for n in winners])
                                 for losers, winners in contests],
                                intensity=1.0 + 2.0 * self.traits.conflict_history)

    def on_priority_change(self, funder: Funder, old: int, new: int) -> None:
        """A funder moved its own money: broken commitments and mission drift follow.

        Only the focused share of its own money moves (``priority_focus`` of what the
        agenda does not steer: all of its money in isolated mode). Its grantees
        on that money lose trust in it; every non-member short of money outside the new
        domain drifts to it with probability drift_propensity x moved share x
        (1 - alignment), and its former partners lose trust in it.
        """
        p = self.params
        steered = funder.collective_share * p["common_agenda"] * funder.on_agenda
        moved = (1.0 - steered) * p["priority_focus"]
        if moved <= 0:
            return
        grantees = [g.recipient.slot for prog in funder.programs for g in prog.grants
                    if prog.mode == "isolated" or steered < 1.0]
        self.trust.erode(np.array(grantees, dtype=np.intp), np.array([funder.slot]))
        for n in self.nonprofits:
            if n.domain == new or n.is_member or not n.short_of_money:
                continue
            if self.rng.random() < p["drift_propensity"] * moved * (1.0 - n.alignment):
                n.drift_to(new)
                others = self.active_nonprofit_slots()
                self.trust.erode(others[others != n.slot], np.array([n.slot]))

    # --- services -----------------------------------------------------------------------
    def prepare_referrals(self) -> None:
        """Mechanism 'mutually reinforcing activities': the coordinator lists referrals.

        The list is sized to what members may take this month (twice their expected
        referred cases) and read with the coordinator's capacity.
        """
        if not self.referrals_active():
            self.referrals.prepare(self.rng, self.population,
                                   np.zeros(self.params["n_domains"]), 0.0)
            return
        p = self.params
        demand = [0.0] * p["n_domains"]  # Python floats: added to one member at a time
        per_money = 1.0 / p["service_cost"]
        for s in self._member_slots:
            n = self._slots[s]
            if n is None:
                continue
            money = n.monthly_budget + n.reserves / 12.0
            cases = (money if money > 0.0 else 0.0) * per_money + self.volunteer_cases(n)
            # Twice the expected referred cases (n.referral_share(), written out).
            demand[n.domain] += 2.0 * cases * p["mutually_reinforcing"] * n.alignment
        self.referrals.prepare(self.rng, self.population, np.ceil(demand),
                               self.coordination_capacity())

    def draw_nonprofit_chances(self) -> None:
        """The nonprofits' chance events of the month, one block of uniform draws.

        One row per slot, in [0, 1): whether it reviews its membership, the rest of its
        case count, the alignment it brings if it joins and whether it reports into
        shared measurement. Drawn at once, since a scalar draw per event costs more
        than the event; the row of an empty slot goes unused.
        """
        self.month_draws = self.rng.random((len(self._slots), 4)).tolist()

    def draw_case_count(self, expected: float, draw: float) -> int:
        """Whole number of cases with the given expectation (floor plus a Bernoulli rest).

        ``draw`` is the uniform draw in [0, 1) that decides the rest.
        """
        if expected <= 0:
            return 0
        whole = int(expected)
        return whole + (draw < expected - whole)

    def mobilise_latent_resources(self) -> None:
        """Mechanism 'latent community resources': volunteers add cases to nonprofits.

        Residents' resources emerge smoothly as trust among organisations and their own
        engagement rise; active resources supply ``latent_cases_per_resident`` cases per
        resident-unit per month, shared among all nonprofits in proportion to their fixed
        cost.
        """
        p = self.params
        volume = self.population.activate_latent(
            self.rng, self.trust.mean_among(self.active_nonprofit_slots()),
            p["latent_trust_threshold"], p["latent_engagement_threshold"],
            p["latent_activation_width"], p["latent_switch_rate"])
        absorbers = float(sum(n.fixed_cost for n in self.nonprofits))
        cases = float(volume * p["latent_cases_per_resident"])
        self._volunteer_cases = (cases, absorbers)
        per_capacity = cases / absorbers if absorbers > 0 else 0.0
        # Fixed costs near the smallest float (a fixed_cost_share of 1e-320, say) make the
        # rate per unit of capacity overflow; shares of the total stay finite.
        self._volunteer_cases_per_capacity = per_capacity if math.isfinite(per_capacity) else None

    def volunteer_cases(self, nonprofit: Nonprofit) -> float:
        """Expected volunteer cases this month for ``nonprofit``."""
        per_capacity = self._volunteer_cases_per_capacity
        if per_capacity is not None:
            return per_capacity * nonprofit.fixed_cost
        cases, absorbers = self._volunteer_cases
        return cases * (nonprofit.fixed_cost / absorbers)

    def request_cases(self, nonprofit: Nonprofit, cases: int) -> None:
        """Queue ``cases`` cases of ``nonprofit`` for this month's delivery.

        With them go what delivery needs to know of it as it is now: its domain and
        effectiveness, the chance that it accepts a referral (its referral share x its
        trust in the coordinator; 0 for a non-member) and whether it creams when it
        chooses residents itself (non-members, and members without a common agenda).
        """
        share = nonprofit.referral_share()
        accept = share * self.trust_in_coordinator(nonprofit.slot) if share > 0 else 0.0
        cream = not nonprofit.is_member or self.params["common_agenda"] <= 0
        self._requests.append((nonprofit.domain, cases, cream, nonprofit.effectiveness, accept))

    def deliver_services(self) -> None:
        """Mechanisms 'mutually reinforcing activities' and 'caseload choice', then services.

        In the order nonprofits asked: each member's cases come from the referral list
        with its chance of accepting a referral (the list may run short); every other
        case is chosen by the nonprofit itself, all screenings at once. All cases of
        the month are then applied together; duplicated cases are wasted.
        """
        p = self.params
        batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # residents, domain, eff.
        if self._requests:
            domain, cases, cream, effectiveness, accept = (
                np.array(c) for c in zip(*self._requests, strict=True))
            self._requests.clear()
            wanted = self.rng.binomial(cases, accept) if accept.any() else None
            if wanted is not None and wanted.any():
                residents, request, taken = self.referrals.hand_out(domain, wanted)
                if residents.size:
                    batches.append((residents, domain[request], effectiveness[request]))
                cases = cases - taken
            residents, request = choose_caseloads(self.rng, self.population, domain, cases,
                                                  cream, p["candidates_per_case"])
            if residents.size:
                batches.append((residents, domain[request], effectiveness[request]))
        if batches:
            residents, domains, effectiveness = (np.concatenate(parts) for parts in
                                                 zip(*batches, strict=True))
            reduction = p["service_dose"] * effectiveness
            self.duplicates_month = self.population.apply_services(residents, domains, reduction)
            self.cases_month = int(residents.size)
        else:
            self.duplicates_month = self.cases_month = 0
        self.cases_total += self.cases_month
        self.duplicates_total += self.duplicates_month

    def evolve_community(self) -> None:
        """Needs regenerate and spill over; engagement grows with practice and public will."""
        p = self.params
        self.population.regenerate()
        will = self.backbone.public_will() if self.backbone is not None else 0.0
        growth = p["resident_engagement"] * (p["outreach_rate"] + will)
        self.population.update_engagement(growth, p["engagement_decay"])

    # --- results ------------------------------------------------------------------------
    def timeseries(self) -> pd.DataFrame:
        """The per-step table: one row per month from step 0, one column per output."""
        columns = self.datacollector.model_vars
        df = pd.DataFrame({name: columns[name] for name in self._series_columns})
        df.insert(0, "step", np.arange(len(df)))
        return df

    def summary(self) -> dict[str, Any]:
        """The run summary (see ``model.metrics.SUMMARY_FIELDS``)."""
        return summarise(self, self.timeseries())

    def summary_this_step(self) -> dict[str, Any]:
        """The run summary as of this step, computed at most once per step."""
        if self._summary_cache is None or self._summary_cache[0] != self.steps:
            self._summary_cache = (self.steps, self.summary())
        return self._summary_cache[1]
