"""Seeds are Mesa's and round-trip: every run records the integer that replays it."""

from __future__ import annotations

import json
import math
import multiprocessing
from typing import Any

import mesa
import numpy as np
import pandas as pd
import pytest

from model.core import CollectiveImpactModel
from model.metrics import SERIES_OUTPUTS, SUMMARY_FIELDS
from model.parameters import ParameterError, get_parameter
from model.scenarios import make_scenario
from model.seeds import SEED_MAX, run_seed, seed_int

TINY = {"n_residents": 150, "n_nonprofits": 8, "n_funders": 2, "steps": 12}


def _same(a: Any, b: Any) -> bool:
    """Equal, with None and NaN (a missing months_to_needle) equal to themselves."""
    missing = (a is None or (isinstance(a, float) and math.isnan(a)),
               b is None or (isinstance(b, float) and math.isnan(b)))
    return all(missing) or (not any(missing) and a == b)


def _run(*args: Any, **kwargs: Any) -> CollectiveImpactModel:
    model = CollectiveImpactModel(*args, **kwargs)
    model.run_for(model.params["steps"])
    return model


@pytest.fixture
def batch_run():
    """Mesa's batch_run, with the process start method it forces put back afterwards."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield mesa.batch_run
    multiprocessing.set_start_method(before, force=True)


def test_seed_accepts_every_non_negative_63_bit_integer():
    """The declared seed goes up to 2**63 - 1, the range the experiment tools write."""
    seed = get_parameter("seed")
    assert SEED_MAX == seed.maximum == 2**63 - 1 and seed.minimum == 0
    assert seed.validate(2**63 - 1) == 2**63 - 1
    assert seed.validate(np.uint64(2**63 - 1)) == 2**63 - 1
    assert seed.parse(str(2**63 - 1)) == 2**63 - 1
    tool_seed = seed_int(np.random.SeedSequence(7).spawn(3)[1])
    assert 0 <= tool_seed <= SEED_MAX and seed.validate(tool_seed) == tool_seed


@pytest.mark.parametrize("bad", [2**63, -1])
def test_seed_out_of_range_is_refused_naming_seed(bad):
    """2**63 and -1 are refused, as the seed parameter, as rng and on the command line."""
    calls = [lambda: CollectiveImpactModel("collective", seed=bad, **TINY),
             lambda: CollectiveImpactModel("collective", rng=bad, **TINY),
             lambda: make_scenario("isolated", seed=bad),
             lambda: get_parameter("seed").parse(str(bad))]
    for call in calls:
        with pytest.raises(ParameterError) as exc:
            call()
        assert "'seed'" in str(exc.value) and "9,223,372,036,854,775,807" in str(exc.value)


def test_largest_seed_gives_a_deterministic_run():
    """Seed 2**63 - 1 runs, the same twice, and rng=SEED is the same as seed=SEED."""
    a = _run("collective", seed=2**63 - 1, **TINY)
    b = _run("collective", seed=2**63 - 1, **TINY)
    c = _run("collective", rng=2**63 - 1, **TINY)
    assert a.run_seed == a.summary()["seed"] == 2**63 - 1
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries(), check_exact=True)
    pd.testing.assert_frame_equal(a.timeseries(), c.timeseries(), check_exact=True)


def test_no_rng_and_no_seed_draws_a_fresh_recorded_seed():
    """rng=None without a seed parameter is fresh entropy (as in Mesa), and recorded."""
    a = CollectiveImpactModel()
    b = CollectiveImpactModel()
    assert a.run_seed != b.run_seed
    for model in (a, b):
        assert isinstance(model.run_seed, int) and 0 <= model.run_seed <= SEED_MAX
        assert model.params["seed"] == model.scenario.rng == model.run_seed


def test_a_fresh_seed_replays_the_run():
    """The seed of an entropy-seeded run reproduces it, as rng or as the seed parameter."""
    first = _run("hybrid", **TINY)
    seed = first.summary()["seed"]
    for again in (_run("hybrid", rng=seed, **TINY), _run("hybrid", seed=seed, **TINY)):
        pd.testing.assert_frame_equal(first.timeseries(), again.timeseries(), check_exact=True)
        assert all(_same(first.summary()[f], again.summary()[f]) for f in SUMMARY_FIELDS)


def test_a_scenario_object_carries_its_seed():
    """A scenario built without a seed holds the one it drew; runs from it are the same."""
    scenario = make_scenario("collective", **TINY)
    assert scenario.rng == scenario.seed
    a, b = _run(scenario), _run(scenario)
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries(), check_exact=True)
    assert a.run_seed == scenario.seed
    assert make_scenario(scenario, n_nonprofits=6).rng == scenario.rng  # overrides keep it
    assert make_scenario(scenario, seed=5).rng == 5 and make_scenario(scenario, rng=6).seed == 6


def test_seed_sequences_and_generators_become_the_recorded_integer():
    """Non-integer rngs are turned into the int the run is seeded with, which replays it."""
    child = np.random.SeedSequence(42).spawn(2)[1]
    assert run_seed(child) == seed_int(child)
    from_sequence = _run("isolated", rng=child, **TINY)
    assert from_sequence.run_seed == seed_int(child)
    from_generator = _run("isolated", rng=np.random.default_rng(3), **TINY)
    assert from_generator.run_seed == int(np.random.default_rng(3).integers(SEED_MAX,
                                                                            endpoint=True))
    for model in (from_sequence, from_generator):
        replay = _run("isolated", rng=model.run_seed, **TINY)
        pd.testing.assert_frame_equal(model.timeseries(), replay.timeseries(), check_exact=True)


@pytest.mark.parametrize("bad", ["7", 1.5, True, np.bool_(True), [-1], [], object()])
def test_an_rng_that_is_no_seed_is_refused(bad):
    """Strings, floats, booleans and other objects are refused before anything is built."""
    with pytest.raises(ParameterError, match="seed"):
        CollectiveImpactModel("collective", rng=bad, **TINY)


def test_run_seed_converts_every_kind_of_rng_to_a_63_bit_integer():
    """None, ints, NumPy ints, SeedSequences, entropy lists and (bit) generators."""
    assert run_seed(7) == run_seed(np.int64(7)) == 7
    assert run_seed([1, 2]) == seed_int(np.random.SeedSequence([1, 2]))
    assert run_seed(np.random.PCG64(4)) == run_seed(np.random.default_rng(4))
    for rng in (None, np.random.SeedSequence(), np.random.default_rng()):
        seed = run_seed(rng)
        assert isinstance(seed, int) and 0 <= seed <= SEED_MAX


def test_a_seed_given_twice_must_agree():
    """rng and the seed parameter together: accepted when equal, refused when they differ."""
    assert CollectiveImpactModel("collective", rng=9, seed=9, **TINY).run_seed == 9
    with pytest.raises(ParameterError, match="'seed'"):
        CollectiveImpactModel("collective", rng=9, seed=10, **TINY)


def test_command_line_run_accepts_a_63_bit_seed(tmp_path, capsys):
    """cisim run --seed takes the seeds the experiment tools write, and records it."""
    from experiments.cli import main

    seed = seed_int(np.random.SeedSequence(20240601).spawn(1)[0])
    out = tmp_path / "run"
    code = main(["run", "--scenario", "isolated", "--seed", str(seed), "--steps", "3",
                 "--set", "n_residents=100", "--set", "n_nonprofits=6", "--out", str(out)])
    assert code == 0
    saved = json.loads((out / "summary.json").read_text())
    assert saved["summary"]["seed"] == seed
    assert json.loads(capsys.readouterr().out)["seed"] == seed


@pytest.mark.filterwarnings("ignore:The `iterations` keyword argument is deprecated")
def test_batch_run_iterations_differ_report_their_seed_and_replay(batch_run):
    """Two batch_run iterations with rng=None differ; each row's seed replays its run."""
    rows = batch_run(CollectiveImpactModel, {"summary_reporters": True, **TINY},
                     iterations=2, display_progress=False)
    assert len(rows) == 2
    assert rows[0]["seed"] != rows[1]["seed"]
    assert rows[0]["community_wellbeing"] != rows[1]["community_wellbeing"]
    for row in rows:
        assert row["Step"] == TINY["steps"]
        replay = _run("collective", seed=row["seed"], **TINY).summary()
        different = [f for f in SUMMARY_FIELDS if not _same(row[f], replay[f])]
        assert not different, different


def test_batch_run_returns_every_summary_field(batch_run):
    """With summary_reporters every summary field is in batch_run's rows, equal to summary()."""
    rows = batch_run(CollectiveImpactModel, {"summary_reporters": True, "seed": [3, 4], **TINY},
                     rng=[None], display_progress=False)
    assert [row["seed"] for row in rows] == [3, 4]
    for row in rows:
        summary = _run("collective", seed=row["seed"], **TINY).summary()
        assert set(SUMMARY_FIELDS) <= set(row)
        assert all(_same(row[f], summary[f]) for f in SUMMARY_FIELDS)


def test_summary_reporters_are_lazy_and_leave_the_run_alone():
    """Summary fields are None until the last month (seed: always); the run is unchanged."""
    plain = _run("collective", rng=5, **TINY)
    lazy = _run("collective", rng=5, summary_reporters=True, **TINY)
    pd.testing.assert_frame_equal(plain.timeseries(), lazy.timeseries(), check_exact=True)
    assert all(_same(plain.summary()[f], lazy.summary()[f]) for f in SUMMARY_FIELDS)
    assert set(plain.datacollector.model_vars) == set(plain.timeseries().columns) - {"step"}
    columns = lazy.datacollector.model_vars
    assert set(SUMMARY_FIELDS) <= set(columns)
    assert columns["seed"] == [5] * (TINY["steps"] + 1)
    for name in SUMMARY_FIELDS:
        if name not in SERIES_OUTPUTS and name != "seed":
            assert columns[name][:-1] == [None] * TINY["steps"]
            assert _same(columns[name][-1], lazy.summary()[name])
