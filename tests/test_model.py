"""The model as users rely on it: accounting, ranges, determinism, scenarios, outputs."""

import numpy as np
import pandas as pd
import pytest

from agents import Backbone, Funder, Government, Nonprofit, Resident
from experiments.runner import run_one
from model import NAMED_SCENARIOS, CollectiveImpactModel
from model.metrics import OUTPUTS, SUMMARY_FIELDS


def _run_checking_each_step(small_params, scenario="collective", **extra):
    model = CollectiveImpactModel(scenario, rng=11, **{**small_params, **extra})
    for _ in range(small_params["steps"]):
        model.step()
        pop = model.population
        assert np.all((pop.need >= 0) & (pop.need <= 1))
        assert np.all((pop.engagement >= 0) & (pop.engagement <= 1))
        trust = model.trust.trust
        assert np.all((trust >= 0) & (trust <= 1))
        assert all(0 <= n.alignment <= 1 for n in model.nonprofits)
        assert all(0 <= n.effectiveness <= 1 for n in model.nonprofits)
        if model.backbone is not None:
            assert 0 <= model.backbone.capacity <= 1
        # Money: the payers' side equals the recipients' side, every month.
        assert model.ledger.paid == pytest.approx(model.ledger.received, rel=1e-9)
        paid_by_agents = sum(g.paid_out for g in (*model.funders, model.government))
        assert paid_by_agents == pytest.approx(model.ledger.paid, rel=1e-9)
    return model


@pytest.mark.parametrize("scenario", sorted(NAMED_SCENARIOS))
def test_every_scenario_runs_with_invariants(small_params, scenario):
    """Each named scenario runs; money is conserved and all states stay in range each step."""
    model = _run_checking_each_step(small_params, scenario)
    assert model.ledger.paid > 0
    series = model.timeseries()
    assert len(series) == small_params["steps"] + 1
    assert not series.drop(columns=["step"]).isna().any().any()


def test_backbone_receives_what_funders_pay_it(small_params):
    """The backbone's receipts are part of the conserved flow and equal its spending."""
    model = _run_checking_each_step(small_params)
    assert model.backbone.received > 0
    assert model.backbone.spent == pytest.approx(model.backbone.received)
    assert model.ledger.spent["backbone"] == pytest.approx(model.backbone.received)


def test_same_seed_same_series_and_different_seed_differs(small_params):
    """A run is a pure function of parameters and seed."""
    s1, t1 = run_one("collective", 5, **small_params)
    s2, t2 = run_one("collective", 5, **small_params)
    pd.testing.assert_frame_equal(t1, t2, check_exact=True)
    assert s1 == s2
    _, t3 = run_one("collective", 6, **small_params)
    assert not t1.equals(t3)


def test_seed_sequence_seeds_are_reproducible(small_params):
    """Seeds spawned from a SeedSequence give the same run twice."""
    child = np.random.SeedSequence(42).spawn(3)[2]
    _, a = run_one("isolated", child, **small_params)
    _, b = run_one("isolated", np.random.SeedSequence(42).spawn(3)[2], **small_params)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_seed_parameter_is_used_when_no_rng_is_given(small_params):
    """With rng=None an explicit seed parameter seeds the run, so runs stay reproducible."""
    a = CollectiveImpactModel("collective", seed=20240601, **small_params)
    b = CollectiveImpactModel("collective", seed=20240601, **small_params)
    assert a.run_seed == b.run_seed == 20240601
    a.run_for(5)
    b.run_for(5)
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries(), check_exact=True)


def test_timeseries_and_summary_have_documented_columns(small_params):
    """Every documented output is present, with one need column per domain."""
    summary, series = run_one("collective", 1, **{**small_params, "n_domains": 3})
    for column in ("step", *OUTPUTS, "need_education", "need_health", "need_housing"):
        assert column in series.columns
    assert "need_employment" not in series.columns
    assert set(SUMMARY_FIELDS) <= set(summary)
    assert list(series["step"]) == list(range(small_params["steps"] + 1))
    assert summary["needle_moved"] == (summary["improvement_pct"] >= 10.0)
    assert summary["funds_disbursed"] == pytest.approx(series["funds_disbursed"].iloc[-1])


def test_mesa_run_for_and_step_advance_the_model(small_params):
    """Mesa's own step() and run_for(n) drive the model month by month."""
    model = CollectiveImpactModel("collective", rng=2, **small_params)
    model.step()
    model.run_for(3)
    assert model.steps == 4
    assert len(model.timeseries()) == 5


def test_agent_types_are_mesa_agents_and_residents_view_rows(small_params):
    """Each agent type is registered with Mesa; a Resident reads and writes its row."""
    model = CollectiveImpactModel("collective", rng=2, **small_params)
    counts = {t: len(model.agents_by_type[t]) for t in (Resident, Nonprofit, Funder,
                                                        Government, Backbone)}
    assert counts == {Resident: 300, Nonprofit: 12, Funder: 3, Government: 1, Backbone: 1}
    resident = model.residents[7]
    before = resident.wellbeing
    with pytest.raises(ValueError):
        resident.need[0] = 0.0  # a copy that cannot be written: it could not update caches
    resident.need = np.zeros(model.params["n_domains"])
    assert (model.population.need[7] == 0.0).all()
    assert resident.wellbeing == pytest.approx(1.0) and before < 1.0


def test_isolated_regime_has_no_backbone(small_params):
    """No backbone is created when no money runs in collective mode."""
    model = CollectiveImpactModel("isolated", rng=2, backbone_funding=0.2, **small_params)
    assert model.backbone is None
    assert Backbone not in model.agents_by_type


def test_ten_thousand_residents_run(small_params):
    """A town of 10,000 residents runs without error."""
    summary, series = run_one("collective", 3, **{**small_params, "n_residents": 10_000,
                                                 "steps": 6})
    assert len(series) == 7 and summary["funds_received"] > 0


@pytest.mark.parametrize("first", ["import agents", "from agents.nonprofit import Nonprofit",
                                   "from model.population import row_sum", "import model"])
def test_packages_import_in_any_order(first):
    """Agents import only the model's leaf modules, so any first import works."""
    import subprocess
    import sys

    code = f"{first}\nfrom model import CollectiveImpactModel\nprint('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
