"""Noise-aware sensitivity: indices on replication means, intervals over replications, rounds.

Known answer: the Ishigami function plus Gaussian noise whose variance equals the
function's own, so half of every run's variance comes from its seed.
"""

import json
import math

import numpy as np
import pytest
from SALib import ProblemSpec
from SALib.test_functions import Ishigami

from experiments.cli import main
from experiments.sweep import analyze, load_results, sweep
from experiments.sweep.config import SweepConfig
from experiments.sweep.target import replicate_until

A, B = 7.0, 0.1
#: Variance of the Ishigami function over its inputs (a=7, b=0.1).
VARIANCE = A**2 / 8 + B * math.pi**4 / 5 + B**2 * math.pi**8 / 18 + 0.5
S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
PROBLEM = {"names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3, "outputs": ["y"]}


def noisy_ishigami(params, seed):
    """Ishigami plus noise of the function's own variance, drawn from the run's seed."""
    x = np.array([[params["x1"], params["x2"], params["x3"]]])
    noise = np.random.default_rng(seed).normal(0.0, math.sqrt(VARIANCE))
    return {"y": float(Ishigami.evaluate(x)[0]) + noise}


@pytest.fixture(scope="module")
def noisy_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise") / "o"
    sweep(ProblemSpec(dict(PROBLEM)), out, design="sobol", n=256, replications=4,
          evaluate=noisy_ishigami, model=False, master_seed=3, progress=False)
    return out


def test_noise_share_is_the_known_share_of_variance_from_seeds(noisy_sweep):
    indices = analyze(noisy_sweep, write=False).indices
    assert indices["noise_share"].nunique() == 1
    assert indices["noise_share"].iloc[0] == pytest.approx(0.5, abs=0.03)


def test_intervals_over_replications_cover_the_noise_free_indices(noisy_sweep):
    """The raw index on noisy means is biased; the bootstrap interval is aimed past it."""
    indices = analyze(noisy_sweep).indices.set_index(["index", "parameter"])
    for name, known in (("S1", S1), ("ST", ST)):
        for parameter, value in known.items():
            row = indices.loc[(name, parameter)]
            assert row["low"] <= value <= row["high"], (name, parameter, row.to_dict())
            assert row["corrected"] == pytest.approx(value, abs=0.1), (name, parameter)
    # noise inflates total indices: the raw value of x3's ST is well above the known one
    assert indices.loc[("ST", "x3"), "value"] > ST["x3"] + 0.08
    written = (noisy_sweep / "sensitivity.csv").read_text().splitlines()[0]
    assert written.endswith("corrected,low,high,noise_share")


def test_without_replications_there_is_no_noise_column_to_fill(tmp_path):
    sweep(ProblemSpec(dict(PROBLEM)), tmp_path / "one", design="sobol", n=16,
          evaluate=noisy_ishigami, model=False, master_seed=3, progress=False)
    indices = analyze(tmp_path / "one", write=False).indices
    assert indices[["corrected", "low", "high", "noise_share"]].isna().all().all()


def small_config(**options):
    return SweepConfig.from_problem(dict(PROBLEM), "sobol", n=32, replications=2,
                                    master_seed=5, model=False, **options)


def test_rounds_of_replications_until_the_intervals_are_narrow(tmp_path):
    config = small_config()
    report = replicate_until(config, tmp_path / "t", 0.35, evaluate=noisy_ishigami,
                             progress=False)
    assert report.reached and report.widest <= 0.35
    assert report.rounds == (2, 2, 4, 8)  # each round doubles the replications
    assert report.replications == sum(report.rounds)
    table = load_results(tmp_path / "t")
    assert len(table) == report.runs == 256 * report.replications
    assert list(table["run_id"]) == list(range(report.runs))
    assert table.groupby(["point", "replication"]).size().eq(1).all()
    # the first round's runs are those of the plain sweep: adding rounds moves none of them
    plain = sweep(config, tmp_path / "plain", evaluate=noisy_ishigami, progress=False)
    first = table[table["run_id"] < len(plain)].reset_index(drop=True)
    assert (first["seed"] == plain["seed"]).all() and (first["y"] == plain["y"]).all()
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert manifest["design"]["rounds"] == list(report.rounds)


def test_a_budget_too_small_for_the_target_says_so(tmp_path):
    report = replicate_until(small_config(), tmp_path / "b", 0.01, budget=256 * 4,
                             evaluate=noisy_ishigami, progress=False)
    assert not report.reached and report.runs == 256 * 4
    assert report.describe().startswith("budget spent")


def test_target_ci_needs_indices_and_a_budget_above_the_design(tmp_path, capsys):
    config = tmp_path / "grid.toml"
    config.write_text('[sweep]\ndesign = "grid"\nmaster_seed = 1\noutputs = ["improvement_pct"]'
                      '\n[parameters]\nbackbone_funding = { levels = [0.0, 0.1] }\n')
    assert main(["sweep", str(config), "--target-ci", "0.1", "--out",
                 str(tmp_path / "g")]) == 2
    assert "has no sensitivity indices" in capsys.readouterr().err
    assert main(["sweep", str(config), "--budget", "10", "--out", str(tmp_path / "g")]) == 2
    assert "only with --target-ci" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_figures_show_the_intervals_over_replications_and_the_noise_share(noisy_sweep):
    from experiments.engine import read_manifest
    from experiments.reports.sweep import sobol_figure, write_figures

    result = analyze(noisy_sweep, write=False)
    figure = sobol_figure(result.indices, "noisy Ishigami")
    assert "seeds: 51% of run variance" in figure.texts[0].get_text()
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "interval over replications" in labels
    files = write_figures(result, noisy_sweep / "figures", read_manifest(noisy_sweep)["sweep"])
    assert any(p.name == "sobol_y.png" and p.stat().st_size > 0 for p in files)
