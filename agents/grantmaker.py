"""What funders and government share: paying grants and running grant rounds."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.grants import Grant, GrantProgram, Judging, award_sizes, run_contest

if TYPE_CHECKING:
    from agents.nonprofit import Nonprofit
    from model.core import CollectiveImpactModel


class GrantMaker(mesa.Agent, abc.ABC):
    """An organisation that pays grants out of a yearly budget.

    Attributes:
        slot: index in the organisations' trust network.
        base_budget: money/year it started with.
        budget: money/year it currently commits (funders adjust it with commitment).
        programs: its grant programmes (one per mode it runs).
        paid_out: cumulative money paid to recipients.
    """

    compliance_share = 0.0  # share of each instalment recipients spend on compliance

    def __init__(self, model: CollectiveImpactModel, slot: int, budget: float) -> None:
        super().__init__(model)
        self.slot = slot
        self.base_budget = budget
        self.budget = budget
        self.programs: list[GrantProgram] = []
        self.paid_out = 0.0

    # --- paying -----------------------------------------------------------------------
    def pay(self, recipient, amount: float, compliance_share: float = 0.0) -> None:
        """Transfer ``amount`` to a nonprofit or the backbone, recording both sides."""
        if amount <= 0:
            return
        self.paid_out += amount
        self.model.ledger.record_paid(amount)
        recipient.receive(amount, compliance_share)

    def pay_grants(self) -> None:
        """Pay this month's instalments, spend the rest of the month's money, drop ended grants.

        Equal money: a programme pays out its whole monthly budget. What running grants
        do not take (money freed by a closure, or not yet awarded because the next round
        is weeks away) goes to the programme's current grantees as supplements, in
        proportion to their grants; with no grantee at all it is carried to the next month.
        """
        compliance = self.compliance_share
        for program in self.programs:
            grants = program.grants
            available = self.program_budget_monthly(program) + program.carried
            committed = program.committed_monthly()
            spare = available - committed
            top_up = spare / committed if committed > 0 and spare > 0 else 0.0
            program.carried = spare if committed <= 0 and spare > 0 else 0.0
            factor = 1.0 + top_up
            for grant in grants:
                # Recipients record their side one by one; the payer its total below.
                grant.recipient.receive(grant.monthly * factor, compliance)
                grant.months_left -= 1
            program.grants = [g for g in grants if g.months_left > 0]
            if len(program.grants) < len(grants):  # some grants ended this month
                for grant in grants:
                    if grant.months_left <= 0:
                        grant.recipient.end_grant(grant)
            paid = committed * factor
            if paid > 0:
                self.paid_out += paid
                self.model.ledger.record_paid(paid)

    def cancel_grants_to(self, nonprofit: Nonprofit) -> None:
        """Stop paying a nonprofit that closed (the money stays with the grant maker)."""
        for program in self.programs:
            program.grants = [g for g in program.grants if g.recipient is not nonprofit]

    # --- rounds -----------------------------------------------------------------------
    def program_budget_monthly(self, program: GrantProgram) -> float:
        """Money per month that ``program`` may commit to grants."""
        return program.share * self.budget / 12.0

    def run_due_rounds(self) -> None:
        """Run every programme whose round falls in this month."""
        now = self.model.steps
        for program in self.programs:
            if now >= program.next_round:
                program.next_round = now + program.round_interval
                program.rounds_run += 1
                self.run_round(program)

    def run_round(self, program: GrantProgram) -> None:
        """Award the programme's uncommitted money, domain by domain, by contest."""
        free = self.program_budget_monthly(program) - program.committed_monthly()
        if free <= 0:
            return
        # Money as Python floats from here on: grants are paid and summed every month.
        weights = self.domain_weights(program).tolist()
        model = self.model
        p = model.params
        judging = self.judging(program)  # a fresh object: this round may set its fields
        # Reviewers' prior is the population's; the month-0 round stands for grants won
        # in the past, so nobody pays for it now.
        judging.prior_mean, judging.prior_sd = p["effectiveness_mean"], p["effectiveness_sd"]
        if program.rounds_run == 1:
            judging.effort_power = 0.0
        seekers = model.grant_seekers_by_domain()  # a nonprofit works in one domain only
        contests: list[tuple[list[Nonprofit], list[Nonprofit]]] = []  # (losers, winners)
        for domain, weight in enumerate(weights):
            if not weight > 0:
                continue
            applicants = seekers[domain]
            awards = award_sizes(free * weight, model.award_monthly, len(applicants))
            winners, losers = run_contest(
                model.rng, applicants, awards, program.grant_months, judging
            )
            for nonprofit, monthly in winners:
                months = self.grant_length(program)
                grant = Grant(self, nonprofit, monthly, months, program.mode)
                program.grants.append(grant)
                nonprofit.add_grant(grant)
            if program.rounds_run > 1:  # the month-0 portfolio was won in the past
                won = [nonprofit for nonprofit, _ in winners]
                contests.append((losers, won))
                model.record_applications(won, losers)
        if contests:
            model.rivalry(contests)

    def grant_length(self, program: GrantProgram) -> int:
        """Months of a new grant; the first round staggers grant ends.

        The world starts mid-stream: the first round (at month 0) stands for the
        portfolio already running, so its grants end after 1, 2, ... round
        intervals at random and a share of the money comes up for renewal every round.
        """
        if program.rounds_run > 1 or program.grant_months <= program.round_interval:
            return program.grant_months
        n_tranches = -(-program.grant_months // program.round_interval)
        tranche = int(self.model.rng.integers(1, n_tranches + 1))
        return min(program.grant_months, tranche * program.round_interval)

    @abc.abstractmethod
    def domain_weights(self, program: GrantProgram) -> np.ndarray:
        """Share of a round's money per domain (sums to 1)."""

    @abc.abstractmethod
    def judging(self, program: GrantProgram) -> Judging:
        """How this grant maker's reviewers score applications in ``program`` (a new object)."""
