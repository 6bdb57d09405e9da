"""``cisim calibrate``: config checks, a known answer, reproducibility, resume, folders,
and ``cisim compare --posterior``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.calibrate import (
    CalibrationPlan,
    ConfigError,
    Pattern,
    Prior,
    load_config,
    particle_seed,
    pattern_distance,
)
from experiments.cli import main
from experiments.engine import StudyFolder

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "experiments" / "configs" / "calibrate_field.toml"

smc = pytest.importorskip("experiments.calibrate.smc")


@dataclasses.dataclass(frozen=True)
class Toy:
    """x ~ Normal(theta, 1), seeded by the particle's values like the model's runs."""

    master_seed: int

    def __call__(self, values):
        rng = np.random.default_rng(particle_seed(self.master_seed, values, 0))
        return {"x": float(rng.normal(values["theta"], 1.0))}


def toy_plan(generations: int = 5, population: int = 200, seed: int = 5) -> CalibrationPlan:
    return CalibrationPlan((Prior("theta", -10.0, 10.0),),
                           (Pattern("x", "x", "isolated", 1.0, 1.0),),
                           population_size=population, max_generations=generations,
                           master_seed=seed, predictive_draws=5)


def run_toy(plan: CalibrationPlan, out: Path, max_generations: int | None = None):
    with smc.open_folder(plan, out) as folder:
        result = smc.run_calibration(plan, folder, Toy(plan.master_seed),
                                     max_generations=max_generations)
        with folder.publishing() as staging:
            smc.write_results(result, staging)
    return result


def final(posterior: pd.DataFrame) -> tuple[float, float]:
    last = posterior[posterior["generation"] == posterior["generation"].max()]
    w = last["weight"].to_numpy() / last["weight"].sum()
    mean = float(np.sum(w * last["theta"]))
    return mean, float(np.sqrt(np.sum(w * (last["theta"] - mean) ** 2)))


# --- the config -----------------------------------------------------------------------------
BASE = """
[calibrate]
population_size = 4
max_generations = 1
[priors]
policy_effect = {}
[patterns.success]
statistic = "grant_success_rate"
observed = 0.21
tolerance = 0.05
"""


def test_the_example_config_loads():
    plan = load_config(EXAMPLE)
    assert plan.scenarios == ("isolated", "collective")
    assert {p.statistic for p in plan.patterns} == {"grant_success_rate", "never_won_share",
                                                   "needle_moved"}
    assert all(p.source for p in plan.patterns)
    assert plan.priors[0].low == 0.3 and plan.priors[1] == Prior("effort_sway", 0.0, 1.0)


@pytest.mark.parametrize("change, key", [
    (("population_size = 4", "population_size = 1"), "population_size"),
    (("max_generations = 1", "max_generations = 1\nsteps = 0"), "steps"),
    (("max_generations = 1", "max_generations = 1\nreplication = 2"), "replication"),
    (("max_generations = 1", "max_generations = 1\nmaster_seed = -1"), "master_seed"),
    (("max_generations = 1", "max_generations = 1\nmin_epsilon = -1"), "min_epsilon"),
    (("policy_effect = {}", "policy_efect = {}"), "policy_efect"),
    (("policy_effect = {}", "n_residents = {}"), "n_residents"),
    (("policy_effect = {}", "seed = {}"), "seed"),
    (("policy_effect = {}", "policy_effect = { bounds = [0.5, 0.1] }"), "bounds"),
    (("policy_effect = {}", "policy_effect = { bounds = [0.1, 2.0] }"), "bounds"),
    (("policy_effect = {}", "policy_effect = { low = 0.1 }"), "low"),
    (('statistic = "grant_success_rate"', 'statistic = "months_to_needle"'), "statistic"),
    (("tolerance = 0.05", "tolerance = 0"), "tolerance"),
    (("observed = 0.21", "observed = 1.5"), "observed"),
    (("tolerance = 0.05", "tolerance = 0.05\nscenario = \"nowhere\""), "scenario"),
    (("tolerance = 0.05", "tolerance = 0.05\nsource = 3"), "source"),
    (("observed = 0.21\n", ""), "observed"),
    (("[calibrate]", "[calibrat]"), "calibrat"),
])
def test_config_errors_are_one_line_naming_the_key(tmp_path, change, key):
    path = tmp_path / "bad.toml"
    path.write_text(BASE.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message and key in message and "bad.toml" in message


def test_fixed_values_are_checked_and_cannot_be_priors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BASE + "[fixed]\nn_residents = 0\n")
    with pytest.raises(ConfigError, match="n_residents"):
        load_config(path)
    path.write_text(BASE + "[fixed]\npolicy_effect = 0.2\n")
    with pytest.raises(ConfigError, match="also in \\[fixed\\]"):
        load_config(path)


def test_a_bad_config_exits_2_before_any_work(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BASE.replace("tolerance = 0.05", "tolerance = -1"))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "tolerance" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_distance_is_the_sum_of_errors_in_tolerances():
    assert pattern_distance({"a": 0.3, "b": 1.0}, {"a": 0.2, "b": 0.5},
                            {"a": 0.05, "b": 0.25}) == pytest.approx(2.0 + 2.0)
    assert pattern_distance({"a": float("nan")}, {"a": 0.2}, {"a": 0.1}) == float("inf")


def test_particle_seeds_depend_on_values_master_and_replication():
    seed = particle_seed(1, {"x": 0.5})
    assert seed == particle_seed(1, {"x": np.float64(0.5)})
    assert len({seed, particle_seed(2, {"x": 0.5}), particle_seed(1, {"x": 0.5000001}),
                particle_seed(1, {"x": 0.5}, 1)}) == 4
    assert 0 <= seed < 2**63


# --- the known answer, reproducibility and resume -------------------------------------------
def test_known_answer_normal_mean(tmp_path):
    """x ~ N(theta, 1), x0 = 1, prior U(-10, 10): the posterior is about N(1, 1)."""
    result = run_toy(toy_plan(), tmp_path / "toy")
    mean, sd = final(result.posterior)
    assert mean == pytest.approx(1.0, abs=0.25)
    assert sd == pytest.approx(1.0, abs=0.3)
    assert result.generations["epsilon"].iloc[-1] < 1.0  # the threshold did shrink


def test_same_master_seed_same_posterior_and_global_state_restored(tmp_path):
    np.random.seed(123)  # noqa: NPY002 - the caller's state must come back unchanged
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    a = run_toy(toy_plan(3, 50), tmp_path / "a").posterior
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    b = run_toy(toy_plan(3, 50), tmp_path / "b").posterior
    c = run_toy(toy_plan(3, 50, seed=6), tmp_path / "c").posterior
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["theta"].to_numpy(), c["theta"].to_numpy())


def test_resume_continues_without_redoing_the_first_generation(tmp_path):
    plan = toy_plan(3, 50)
    out = tmp_path / "resumed"
    first = run_toy(plan, out, max_generations=1)  # stopped after one generation
    assert list(first.generations["generation"]) == [0]
    samples_0 = int(first.generations["samples"].iloc[0])
    calls: list[int] = []

    @dataclasses.dataclass(frozen=True)
    class Counting(Toy):
        def __call__(self, values):
            calls.append(1)
            return super().__call__(values)

    with smc.open_folder(plan, out) as folder:  # the same configuration: allowed
        result = smc.run_calibration(plan, folder, Counting(plan.master_seed))
    assert list(result.generations["generation"]) == [0, 1, 2]
    # only generations 1 and 2 and the predictive draws were simulated again
    assert len(calls) == int(result.generations["samples"].iloc[1:].sum()) + 5
    assert int(result.generations["samples"].iloc[0]) == samples_0
    whole = run_toy(plan, tmp_path / "whole").posterior
    pd.testing.assert_frame_equal(result.posterior, whole)  # as if never interrupted


def test_posterior_parquet_schema(tmp_path):
    out = tmp_path / "schema"
    run_toy(toy_plan(2, 20), out)
    table = pd.read_parquet(out / "posterior.parquet")
    assert list(table.columns) == ["generation", "particle", "weight", "distance", "theta", "x",
                                   "seed"]
    assert str(table["generation"].dtype) == "int64" and str(table["seed"].dtype) == "int64"
    assert sorted(table["generation"].unique()) == [0, 1]
    assert table.groupby("generation")["weight"].sum().to_numpy() == pytest.approx([1, 1])
    gens = pd.read_csv(out / "generations.csv")
    assert list(gens.columns[:5]) == ["generation", "epsilon", "particles", "samples",
                                      "acceptance_rate"]
    assert (out / "abc.db").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "calibrate" and manifest["status"] == "complete"


# --- the model, folders and compare --posterior ---------------------------------------------
TINY = """
[calibrate]
steps = 12
population_size = 3
max_generations = 1
master_seed = 7
replications = 1
predictive_draws = 2
[priors]
policy_effect = { bounds = [0.1, 0.3] }
[patterns.success]
statistic = "grant_success_rate"
scenario = "isolated"
observed = 0.21
tolerance = 0.05
source = "Herbert et al. 2013"
[fixed]
n_residents = 40
n_nonprofits = 4
total_funding = 100000.0
"""


@pytest.fixture(scope="module")
def tiny_calibration(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cal") / "out"
    config = folder.parent / "tiny.toml"
    config.write_text(TINY)
    assert main(["calibrate", str(config), "--out", str(folder)]) == 0
    return folder


def test_calibrate_command_writes_its_outputs(tiny_calibration):
    for name in ("posterior.parquet", "generations.csv", "predictive.parquet", "report.md",
                 "report.html", "abc.db", "calibration.json", "figures/predictive.png"):
        assert (tiny_calibration / name).is_file(), name
    report = (tiny_calibration / "report.md").read_text()
    assert "posterior predictive" in report.lower() and "Herbert" in report


def test_a_foreign_folder_and_another_config_are_refused(tiny_calibration, tmp_path, capsys):
    other = tmp_path / "other.toml"
    other.write_text(TINY.replace("master_seed = 7", "master_seed = 8"))
    assert main(["calibrate", str(other), "--out", str(tiny_calibration)]) == 2
    assert "another configuration" in capsys.readouterr().err
    foreign = tmp_path / "foreign"
    with StudyFolder(foreign, "compare", {"x": 1}):
        pass
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    assert main(["calibrate", str(config), "--out", str(foreign)]) == 2
    assert "cisim compare" in capsys.readouterr().err


def test_compare_draws_communities_from_the_posterior(tiny_calibration, tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "--posterior", str(tiny_calibration), "--scenarios",
            "isolated,collective", "--reps", "3", "--jobs", "1", "--no-progress",
            "--out", str(out)]
    assert main(args) == 0
    assert "In communities like those observed" in capsys.readouterr().out
    runs = pd.read_parquet(out / "runs.parquet")
    posterior = pd.read_parquet(tiny_calibration / "posterior.parquet")
    assert set(runs["policy_effect"]) <= set(posterior["policy_effect"])
    assert (runs["n_residents"] == 40).all() and (runs["steps"] == 12).all()
    per_rep = runs.groupby("replication")["policy_effect"].nunique()
    assert (per_rep == 1).all()  # both scenarios of a replication share its community
    manifest = json.loads((out / "manifest.json").read_text())
    cal = json.loads((tiny_calibration / "manifest.json").read_text())
    assert manifest["config"]["posterior"] == cal["fingerprint"]
    assert main([*args, "--set", "policy_effect=0.2"]) == 2
    assert "calibrated" in capsys.readouterr().err
    assert main(["compare", "--posterior", str(tmp_path), "--reps", "2",
                 "--out", str(tmp_path / "x")]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("extra", [["--jobs", "2"], ["--backend", "dask", "--jobs", "2"]])
def test_parallel_samplers_run(tmp_path, extra):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "out"
    assert main(["calibrate", str(config), "--out", str(out), *extra]) == 0
    assert len(pd.read_parquet(out / "posterior.parquet")) == 3
