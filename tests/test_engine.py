"""The one experiment engine: folders owned, nothing lost, typed tables, seeds that replay.

Each test here stands for a defect the engine was built to remove; each failed
on the tools before it (see the note of the engine's issue).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from experiments.cli import main
from experiments.engine import (
    Design,
    ModelEvaluation,
    RunStore,
    StudyFolder,
    custom_schema,
    execute,
    model_schema,
)
from experiments.engine.folder import LOCK
from experiments.engine.limits import MAX_RUNS, available_cores
from experiments.errors import UsageError
from experiments.stats import bootstrap_interval, mean_interval

TINY = ["--set", "n_residents=120", "--set", "n_nonprofits=6", "--set", "n_funders=2",
        "--steps", "6"]


def cli(argv, capsys):
    """Run cisim in this process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A finished tiny comparison folder."""
    out = tmp_path_factory.mktemp("engine") / "cmp"
    code = main(["compare", "--scenarios", "isolated,collective", "--reps", "2", "--jobs",
                 "1", "--no-progress", *TINY, "--out", str(out)])
    assert code == 0
    return out


# --- folders are owned --------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["run", *TINY],
    ["breakeven", "--param", "backbone_funding", "--target", "needle_moved", *TINY],
    ["compare", "--scenarios", "isolated", "--reps", "2", *TINY],  # fewer scenarios
    ["compare", "--scenarios", "isolated,collective", "--reps", "3", *TINY],
])
def test_another_command_or_configuration_is_refused_and_the_folder_kept(argv, compared,
                                                                         capsys):
    before = snapshot(compared)
    code, _, err = cli([*argv, "--no-progress", "--out", compared]
                       if argv[0] != "run" else [*argv, "--out", compared], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "another configuration" in err or "holds results of 'cisim compare'" in err
    assert snapshot(compared) == before


def test_the_same_command_again_replaces_the_outputs_as_a_whole(compared, capsys):
    """A rerun resumes (no run is redone) and rewrites every output; nothing stale stays."""
    stale = compared / "figures" / "stale.png"
    manifest = json.loads((compared / "manifest.json").read_text())
    stale.write_bytes(b"from an earlier publication")
    manifest["outputs"].append("figures/stale.png")
    (compared / "manifest.json").write_text(json.dumps(manifest))
    parts = snapshot(compared / "runs")
    code, out, _ = cli(["compare", "--scenarios", "isolated,collective", "--reps", "2",
                        "--no-progress", *TINY, "--out", compared], capsys)
    assert code == 0 and "4 runs" in out
    assert snapshot(compared / "runs") == parts  # the runs were resumed, not redone
    assert not stale.exists()
    after = json.loads((compared / "manifest.json").read_text())
    assert after["status"] == "complete" and "figures/stale.png" not in after["outputs"]
    for name in after["outputs"]:
        assert (compared / name).stat().st_size > 0, name
    assert not [p for p in compared.rglob("*") if p.name.startswith(".")]


def test_a_second_writer_is_refused_by_the_lock(tmp_path):
    folder = StudyFolder(tmp_path / "o", "compare", {"a": 1})
    with (folder, pytest.raises(UsageError, match="another cisim command is writing"),
          StudyFolder(tmp_path / "o", "compare", {"a": 1})):
        pass
    assert not (tmp_path / "o" / LOCK).exists()  # released and removed on the way out
    with StudyFolder(tmp_path / "o", "compare", {"a": 1}):  # free again
        pass


def test_a_failed_publication_leaves_the_old_outputs(tmp_path):
    with (StudyFolder(tmp_path / "o", "test", {"a": 1}) as folder,
          folder.publishing() as staging):
        (staging / "table.csv").write_text("old")
    with (StudyFolder(tmp_path / "o", "test", {"a": 1}) as folder, pytest.raises(RuntimeError),
          folder.publishing() as staging):
        (staging / "table.csv").write_text("half")
        raise RuntimeError("killed while writing")
    assert (tmp_path / "o" / "table.csv").read_text() == "old"
    assert not [p for p in (tmp_path / "o").iterdir() if p.name.startswith(".staging")]


def test_kill_9_in_mid_compare_then_the_same_command_gives_the_uninterrupted_result(tmp_path):
    """kill -9 while runs are being written; the same command then completes the folder."""
    argv = ["compare", "--scenarios", "isolated,collective", "--reps", "6", "--jobs", "2",
            "--no-progress", "--set", "n_residents=200", "--set", "n_nonprofits=8",
            "--steps", "24"]
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    command = [sys.executable, "-m", "experiments", *argv, "--out", str(killed)]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((killed / "runs").glob("part-*")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the compare finished before it was killed"
    assert not (killed / "report.html").exists()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert subprocess.run([sys.executable, "-m", "experiments", *argv, "--out", str(fresh)],
                          capture_output=True, timeout=600, check=False).returncode == 0
    resumed = pd.read_parquet(killed / "runs.parquet").drop(columns="elapsed_s")
    straight = pd.read_parquet(fresh / "runs.parquet").drop(columns="elapsed_s")
    pd.testing.assert_frame_equal(resumed, straight)
    pd.testing.assert_frame_equal(pd.read_parquet(killed / "timeseries.parquet"),
                                  pd.read_parquet(fresh / "timeseries.parquet"))
    for name in ("summary.csv", "contrasts.csv"):
        assert (killed / name).read_bytes() == (fresh / name).read_bytes(), name
    assert not [p for p in killed.rglob("*") if p.name.startswith(".")]


# --- limits before work --------------------------------------------------------------------
@pytest.mark.parametrize("argv, mention", [
    (["compare", "--reps", "1000000000"], "--reps"),
    (["breakeven", "--param", "backbone_funding", "--target", "needle_moved",
      "--points", "1e9"], "--points"),
    (["breakeven", "--param", "backbone_funding", "--target", "needle_moved",
      "--reps", "1e12"], "--reps"),
    (["compare", "--seed", str(2**63)], "--seed"),
    (["compare", "--seed", "-1"], "--seed"),
])
def test_sizes_that_cannot_run_are_refused_in_one_line(argv, mention, tmp_path, capsys):
    started = time.perf_counter()
    code, _, err = cli([*argv, "--out", tmp_path / "o"], capsys)
    assert code == 2 and err.count("\n") == 1 and mention in err
    assert time.perf_counter() - started < 5
    assert not (tmp_path / "o").exists()


def test_a_design_beyond_the_run_limit_is_refused_before_it_is_built():
    with pytest.raises(UsageError, match="runs"):
        Design(tuple({"x": i} for i in range(1000)), MAX_RUNS // 100, 1)


def test_more_jobs_than_cores_are_capped_with_one_warning(tmp_path, capsys):
    code, _, err = cli(["compare", "--scenarios", "isolated", "--reps", "2", "--jobs",
                        "1000", "--no-progress", *TINY, "--out", tmp_path / "o"], capsys)
    assert code == 0
    assert f"--jobs 1000: this machine has {available_cores()} cores" in err
    assert err.count("warning") == 1


# --- seeds round-trip -----------------------------------------------------------------------
def test_every_written_seed_replays_its_row_with_cisim_run(compared, tmp_path, capsys):
    runs = pd.read_parquet(compared / "runs.parquet")
    assert runs["seed"].max() > 2**32  # 63-bit seeds, beyond the old declared maximum
    for row in runs.itertuples():
        out = tmp_path / f"replay-{row.run_id}"
        code, _, _ = cli(["run", "--scenario", row.scenario, "--seed", row.seed, *TINY,
                          "--out", out], capsys)
        assert code == 0
        summary = json.loads((out / "summary.json").read_text())["summary"]
        assert summary["seed"] == row.seed
        for field in ("improvement_pct", "final_mean_trust", "nonprofit_closures",
                      "needle_moved", "funds_disbursed"):
            assert summary[field] == getattr(row, field), field


# --- the store ------------------------------------------------------------------------------
def failing_evaluation(inputs, seed):
    """Fails for odd x: an evaluation whose runs sometimes raise."""
    if inputs["x"] % 2:
        raise ValueError(f"odd x={inputs['x']}")
    return {"y": inputs["x"] * 0.5 + seed % 7}


def test_a_folder_with_failures_reads_as_one_typed_dataset(compared, tmp_path):
    schema = custom_schema([("x", "int")], ["y"])
    store = RunStore(tmp_path / "f", schema)
    done = execute(Design(tuple({"x": i} for i in range(4)), 2, 5, "independent"),
                   failing_evaluation, schema, store=store, progress=False)
    assert done.failed == 4
    table = ds.dataset(tmp_path / "f" / "runs").to_table()
    assert table.schema.field("error").type == pa.string()
    assert table.num_rows == 8 and len(pd.read_parquet(tmp_path / "f" / "runs")) == 8
    part = pq.read_schema(next((compared / "runs").glob("part-*.parquet")))
    assert part.field("needle_moved").type == pa.bool_()
    assert part.field("nonprofit_closures").type == pa.int64()
    assert part.field("months_to_needle").type == pa.int64()
    assert part.field("improvement_pct").type == pa.float64()
    assert part.field("improvement_pct").metadata[b"unit"] == b"%"
    assert ds.dataset(compared / "runs").to_table().num_rows == 4


def test_retrying_failures_never_touches_finished_runs(tmp_path):
    """A retry writes new parts; old parts stay byte for byte; each run appears once."""
    schema = custom_schema([("x", "int")], ["y"])
    design = Design(tuple({"x": i} for i in range(4)), 2, 5, "independent")
    store = RunStore(tmp_path / "f", schema)
    first = execute(design, failing_evaluation, schema, store=store, progress=False)
    before = snapshot(tmp_path / "f" / "runs")
    again = execute(design, lambda inputs, seed: {"y": -1.0}, schema, store=store,
                    retry_failed=True, progress=False)
    after = snapshot(tmp_path / "f" / "runs")
    assert {k: after[k] for k in before} == before and len(after) == len(before) + 1
    assert again.ran == 4 and again.failed == 0 and len(again.runs) == 8
    kept = first.runs[first.runs["error"].isna()].set_index("run_id")
    now = again.runs.set_index("run_id")
    pd.testing.assert_frame_equal(now.loc[kept.index], kept)
    assert (now.drop(index=kept.index)["y"] == -1.0).all()


def test_in_memory_and_stored_tables_are_equal(tmp_path):
    design = Design(({"scenario": "isolated"}, {"scenario": "collective"}), 2, 3, "common",
                    {"n_residents": 100, "n_nonprofits": 5, "n_funders": 2, "steps": 4})
    schema = model_schema(series=True)
    memory = execute(design, ModelEvaluation(keep_series=True), schema, progress=False)
    stored = execute(design, ModelEvaluation(keep_series=True), schema,
                     store=RunStore(tmp_path / "s", schema), progress=False)
    pd.testing.assert_frame_equal(memory.runs.drop(columns="elapsed_s"),
                                  stored.runs.drop(columns="elapsed_s"))
    pd.testing.assert_frame_equal(memory.series, stored.series)
    assert memory.runs.groupby("replication")["seed"].nunique().eq(1).all()  # common seeds


# --- manifest and provenance ------------------------------------------------------------------
def test_the_default_comparison_folder_holds_a_manifest(compared):
    manifest = json.loads((compared / "manifest.json").read_text())
    assert manifest["command"] == "compare" and manifest["status"] == "complete"
    assert manifest["design"]["seed_policy"] == "common"
    assert manifest["config"]["master_seed"] == 20240601
    assert manifest["git"]["commit"] is None or len(manifest["git"]["commit"]) == 40
    assert manifest["packages"]["mesa"] and manifest["packages"]["numpy"]
    assert set(manifest["outputs"]) >= {"runs.parquet", "report.html", "summary.csv"}


# --- no import-time state, one-way layers ---------------------------------------------------
def test_importing_any_module_leaves_the_plotting_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import pkgutil, importlib, experiments\n"
            "for m in pkgutil.walk_packages(experiments.__path__, 'experiments.'):\n"
            "    if m.name not in ('experiments.__main__',):\n"
            "        importlib.import_module(m.name)\n"
            "print(matplotlib.get_backend())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"


# --- CLI ------------------------------------------------------------------------------------
def test_version_usage_abbreviations_and_suggestions(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("cisim ")
    code, out, err = cli([], capsys)
    assert code == 2 and out.startswith("usage: cisim") and err.count("\n") == 1
    code, _, err = cli(["compare", "--step", "2", "--out", "x"], capsys)
    assert code == 2 and "unrecognized arguments: --step" in err
    code, _, err = cli(["compar"], capsys)
    assert code == 2 and "did you mean 'compare'" in err
    code, _, err = cli(["compare", "--backend", "lokyy", "--out", "x"], capsys)
    assert code == 2 and "did you mean 'loky'" in err
    code, _, err = cli(["run", "--scenario", "colective", "--out", "x"], capsys)
    assert code == 2 and "did you mean 'collective'" in err


def test_error_lines_cut_long_inputs(capsys):
    code, _, err = cli(["compare", "--reps", "9" * 5000, "--out", "x"], capsys)
    assert code == 2 and err.count("\n") == 1 and len(err) < 400


# --- statistics with known answers --------------------------------------------------------------
def test_bootstrap_interval_of_a_mean_matches_the_t_interval_on_normal_data():
    x = np.random.default_rng(4).normal(10.0, 2.0, size=400)
    _, t_low, t_high = mean_interval(x)
    low, high = bootstrap_interval(x, np.mean, seed=1)
    assert low == pytest.approx(t_low, abs=0.05) and high == pytest.approx(t_high, abs=0.05)
    assert bootstrap_interval(x, np.mean, seed=1) == (low, high)  # seeded: reproducible


def test_bootstrap_reports_an_unreached_statistic_as_beyond_the_limit():
    never = np.zeros((10, 3))
    assert bootstrap_interval(never, lambda m: np.inf, seed=2, upper_limit=1.0) == (
        np.inf, np.inf)


def test_money_effectiveness_correlation_is_pearsons_r_over_experienced_nonprofits():
    """Known answer: set each nonprofit's year of income; the metric equals scipy's r."""
    from scipy import stats

    from model.core import CollectiveImpactModel
    from model.metrics import funding_effectiveness_corr

    model = CollectiveImpactModel("isolated", rng=3, n_residents=100, n_nonprofits=8,
                                  n_funders=2, steps=2)
    income = np.random.default_rng(0).uniform(0, 5000, size=len(model.nonprofits))
    for n, monthly in zip(model.nonprofits, income, strict=True):
        n.income_last_year.clear()
        n.income_last_year.extend([monthly] * n.income_last_year.maxlen)
    young = model.nonprofits[0]
    young.income_last_year.pop()  # less than a year old: left out
    model._money_cache = None
    experienced = model.nonprofits[1:]
    expected = stats.pearsonr([n.income_rate for n in experienced],
                              [n.effectiveness for n in experienced]).statistic
    assert funding_effectiveness_corr(model) == pytest.approx(expected, abs=1e-12)


def test_duckdb_and_polars_read_the_runs_parts_as_one_table(compared):
    import duckdb
    import polars as pl

    parts = str(compared / "runs" / "*.parquet")
    count = duckdb.sql(f"SELECT count(*), sum(needle_moved::INT) FROM '{parts}'").fetchall()[0]
    frame = pl.read_parquet(parts)
    assert count[0] == frame.height == 4
    assert frame.schema["nonprofit_closures"] == pl.Int64
    assert frame.schema["needle_moved"] == pl.Boolean


@pytest.mark.parametrize("argv", [
    ["compare", "--reps", "50000"],
    ["breakeven", "--param", "backbone_funding", "--target", "needle_moved", "--reps", "5000"],
])
def test_dry_run_estimates_without_running_the_design_and_writes_nothing(argv, tmp_path,
                                                                         capsys):
    started = time.perf_counter()
    code, out, _ = cli([*argv, *TINY, "--dry-run", "--out", tmp_path / "o"], capsys)
    assert code == 0 and "still to run" in out and "time: about" in out
    assert time.perf_counter() - started < 20  # three pilot runs, not the design
    assert not (tmp_path / "o").exists()
