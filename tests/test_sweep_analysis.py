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
from experiments.engine import read_manifest
from experiments.errors import UsageError
from experiments.reports.sweep import write_figures
from experiments.sweep import analyze, sweep
from experiments.sweep.design import analysis_seed, design_seed


def ishigami_problem():
    """A fresh SALib problem of the Ishigami function (``sweep`` fills in its results)."""
    return ProblemSpec({"names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3,
                        "outputs": ["y"]})


ISHIGAMI = ishigami_problem()  # read only: tests sweep fresh problems
#: Analytic first-order and total indices of the Ishigami function (a=7, b=0.1).
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def ishigami(inputs, seed):
    """The Ishigami function as a sweep evaluation."""
    x = np.array([[inputs["x1"], inputs["x2"], inputs["x3"]]])
    return {"y": float(Ishigami.evaluate(x)[0])}


def test_sobol_pipeline_reproduces_salib_on_the_ishigami_function(tmp_path):
    """A Sobol' sweep of Ishigami through sweep+analyze gives SALib's own indices."""
    n, seed = 512, 4242
    problem = ishigami_problem()
    sweep(problem, tmp_path / "o", design="sobol", n=n, evaluate=ishigami, model=False,
          master_seed=seed, progress=False)
    result = analyze(tmp_path / "o")
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
    written = pd.read_csv(tmp_path / "o" / "sensitivity.csv")
    pd.testing.assert_frame_equal(written, result.indices, check_dtype=False)
    assert (tmp_path / "o" / "response.csv").exists()
    assert not (tmp_path / "o" / "figures").exists()  # the analysis draws no figures
    # The ProblemSpec came back with the design and results: SALib's own analysis agrees.
    np.testing.assert_array_equal(problem.samples, x)
    np.testing.assert_allclose(problem.results, Ishigami.evaluate(x), rtol=1e-12)
    problem.analyze_sobol(calc_second_order=True, num_resamples=1000, seed=analysis_seed(seed))
    for key in ("S1", "ST"):
        np.testing.assert_allclose([idx.loc[(key, p), "value"] for p in names],
                                   problem.analysis[key], rtol=1e-12, atol=1e-12)


def test_morris_pipeline_reproduces_salib_on_a_linear_function(tmp_path):
    """Morris mu* of a sweep equals SALib's on the stored design; it ranks |coefficients|."""
    problem = ProblemSpec({"names": ["a", "b", "c"], "bounds": [[0, 1]] * 3, "outputs": ["y"]})

    sweep(problem, tmp_path / "m", design="morris", n=12, evaluate=linear, model=False,
          master_seed=9, progress=False)
    result = analyze(tmp_path / "m", write=False)
    design = pd.read_parquet(tmp_path / "m" / "design.parquet")
    x = design[["a", "b", "c"]].to_numpy()
    expected = morris_analyze.analyze(dict(problem), x, linear_y(x), num_resamples=1000,
                                      num_levels=4, seed=analysis_seed(9))
    star = result.indices.loc[result.indices["index"] == "mu_star"].set_index("parameter")
    np.testing.assert_allclose(star.loc[["a", "b", "c"], "value"], expected["mu_star"])
    np.testing.assert_allclose(star.loc[["a", "b", "c"], "conf"], expected["mu_star_conf"])
    assert star.loc["b", "value"] > star.loc["a", "value"] > star.loc["c", "value"]
    # A linear function's elementary effects are its coefficients, at every step.
    mu = result.indices.loc[result.indices["index"] == "mu"].set_index("parameter")["value"]
    np.testing.assert_allclose(mu.loc[["a", "b", "c"]], [3.0, 10.0, 0.5], rtol=1e-9)
    assert not (tmp_path / "m" / "sensitivity.csv").exists()  # write=False


def linear(inputs, seed):
    """y = 3a + 10b + 0.5c, for a known Morris ranking."""
    return {"y": 3 * inputs["a"] + 10 * inputs["b"] + 0.5 * inputs["c"]}


def linear_y(x):
    return 3 * x[:, 0] + 10 * x[:, 1] + 0.5 * x[:, 2]


def plane(inputs, seed):
    """y = u + 10 v plus seeded noise, so replications differ."""
    noise = np.random.default_rng(seed).normal(0, 0.1)
    return {"y": inputs["u"] + 10 * inputs["v"] + noise}


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
    assert (curve.loc["u", "n"] == 2 * 20).all() and (curve.loc["v", "n"] == 3 * 20).all()
    cells = result.heatmaps["y"]
    assert cells.shape == (2, 3)
    assert cells.loc[0.5, 2.0] == pytest.approx(7.0, abs=0.1)
    assert not (tmp_path / "g" / "figures").exists()
    manifest = read_manifest(tmp_path / "g")
    files = write_figures(result, tmp_path / "g" / "figures", manifest["sweep"])
    pngs = sorted(p.name for p in (tmp_path / "g" / "figures").glob("*.png"))
    assert pngs == ["heatmap_y_u_v.png", "response_y.png"] == sorted(p.name for p in files)
    assert (tmp_path / "g" / "figures" / "response_y.png").read_bytes()[:4] == b"\x89PNG"


def test_sobol_with_a_failed_design_point_is_skipped_not_wrong(tmp_path):
    """Sobol' indices need every design point: a failed point skips the output, loudly."""
    def sometimes(inputs, seed):
        if inputs["x1"] > 3.0:
            raise ValueError("outside the calibrated region")
        return ishigami(inputs, seed)

    with pytest.warns(RuntimeWarning, match="runs failed"):
        table = sweep(ishigami_problem(), tmp_path / "f", design="sobol", n=16,
                      evaluate=sometimes, model=False, progress=False)
    failed = table["error"].notna()
    assert 0 < failed.sum() < len(table)
    assert table.loc[failed, "error"].str.startswith("ValueError: outside").all()
    result = analyze(tmp_path / "f")
    assert result.indices.empty
    assert result.skipped and "no successful run" in result.skipped[0]
    points = (table.loc[failed, "point"].nunique(), table["point"].nunique())
    assert f"{points[0]} of {points[1]} design points" in result.skipped[0]
    assert not (tmp_path / "f" / "sensitivity.csv").exists()
    # Curves still use the successful runs.
    assert result.curves.groupby("parameter")["n"].sum().eq((~failed).sum()).all()


def test_cli_analyze_writes_indices_and_figures(tmp_path, capsys):
    """cisim analyze on a Sobol sweep prints indices and writes sensitivity.csv and PNGs."""
    sweep(ishigami_problem(), tmp_path / "o", design="sobol", n=16, evaluate=ishigami,
          model=False, progress=False)
    assert main(["analyze", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    assert "S1" in text and "ST" in text and "x1 x x2" in text
    table = pd.read_csv(tmp_path / "o" / "sensitivity.csv")
    assert set(table["index"]) == {"S1", "S2", "ST"}
    figures = sorted(p.name for p in (tmp_path / "o" / "figures").glob("*.png"))
    assert figures == ["heatmap_y_x1_x2.png", "response_y.png", "sobol_y.png"]
    for name in ("nope", "x1", "run_id", "elapsed_s"):  # only the config's outputs
        assert main(["analyze", str(tmp_path / "o"), "--outputs", name]) == 2
        err = capsys.readouterr().err.strip()
        assert f"unknown output '{name}'" in err and "allowed: y" in err and "\n" not in err
    assert main(["analyze", str(tmp_path / "missing")]) == 2
    assert "holds no sweep" in capsys.readouterr().err


def test_cli_analyze_without_figures_writes_tables_only(tmp_path, capsys):
    """--no-figures writes sensitivity.csv and response.csv and no figures folder."""
    sweep(ishigami_problem(), tmp_path / "o", design="sobol", n=16, evaluate=ishigami,
          model=False, progress=False)
    assert main(["analyze", str(tmp_path / "o"), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "sensitivity.csv" in out and "response.csv" in out and ".png" not in out
    assert not (tmp_path / "o" / "figures").exists()


GRID = """
[sweep]
design = "grid"
replications = 2
steps = 4
master_seed = 5
outputs = ["improvement_pct"]
[parameters]
backbone_funding = { levels = [0.0, 0.1] }
communication_frequency = { levels = [0.5, 4.0] }
[fixed]
n_residents = 150
n_nonprofits = 6
n_funders = 2
"""


def test_analyze_a_model_sweep_takes_any_declared_summary_output(tmp_path, capsys):
    """--outputs of a model sweep: any declared summary output, bools and counts included."""
    cfg = tmp_path / "grid.toml"
    cfg.write_text(GRID)
    out = tmp_path / "o"
    assert main(["sweep", str(cfg), "--out", str(out), "--no-progress"]) == 0
    result = analyze(out, ["final_mean_trust", "needle_moved", "nonprofit_closures"],
                     write=False)
    curves = result.curves.set_index(["output", "parameter", "x"])
    table = pd.read_parquet(out / "runs")
    for output in ("final_mean_trust", "needle_moved", "nonprofit_closures"):
        expected = table.groupby("backbone_funding")[output].mean()
        got = curves.loc[(output, "backbone_funding"), "mean"]
        np.testing.assert_allclose(got.to_numpy(dtype=float), expected.to_numpy(dtype=float))
    for name in ("seed", "backbone_funding", "key", "improvment_pct"):  # not outputs
        with pytest.raises(UsageError, match=f"unknown output '{name}'"):
            analyze(out, [name], write=False)
    assert main(["analyze", str(out), "--outputs", "improvment_pct"]) == 2
    assert "(did you mean 'improvement_pct'?)" in capsys.readouterr().err
