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
        group: ``"core"`` for the parameters users sweep and scenarios set,
            ``"mechanism"`` for the calibration constants of the submodels.
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
    if float(x).is_integer() and abs(x) < 1e15:
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
    _p("seed", "int", 20240601, "-", "Master random seed (used when no rng is passed explicitly).", 0, 2**32 - 1),
    # --- money and funding regime -------------------------------------------------------
    _p("total_funding", "float", 5_000_000.0, "money/year", "Money put in per year by funders and government together (equal across regimes).", 0.0, 1e12),
    _p("regime", "choice", "collective", "-", "Funding regime: isolated (competitive 1-year grants), collective (backbone + multi-year aligned grants) or hybrid.", choices=REGIMES),
    _p("hybrid_collective_share", "float", 0.5, "share of funder money", "Under the hybrid regime, the share of each funder's money run in collective mode.", 0.0, 1.0),
    _p("backbone_funding", "float", 0.05, "share of total_funding", "Share of total yearly funding paid to the backbone organisation by the funders in collective mode (0 = no backbone).", 0.0, 0.5),
    _p("government_share", "float", 0.20, "share of total_funding", "Share of total funding that flows through government grants.", 0.0, 1.0),
    _p("priority_cycle_years", "float", 3.0, "years", "How often each funder in isolated mode changes its priority domain.", 0.25, 100.0),
    # --- relationships and practice -----------------------------------------------------
    _p("initial_trust", "float", 0.30, "trust in [0, 1]", "Starting trust between every pair of organisations.", 0.0, 1.0),
    _p("communication_frequency", "float", 2.0, "meetings/month", "Meetings the backbone convenes per month (fractions mean some months have none).", 0.0, 30.0),
    _p("resident_engagement", "float", 0.5, "practice level in [0, 1]", "Inclusive practice: how strongly organisations involve residents with lived experience.", 0.0, 1.0),
    _p("measurement_quality", "float", 0.5, "quality in [0, 1]", "Quality of outcome data that funders can see without a backbone (1 = noiseless).", 0.0, 1.0),
    _p("complementarity", "float", -2.0, "CES exponent rho", "Substitution between domains in wellbeing: rho < 0 complements (all domains needed), rho = 1 substitutes.", -10.0, 1.0),
    # --- mechanism constants ------------------------------------------------------------
    _p("need_regeneration", "float", 0.06, "1/month", "Rate at which each need drifts back toward its structural level.", 0.0, 1.0, group="mechanism"),
    _p("need_spillover", "float", 0.015, "1/month", "Push of severe unmet need (above 0.5) in other domains onto a domain.", 0.0, 0.5, group="mechanism"),
    _p("service_cost", "float", 5000.0, "money/case", "Cost of serving one resident in one domain for one month.", 1.0, 1e7, group="mechanism"),
    _p("service_dose", "float", 0.25, "share of need", "Share of a need removed by one case from a fully effective nonprofit.", 0.0, 1.0, group="mechanism"),
    _p("marginalised_access", "float", 0.35, "probability", "Chance that a marginalised resident with no engagement can be reached by a service.", 0.0, 1.0, group="mechanism"),
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
    _p("effort_sway", "float", 0.5, "Tullock exponent r", "How much application effort sways reviewers in open rounds; the field burns about r (n-1)/n of each prize.", 0.0, 1.0, group="mechanism"),
    _p("max_seeking_share", "float", 0.5, "share of monthly budget", "Most a nonprofit spends on grant applications in one month, as a share of its monthly budget.", 0.0, 10.0, group="mechanism"),
    _p("meeting_cost", "float", 300.0, "money/meeting", "Staff time a nonprofit spends per meeting attended.", 0.0, 1e6, group="mechanism"),
    _p("trust_build_rate", "float", 0.04, "1/contact", "a+: trust gained per unit of contact, times (1 - trust).", 0.0, 1.0, group="mechanism"),
    _p("trust_erosion_ratio", "float", 3.0, "ratio", "a-/a+: how much faster trust erodes than it builds.", 0.0, 20.0, group="mechanism"),
    _p("trust_decay", "float", 0.01, "1/month", "Relative decay of trust between organisations with no contact in a month.", 0.0, 1.0, group="mechanism"),
    _p("alignment_rate", "float", 0.08, "1/month", "Speed at which trust, guidance and funder reward raise alignment.", 0.0, 1.0, group="mechanism"),
    _p("alignment_decay", "float", 0.02, "1/month", "Relative decay of alignment when nothing sustains it.", 0.0, 1.0, group="mechanism"),
    _p("drift_propensity", "float", 0.5, "probability", "Chance that an unaligned nonprofit short of money switches domain to a funder's new priority.", 0.0, 1.0, group="mechanism"),
    _p("drift_effectiveness_loss", "float", 0.25, "share", "Share of effectiveness lost by a nonprofit that switches domain.", 0.0, 1.0, group="mechanism"),
    _p("drift_cost_months", "float", 3.0, "months of fixed cost", "One-off cost of retooling (hiring, training) paid by a nonprofit that switches domain.", 0.0, 60.0, group="mechanism"),
    _p("entrant_experience", "float", 0.6, "share of potential", "Effectiveness of a newly founded nonprofit as a share of its potential.", 0.0, 1.0, group="mechanism"),
    _p("experience_months", "float", 24.0, "months", "Time scale over which an entrant's effectiveness approaches its potential.", 1.0, 600.0, group="mechanism"),
    _p("learning_rate", "float", 0.02, "1/month", "Rate at which aligned nonprofits improve effectiveness from shared measurement.", 0.0, 1.0, group="mechanism"),
    _p("fixed_cost_share", "float", 0.6, "share of budget", "Share of a nonprofit's starting budget that is fixed (staff, rent) and spent every month.", 0.0, 1.0, group="mechanism"),
    _p("closure_months", "int", 12, "months", "Consecutive months of negative reserves after which a nonprofit closes.", 1, 120, group="mechanism"),
    _p("entry_rate", "float", 0.05, "1/month", "Chance per month that an empty nonprofit slot is filled by a new entrant.", 0.0, 1.0, group="mechanism"),
    _p("backbone_capacity_scale", "float", 20_000.0, "money/month", "Funding at which backbone capacity reaches 63% (capacity = 1 - exp(-funding/scale)).", 1.0, 1e9, group="mechanism"),
    _p("backbone_build_rate", "float", 0.10, "1/month", "Speed at which backbone capacity approaches what its funding can sustain.", 0.0, 1.0, group="mechanism"),
    _p("public_will_rate", "float", 0.05, "1/month", "Engagement gained per month from the backbone's public-will work at full capacity.", 0.0, 1.0, group="mechanism"),
    _p("outreach_rate", "float", 0.005, "1/month", "Engagement gained per month from organisations' own inclusive practice.", 0.0, 1.0, group="mechanism"),
    _p("engagement_decay", "float", 0.02, "1/month", "Relative decay of resident engagement.", 0.0, 1.0, group="mechanism"),
    _p("policy_base_hazard", "float", 0.001, "1/month", "Monthly chance of a policy change without any coalition.", 0.0, 1.0, group="mechanism"),
    _p("policy_coalition_hazard", "float", 0.10, "1/month", "Added monthly chance of a policy change at full coalition strength.", 0.0, 1.0, group="mechanism"),
    _p("policy_effect", "float", 0.15, "share", "Relative cut in a domain's structural need level when a policy is enacted.", 0.0, 1.0, group="mechanism"),
    _p("latent_trust_threshold", "float", 0.55, "trust in [0, 1]", "Mean trust among organisations above which residents' latent resources can emerge.", 0.0, 1.0, group="mechanism"),
    _p("latent_engagement_threshold", "float", 0.45, "engagement in [0, 1]", "Engagement above which a resident's latent resources (mutual aid, volunteering) become active.", 0.0, 1.0, group="mechanism"),
    _p("latent_cases_per_resident", "float", 0.05, "cases/month", "Extra service cases per month contributed by one resident with fully active latent resources.", 0.0, 10.0, group="mechanism"),
    _p("commitment_rate", "float", 0.08, "1/year", "Yearly relative change of a funder's budget when it sees (or misses) progress.", 0.0, 1.0, group="mechanism"),
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
