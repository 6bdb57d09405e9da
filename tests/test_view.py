"""The browser view without a browser: presets that survive Reset, controls, charts, ensemble."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments import view_charts
from experiments.ensemble import (
    ensemble_design,
    needle_sentence,
    run_ensemble,
)
from experiments.errors import UsageError
from model.core import CollectiveImpactModel
from model.metrics import SERIES_OUTPUTS
from model.parameters import ParameterError, get_parameter
from model.scenarios import NAMED_SCENARIOS, CollectiveImpactScenario, make_scenario

TINY = {"n_residents": 150, "n_nonprofits": 8, "n_funders": 2, "steps": 12}


# --- the preset is a field of the scenario ---------------------------------------------------
@pytest.mark.parametrize("preset", list(NAMED_SCENARIOS))
def test_a_scenario_built_from_its_preset_field_is_the_named_scenario(preset):
    """CollectiveImpactScenario(preset=NAME) equals make_scenario(NAME) and keeps the name."""
    built = CollectiveImpactScenario(preset=preset, seed=5, backbone_funding=0.1)
    named = make_scenario(preset, rng=5, backbone_funding=0.1)
    assert built.parameters() == named.parameters()
    assert built.preset == named.preset == preset


def test_mesa_reset_rebuilds_the_picked_preset():
    """Mesa's Reset path rebuilds the scenario from its fields: the preset is one of them."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    model = CollectiveImpactModel("collective", rng=3, **TINY)
    fields = {"preset": "collective_top_down", "seed": 7, "backbone": 0.0, **TINY}
    kwargs = _build_model_init_kwargs(model, fields, add_scenario_when_empty=True,
                                      require_model_accepts_scenario=True)
    rebuilt = CollectiveImpactModel(**kwargs)
    assert rebuilt.scenario.preset == "collective_top_down"
    assert rebuilt.params["resident_engagement"] == 0.0  # what the preset changes
    assert rebuilt.params["backbone"] == 0.0 and rebuilt.backbone is None  # what was set on top
    assert rebuilt.run_seed == 7


def test_an_unknown_preset_is_refused_with_the_closest_name():
    with pytest.raises(ParameterError, match=r"'colective'.*did you mean 'collective'"):
        CollectiveImpactScenario(preset="colective")


# --- the controls ----------------------------------------------------------------------------
def test_picking_a_preset_sets_every_control_from_it():
    from experiments.app import ViewSettings, controlled

    settings = ViewSettings.from_preset("collective_top_down", seed=9)
    assert set(settings.values) == set(controlled())
    assert settings.values["resident_engagement"] == 0.0
    assert settings.build().scenario.preset == "collective_top_down"
    isolated = ViewSettings.from_preset("isolated")
    assert isolated.values["regime"] == "isolated"
    assert all(isolated.values[c] == 0.0 for c in ("common_agenda", "backbone"))


def test_condition_switches_go_to_zero_and_back_to_the_presets_level():
    from experiments.app import ViewSettings

    settings = ViewSettings.from_preset("collective")
    off = settings.with_condition("backbone", False)
    assert off.values["backbone"] == 0.0 and off.build().backbone is None
    assert off.with_condition("backbone", True).values["backbone"] == 1.0
    # A condition the preset leaves off comes on at full strength.
    assert ViewSettings.from_preset("isolated").with_condition("common_agenda", True) \
        .values["common_agenda"] == 1.0


def test_the_controls_and_mesas_reset_run_the_same_community():
    """What the controls build and what Reset rebuilds from the fields is the same run."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    from experiments.app import ViewSettings

    settings = ViewSettings.from_preset("voluntary_coalition", seed=11) \
        .with_value("initial_trust", 0.6).with_condition("shared_measurement", False)
    first = settings.build()
    fields = settings.scenario_fields()
    rebuilt = CollectiveImpactModel(**_build_model_init_kwargs(
        first, fields, add_scenario_when_empty=True, require_model_accepts_scenario=True))
    assert rebuilt.params == first.params
    first.step()
    rebuilt.step()
    assert first.datacollector.model_vars["community_wellbeing"] == \
        rebuilt.datacollector.model_vars["community_wellbeing"]


def test_a_control_refuses_a_value_outside_its_declaration():
    from experiments.app import ViewSettings

    with pytest.raises(ParameterError, match="initial_trust"):
        ViewSettings.from_preset("collective").with_value("initial_trust", 1.5)
    with pytest.raises(KeyError):
        ViewSettings.from_preset("collective").with_value("n_residents", 10)


def test_sliders_stay_inside_the_declarations_and_show_value_and_unit():
    from experiments.app import SLIDERS, check_sliders, slider_label

    check_sliders()
    for name, lowest, highest, _ in SLIDERS:
        p = get_parameter(name)
        assert p.minimum <= lowest <= p.default <= highest <= p.maximum
    assert slider_label("initial_trust", 0.3) == "initial trust: 0.30 (trust in [0, 1])"


def test_the_guide_names_every_preset_and_condition():
    from experiments.app import CONDITION_NAMES, guide_html

    html = guide_html()
    assert all(name in html for name in NAMED_SCENARIOS)
    assert all(title in html for title in CONDITION_NAMES.values())


def test_the_running_line_reads_the_model_not_the_controls():
    from experiments.app import running_text

    model = CollectiveImpactModel("collective_unfunded_backbone", rng=4, **TINY)
    text = running_text(model)
    assert text.startswith("running: collective_unfunded_backbone, collective grants")
    assert "backbone" not in text.split("on:")[1] and "seed 4" in text


# --- the charts ------------------------------------------------------------------------------
@pytest.mark.parametrize("month, text", [(0, "Month 0 of 120 (start)"),
                                         (1, "Month 1 of 120 (year 1)"),
                                         (12, "Month 12 of 120 (year 1)"),
                                         (13, "Month 13 of 120 (year 2)")])
def test_month_label(month, text):
    assert view_charts.month_label(month, 120) == text


@pytest.fixture(scope="module")
def stepped():
    """A small collective model after three months, and its charts at months 2 and 3."""
    model = CollectiveImpactModel("collective", rng=8, **TINY)
    for _ in range(2):
        model.step()
    before = {c: view_charts.line_chart(model, c) for c in view_charts.LINE_CHARTS}
    before["network"] = view_charts.network_chart(model)
    before["residents"] = view_charts.wellbeing_distribution_chart(model)
    model.step()
    after = {c: view_charts.line_chart(model, c) for c in view_charts.LINE_CHARTS}
    after["network"] = view_charts.network_chart(model)
    after["residents"] = view_charts.wellbeing_distribution_chart(model)
    return model, before, after


def test_every_chart_names_the_month_and_keeps_its_specification(stepped):
    """Month to month only data and headline change, so the browser never redraws from scratch."""
    _, before, after = stepped
    for name, chart in after.items():
        assert "Month 3" in chart.headline, name
        assert chart.spec == before[name].spec, f"{name}: the specification changed"
        assert chart.data != before[name].data, f"{name}: the data did not change"
        # Valid JSON, without NaN (which the browser's JSON parser refuses).
        json.dumps(chart.full(), allow_nan=False)


def test_line_charts_show_declared_outputs_with_units_and_a_legend(stepped):
    model, _, after = stepped
    for name, lines in view_charts.LINE_CHARTS.items():
        chart = after[name]
        encoding = chart.spec["layer"][0]["encoding"]
        assert encoding["x"]["title"] == "month"
        assert encoding["y"]["title"] == view_charts.LINE_AXES[name]
        assert encoding["color"]["scale"]["domain"] == [label for _, label, _ in lines]
        rows = chart.data["lines"]
        assert len(rows) == len(lines) * (model.steps + 1)
        for series, label, _ in lines:
            assert SERIES_OUTPUTS[series].unit in {r["unit"] for r in rows if r["line"] == label}


def test_the_network_draws_only_strong_ties_and_every_organisation(stepped):
    model, _, after = stepped
    data = after["network"].data
    assert all(t["trust"] >= view_charts.MIN_TRUST for t in data["ties"])
    assert len(data["nonprofits"]) == len(model.nonprofits)
    kinds = [n["kind"] for n in data["others"]]
    assert kinds.count("funder") == len(model.funders)
    assert ("backbone" in kinds) == (model.backbone is not None)


def test_residents_bars_are_shares_of_each_group(stepped):
    _, _, after = stepped
    bars = after["residents"].data["bars"]
    for group in {b["group"] for b in bars}:
        assert sum(b["share"] for b in bars if b["group"] == group) == pytest.approx(1.0)


def test_the_fan_has_a_band_and_a_median_per_arm_and_month():
    rng = np.random.default_rng(0)
    arms = [view_charts.FanSeries(label, "#000", rng.normal(size=(5, 13)).cumsum(axis=1),
                                  np.zeros(5)) for label in ("a", "b")]
    chart = view_charts.fan_chart(arms, 12)
    bands = chart.data["bands"]
    assert len(bands) == 2 * 13
    assert all(b["low"] <= b["median"] <= b["high"] for b in bands)
    assert len(chart.data["lines"]) == 2 * 5 * 13
    json.dumps(chart.full(), allow_nan=False)


# --- the ensemble ----------------------------------------------------------------------------
def test_the_reference_arm_is_isolated_funding_in_the_same_communities():
    design = ensemble_design({"preset": "collective", "initial_trust": 0.6, **TINY}, 4, seed=3)
    chosen, reference = design.inputs(0), design.inputs(1)
    assert chosen["scenario"] == "collective" and chosen["initial_trust"] == 0.6
    assert reference["regime"] == "isolated" and reference["initial_trust"] == 0.6
    assert all(reference[c] == 0.0 for c in ("common_agenda", "shared_measurement",
                                             "mutually_reinforcing", "continuous_communication",
                                             "backbone"))
    seeds = design.seeds.reshape(2, 4)
    assert (seeds[0] == seeds[1]).all() and len(set(seeds[0])) == 4


@pytest.mark.parametrize("settings, communities, error", [
    ({"preset": "colective"}, 4, ParameterError),
    ({"preset": "collective", "bogus": 1}, 4, ParameterError),
    ({"preset": "collective", "initial_trust": 2.0}, 4, ParameterError),
    ({"preset": "collective"}, 1, UsageError),
])
def test_a_bad_ensemble_is_refused_before_any_run(settings, communities, error):
    with pytest.raises(error):
        run_ensemble(settings, communities, seed=1)


def test_the_ensemble_reports_every_run_and_replays_whatever_the_workers():
    settings = {"preset": "collective", **TINY}
    seen = []
    one = run_ensemble(settings, 3, seed=21, jobs=1, on_progress=lambda e: seen.append(e.done))
    assert seen == [1, 2, 3, 4, 5, 6]
    two = run_ensemble(settings, 3, seed=21, jobs=2)
    for a, b in zip(one.arms, two.arms, strict=True):
        np.testing.assert_array_equal(a.improvement, b.improvement)
        np.testing.assert_array_equal(a.needle_moved, b.needle_moved)
        assert np.isfinite(a.improvement).all() and a.done == 3
        assert a.improvement[:, 0].tolist() == [0.0, 0.0, 0.0]
    share, low, high = one.arms[0].needle_share()
    assert share == pytest.approx(np.mean(one.arms[0].needle_moved)) and low <= share <= high
    sentence = needle_sentence(one)
    assert "chosen settings:" in sentence and "isolated funding:" in sentence


def test_the_ensembles_runs_are_the_runs_cisim_run_replays():
    """Community r under the chosen settings is the run of its seed, as `cisim run` does it."""
    from experiments.runner import run_one

    settings = {"preset": "collective", **TINY}
    ensemble = run_ensemble(settings, 2, seed=5)
    seed = int(ensemble_design(settings, 2, seed=5).seeds[1])
    summary, _ = run_one("collective", seed, **TINY)
    assert ensemble.arms[0].improvement_pct[1] == pytest.approx(summary["improvement_pct"])
