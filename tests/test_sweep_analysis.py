"""Sweep analysis: known-answer indices (SALib test functions), curves, heat maps, CLI."""

import math

import numpy as np
import pandas as pd
import pytest
from SALib import ProblemSpec
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami

from experiments.cli import main
from experiments.sweep import analyze, sweep
from experiments.sweep.design import analysis_seed, design_seed

ISHIGAMI = ProblemSpec({"names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3,
                        "outputs": ["y"]})
#: Analytic first-order and total indices of the Ishigami function (a=7, b=0.1).
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def ishigami(params, seed):
    """The Ishigami function as a sweep evaluation."""
    x = np.array([[params["x1"], params["x2"], params["x3"]]])
    return {"y": float(Ishigami.evaluate(x)[0])}


def test_sobol_pipeline_reproduces_salib_on_the_ishigami_function(tmp_path):
    """A Sobol' sweep of Ishigami through sweep+analyze gives SALib's own indices."""
    n, seed = 512, 4242
    sweep(ISHIGAMI, tmp_path / "o", design="sobol", n=n, evaluate=ishigami, model=False,
          master_seed=seed, progress=False)
    result = analyze(tmp_path / "o", figures=False)
    x = sobol_sample.sample(dict(ISHIGAMI), n, calc_second_order=True, scramble=True,
                            seed=design_seed(seed))
    expected = sobol_analyze.analyze(dict(ISHIGAMI), Ishigami.evaluate(x),
                                     num_resamples=1000, seed=analysis_seed(seed))
    idx = result.indices.set_index(["index", "parameter"])
    names = ISHIGAMI["names"]
    for key in ("S1", "ST"):
        got = [idx.loc[(key, p), "value"] for p in names]
        conf = [idx.loc[(key, p), "conf"] for p in names]
        np.testing.assert_allclose(got, expected[key], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(conf, expected[f"{key}_conf"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([idx.loc[("S1", p), "value"] for p in names], ISHIGAMI_S1,
                               atol=0.08)
    np.testing.assert_allclose([idx.loc[("ST", p), "value"] for p in names], ISHIGAMI_ST,
                               atol=0.08)
    s2 = result.indices.loc[result.indices["index"] == "S2"].set_index(
        ["parameter", "parameter_2"])["value"]
    assert s2[("x1", "x3")] == pytest.approx(expected["S2"][0, 2], abs=1e-12)
    assert (tmp_path / "o" / "sensitivity.csv").exists()


def test_morris_pipeline_reproduces_salib_on_a_linear_function(tmp_path):
    """Morris mu* of a sweep equals SALib's on the stored design; it ranks |coefficients|."""
    problem = ProblemSpec({"names": ["a", "b", "c"], "bounds": [[0, 1]] * 3, "outputs": ["y"]})

    sweep(problem, tmp_path / "m", design="morris", n=12, evaluate=linear, model=False,
          master_seed=9, progress=False)
    result = analyze(tmp_path / "m", figures=False)
    design = pd.read_parquet(tmp_path / "m" / "design.parquet")
    x = design[["a", "b", "c"]].to_numpy()
    expected = morris_analyze.analyze(dict(problem), x, linear_y(x), num_resamples=1000,
                                      num_levels=4, seed=analysis_seed(9))
    star = result.indices.loc[result.indices["index"] == "mu_star"].set_index("parameter")
    np.testing.assert_allclose(star.loc[["a", "b", "c"], "value"], expected["mu_star"])
    assert star.loc["b", "value"] > star.loc["a", "value"] > star.loc["c", "value"]


def linear(params, seed):
    """y = 3a + 10b + 0.5c, for a known Morris ranking."""
    return {"y": 3 * params["a"] + 10 * params["b"] + 0.5 * params["c"]}


def linear_y(x):
    return 3 * x[:, 0] + 10 * x[:, 1] + 0.5 * x[:, 2]


def plane(params, seed):
    """y = u + 10 v plus seeded noise, so replications differ."""
    noise = np.random.default_rng(seed).normal(0, 0.1)
    return {"y": params["u"] + 10 * params["v"] + noise}


def test_grid_curves_and_heat_map_recover_a_known_surface(tmp_path):
    """On a grid, curve means and heat-map cells equal the function's averages."""
    samples = pd.DataFrame([(u, v) for u in (0.0, 1.0, 2.0) for v in (0.0, 0.5)],
                           columns=["u", "v"])
    sweep(samples, tmp_path / "g", replications=20, outputs=["y"], evaluate=plane,
          model=False, progress=False)
    result = analyze(tmp_path / "g")
    curve = result.curves.set_index(["parameter", "x"])
    assert curve.loc[("u", 2.0), "mean"] == pytest.approx(2.0 + 2.5, abs=0.05)
    assert curve.loc[("v", 0.5), "mean"] == pytest.approx(1.0 + 5.0, abs=0.05)
    assert (curve["ci_low"] <= curve["mean"]).all() and (curve["mean"] <= curve["ci_high"]).all()
    assert (curve["q10"] < curve["q90"]).all()
    cells = result.heatmaps["y"]
    assert cells.shape == (2, 3)
    assert cells.loc[0.5, 2.0] == pytest.approx(7.0, abs=0.1)
    pngs = sorted(p.name for p in (tmp_path / "g" / "figures").glob("*.png"))
    assert pngs == ["heatmap_y_u_v.png", "response_y.png"]
    assert (tmp_path / "g" / "figures" / "response_y.png").read_bytes()[:4] == b"\x89PNG"


def test_sobol_with_a_failed_design_point_is_skipped_not_wrong(tmp_path):
    """Sobol' indices need every design point: a failed point skips the output, loudly."""
    def sometimes(params, seed):
        if params["x1"] > 3.0:
            raise ValueError("outside the calibrated region")
        return ishigami(params, seed)

    with pytest.warns(RuntimeWarning, match="runs failed"):
        sweep(ISHIGAMI, tmp_path / "f", design="sobol", n=16, evaluate=sometimes,
              model=False, progress=False)
    result = analyze(tmp_path / "f", figures=False)
    assert result.indices.empty
    assert result.skipped and "no successful run" in result.skipped[0]


def test_cli_analyze_writes_indices_and_figures(tmp_path, capsys):
    """cisim analyze on a Sobol sweep prints indices and writes sensitivity.csv and PNGs."""
    sweep(ISHIGAMI, tmp_path / "o", design="sobol", n=16, evaluate=ishigami, model=False,
          progress=False)
    assert main(["analyze", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    assert "S1" in text and "ST" in text and "x1 x x2" in text
    table = pd.read_csv(tmp_path / "o" / "sensitivity.csv")
    assert set(table["index"]) == {"S1", "S2", "ST"}
    assert (tmp_path / "o" / "figures" / "sobol_y.png").exists()
    assert main(["analyze", str(tmp_path / "o"), "--outputs", "nope"]) == 2
    assert "unknown output 'nope'" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "missing")]) == 2
