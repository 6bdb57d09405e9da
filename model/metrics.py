"""Per-step outputs as small named functions of the model, and the run summary.

Every function here takes the model and returns one number. The DataCollector
uses them as model reporters; ``OUTPUTS`` gives each its unit and meaning, which
the documentation and the CLI show.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from model.ledger import Ledger

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel

NEEDLE_THRESHOLD = 0.10  # a 10% gain in community wellbeing "moves the needle"
FINAL_WINDOW = 12  # months averaged for the final value of a run


def _group_mean(values: np.ndarray, mask: np.ndarray) -> float:
    # An empty group takes the community mean, so the equity gap is then 0.
    return float(values[mask].mean()) if mask.any() else float(values.mean())


def community_wellbeing(model: CollectiveImpactModel) -> float:
    """Mean wellbeing of all residents."""
    return float(model.population.wellbeing().mean())


def wellbeing_marginalised(model: CollectiveImpactModel) -> float:
    """Mean wellbeing of marginalised residents."""
    pop = model.population
    return _group_mean(pop.wellbeing(), pop.marginalised)


def wellbeing_others(model: CollectiveImpactModel) -> float:
    """Mean wellbeing of residents who are not marginalised."""
    pop = model.population
    return _group_mean(pop.wellbeing(), ~pop.marginalised)


def equity_gap(model: CollectiveImpactModel) -> float:
    """Wellbeing of others minus wellbeing of marginalised residents."""
    return wellbeing_others(model) - wellbeing_marginalised(model)


def mean_need(model: CollectiveImpactModel, domain: int) -> float:
    """Mean need in one domain."""
    return float(model.population.need[:, domain].mean())


def mean_trust(model: CollectiveImpactModel) -> float:
    """Mean trust among active nonprofits (ordered pairs)."""
    return model.trust.mean_among(model.active_nonprofit_slots())


def aligned_share(model: CollectiveImpactModel) -> float:
    """Share of active nonprofits that are aligned with the common agenda."""
    return model.aligned_share()


def mean_alignment(model: CollectiveImpactModel) -> float:
    """Mean alignment of active nonprofits."""
    values = [n.alignment for n in model.nonprofits]
    return float(np.mean(values)) if values else 0.0


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
    """Share of this month's nonprofit spending that went to seeking grants."""
    return Ledger.overhead_share(model.ledger.month)


def duplication_rate(model: CollectiveImpactModel) -> float:
    """Share of this month's service cases that duplicated another case."""
    return model.duplicates_month / model.cases_month if model.cases_month else 0.0


def _money_correlation(model: CollectiveImpactModel, trait: str) -> float:
    """Correlation across active nonprofits of money received per month and ``trait``.

    Only nonprofits with a full year of history count: a young organisation has had
    no time to win money, which would tie money to newness rather than to how
    grant makers choose.

    0 when it is undefined (fewer than three nonprofits or no variation).
    """
    nps = [n for n in model.nonprofits if n.has_year_of_history]
    if len(nps) < 3:
        return 0.0
    money = np.array([n.income_rate for n in nps])
    values = np.array([getattr(n, trait) for n in nps])
    money -= money.mean()
    values -= values.mean()
    spread = float(np.sqrt((money @ money) * (values @ values)))
    # Pearson's r, written out: np.corrcoef costs more than the rest of the metric.
    return float(money @ values) / spread if spread > 0 else 0.0


def funding_effectiveness_corr(model: CollectiveImpactModel) -> float:
    """Correlation of money received and true effectiveness (0 if undefined)."""
    return _money_correlation(model, "effectiveness")


def funding_pitch_corr(model: CollectiveImpactModel) -> float:
    """Correlation of money received and pitch (0 if undefined)."""
    return _money_correlation(model, "pitch")


def backbone_capacity(model: CollectiveImpactModel) -> float:
    """Capacity of the backbone organisation (0 without one)."""
    return model.backbone.capacity if model.backbone is not None else 0.0


def policies_enacted(model: CollectiveImpactModel) -> int:
    """Cumulative number of policy changes."""
    return model.government.policies_enacted


def latent_resources_active(model: CollectiveImpactModel) -> float:
    """Share of residents whose latent community resources are mobilised."""
    return float(model.population.latent_active.mean())


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
    """Cumulative spending of one kind (services, seeking, meetings, backbone)."""
    return model.ledger.spent[kind]


#: name -> (unit, meaning) of every per-step output except the per-domain needs.
OUTPUTS: dict[str, tuple[str, str]] = {
    "community_wellbeing": ("index in [0, 1]", "Mean resident wellbeing (CES of 1 - need)."),
    "wellbeing_marginalised": ("index in [0, 1]", "Mean wellbeing of marginalised residents."),
    "wellbeing_others": ("index in [0, 1]", "Mean wellbeing of other residents."),
    "equity_gap": ("index points", "Wellbeing of others minus that of marginalised residents."),
    "mean_trust": ("trust in [0, 1]", "Mean trust among active nonprofits."),
    "aligned_share": ("share", "Share of active nonprofits with alignment >= 0.5."),
    "mean_alignment": ("alignment in [0, 1]", "Mean alignment of active nonprofits."),
    "mean_engagement": ("engagement in [0, 1]", "Mean resident engagement."),
    "active_nonprofits": ("organisations", "Nonprofits operating this month."),
    "closures": ("organisations", "Cumulative nonprofit closures."),
    "entries": ("organisations", "Cumulative new nonprofits."),
    "overhead_share": ("share", "Share of the month's nonprofit spending on seeking grants "
                       "(applications and compliance)."),
    "duplication_rate": ("share", "Share of the month's cases that duplicated another case."),
    "funding_effectiveness_corr": ("correlation", "Correlation of money received in the past "
                                   "year with true effectiveness, across nonprofits at least "
                                   "a year old."),
    "funding_pitch_corr": ("correlation", "Correlation of money received in the past year "
                           "with grant-writing skill (pitch), nonprofits at least a year old."),
    "backbone_capacity": ("capacity in [0, 1]", "Capacity of the backbone (0 without one)."),
    "policies_enacted": ("policies", "Cumulative policy changes lowering structural need."),
    "latent_resources_active": ("share of residents", "Residents whose latent resources "
                                "are mobilised."),
    "funds_disbursed": ("money", "Cumulative money paid by funders and government."),
    "funds_received": ("money", "Cumulative money received by nonprofits and the backbone."),
    "total_funding": ("money/year", "Yearly budgets of funders and government now in play."),
    "spend_services": ("money", "Cumulative nonprofit spending on services."),
    "spend_grant_seeking": ("money", "Cumulative nonprofit spending on applications and "
                            "compliance."),
    "spend_meetings": ("money", "Cumulative nonprofit staff time in meetings."),
    "spend_backbone": ("money", "Cumulative backbone spending."),
}

_SPEND_COLUMNS = {"spend_services": "services", "spend_grant_seeking": "seeking",
                  "spend_meetings": "meetings", "spend_backbone": "backbone"}


def model_reporters(domains: tuple[str, ...]) -> dict[str, Any]:
    """The DataCollector's model reporters: named functions, no lambdas (they pickle)."""
    reporters: dict[str, Any] = {}
    for name in OUTPUTS:
        if name in _SPEND_COLUMNS:
            reporters[name] = partial(spent, kind=_SPEND_COLUMNS[name])
        else:
            reporters[name] = globals()[name]
    for d, domain in enumerate(domains):
        reporters[f"need_{domain}"] = partial(mean_need, domain=d)
    return reporters


#: name -> (unit, meaning) of every field of the run summary.
SUMMARY_FIELDS: dict[str, tuple[str, str]] = {
    "baseline_wellbeing": ("index in [0, 1]", "Community wellbeing at step 0."),
    "final_wellbeing": ("index in [0, 1]", f"Mean community wellbeing over the last "
                        f"{FINAL_WINDOW} months."),
    "improvement_pct": ("%", "Final over baseline wellbeing, minus 1, in percent."),
    "needle_moved": ("bool", f"Whether improvement_pct >= {NEEDLE_THRESHOLD:.0%}."),
    "months_to_needle": ("months", "First month community wellbeing was 10% above baseline "
                         "(null if never)."),
    "final_equity_gap": ("index points", "Equity gap averaged over the last months."),
    "equity_gap_change": ("index points", "Final minus baseline equity gap."),
    "nonprofit_closures": ("organisations", "Nonprofits closed during the run."),
    "churn_rate": ("1/year", "Closures per year per nonprofit slot."),
    "grant_overhead_share": ("share", "Share of all nonprofit spending that went to seeking "
                             "grants."),
    "final_mean_trust": ("trust in [0, 1]", "Mean trust among nonprofits at the end."),
    "final_aligned_share": ("share", "Aligned share of nonprofits at the end."),
    "mean_duplication_rate": ("share", "Duplicated cases over all cases in the run."),
    "final_funding_effectiveness_corr": ("correlation", "Money-effectiveness correlation at "
                                         "the end."),
    "final_funding_pitch_corr": ("correlation", "Money-pitch correlation at the end."),
    "policies_enacted": ("policies", "Policy changes during the run."),
    "latent_resources_active": ("share of residents", "Residents with mobilised latent "
                                "resources at the end."),
    "funds_disbursed": ("money", "Money paid out by funders and government over the run."),
    "funds_received": ("money", "Money received by nonprofits and backbone over the run."),
    "backbone_spending": ("money", "Money spent by the backbone over the run."),
}


def summarise(model: CollectiveImpactModel, series) -> dict[str, Any]:
    """The run summary from the model and its per-step table (a pandas DataFrame)."""
    wb = series["community_wellbeing"].to_numpy()
    baseline = float(wb[0])
    tail = wb[1:][-FINAL_WINDOW:] if wb.size > 1 else wb
    final = float(tail.mean())
    improvement = (final / baseline - 1.0) * 100.0 if baseline > 0 else 0.0
    hit = np.flatnonzero(wb >= baseline * (1.0 + NEEDLE_THRESHOLD))
    gap = series["equity_gap"].to_numpy()
    gap_tail = gap[1:][-FINAL_WINDOW:] if gap.size > 1 else gap
    spent_total = model.ledger.spent
    months = max(1, model.steps)
    slots = model.params["n_nonprofits"]
    cases = model.cases_total
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
        "final_mean_trust": float(series["mean_trust"].iloc[-1]),
        "final_aligned_share": float(series["aligned_share"].iloc[-1]),
        "mean_duplication_rate": model.duplicates_total / cases if cases else 0.0,
        "final_funding_effectiveness_corr": float(series["funding_effectiveness_corr"].iloc[-1]),
        "final_funding_pitch_corr": float(series["funding_pitch_corr"].iloc[-1]),
        "policies_enacted": int(model.government.policies_enacted),
        "latent_resources_active": float(series["latent_resources_active"].iloc[-1]),
        "funds_disbursed": float(model.ledger.paid),
        "funds_received": float(model.ledger.received),
        "backbone_spending": float(spent_total["backbone"]),
    }
