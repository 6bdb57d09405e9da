"""The collective-impact world as a Mesa model."""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.experimental.scenarios import Scenario

from agents.backbone import Backbone
from agents.funder import Funder
from agents.government import Government
from agents.nonprofit import ALIGNED, Nonprofit
from agents.resident import Resident
from model.ledger import Ledger
from model.metrics import model_reporters, summarise
from model.parameters import domain_names
from model.population import ResidentPopulation
from model.scenarios import make_scenario
from model.trust import TrustNetwork

_BUDGET_SPREAD = 0.4  # lognormal sd of nonprofits' starting budgets
_NONPROFIT_ATTENDANCE = (0.2, 0.8)  # meeting attendance = a + b * alignment


class CollectiveImpactModel(mesa.Model):
    """Nonprofits, funders, government, a backbone and residents, month by month.

    Args:
        scenario: a named scenario (``"collective"``, ``"isolated"``, ...) or a
            ``CollectiveImpactScenario`` object.
        rng: seed of the run; when None the declared ``seed`` parameter is used.
        **params: declared parameters overriding the scenario's values.

    Raises:
        ParameterError: before anything is built, for an unknown scenario or parameter,
            a wrong type or a value out of range.
    """

    def __init__(self, scenario: str | Scenario = "collective", rng: Any = None,
                 **params: Any) -> None:
        validated = make_scenario(scenario, rng=rng, **params)
        super().__init__(scenario=validated)
        self.params: dict[str, Any] = validated.parameters()
        p = self.params
        self.domains = domain_names(p["n_domains"])
        self.collective_share = {"isolated": 0.0, "collective": 1.0,
                                 "hybrid": p["hybrid_collective_share"]}[p["regime"]]
        self.ledger = Ledger()
        self.closures = 0
        self.entries = 0
        self.cases_month = self.duplicates_month = 0
        self.cases_total = self.duplicates_total = 0
        self._cases: list[tuple[np.ndarray, int, float]] = []
        self._volunteer_cases_per_capacity = 0.0

        self.population = ResidentPopulation(self.rng, p)
        self.residents = [Resident(self, i) for i in range(p["n_residents"])]

        n_np, n_f = p["n_nonprofits"], p["n_funders"]
        self.funder_slots = np.arange(n_np, n_np + n_f)
        self.government_slot = n_np + n_f
        self.backbone_slot = n_np + n_f + 1
        self.trust = TrustNetwork(n_np + n_f + 2, p["initial_trust"], p["trust_build_rate"],
                                  p["trust_erosion_ratio"], p["trust_decay"])

        public = p["government_share"] * p["total_funding"]
        private = p["total_funding"] - public
        # Funders pay the backbone out of their collective money: no such money, no backbone.
        backbone_money = min(p["backbone_funding"] * p["total_funding"], private)
        backbone_money *= self.collective_share
        self.backbone = Backbone(self, self.backbone_slot) if backbone_money > 0 else None
        if self.backbone is None:
            self.trust.deactivate(self.backbone_slot)
        self.mean_budget = max(0.0, p["total_funding"] - backbone_money) / 12.0 / n_np
        self.award_monthly = p["grant_size_share"] * self.mean_budget

        first_priorities = self.rng.integers(0, p["n_domains"], size=n_f)
        self.funders = [
            Funder(self, int(self.funder_slots[i]), private / n_f, self.collective_share,
                   int(first_priorities[i]), offset=(12 * i) // n_f)
            for i in range(n_f)
        ]
        self.government = Government(self, self.government_slot, public)

        # The field has grown up around the status quo's money (funders' own priorities and
        # public money by need), whatever regime starts now: every scenario starts from it.
        status_quo = np.zeros(p["n_domains"])
        np.add.at(status_quo, first_priorities, private / n_f)
        need = self.population.mean_need()
        if need.sum() > 0:
            status_quo += public * need / need.sum()
        self._slots: list[Nonprofit | None] = [None] * n_np
        for slot in range(n_np):
            domain = self._founding_domain(status_quo)
            self._slots[slot] = self._new_nonprofit(slot, domain, established=True)
        for grant_maker in (*self.funders, self.government):
            grant_maker.run_due_rounds()  # the portfolio already running at month 0

        self.datacollector = mesa.DataCollector(model_reporters=model_reporters(self.domains))
        self.datacollector.collect(self)

    # --- the month ----------------------------------------------------------------------
    def step(self) -> None:
        """One month: fund, convene, serve, let the community evolve, exit and entry, collect."""
        self.ledger.start_month()
        self.agents_by_type[Funder].shuffle_do("step")
        self.government.step()
        if self.backbone is not None:
            self.backbone.step()
        self.mobilise_latent_resources()
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
        """Share of active nonprofits with alignment >= 0.5."""
        nps = self.nonprofits
        return sum(n.alignment >= ALIGNED for n in nps) / len(nps) if nps else 0.0

    def mean_engagement(self) -> float:
        """Mean resident engagement in [0, 1]."""
        return float(self.population.engagement.mean())

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
        weights = 0.8 * money / money.sum() + 0.2 / k if money.sum() > 0 else np.full(k, 1 / k)
        return int(self.rng.choice(k, p=weights / weights.sum()))

    def _new_nonprofit(self, slot: int, domain: int, established: bool) -> Nonprofit:
        """A nonprofit with fresh attributes: potential effectiveness, pitch, budget.

        Established nonprofits (those present at month 0) work at their potential;
        entrants start at ``entrant_experience`` of it.
        """
        p, rng = self.params, self.rng
        effectiveness = float(rng.beta(4.0, 4.0))
        # Pitch shares only ``pitch_effectiveness_corr`` of its variation with effectiveness.
        z_eff = (effectiveness - 0.5) / 0.167
        c = p["pitch_effectiveness_corr"]
        z_pitch = c * z_eff + np.sqrt(1.0 - c * c) * rng.normal()
        pitch = float(1.0 / (1.0 + np.exp(-z_pitch)))
        budget = self.mean_budget * float(rng.lognormal(-_BUDGET_SPREAD**2 / 2, _BUDGET_SPREAD))
        experience = 1.0 if established else p["entrant_experience"]
        return Nonprofit(self, slot, domain, effectiveness, pitch, budget, experience)

    def close_nonprofit(self, nonprofit: Nonprofit) -> None:
        """Mechanism 'exit': the nonprofit closes; its grants stop and its slot empties."""
        for grant in list(nonprofit.grants):
            grant.payer.cancel_grants_to(nonprofit)
        nonprofit.grants.clear()
        self._slots[nonprofit.slot] = None
        self.trust.deactivate(nonprofit.slot)
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

    # --- relationships ------------------------------------------------------------------
    def hold_meeting(self, backbone: Backbone) -> None:
        """One convened meeting: attendees pay its time and build trust with each other."""
        a, b = _NONPROFIT_ATTENDANCE
        attendees = [n for n in self.nonprofits if self.rng.random() < a + b * n.alignment]
        for n in attendees:
            n.attend_meeting()
        slots = [n.slot for n in attendees]
        slots += [f.slot for f in self.funders if f.collective_share > 0]
        slots += [self.government_slot, backbone.slot]
        self.trust.build(np.array(slots, dtype=np.intp))

    def rivalry(self, losers: list[Nonprofit], winners: list[Nonprofit]) -> None:
        """Losing a grant to a rival erodes the loser's trust in the winners."""
        if losers and winners:
            self.trust.erode(np.array([n.slot for n in losers]),
                             np.array([n.slot for n in winners]))

    def trust_in_collective(self, slot: int) -> float:
        """Mean trust of ``slot`` toward aligned nonprofits and the backbone."""
        # Called by every nonprofit every month: read alignment directly (same as is_aligned).
        members = [n.slot for n in self._slots if n is not None and n.alignment >= ALIGNED]
        if self.backbone is not None:
            members.append(self.backbone.slot)
        return self.trust.toward(slot, members)

    def on_priority_change(self, funder: Funder, old: int, new: int) -> None:
        """A funder moved its money: broken commitments and mission drift follow.

        Its current isolated-mode grantees lose trust in it; every unaligned nonprofit
        outside the new domain that is short of money drifts to it with probability
        drift_propensity x (1 - alignment), and its former partners lose trust in it.
        """
        p = self.params
        grantees = [g.recipient.slot for prog in funder.programs if prog.mode == "isolated"
                    for g in prog.grants]
        self.trust.erode(np.array(grantees, dtype=np.intp), np.array([funder.slot]))
        for n in self.nonprofits:
            if n.domain == new or n.is_aligned or not n.short_of_money:
                continue
            if self.rng.random() < p["drift_propensity"] * (1.0 - n.alignment):
                n.drift_to(new)
                others = self.active_nonprofit_slots()
                self.trust.erode(others[others != n.slot], np.array([n.slot]))

    # --- backbone roles seen from the rest of the model ---------------------------------
    def shared_measurement(self) -> float:
        """Precision of shared measurement in [0, 1] (0 without a backbone)."""
        return self.backbone.measurement_capacity() if self.backbone is not None else 0.0

    def policy_advocacy(self) -> float:
        """Backbone advocacy in [0, 1] (0 without a backbone)."""
        return self.backbone.policy_advocacy() if self.backbone is not None else 0.0

    def mobilise_funding(self) -> float:
        """Backbone funder mobilisation in [0, 1] (0 without a backbone)."""
        return self.backbone.mobilise_funding() if self.backbone is not None else 0.0

    def common_agenda(self) -> np.ndarray:
        """Domain shares of collective money: proportional to mean need per domain."""
        need = self.population.mean_need()
        total = need.sum()
        return need / total if total > 0 else np.full(need.size, 1.0 / need.size)

    # --- services -----------------------------------------------------------------------
    def aligned_capacity_by_domain(self) -> np.ndarray:
        """Upper bound of cases per domain that aligned nonprofits may take this month."""
        demand = np.zeros(self.params["n_domains"])
        cost = self.params["service_cost"]
        for n in self.nonprofits:
            if n.is_aligned:
                money = max(n.fixed_cost, n.smoothed_income) + n.reserves / 12.0
                demand[n.domain] += 2.0 * max(0.0, money) / cost + 2.0 * self.volunteer_cases(n)
        return np.ceil(demand)

    def draw_case_count(self, expected: float) -> int:
        """Whole number of cases with the given expectation (floor plus a Bernoulli rest)."""
        if expected <= 0:
            return 0
        whole = int(expected)
        return whole + int(self.rng.random() < expected - whole)

    def mobilise_latent_resources(self) -> None:
        """Mechanism 'latent community resources': volunteers add cases to aligned nonprofits.

        Once trust among organisations and residents' engagement pass their thresholds,
        active resources supply ``latent_cases_per_resident`` cases per resident-unit per
        month, shared among aligned nonprofits in proportion to their fixed cost.
        """
        p = self.params
        volume = self.population.activate_latent(
            self.trust.mean_among(self.active_nonprofit_slots()),
            p["latent_trust_threshold"], p["latent_engagement_threshold"])
        absorbers = sum(n.fixed_cost for n in self.nonprofits if n.is_aligned)
        cases = volume * p["latent_cases_per_resident"]
        self._volunteer_cases_per_capacity = cases / absorbers if absorbers > 0 else 0.0

    def volunteer_cases(self, nonprofit: Nonprofit) -> float:
        """Expected volunteer cases this month for ``nonprofit`` (aligned ones only)."""
        if not nonprofit.is_aligned:
            return 0.0
        return self._volunteer_cases_per_capacity * nonprofit.fixed_cost

    def record_cases(self, residents: np.ndarray, domain: int, effectiveness: float) -> None:
        """Queue a nonprofit's cases for delivery at the end of the month."""
        if residents.size:
            self._cases.append((residents, domain, effectiveness))

    def deliver_services(self) -> None:
        """Apply all cases of the month at once; duplicated cases are wasted."""
        dose = self.params["service_dose"]
        if self._cases:
            sizes = [c[0].size for c in self._cases]
            residents = np.concatenate([c[0] for c in self._cases])
            domains = np.repeat([c[1] for c in self._cases], sizes)
            reduction = np.repeat([dose * c[2] for c in self._cases], sizes)
            self.duplicates_month = self.population.apply_services(residents, domains, reduction)
            self.cases_month = int(residents.size)
        else:
            self.duplicates_month = self.cases_month = 0
        self.cases_total += self.cases_month
        self.duplicates_total += self.duplicates_month
        self._cases.clear()

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
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "step", np.arange(len(df)))
        return df

    def summary(self) -> dict[str, Any]:
        """The run summary (see ``model.metrics.SUMMARY_FIELDS``)."""
        return summarise(self, self.timeseries())
