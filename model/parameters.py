"""The one declaration of every model parameter.

Each parameter is declared exactly once here, with its unit, default, valid
range (or choices) and a one-line meaning. The model, the validation, the
command line, the sweep designs and the documentation all read this table;
nothing else in the project restates a default or a bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

REGIMES: tuple[str, ...] = ("isolated", "collective", "hybrid")

#: Names given to the need domains, in order; a model with K domains uses the first K.
DOMAIN_NAMES: tuple[str, ...] = (
    "education",
    "health",
    "housing",
    "employment",
    "income",
    "safety",
    "food",
    "transport",
)


class ParameterError(ValueError):
    """A parameter value, name or type that the model refuses.

    The message always names the parameter, the value given and what is allowed.
    """


@dataclass(frozen=True)
class Parameter:
    """One declared model parameter.

    Attributes:
        name: Identifier used everywhere (keyword argument, CLI ``--set``, sweep files).
        kind: ``"int"``, ``"float"`` or ``"choice"``.
        default: Value used when nothing overrides it.
        unit: Unit of measure, in words (``"share"``, ``"meetings/month"``...).
        description: One-line meaning.
        minimum: Smallest valid value (numeric kinds), inclusive.
        maximum: Largest valid value (numeric kinds), inclusive.
        choices: Valid values (choice kind).
        group: ``"core"`` for the world, money and practice users set, ``"condition"``
            for the five conditions of collective impact, ``"community"`` for the
            priors of communities' hidden traits, ``"mechanism"`` for the behavioural
            and calibration constants of the submodels.
    """

    name: str
    kind: str
    default: Any
    unit: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    group: str = "core"

    @property
    def allowed(self) -> str:
        """Describe the valid values in words, for error messages and docs."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices or ())
        kind = "an integer" if self.kind == "int" else "a number"
        return f"{kind} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"

    @property
    def is_numeric(self) -> bool:
        """Whether the parameter takes a number (and so has bounds)."""
        return self.kind in ("int", "float")

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ParameterError."""
        if self.kind == "choice":
            if not isinstance(value, str) or value not in (self.choices or ()):
                raise self._error(value)
            return value
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            # Strings, None, lists and booleans are refused rather than guessed at.
            raise self._error(value)
        if isinstance(value, np.number):
            value = value.item()  # NumPy scalars (from sample tables) become plain numbers
        if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
            raise self._error(value)
        if self.kind == "int":
            if isinstance(value, float):
                if not value.is_integer():
                    raise self._error(value)
                value = int(value)
            value = int(value)
        else:
            value = float(value)
        if not (self.minimum <= value <= self.maximum):
            raise self._error(value)
        return value

    def parse(self, text: str) -> Any:
        """Parse a command-line string (as in ``--set name=value``) and validate it."""
        if self.kind == "choice":
            return self.validate(text)
        try:
            number: float | int = int(text) if self.kind == "int" else float(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise self._error(text) from None
        return self.validate(number)

    def _error(self, value: Any) -> ParameterError:
        return ParameterError(f"parameter '{self.name}': got {value!r}; allowed: {self.allowed}")


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:g}"


def _p(name, kind, default, unit, description, lo=None, hi=None, choices=None, group="core"):
    return Parameter(name, kind, default, unit, description, lo, hi, choices, group)


# fmt: off
PARAMETERS: tuple[Parameter, ...] = (
    # --- world size and horizon ---------------------------------------------------------
    _p("n_residents", "int", 2000, "residents", "Number of residents in the community.", 1, 1_000_000),
    _p("n_nonprofits", "int", 40, "organisations", "Number of nonprofit slots (closed ones may be refilled by entrants).", 1, 1000),
    _p("n_funders", "int", 6, "organisations", "Number of private/philanthropic funders.", 1, 100),
    _p("n_domains", "int", 4, "domains", "Number of interdependent need domains (education, health, housing, employment, ...).", 1, len(DOMAIN_NAMES)),
    _p("marginalised_share", "float", 0.30, "share of residents", "Share of residents who are marginalised (higher needs, lower access).", 0.0, 1.0),
    _p("steps", "int", 120, "months", "Length of a run.", 1, 1200),
    _p("seed", "int", 20240601, "-", "Seed of the run, any integer from 0 to 2**63 - 1 (rng=SEED does the same). With neither given, the run draws a fresh seed from OS entropy and records it (summary field seed); the default serves only as the experiment tools' master seed.", 0, 2**63 - 1),
    # --- money and the funders' grant practice ------------------------------------------
    _p("total_funding", "float", 5_000_000.0, "money/year", "Money put in per year by funders and government together; one pool for grants, public money and the backbone, equal across scenarios.", 0.0, 1e12),
    _p("regime", "choice", "collective", "-", "Funders' grant practice: isolated (open competitive 1-year grants on their own priorities), collective (multi-year grants on the common agenda, members preferred) or hybrid.", choices=REGIMES),
    _p("hybrid_collective_share", "float", 0.5, "share of funder money", "Under the hybrid regime, the share of each funder's money run in collective mode.", 0.0, 1.0),
    _p("backbone_funding", "float", 0.05, "share of total_funding", "Share of the yearly pool that funders pay the backbone organisation (taken from the same pool; unused when there is no backbone).", 0.0, 0.5),
    _p("backbone_funding_months", "int", 1200, "months", "Months the funders pay the backbone (a start-up grant when shorter than the run); afterwards its money goes to grants and members coordinate themselves.", 1, 1200),
    _p("collective_practice_months", "int", 1200, "months", "Months funders run their collective-mode money as collective practice (a start-up programme when shorter than the run); afterwards it goes to open competitive rounds.", 1, 1200),
    _p("government_share", "float", 0.20, "share of total_funding", "Share of the yearly pool that flows through government grants.", 0.0, 1.0),
    _p("priority_cycle_years", "float", 3.0, "years", "How often each funder changes the priority domain of its own (isolated-mode) money.", 0.25, 100.0),
    _p("priority_focus", "float", 0.6, "share of own money", "Share of a funder's own (isolated-mode) money on its current priority domain; the rest is spread evenly over all domains.", 0.0, 1.0),
    _p("funder_commitment", "float", 0.0, "strength in [0, 1]", "Funder commitment: funders grow or shrink budgets on the progress they see (0 = off, so every scenario has the same money; the money then mobilised is reported).", 0.0, 1.0),
    # --- the five conditions of collective impact (0 absent, 1 full) --------------------
    _p("common_agenda", "float", 1.0, "strength in [0, 1]", "Common agenda: a shared view of the problem that members adopt and collective-mode funders fund (0 = none).", 0.0, 1.0, group="condition"),
    _p("shared_measurement", "float", 1.0, "strength in [0, 1]", "Shared measurement: members report to one data system that funders and members read (0 = none).", 0.0, 1.0, group="condition"),
    _p("mutually_reinforcing", "float", 1.0, "strength in [0, 1]", "Mutually reinforcing activities: share of members' cases taken from a shared, de-duplicated referral list (0 = none).", 0.0, 1.0, group="condition"),
    _p("continuous_communication", "float", 1.0, "strength in [0, 1]", "Continuous communication: depth of convened meetings among members, funders and government (0 = no convening).", 0.0, 1.0, group="condition"),
    _p("backbone", "float", 1.0, "strength in [0, 1]", "Backbone organisation: its mandate, the share of its six roles it is set up to fill; it exists when this and backbone_funding are above 0.", 0.0, 1.0, group="condition"),
    # --- relationships and practice -----------------------------------------------------
    _p("initial_trust", "float", 0.30, "trust in [0, 1]", "Mean starting trust between organisations (spread around it by community_variation).", 0.0, 1.0),
    _p("communication_frequency", "float", 2.0, "meetings/month", "Meetings convened per month under continuous communication (fractions mean some months have none).", 0.0, 30.0),
    _p("resident_engagement", "float", 0.5, "practice level in [0, 1]", "Inclusive practice: how strongly organisations involve residents with lived experience.", 0.0, 1.0),
    _p("measurement_quality", "float", 0.5, "quality in [0, 1]", "Quality of the outcome data each nonprofit has on its own, without shared measurement (1 = noiseless).", 0.0, 1.0),
    _p("complementarity", "float", -2.0, "CES exponent rho", "Substitution between domains in wellbeing: rho < 0 complements (all domains needed), rho = 1 substitutes.", -10.0, 1.0),
    # --- communities differ: priors of each community's unobserved traits ---------------
    _p("community_variation", "float", 1.0, "share of prior spread", "How much communities differ: scales the spread of every community trait around its prior mean (0 = one typical community).", 0.0, 1.0, group="community"),
    _p("backbone_competence_mean", "float", 0.6, "competence in [0, 1]", "Prior mean of the backbone staff's competence: the share of bought capacity that turns into useful work (Beta prior).", 0.01, 0.99, group="community"),
    _p("backbone_competence_sd", "float", 0.2, "competence", "Prior spread of backbone competence between communities.", 0.0, 0.49, group="community"),
    _p("funder_fidelity_mean", "float", 0.85, "probability", "Prior mean of a collective-mode funder's yearly chance of keeping its money on the common agenda (Beta prior).", 0.01, 0.99, group="community"),
    _p("funder_fidelity_sd", "float", 0.1, "probability", "Prior spread of funder fidelity between communities.", 0.0, 0.49, group="community"),
    _p("conflict_history_mean", "float", 0.2, "level in [0, 1]", "Prior mean of past conflict among organisations: trust erodes faster after rivalry and unequal benefits, by 1 + 2 x conflict (Beta prior).", 0.01, 0.99, group="community"),
    _p("conflict_history_sd", "float", 0.15, "level", "Prior spread of conflict history between communities.", 0.0, 0.49, group="community"),
    _p("political_opportunity_sd", "float", 0.5, "log-scale sd", "Spread between communities of how often political windows open (lognormal multiplier with mean 1 on window_rate).", 0.0, 3.0, group="community"),
    _p("organising_capacity_mean", "float", 0.3, "capacity in [0, 1]", "Prior mean of residents' capacity to organise for policy on their own (Beta prior).", 0.01, 0.99, group="community"),
    _p("organising_capacity_sd", "float", 0.15, "capacity", "Prior spread of organising capacity between communities.", 0.0, 0.49, group="community"),
    _p("initial_trust_sd", "float", 0.1, "trust", "Spread of starting trust: of the community's mean around initial_trust, and of each pair around that mean (both times community_variation).", 0.0, 0.5, group="community"),
    _p("funder_turnover_rate", "float", 0.05, "1/year", "Yearly chance that a funder is replaced (new leadership or a new funder): new priority, trust starting afresh, a year off the agenda.", 0.0, 1.0, group="community"),
    _p("window_rate", "float", 0.02, "1/month", "Mean monthly chance that a political window opens (about one every four years).", 0.0, 1.0, group="community"),
    _p("window_months", "float", 12.0, "months", "Mean length of an open political window.", 1.0, 120.0, group="community"),
    _p("agenda_noise", "float", 0.3, "share of mean need", "Error of the common agenda's reading of need per domain when residents are not engaged (engagement shrinks it).", 0.0, 2.0, group="community"),
    # --- membership: each nonprofit's own choice ----------------------------------------
    _p("membership_review_months", "float", 6.0, "months", "Mean time between a nonprofit's reviews of whether to be a member (reviews fall at random months).", 1.0, 120.0, group="mechanism"),
    _p("funder_preference_value", "float", 0.15, "share of monthly budget", "Value a nonprofit puts on collective-mode funders' preference for members, at full collective funding and agenda.", 0.0, 2.0, group="mechanism"),
    _p("referral_value", "float", 0.15, "share of monthly budget", "Value of the shared referral list to a member who fully trusts it (better-targeted, undoubled cases).", 0.0, 2.0, group="mechanism"),
    _p("data_value", "float", 0.10, "share of monthly budget", "Value of shared outcome data to a member who trusts the other reporters (learning, evidence for funders).", 0.0, 2.0, group="mechanism"),
    _p("reporting_cost", "float", 0.03, "share of monthly budget", "Monthly cost of reporting into shared measurement at full strength, paid by members who share data.", 0.0, 1.0, group="mechanism"),
    _p("autonomy_cost_mean", "float", 0.06, "share of monthly budget", "Mean felt cost of giving up autonomy and mission fit to a full common agenda (each nonprofit draws its own).", 0.0, 2.0, group="mechanism"),
    _p("join_threshold_sd", "float", 0.05, "share of monthly budget", "Spread between nonprofits of the net benefit they need before they join.", 0.0, 1.0, group="mechanism"),
    _p("membership_hysteresis", "float", 0.03, "share of monthly budget", "How far below its joining threshold a member's net benefit must fall before it leaves.", 0.0, 1.0, group="mechanism"),
    _p("referral_noise", "float", 0.3, "need units", "Error of the coordinator's reading of a resident's need with no capacity and no engagement.", 0.0, 2.0, group="mechanism"),
    _p("self_organised_capacity", "float", 0.15, "capacity in [0, 1]", "Coordination capacity of a coalition with no backbone (members coordinate in their spare time).", 0.0, 1.0, group="mechanism"),
    # --- mechanism constants ------------------------------------------------------------
    _p("structural_logit_others", "float", -0.9, "logit of need", "Centre of structural need of residents who are not marginalised, on the logit scale.", -10.0, 10.0, group="mechanism"),
    _p("structural_logit_marginalised", "float", -0.1, "logit of need", "Centre of structural need of marginalised residents, on the logit scale.", -10.0, 10.0, group="mechanism"),
    _p("person_need_sd", "float", 0.7, "logit sd", "Spread of a person's severity shared by all domains (multi-domain need).", 0.0, 5.0, group="mechanism"),
    _p("domain_need_sd", "float", 0.5, "logit sd", "Spread of need specific to each domain of a person.", 0.0, 5.0, group="mechanism"),
    _p("engagement_start_others", "float", 0.2, "engagement in [0, 1]", "Mean starting engagement of residents who are not marginalised (Beta with concentration 10).", 0.01, 0.99, group="mechanism"),
    _p("engagement_start_marginalised", "float", 0.13, "engagement in [0, 1]", "Mean starting engagement of marginalised residents (Beta with concentration 11.5).", 0.01, 0.99, group="mechanism"),
    _p("need_regeneration", "float", 0.06, "1/month", "Rate at which each need drifts back toward its structural level.", 0.0, 1.0, group="mechanism"),
    _p("need_spillover", "float", 0.015, "1/month", "Push of unmet need in a person's other domains (their mean) onto a domain.", 0.0, 0.5, group="mechanism"),
    _p("service_cost", "float", 5000.0, "money/case", "Cost of serving one resident in one domain for one month.", 1.0, 1e7, group="mechanism"),
    _p("service_dose", "float", 0.25, "share of need", "Share of a need removed by one case from a fully effective nonprofit.", 0.0, 1.0, group="mechanism"),
    _p("marginalised_access", "float", 0.35, "probability", "Chance that a marginalised resident with no engagement can be reached by a service.", 0.0, 1.0, group="mechanism"),
    _p("effectiveness_mean", "float", 0.5, "share of a full dose", "Mean potential effectiveness of nonprofits (Beta prior, also the reviewers' prior belief).", 0.01, 0.99, group="mechanism"),
    _p("effectiveness_sd", "float", 1.0 / 6.0, "share of a full dose", "Spread of potential effectiveness between nonprofits (1/6 is Beta(4, 4)).", 0.001, 0.49, group="mechanism"),
    _p("budget_spread", "float", 0.4, "log-scale sd", "Spread of nonprofits' founding budgets (lognormal with mean 1 times the mean budget).", 0.0, 3.0, group="mechanism"),
    _p("pitch_effectiveness_corr", "float", 0.15, "correlation", "Correlation between a nonprofit's grant-writing skill and its true effectiveness.", -1.0, 1.0, group="mechanism"),
    _p("grant_size_share", "float", 1.0, "share of mean budget", "Size of one award as a share of the mean nonprofit yearly budget.", 0.01, 5.0, group="mechanism"),
    _p("isolated_grant_months", "int", 12, "months", "Length of a grant from a funder in isolated mode.", 1, 120, group="mechanism"),
    _p("collective_grant_months", "int", 36, "months", "Length of a grant from a funder in collective mode.", 1, 120, group="mechanism"),
    _p("round_interval_months", "int", 3, "months", "Months between a funder's grant rounds (each round awards the money freed since the last).", 1, 60, group="mechanism"),
    _p("government_grant_months", "int", 24, "months", "Length of a government grant; government runs a round every half of it.", 1, 120, group="mechanism"),
    _p("compliance_overhead", "float", 0.10, "share of grant", "Share of each government grant instalment spent on compliance and reporting.", 0.0, 0.9, group="mechanism"),
    _p("review_noise", "float", 0.6, "std of signal", "Noise of a reviewer's outcome signal when measurement quality is 0.", 0.0, 5.0, group="mechanism"),
    _p("pitch_weight", "float", 4.0, "log-odds per unit", "Weight of grant-writing skill in how reviewers score an application.", 0.0, 10.0, group="mechanism"),
    _p("outcome_weight", "float", 2.0, "log-odds per unit", "Weight of the (noisy) outcome signal in how reviewers score an application.", 0.0, 10.0, group="mechanism"),
    _p("member_preference_weight", "float", 2.0, "log-odds", "Score bonus collective-mode reviewers give a member of the collective (times common_agenda and its alignment).", 0.0, 10.0, group="mechanism"),
    _p("effort_sway", "float", 0.5, "Tullock exponent r", "How much application effort sways reviewers in open rounds; the field burns about r (n-1)/n of each prize.", 0.0, 1.0, group="mechanism"),
    _p("max_seeking_share", "float", 0.5, "share of monthly budget", "Most a nonprofit spends on grant applications in one month, as a share of its monthly budget.", 0.0, 10.0, group="mechanism"),
    _p("meeting_time_share", "float", 0.02, "share of monthly budget", "Staff time (with preparation) a nonprofit spends per meeting attended, as a share of its monthly budget.", 0.0, 1.0, group="mechanism"),
    _p("attendance_floor", "float", 0.2, "probability", "Chance that a member with alignment 0 attends a meeting; it rises linearly to 1 at full alignment.", 0.0, 1.0, group="mechanism"),
    _p("coordination_size", "float", 15.0, "attendees", "Meeting size at which meetings take twice as long (coordination costs grow with membership; a backbone halves the growth).", 1.0, 1000.0, group="mechanism"),
    _p("trust_build_rate", "float", 0.04, "1/contact", "a+: trust gained per unit of contact, times (1 - trust).", 0.0, 1.0, group="mechanism"),
    _p("trust_erosion_ratio", "float", 3.0, "ratio", "a-/a+: how much faster trust erodes than it builds.", 0.0, 20.0, group="mechanism"),
    _p("trust_decay", "float", 0.01, "1/month", "Relative decay of trust between organisations with no contact in a month.", 0.0, 1.0, group="mechanism"),
    _p("alignment_rate", "float", 0.08, "1/month", "Speed at which a member's alignment grows with the agenda, guidance and its trust in the collective.", 0.0, 1.0, group="mechanism"),
    _p("alignment_decay", "float", 0.02, "1/month", "Relative decay of alignment when nothing sustains it (and for non-members).", 0.0, 1.0, group="mechanism"),
    _p("drift_propensity", "float", 0.5, "probability", "Chance that an unaligned nonprofit short of money switches domain to a funder's new priority.", 0.0, 1.0, group="mechanism"),
    _p("drift_effectiveness_loss", "float", 0.25, "share", "Share of effectiveness lost by a nonprofit that switches domain.", 0.0, 1.0, group="mechanism"),
    _p("drift_cost_months", "float", 3.0, "months of fixed cost", "One-off cost of retooling (hiring, training) paid by a nonprofit that switches domain.", 0.0, 60.0, group="mechanism"),
    _p("entrant_experience", "float", 0.6, "share of potential", "Effectiveness of a newly founded nonprofit as a share of its potential.", 0.0, 1.0, group="mechanism"),
    _p("experience_months", "float", 24.0, "months", "Time scale over which an entrant's effectiveness approaches its potential.", 1.0, 600.0, group="mechanism"),
    _p("learning_rate", "float", 0.02, "1/month", "Rate at which a nonprofit improves from outcome data of perfect quality (times its data quality).", 0.0, 1.0, group="mechanism"),
    _p("learning_headroom", "float", 0.3, "share of the gap to 1", "How far learning can lift a nonprofit's potential toward full effectiveness (diminishing returns).", 0.0, 1.0, group="mechanism"),
    _p("other_income_share", "float", 0.3, "share of founding budget", "Money a nonprofit raises each month outside the pool (individual donors, fees), as a share of its founding budget; the same in every scenario.", 0.0, 5.0, group="mechanism"),
    _p("reserve_months_min", "float", 3.0, "months of budget", "Least reserves an established nonprofit starts with.", 0.0, 60.0, group="mechanism"),
    _p("reserve_months_max", "float", 9.0, "months of budget", "Most reserves an established nonprofit starts with (drawn evenly from reserve_months_min).", 3.0, 60.0, group="mechanism"),
    _p("entrant_reserve_months", "float", 3.0, "months of budget", "Reserves a newly founded nonprofit starts with.", 0.0, 60.0, group="mechanism"),
    _p("income_smoothing_months", "float", 6.0, "months", "Time over which a nonprofit's spending follows changes in its income.", 1.0, 120.0, group="mechanism"),
    _p("reserve_target_months", "float", 6.0, "months of fixed cost", "Reserves a nonprofit keeps; above them it spends a twelfth of the surplus each month.", 0.0, 120.0, group="mechanism"),
    _p("fixed_cost_floor", "float", 0.2, "share of founding budget", "Fixed costs never shrink below this share of the founding budget (a minimal office).", 0.0, 1.0, group="mechanism"),
    _p("hire_months", "float", 6.0, "months", "Time to grow fixed costs most of the way toward what income sustains.", 1.0, 120.0, group="mechanism"),
    _p("layoff_months", "float", 24.0, "months", "Time to shed fixed costs when income falls (cutting is slower than hiring).", 1.0, 240.0, group="mechanism"),
    _p("in_the_red_spending", "float", 0.9, "share of income", "Most a nonprofit in debt may spend, as a share of its income that month.", 0.0, 1.0, group="mechanism"),
    _p("funding_sought_multiple", "float", 1.5, "multiple of founding budget", "A nonprofit applies for grants while its running grants pay less than this multiple of its founding budget.", 0.0, 10.0, group="mechanism"),
    _p("short_of_money_months", "float", 3.0, "months of fixed cost", "Reserves below this many months of fixed cost leave a nonprofit short of money (and open to drift).", 0.0, 60.0, group="mechanism"),
    _p("candidates_per_case", "int", 3, "residents", "Residents a nonprofit screens per case it chooses itself.", 1, 100, group="mechanism"),
    _p("founding_money_weight", "float", 0.8, "share", "Weight founders give to where grant money is aimed when they choose a domain (the rest is spread evenly).", 0.0, 1.0, group="mechanism"),
    _p("fixed_cost_share", "float", 0.6, "share of budget", "Share of a nonprofit's starting budget that is fixed (staff, rent) and spent every month.", 0.0, 1.0, group="mechanism"),
    _p("closure_months", "int", 12, "months", "Mean consecutive months of negative reserves after which a nonprofit closes (each draws its own, from half to one and a half times this).", 1, 120, group="mechanism"),
    _p("entry_rate", "float", 0.05, "1/month", "Chance per month that an empty nonprofit slot is filled by a new entrant.", 0.0, 1.0, group="mechanism"),
    _p("backbone_capacity_scale", "float", 10.0, "money/month per resident", "Backbone funding per resident at which its capacity reaches 63% of its ceiling (capacity = 1 - exp(-funding/scale)).", 0.001, 1e6, group="mechanism"),
    _p("backbone_build_rate", "float", 0.10, "1/month", "Speed at which backbone capacity approaches what its funding can sustain.", 0.0, 1.0, group="mechanism"),
    _p("public_will_rate", "float", 0.05, "1/month", "Engagement gained per month from the backbone's public-will work at full capacity.", 0.0, 1.0, group="mechanism"),
    _p("outreach_rate", "float", 0.005, "1/month", "Engagement gained per month from organisations' own inclusive practice.", 0.0, 1.0, group="mechanism"),
    _p("engagement_decay", "float", 0.02, "1/month", "Relative decay of resident engagement.", 0.0, 1.0, group="mechanism"),
    _p("policy_base_hazard", "float", 0.001, "1/month", "Monthly chance of a policy change without any coalition.", 0.0, 1.0, group="mechanism"),
    _p("policy_coalition_hazard", "float", 0.10, "1/month", "Added monthly chance of a policy change at full coalition strength while a political window is open.", 0.0, 1.0, group="mechanism"),
    _p("policy_effect", "float", 0.20, "share", "Relative cut in a domain's structural need level from a fully implemented policy.", 0.0, 1.0, group="mechanism"),
    _p("policy_implementation_months", "float", 24.0, "months", "Time for an enacted policy to take full effect.", 1.0, 600.0, group="mechanism"),
    _p("policy_implementation_share", "float", 0.10, "share of total_funding", "Public money needed to implement a policy fully; with less flowing through government, policies take partial effect.", 0.001, 1.0, group="mechanism"),
    _p("policy_reversal_hazard", "float", 0.005, "1/month", "Monthly chance that an enacted policy is repealed when no coalition defends it.", 0.0, 1.0, group="mechanism"),
    _p("latent_trust_threshold", "float", 0.55, "trust in [0, 1]", "Mean trust among organisations at which residents' latent resources are half as likely to emerge as at full trust.", 0.0, 1.0, group="mechanism"),
    _p("latent_engagement_threshold", "float", 0.45, "engagement in [0, 1]", "Engagement at which a resident's latent resources (mutual aid, volunteering) are half as likely to be active as at full engagement.", 0.0, 1.0, group="mechanism"),
    _p("latent_activation_width", "float", 0.05, "trust or engagement", "Width of the smooth step around the latent-resource thresholds (small = sharp).", 0.001, 1.0, group="mechanism"),
    _p("latent_switch_rate", "float", 0.1, "1/month", "Monthly chance that a resident's latent resources switch toward what conditions favour.", 0.0, 1.0, group="mechanism"),
    _p("latent_mean", "float", 0.5, "resources in [0, 1]", "Mean of residents' latent resources (Beta with concentration 4).", 0.01, 0.99, group="mechanism"),
    _p("latent_cases_per_resident", "float", 0.05, "cases/month", "Extra service cases per month contributed by one resident with fully active latent resources.", 0.0, 10.0, group="mechanism"),
    _p("commitment_rate", "float", 0.08, "1/year", "Yearly relative change of a funder's budget when it sees (or misses) progress, at full funder_commitment.", 0.0, 1.0, group="mechanism"),
    _p("commitment_floor", "float", 0.5, "multiple of starting budget", "Least a funder's budget can shrink to under funder commitment.", 0.0, 1.0, group="mechanism"),
    _p("commitment_ceiling", "float", 1.5, "multiple of starting budget", "Most a funder's budget can grow to under funder commitment.", 1.0, 10.0, group="mechanism"),
    _p("progress_noise", "float", 0.03, "share/year", "Error (sd) of a funder's reading of yearly progress when it has no measurement.", 0.0, 1.0, group="mechanism"),
    _p("progress_threshold", "float", 0.01, "share/year", "Yearly relative gain in community wellbeing that a funder counts as progress.", -1.0, 1.0, group="mechanism"),
)
# fmt: on

PARAMETERS_BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS}


def get_parameter(name: str) -> Parameter:
    """Return the declaration of ``name`` or raise ParameterError listing close names."""
    try:
        return PARAMETERS_BY_NAME[name]
    except (KeyError, TypeError):
        import difflib

        close = difflib.get_close_matches(str(name), PARAMETERS_BY_NAME, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ParameterError(
            f"unknown parameter {name!r}{hint}; allowed: see 'cisim params' for the "
            f"{len(PARAMETERS)} declared parameters"
        ) from None


def validate_parameters(values: Mapping[str, Any], *, complete: bool = True) -> dict[str, Any]:
    """Check names, types and ranges of ``values`` and return a clean dict.

    Args:
        values: Parameter names mapped to values (unknown names are refused).
        complete: When true, missing parameters are filled with their defaults.

    Returns:
        A new dict with every value converted to its declared type.

    Raises:
        ParameterError: naming the first offending parameter, its value and what is allowed.
    """
    clean: dict[str, Any] = dict(DEFAULTS) if complete else {}
    for name, value in values.items():
        clean[name] = get_parameter(name).validate(value)
    return clean


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Parse ``["name=value", ...]`` from the command line into validated values."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"--set expects name=value; got {item!r}")
        out[name] = get_parameter(name).parse(text.strip())
    return out


def domain_names(n_domains: int) -> tuple[str, ...]:
    """Names of the first ``n_domains`` need domains."""
    return DOMAIN_NAMES[:n_domains]
