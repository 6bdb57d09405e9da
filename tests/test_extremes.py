"""Extreme but valid worlds stay sane.

Each world sits at an edge of the declared space (one nonprofit, no money, no
trust, the most meetings the declarations allow, everyone marginalised, one
month, one domain, the complementarity bounds). Every run is checked month by
month with the shared invariants, then for what that edge must mean.
"""

from __future__ import annotations

import numpy as np
import pytest
from model_invariants import run_checked

from model.parameters import PARAMETERS, PARAMETERS_BY_NAME

SMALL = {"n_residents": 200, "n_nonprofits": 8, "n_funders": 3, "steps": 24, "seed": 7}
REGIMES = ("isolated", "collective", "hybrid")


def lowest(name: str):
    """The declared minimum of a numeric parameter."""
    p = PARAMETERS_BY_NAME[name]
    return int(p.minimum) if p.kind == "int" else p.minimum


def highest(name: str):
    """The declared maximum of a numeric parameter."""
    p = PARAMETERS_BY_NAME[name]
    return int(p.maximum) if p.kind == "int" else p.maximum


def world(**changes) -> dict:
    """The small world with ``changes``."""
    return {**SMALL, **changes}


@pytest.mark.parametrize("scenario", REGIMES)
def test_one_nonprofit(scenario):
    """One nonprofit: trust and the money-effectiveness correlation are defined as 0."""
    model = run_checked(scenario, **world(n_nonprofits=lowest("n_nonprofits")))
    series = model.timeseries()
    assert (series["active_nonprofits"] <= 1).all()
    assert (series["mean_trust"] == 0).all()
    assert (series["funding_effectiveness_corr"] == 0).all()


@pytest.mark.parametrize("scenario", REGIMES)
def test_one_funder(scenario):
    """One funder carries all private money and the run keeps its invariants."""
    model = run_checked(scenario, **world(n_funders=lowest("n_funders")))
    assert len(model.funders) == 1
    assert model.summary()["funds_disbursed"] > 0


@pytest.mark.parametrize("scenario", REGIMES)
def test_zero_funding(scenario):
    """No money: nothing is paid, no service is delivered and the needle cannot move by it."""
    model = run_checked(scenario, **world(total_funding=lowest("total_funding")))
    summary = model.summary()
    assert summary["funds_disbursed"] == summary["funds_received"] == 0
    assert model.ledger.spent["services"] == 0 and model.cases_total == 0
    if summary["policies_enacted"] == 0:
        assert not summary["needle_moved"]


@pytest.mark.parametrize("scenario", REGIMES)
def test_zero_trust(scenario):
    """Trust starting at 0 stays 0 among nonprofits unless they meet; meetings build it."""
    model = run_checked(scenario, **world(initial_trust=lowest("initial_trust"),
                                          community_variation=0.0))
    series = model.timeseries()
    assert series["mean_trust"].iloc[0] == 0
    if model.ledger.spent["meetings"] == 0:  # no nonprofit attended a meeting
        assert (series["mean_trust"] == 0).all()
    else:
        assert model.trust.trust.max() > 0  # attendees came to trust each other


@pytest.mark.parametrize("scenario", REGIMES)
def test_highest_communication_frequency(scenario):
    """The most meetings allowed: trust stays at most 1, each meeting is held, and members
    who attend pay for it (so costly a schedule may keep nonprofits from joining)."""
    frequency = highest("communication_frequency")
    model = run_checked(scenario, **world(communication_frequency=frequency))
    convened = frequency if model.meetings_per_month() > 0 else 0.0  # nobody convenes
    assert model.meetings_held == pytest.approx(convened * SMALL["steps"], abs=1)
    members = model.timeseries()["aligned_share"].max() > 0
    assert (model.ledger.spent["meetings"] > 0) == members
    assert model.trust.trust.max() <= 1.0


def test_no_meetings_cost_nothing():
    """With communication_frequency at its minimum, nobody pays for meetings."""
    model = run_checked("collective", **world(
        communication_frequency=lowest("communication_frequency")))
    assert model.meetings_held == 0
    assert model.ledger.spent["meetings"] == 0


@pytest.mark.parametrize("share", ["minimum", "maximum"])
@pytest.mark.parametrize("scenario", REGIMES)
def test_everyone_or_nobody_marginalised(scenario, share):
    """With one group empty the equity gap is 0 and wellbeing is the group's wellbeing."""
    value = lowest("marginalised_share") if share == "minimum" else highest("marginalised_share")
    model = run_checked(scenario, **world(marginalised_share=value))
    series = model.timeseries()
    assert model.population.marginalised.all() == (share == "maximum")
    assert (series["equity_gap"] == 0).all()
    assert np.allclose(series["wellbeing_marginalised"], series["wellbeing_others"])


@pytest.mark.parametrize("scenario", REGIMES)
def test_one_step(scenario):
    """A one-month run gives two rows (baseline and month 1) and a finite summary."""
    model = run_checked(scenario, **world(steps=lowest("steps")))
    assert len(model.timeseries()) == 2
    assert model.summary()["months_to_needle"] in (None, 0, 1)


@pytest.mark.parametrize("scenario", REGIMES)
def test_one_domain(scenario):
    """One domain: no spill-over partner, and wellbeing is simply 1 - need."""
    model = run_checked(scenario, **world(n_domains=lowest("n_domains")))
    pop = model.population
    assert pop.need.shape[1] == 1
    assert np.allclose(pop.wellbeing(), np.clip(1.0 - pop.need[:, 0], 1e-6, 1.0))


def test_one_resident():
    """A community of one resident still runs (services, referrals, engagement)."""
    run_checked("collective", **world(n_residents=lowest("n_residents")))


@pytest.mark.parametrize("end", ["minimum", "zero", "maximum"])
def test_complementarity_bounds_keep_wellbeing_a_power_mean(end):
    """At the bounds of rho (and at 0) wellbeing lies between the worst and best domain,
    and equals the plain mean of (1 - need) when rho = 1."""
    rho = {"minimum": lowest("complementarity"), "zero": 0.0,
           "maximum": highest("complementarity")}[end]
    model = run_checked("collective", **world(complementarity=rho))
    x = np.clip(1.0 - model.population.need, 1e-6, 1.0)
    y = model.population.wellbeing()
    assert (y >= x.min(axis=1) * (1 - 1e-9)).all() and (y <= x.max(axis=1) * (1 + 1e-9)).all()
    if rho == 1.0:
        assert np.allclose(y, x.mean(axis=1))


def test_lower_complementarity_never_raises_wellbeing():
    """For the same needs, the complementary bound gives wellbeing <= the substitute bound."""
    lo, hi = lowest("complementarity"), highest("complementarity")
    model = run_checked("collective", **world(complementarity=lo))
    y_lo = model.population.wellbeing().copy()
    model.population.rho = hi
    model.population.version += 1  # invalidate the wellbeing cache
    assert (y_lo <= model.population.wellbeing() + 1e-12).all()


@pytest.mark.parametrize("scenario", REGIMES)
def test_all_money_public_and_largest_backbone(scenario):
    """Government pays everything and the backbone asks for the most: money still balances."""
    run_checked(scenario, **world(government_share=highest("government_share"),
                                  backbone_funding=highest("backbone_funding")))


def test_cheapest_service_with_most_money():
    """Service at its lowest cost with the most money: case counts explode but stay sane."""
    run_checked("hybrid", **world(service_cost=lowest("service_cost"),
                                  total_funding=highest("total_funding")))


def test_fastest_priority_cycle():
    """Funders in isolated mode change priority at the fastest cycle allowed."""
    run_checked("isolated", **world(priority_cycle_years=lowest("priority_cycle_years")))


@pytest.mark.parametrize("end", ["minimum", "maximum"])
def test_every_parameter_at_one_end(end):
    """Every numeric parameter at once at its minimum (or maximum), sizes kept small."""
    params = {}
    for p in PARAMETERS:
        if p.is_numeric:
            params[p.name] = lowest(p.name) if end == "minimum" else highest(p.name)
    params.update({k: min(v, params[k]) if end == "maximum" else params[k]
                   for k, v in SMALL.items() if k != "seed"})
    for choice in (p for p in PARAMETERS if p.kind == "choice"):
        for value in choice.choices:
            run_checked("collective", **{**params, choice.name: value})
