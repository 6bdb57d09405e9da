"""Every output of the model, declared once, and the functions that measure them.

``DECLARED_OUTPUTS`` is the one list of outputs: each has a name, a unit, a
meaning, its bounds, which direction is better, and either a reporter (a named
function of the model, collected every month by Mesa's DataCollector) or a place
in the run summary. ``OUTPUTS`` and ``SUMMARY_FIELDS`` are views of that list
(name -> (unit, meaning)) for the documentation, the CLI and the studies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from model.ledger import Ledger
from model.seeds import SEED_MAX

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel

NEEDLE_THRESHOLD = 0.10  # a 10% gain in a community indicator "moves the needle" (Bridgespan)
FINAL_WINDOW = 12  # months averaged for the final value of a run
# Smallest baseline improvement_pct divides by: below it a percentage means nothing.
BASELINE_FLOOR = 0.05


def community_wellbeing(model: CollectiveImpactModel) -> float:
    """Mean wellbeing of all residents."""
    return model.population.wellbeing_means()[0]


def wellbeing_marginalised(model: CollectiveImpactModel) -> float:
    """Mean wellbeing of marginalised residents (the community mean if there are none)."""
    return model.population.wellbeing_means()[1]


def wellbeing_others(model: CollectiveImpactModel) -> float:
    """Mean wellbeing of residents who are not marginalised (the community mean if none)."""
    return model.population.wellbeing_means()[2]


def equity_gap(model: CollectiveImpactModel) -> float:
    """Wellbeing of others minus wellbeing of marginalised residents."""
    _, marginalised, others = model.population.wellbeing_means()
    return others - marginalised


def mean_need(model: CollectiveImpactModel, domain: int) -> float:
    """Mean need in one domain."""
    return float(model.population.mean_need()[domain])


def mean_trust(model: CollectiveImpactModel) -> float:
    """Mean trust among active nonprofits (ordered pairs)."""
    return model.trust.mean_among(model.active_nonprofit_slots())


def aligned_share(model: CollectiveImpactModel) -> float:
    """Share of active nonprofits that are members of the collective."""
    return model.aligned_share()


def mean_alignment(model: CollectiveImpactModel) -> float:
    """Mean alignment of active nonprofits."""
    values = [n.alignment for n in model.nonprofits]
    return sum(values) / len(values) if values else 0.0


def mean_engagement(model: CollectiveImpactModel) -> float:
    """Mean resident engagement."""
    return model.mean_engagement()


def active_nonprofits(model: CollectiveImpactModel) -> int:
    """Number of nonprofits operating."""
    return len(model.nonprofits)


def closures(model: CollectiveImpactModel) -> int:
    """Cumulative number of nonprofit closures."""
    return model.closures


def entries(model: CollectiveImpactModel) -> int:
    """Cumulative number of new nonprofits."""
    return model.entries


def overhead_share(model: CollectiveImpactModel) -> float:
    """Share of the past year's nonprofit spending that went to seeking grants."""
    return Ledger.overhead_share(model.ledger.past_year())


def duplication_rate(model: CollectiveImpactModel) -> float:
    """Share of this month's service cases that duplicated another case."""
    return model.duplicates_month / model.cases_month if model.cases_month else 0.0


def _money_correlations(model: CollectiveImpactModel) -> tuple[float, float]:
    """Correlations across nonprofits of money received per month with effectiveness and pitch.

    Only nonprofits with a full year of history count: a young organisation has had
    no time to win money, which would tie money to newness rather than to how
    grant makers choose. A correlation is 0 when it is undefined (fewer than three
    such nonprofits, or no variation).

    Pearson's r written out on Python floats (a few dozen nonprofits: NumPy's calls
    would cost more than the sums), computed once a month for both outputs.
    """
    cached = model._money_cache
    if cached is not None and cached[0] == model.steps:
        return cached[1]
    nps = [n for n in model.nonprofits if n.has_year_of_history]
    result = (0.0, 0.0)
    if len(nps) >= 3:
        money = [n.income_rate for n in nps]
        mean = sum(money) / len(money)
        money = [m - mean for m in money]
        money_ss = sum([m * m for m in money])
        pair = []
        for trait in ([n.effectiveness for n in nps], [n.pitch for n in nps]):
            mean = sum(trait) / len(trait)
            values = [v - mean for v in trait]
            spread = math.sqrt(money_ss * sum([v * v for v in values]))
            pair.append(sum([m * v for m, v in zip(money, values, strict=True)]) / spread
                        if spread > 0 else 0.0)
        result = (pair[0], pair[1])
    model._money_cache = (model.steps, result)
    return result


def funding_effectiveness_corr(model: CollectiveImpactModel) -> float:
    """Correlation of money received and true effectiveness (0 if undefined)."""
    return _money_correlations(model)[0]


def funding_pitch_corr(model: CollectiveImpactModel) -> float:
    """Correlation of money received and pitch (0 if undefined)."""
    return _money_correlations(model)[1]


def backbone_capacity(model: CollectiveImpactModel) -> float:
    """Useful capacity of the backbone organisation (0 without one)."""
    return model.backbone.capacity if model.backbone is not None else 0.0


def measurement_precision(model: CollectiveImpactModel) -> float:
    """Precision of shared measurement this month."""
    return model.measurement_precision()


def coalition_strength(model: CollectiveImpactModel) -> float:
    """Strength of the coalition (organisations and organised residents) for policy."""
    return model.coalition_strength()


def policies_enacted(model: CollectiveImpactModel) -> int:
    """Cumulative number of policy changes enacted."""
    return model.government.policies_enacted


def policies_in_force(model: CollectiveImpactModel) -> int:
    """Policies enacted and not repealed."""
    return len(model.government.policies)


def latent_resources_active(model: CollectiveImpactModel) -> float:
    """Share of residents whose latent community resources are mobilised."""
    return model.population.latent_share()


def funds_disbursed(model: CollectiveImpactModel) -> float:
    """Cumulative money paid out by funders and government."""
    return model.ledger.paid


def funds_received(model: CollectiveImpactModel) -> float:
    """Cumulative money received by nonprofits and the backbone."""
    return model.ledger.received


def total_funding(model: CollectiveImpactModel) -> float:
    """Funding in play: the funders' and government's current yearly budgets."""
    return float(sum(f.budget for f in model.funders) + model.government.budget)


def spent(model: CollectiveImpactModel, kind: str) -> float:
    """Cumulative spending of one kind (services, seeking, meetings, reporting, backbone)."""
    return model.ledger.spent[kind]


@dataclass(frozen=True)
class Output:
    """One declared output.

    Attributes:
        name: column (per-step) or field (summary) name.
        unit: unit of measure, in words.
        meaning: one-line definition.
        lower: smallest possible value (None: unbounded).
        upper: largest possible value (None: unbounded).
        better: ``"higher"``, ``"lower"`` or ``"neither"``, for reports.
        reporter: function of the model collected every month; None for summary fields.
        summary: whether it is a field of the run summary.
    """

    name: str
    unit: str
    meaning: str
    lower: float | None = None
    upper: float | None = None
    better: str = "neither"
    reporter: Callable[..., Any] | None = None
    summary: bool = False


def _series(name: str, unit: str, meaning: str, reporter: Callable[..., Any],
            lower: float | None = None, upper: float | None = None,
            better: str = "neither") -> Output:
    return Output(name, unit, meaning, lower, upper, better, reporter, False)


def _field(name: str, unit: str, meaning: str, lower: float | None = None,
           upper: float | None = None, better: str = "neither") -> Output:
    return Output(name, unit, meaning, lower, upper, better, None, True)


_INF = math.inf

# fmt: off
DECLARED_OUTPUTS: tuple[Output, ...] = (
    # --- per-step series ------------------------------------------------------------
    _series("community_wellbeing", "index in [0, 1]", "Mean resident wellbeing (CES of 1 - need).", community_wellbeing, 0, 1, "higher"),
    _series("wellbeing_marginalised", "index in [0, 1]", "Mean wellbeing of marginalised residents.", wellbeing_marginalised, 0, 1, "higher"),
    _series("wellbeing_others", "index in [0, 1]", "Mean wellbeing of other residents.", wellbeing_others, 0, 1, "higher"),
    _series("equity_gap", "index points", "Wellbeing of others minus that of marginalised residents.", equity_gap, -1, 1, "lower"),
    _series("mean_trust", "trust in [0, 1]", "Mean trust among active nonprofits.", mean_trust, 0, 1, "higher"),
    _series("aligned_share", "share", "Share of active nonprofits that have chosen to be members of the collective (or coalition).", aligned_share, 0, 1),
    _series("mean_alignment", "alignment in [0, 1]", "Mean alignment of active nonprofits with the common agenda.", mean_alignment, 0, 1),
    _series("mean_engagement", "engagement in [0, 1]", "Mean resident engagement.", mean_engagement, 0, 1, "higher"),
    _series("active_nonprofits", "organisations", "Nonprofits operating this month.", active_nonprofits, 0, _INF),
    _series("closures", "organisations", "Cumulative nonprofit closures.", closures, 0, _INF, "lower"),
    _series("entries", "organisations", "Cumulative new nonprofits.", entries, 0, _INF),
    _series("overhead_share", "share", "Share of nonprofit spending over the past 12 months on seeking grants (applications and compliance).", overhead_share, 0, 1, "lower"),
    _series("duplication_rate", "share", "Share of the month's cases that duplicated another case.", duplication_rate, 0, 1, "lower"),
    _series("funding_effectiveness_corr", "correlation", "Correlation of money received in the past year with true effectiveness, across nonprofits at least a year old.", funding_effectiveness_corr, -1, 1, "higher"),
    _series("funding_pitch_corr", "correlation", "Correlation of money received in the past year with grant-writing skill (pitch), nonprofits at least a year old.", funding_pitch_corr, -1, 1),
    _series("backbone_capacity", "capacity in [0, 1]", "Useful capacity of the backbone (0 without one).", backbone_capacity, 0, 1),
    _series("measurement_precision", "precision in [0, 1]", "Precision of shared measurement: condition x coordination x share of members reporting.", measurement_precision, 0, 1),
    _series("coalition_strength", "strength in [0, 1]", "Strength of the coalition of organisations and organised residents pushing for policy.", coalition_strength, 0, 1),
    _series("policies_enacted", "policies", "Cumulative policy changes enacted.", policies_enacted, 0, _INF),
    _series("policies_in_force", "policies", "Policies enacted and not repealed.", policies_in_force, 0, _INF),
    _series("latent_resources_active", "share of residents", "Residents whose latent resources are mobilised.", latent_resources_active, 0, 1),
    _series("funds_disbursed", "money", "Cumulative money paid by funders and government.", funds_disbursed, 0, _INF),
    _series("funds_received", "money", "Cumulative money received by nonprofits and the backbone.", funds_received, 0, _INF),
    _series("total_funding", "money/year", "Yearly budgets of funders and government now in play.", total_funding, 0, _INF),
    _series("spend_services", "money", "Cumulative nonprofit spending on services.", partial(spent, kind="services"), 0, _INF),
    _series("spend_grant_seeking", "money", "Cumulative nonprofit spending on applications and compliance.", partial(spent, kind="seeking"), 0, _INF),
    _series("spend_meetings", "money", "Cumulative nonprofit staff time in meetings.", partial(spent, kind="meetings"), 0, _INF),
    _series("spend_reporting", "money", "Cumulative nonprofit spending on reporting into shared measurement.", partial(spent, kind="reporting"), 0, _INF),
    _series("spend_backbone", "money", "Cumulative backbone spending.", partial(spent, kind="backbone"), 0, _INF),
    # --- run summary ----------------------------------------------------------------
    _field("baseline_wellbeing", "index in [0, 1]", "Community wellbeing at step 0.", 0, 1),
    _field("final_wellbeing", "index in [0, 1]", f"Mean community wellbeing over the last {FINAL_WINDOW} months.", 0, 1, "higher"),
    _field("improvement_pct", "%", f"Final minus baseline wellbeing, over the baseline (at least {BASELINE_FLOOR}), in percent.", -_INF, _INF, "higher"),
    _field("needle_moved", "bool", f"Whether improvement_pct >= {NEEDLE_THRESHOLD:.0%}.", 0, 1, "higher"),
    _field("months_to_needle", "months", "First month community wellbeing was 10% above baseline (null if never).", 0, _INF, "lower"),
    _field("final_equity_gap", "index points", "Equity gap averaged over the last months.", -1, 1, "lower"),
    _field("equity_gap_change", "index points", "Final minus baseline equity gap.", -1, 1, "lower"),
    _field("nonprofit_closures", "organisations", "Nonprofits closed during the run.", 0, _INF, "lower"),
    _field("churn_rate", "1/year", "Closures per year per nonprofit slot.", 0, _INF, "lower"),
    _field("grant_overhead_share", "share", "Share of all nonprofit spending that went to seeking grants.", 0, 1, "lower"),
    _field("grant_success_rate", "share", "Awards over applications in grant rounds after month 0.", 0, 1),
    _field("never_won_share", "share", "Share of nonprofits that applied for grants in the first three years and won none then.", 0, 1),
    _field("final_mean_trust", "trust in [0, 1]", "Mean trust among nonprofits at the end.", 0, 1, "higher"),
    _field("final_aligned_share", "share", "Share of nonprofits that are members of the collective at the end.", 0, 1),
    _field("peak_aligned_share", "share", "Largest share of nonprofits that were members in any month.", 0, 1),
    _field("mean_duplication_rate", "share", "Duplicated cases over all cases in the run.", 0, 1, "lower"),
    _field("final_funding_effectiveness_corr", "correlation", "Money-effectiveness correlation at the end.", -1, 1, "higher"),
    _field("final_funding_pitch_corr", "correlation", "Money-pitch correlation at the end.", -1, 1),
    _field("policies_enacted", "policies", "Policy changes enacted during the run.", 0, _INF),
    _field("policies_in_force", "policies", "Policies still in force at the end.", 0, _INF),
    _field("latent_resources_active", "share of residents", "Residents with mobilised latent resources at the end.", 0, 1),
    _field("funds_disbursed", "money", "Money paid out by funders and government over the run.", 0, _INF),
    _field("funds_received", "money", "Money received by nonprofits and backbone over the run.", 0, _INF),
    _field("money_mobilised", "money", "Money funders paid above their starting budgets (funder commitment; 0 when it is off).", -_INF, _INF),
    _field("backbone_spending", "money", "Money spent by the backbone over the run.", 0, _INF),
    _field("meeting_spending", "money", "Nonprofit staff time spent in meetings over the run.", 0, _INF, "lower"),
    _field("backbone_competence", "competence in [0, 1]", "This community's drawn backbone competence (a trait, whether or not a backbone exists).", 0, 1),
    _field("funder_fidelity", "probability", "This community's drawn funder fidelity to the agenda.", 0, 1),
    _field("conflict_history", "level in [0, 1]", "This community's drawn conflict history.", 0, 1),
    _field("seed", "-", "Seed the run used (an integer); replay it with cisim run --seed SEED and the same scenario and parameters.", 0, SEED_MAX),
)
# fmt: on

#: The declared per-step outputs and summary fields by name.
SERIES_OUTPUTS: dict[str, Output] = {o.name: o for o in DECLARED_OUTPUTS if not o.summary}
SUMMARY_OUTPUTS: dict[str, Output] = {o.name: o for o in DECLARED_OUTPUTS if o.summary}

#: name -> (unit, meaning) of every per-step output except the per-domain needs.
OUTPUTS: dict[str, tuple[str, str]] = {o.name: (o.unit, o.meaning)
                                       for o in DECLARED_OUTPUTS if not o.summary}
#: name -> (unit, meaning) of every field of the run summary.
SUMMARY_FIELDS: dict[str, tuple[str, str]] = {o.name: (o.unit, o.meaning)
                                              for o in DECLARED_OUTPUTS if o.summary}


#: Types of the values reporters give that a deep copy returns unchanged.


def model_reporters(domains: tuple[str, ...]) -> dict[str, Any]:
    """The DataCollector's model reporters: named functions, no lambdas (they pickle)."""
    reporters: dict[str, Any] = {o.name: o.reporter for o in DECLARED_OUTPUTS if not o.summary}
    for d, domain in enumerate(domains):
        reporters[f"need_{domain}"] = partial(mean_need, domain=d)
    return reporters


def summary_field(model: CollectiveImpactModel, name: str) -> Any:
    """Summary field ``name`` from the run's last month on; None before it.

    A lazy model reporter: before the last month it only compares two integers;
    from then on it reads the summary, computed once per step.
    """
    if model.steps < model.params["steps"]:
        return None
    return model.summary_this_step()[name]


def summary_field_reporters(series_reporters: dict[str, Any]) -> dict[str, Any]:
    """Model reporters that make every summary field a column of the DataCollector.

    ``seed`` is the model's ``run_seed`` attribute at every step. The other fields are
    ``summary_field`` reporters, except those that are also per-step outputs (their
    last value is the summary field). Mesa's DataCollector evaluates reporters in
    order, so these must come after ``series_reporters``: in the last month the
    summary then reads the month's complete row.

    Args:
        series_reporters: the per-step reporters (``model_reporters``), by name.

    Returns:
        Reporters by summary-field name, none of them among ``series_reporters``.
    """
    reporters: dict[str, Any] = {}
    for name in SUMMARY_FIELDS:
        if name == "seed":
            reporters[name] = "run_seed"
        elif name not in series_reporters:
            reporters[name] = partial(summary_field, name=name)
    return reporters


def improvement_pct(baseline: float, final: float) -> float:
    """Relative gain in percent, over a baseline of at least ``BASELINE_FLOOR``."""
    return (final - baseline) / max(baseline, BASELINE_FLOOR) * 100.0


def _never_won_share(model: CollectiveImpactModel) -> float:
    """Share of nonprofits that applied in the first three years and won nothing then.

    Counts every nonprofit that applied in that period, closed ones included.
    """
    applied = [n for n in model.every_nonprofit if n.early_applications > 0]
    return sum(n.early_wins == 0 for n in applied) / len(applied) if applied else 0.0


def summarise(model: CollectiveImpactModel, series) -> dict[str, Any]:
    """The run summary from the model and its per-step table (a pandas DataFrame)."""
    wb = series["community_wellbeing"].to_numpy()
    baseline = float(wb[0])
    tail = wb[1:][-FINAL_WINDOW:] if wb.size > 1 else wb
    final = float(tail.mean())
    improvement = improvement_pct(baseline, final)
    gain = (wb - baseline) / max(baseline, BASELINE_FLOOR)
    hit = np.flatnonzero(gain >= NEEDLE_THRESHOLD)
    gap = series["equity_gap"].to_numpy()
    gap_tail = gap[1:][-FINAL_WINDOW:] if gap.size > 1 else gap
    spent_total = model.ledger.spent
    months = max(1, model.steps)
    slots = model.params["n_nonprofits"]
    cases = model.cases_total
    traits = model.traits
    return {
        "baseline_wellbeing": baseline,
        "final_wellbeing": final,
        "improvement_pct": improvement,
        "needle_moved": bool(improvement >= NEEDLE_THRESHOLD * 100.0),
        "months_to_needle": int(hit[0]) if hit.size else None,
        "final_equity_gap": float(gap_tail.mean()),
        "equity_gap_change": float(gap_tail.mean() - gap[0]),
        "nonprofit_closures": int(model.closures),
        "churn_rate": model.closures / slots / (months / 12.0),
        "grant_overhead_share": Ledger.overhead_share(spent_total),
        "grant_success_rate": model.awards / model.applications if model.applications else 0.0,
        "never_won_share": _never_won_share(model),
        "final_mean_trust": float(series["mean_trust"].iloc[-1]),
        "final_aligned_share": float(series["aligned_share"].iloc[-1]),
        "peak_aligned_share": float(series["aligned_share"].max()),
        "mean_duplication_rate": model.duplicates_total / cases if cases else 0.0,
        "final_funding_effectiveness_corr": float(series["funding_effectiveness_corr"].iloc[-1]),
        "final_funding_pitch_corr": float(series["funding_pitch_corr"].iloc[-1]),
        "policies_enacted": int(model.government.policies_enacted),
        "policies_in_force": len(model.government.policies),
        "latent_resources_active": float(series["latent_resources_active"].iloc[-1]),
        "funds_disbursed": float(model.ledger.paid),
        "funds_received": float(model.ledger.received),
        "money_mobilised": float(sum(f.mobilised for f in model.funders)),
        "backbone_spending": float(spent_total["backbone"]),
        "meeting_spending": float(spent_total["meetings"]),
        "backbone_competence": traits.backbone_competence,
        "funder_fidelity": traits.funder_fidelity,
        "conflict_history": traits.conflict_history,
        "seed": int(model.run_seed),
    }
