"""Running sweeps on the engine: determinism across workers and backends, resume, failures,
retries, the folder's tables and provenance, and sizes and options refused before any work."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from SALib import ProblemSpec

from experiments.cli import main
from experiments.engine import ModelEvaluation, StudyFolder, model_schema, read_manifest
from experiments.engine import provenance as pv
from experiments.engine.limits import available_cores
from experiments.engine.seeds import run_seeds
from experiments.errors import UsageError
from experiments.sweep import (
    CodeVersionWarning,
    ConfigError,
    load_config,
    load_results,
    run_sweep,
    sweep,
)

TINY = """
[sweep]
name = "tiny"
design = "grid"
replications = 2
steps = {steps}
master_seed = 11
outputs = ["improvement_pct", "final_mean_trust"]
{extra}
[parameters]
backbone_funding = {{ levels = [0.0, 0.1] }}
communication_frequency = {{ bounds = [0.0, 4.0], num = {num} }}

[fixed]
n_residents = 150
n_nonprofits = 6
n_funders = 2
"""


def tiny_text(steps=4, num=2, extra=""):
    return TINY.format(steps=steps, num=num, extra=extra)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_text())
    return path


def parts(out):
    """The runs parts of a sweep folder, in the order they were written."""
    return sorted((out / "runs").glob("part-*.parquet"))


def snapshot(folder):
    """Every file under ``folder``: relative path -> (bytes, mtime in ns, inode)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            files[path.relative_to(folder).as_posix()] = (path.read_bytes(), stat.st_mtime_ns,
                                                           stat.st_ino)
    return files


def timeless(table):
    """A results table without its wall times (the one column that differs between runs)."""
    return table.drop(columns="elapsed_s")


def test_same_table_with_one_or_two_loky_workers_and_dask(tiny, tmp_path):
    """Results do not depend on worker count or backend (loky 1, loky 2, Dask on loopback)."""
    from distributed import LocalCluster

    config = load_config(tiny)
    one = run_sweep(config, tmp_path / "one", jobs=1, progress=False).table()
    two = run_sweep(config, tmp_path / "two", jobs=2, progress=False).table()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as cluster:
        dask = run_sweep(config, tmp_path / "dask", backend="dask",
                         scheduler=cluster.scheduler_address, progress=False).table()
    assert len(one) == 8 and one["error"].isna().all()
    assert list(one["run_id"]) == list(range(8))
    pd.testing.assert_frame_equal(timeless(one), timeless(two), check_exact=True)
    pd.testing.assert_frame_equal(timeless(one), timeless(dask), check_exact=True)
    assert one["key"].is_unique
    assert (one["elapsed_s"] > 0).all() and (dask["elapsed_s"] > 0).all()


@pytest.mark.slow
def test_same_table_on_a_local_dask_cluster_of_worker_processes(tiny, tmp_path):
    """Dask worker processes (the local cluster --backend dask starts) give the same table."""
    config = load_config(tiny)
    one = run_sweep(config, tmp_path / "one", progress=False).table()
    dask = run_sweep(config, tmp_path / "dask", backend="dask", jobs=2,
                     progress=False).table()
    pd.testing.assert_frame_equal(timeless(one), timeless(dask), check_exact=True)


def test_runs_equal_direct_model_runs_with_their_seed(tiny, tmp_path):
    """Run i is replication i % reps of point i // reps, seeded by run_seeds; it is run_one."""
    from experiments.runner import run_one

    config = load_config(tiny)
    table = run_sweep(config, tmp_path / "o", progress=False).table()
    seeds = run_seeds(11, 4, 2, "independent")
    assert list(table["seed"]) == seeds.tolist() and len(set(seeds.tolist())) == 8
    assert list(table["point"]) == [i // 2 for i in range(8)]
    assert list(table["replication"]) == [i % 2 for i in range(8)]
    row = table.iloc[5]
    params = {**config.fixed, "backbone_funding": row["backbone_funding"],
              "communication_frequency": row["communication_frequency"]}
    summary, _ = run_one("collective", int(seeds[5]), **params)
    assert row["improvement_pct"] == summary["improvement_pct"]
    assert row["final_mean_trust"] == summary["final_mean_trust"]


def test_common_seed_policy_gives_every_point_the_replications_seeds(tmp_path):
    """[sweep] seed_policy = "common": replication r of every point meets the same community."""
    cfg = tmp_path / "common.toml"
    cfg.write_text(tiny_text(extra='seed_policy = "common"\n'))
    config = load_config(cfg)
    assert config.seed_policy == "common"
    out = tmp_path / "o"
    table = run_sweep(config, out, progress=False).table()
    assert list(table["seed"]) == run_seeds(11, 4, 2, "common").tolist()
    assert (table.groupby("replication")["seed"].nunique() == 1).all()
    assert table["seed"].nunique() == 2
    manifest = read_manifest(out)
    assert manifest["design"]["seed_policy"] == manifest["sweep"]["seed_policy"] == "common"
    # The default (independent) policy is another configuration: it is not mixed in.
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(tiny_text())
    with pytest.raises(UsageError, match=r"another configuration .*seed_policy"):
        run_sweep(load_config(tiny), out, progress=False)


def test_kill_9_mid_sweep_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    """kill -9 leaves only whole parts; the same command resumes to the identical table."""
    cfg = tmp_path / "kill.toml"
    cfg.write_text(tiny_text(steps=8, num=10))  # 40 runs
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "experiments", "sweep", str(cfg), "--out", str(out),
           "--no-progress", "--flush-every", "0.2"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not parts(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    killed = read_manifest(out)
    assert killed["status"] == "running"  # nobody could say otherwise
    partial = load_results(out)
    assert 0 < len(partial) < 40
    assert list(partial["run_id"]) == sorted(partial["run_id"]) and partial["error"].isna().all()
    report = run_sweep(load_config(cfg), out, progress=False)
    assert report.skipped == len(partial) and report.ran == 40 - len(partial)
    assert report.complete and report.failed == 0
    resumed = load_results(out)
    fresh = run_sweep(load_config(cfg), tmp_path / "fresh", progress=False).table()
    assert list(resumed["run_id"]) == list(range(40))
    pd.testing.assert_frame_equal(timeless(resumed), timeless(fresh), check_exact=True)
    # The runs finished before the kill are the very rows the killed process wrote.
    pd.testing.assert_frame_equal(
        resumed[resumed["run_id"].isin(partial["run_id"])].reset_index(drop=True),
        partial.reset_index(drop=True), check_exact=True)
    manifest = read_manifest(out)
    assert manifest["status"] == "complete" and manifest["runs_done"] == 40
    assert manifest["created"] == killed["created"]
    assert not list(out.rglob(".*.tmp")) and not (out / ".cisim.lock").exists()


class StopAfter:
    """The model as an evaluation that behaves like Ctrl-C after a number of runs."""

    def __init__(self, n):
        self.n, self.model = n, ModelEvaluation()

    def __call__(self, inputs, seed):
        self.n -= 1
        if self.n < 0:
            raise KeyboardInterrupt
        return self.model(inputs, seed)

    def identity(self):
        return self.model.identity()

    def code_version(self):
        return self.model.code_version()


def test_ctrl_c_keeps_finished_runs_and_resume_completes(tiny, tmp_path):
    """An interrupted sweep saves what finished; rerunning skips it and completes the table."""
    config = load_config(tiny)
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, out, evaluate=StopAfter(3), progress=False)
    assert len(load_results(out)) == 3
    assert read_manifest(out)["status"] == "interrupted"
    report = run_sweep(config, out, progress=False)
    assert (report.skipped, report.ran, report.failed) == (3, 5, 0)
    full = run_sweep(config, tmp_path / "full", progress=False).table()
    pd.testing.assert_frame_equal(timeless(load_results(out)), timeless(full),
                                  check_exact=True)


def flaky_model(monkeypatch):
    """Make model runs with backbone money and meetings fail; return the real ``__call__``."""
    real = ModelEvaluation.__call__

    def flaky(self, inputs, seed):
        if inputs["backbone_funding"] > 0 and inputs["communication_frequency"] > 0:
            raise RuntimeError("meeting room flooded")
        return real(self, inputs, seed)

    monkeypatch.setattr(ModelEvaluation, "__call__", flaky)
    return real


def test_failing_run_is_recorded_and_the_cli_exits_non_zero(tiny, tmp_path, monkeypatch, capsys):
    """A run that raises gets its error in the table, the others run, and the exit code is 1."""
    real = flaky_model(monkeypatch)
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "2 of 8 runs failed" in err and "meeting room flooded" in err
    assert "--retry-failed" in err
    table = load_results(out)
    failed = table.loc[table["error"].notna()]
    assert len(table) == 8 and len(failed) == 2
    assert list(failed["run_id"]) == [6, 7]  # the last point: 0.1 backbone, 4 meetings
    assert failed["error"].str.startswith("RuntimeError: meeting room flooded").all()
    assert failed["improvement_pct"].isna().all() and failed["needle_moved"].isna().all()
    assert failed[["seed", "key", "code_version", "elapsed_s"]].notna().all().all()
    assert table.loc[table["error"].isna(), "improvement_pct"].notna().all()
    manifest = read_manifest(out)
    assert (manifest["runs_done"], manifest["runs_failed"]) == (6, 2)
    # A plain rerun does not retry failed runs; --retry-failed does.
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress"]) == 1
    assert "8 were already done, 0 ran now" in capsys.readouterr().out
    monkeypatch.setattr(ModelEvaluation, "__call__", real)
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress",
                 "--retry-failed"]) == 0
    assert "6 were already done, 2 ran now" in capsys.readouterr().out
    assert load_results(out)["error"].isna().all() and len(load_results(out)) == 8


@pytest.fixture
def flaky_folder(tiny, tmp_path, monkeypatch):
    """A sweep folder of one part per run where runs 6 and 7 failed: (config, out, real)."""
    real = flaky_model(monkeypatch)
    config = load_config(tiny)
    out = tmp_path / "flaky"
    report = run_sweep(config, out, progress=False, flush_seconds=1e-6)
    assert (report.ran, report.failed) == (8, 2)
    return config, out, real


def test_retry_failed_never_touches_finished_runs(flaky_folder, tmp_path, monkeypatch):
    """--retry-failed writes new parts only: finished rows and old parts stay byte for byte."""
    config, out, real = flaky_folder
    before = load_results(out)
    ok = before["error"].isna()
    assert list(before.loc[~ok, "run_id"]) == [6, 7]
    old_parts = snapshot(out / "runs")
    assert len(old_parts) == 8

    # Still failing: a retry records a newer failure, and still only in new parts.
    report = run_sweep(config, out, retry_failed=True, progress=False, flush_seconds=1e-6)
    assert (report.skipped, report.ran, report.failed) == (6, 2, 2)
    again = snapshot(out / "runs")
    assert {k: again[k] for k in old_parts} == old_parts and len(again) == 10
    retried = load_results(out)
    pd.testing.assert_frame_equal(retried[ok], before[ok], check_exact=True)
    # A run that failed twice reads as its latest failure (the rows of the new parts).
    newest = pd.concat([pq.read_table(path).to_pandas() for path in parts(out)[8:]])
    assert sorted(newest["run_id"]) == [6, 7]
    assert sorted(retried.loc[~ok, "elapsed_s"]) == sorted(newest["elapsed_s"])
    assert sorted(retried.loc[~ok, "elapsed_s"]) != sorted(before.loc[~ok, "elapsed_s"])

    monkeypatch.setattr(ModelEvaluation, "__call__", real)
    report = run_sweep(config, out, retry_failed=True, progress=False)
    assert (report.skipped, report.ran, report.failed) == (6, 2, 0) and report.complete
    after = load_results(out)
    assert list(after["run_id"]) == list(range(8)) and after["error"].isna().all()
    # Every run finished before the retry: the same row, to the last bit (key, outputs,
    # elapsed_s), and every part written before the retry untouched (contents, mtime, inode).
    pd.testing.assert_frame_equal(after[ok], before[ok], check_exact=True)
    now = snapshot(out / "runs")
    assert {k: now[k] for k in again} == again and len(now) == 11
    # The retried runs are what an uninterrupted sweep computes for them.
    fresh = run_sweep(config, tmp_path / "fresh", progress=False).table()
    pd.testing.assert_frame_equal(timeless(after), timeless(fresh), check_exact=True)
    # The failed attempts are still on disk, superseded: 8 runs, 2 of them tried three times.
    rows = ds.dataset(out / "runs").to_table(columns=["run_id", "error"]).to_pandas()
    assert len(rows) == 12 and rows["run_id"].value_counts()[[6, 7]].tolist() == [3, 3]
    assert rows["error"].notna().sum() == 4


def test_runs_folder_reads_as_one_typed_dataset_even_with_failed_runs(flaky_folder):
    """runs/ is one dataset for pyarrow and pandas; bools, counts and errors keep their types."""
    _, out, _ = flaky_folder
    expected = model_schema(series=False).runs
    files = parts(out)
    failed_only = pq.read_table(files[-1])  # run 7 alone, which failed
    assert failed_only.column("error").to_pylist()[0].startswith("RuntimeError")
    for path in files:
        schema = pq.read_schema(path)
        assert schema.equals(expected, check_metadata=True), path.name
    schema = pq.read_schema(files[-1])
    types = {"run_id": pa.int64(), "seed": pa.int64(), "scenario": pa.string(),
             "needle_moved": pa.bool_(), "nonprofit_closures": pa.int64(),
             "months_to_needle": pa.int64(), "policies_enacted": pa.int64(),
             "improvement_pct": pa.float64(), "n_residents": pa.int64(),
             "backbone_funding": pa.float64(), "regime": pa.string(),
             "error": pa.string(), "key": pa.string(), "elapsed_s": pa.float64()}
    for name, dtype in types.items():
        assert schema.field(name).type == dtype, name
    units = {"improvement_pct": b"%", "needle_moved": b"bool",
             "nonprofit_closures": b"organisations", "months_to_needle": b"months",
             "elapsed_s": b"s", "error": b"-"}
    for name, unit in units.items():
        assert schema.field(name).metadata[b"unit"] == unit, name
        assert schema.field(name).metadata[b"meaning"]

    dataset = ds.dataset(out / "runs")
    assert dataset.schema.equals(expected) and len(dataset.files) == 8
    table = dataset.to_table()
    assert table.num_rows == 8 and sorted(table.column("run_id").to_pylist()) == list(range(8))
    assert table.column("needle_moved").null_count == 2
    frame = pd.read_parquet(out / "runs")
    assert len(frame) == 8 and sorted(frame["run_id"]) == list(range(8))
    assert frame["error"].notna().sum() == 2
    typed = pd.read_parquet(out / "runs", dtype_backend="numpy_nullable")
    assert typed["needle_moved"].dtype == "boolean"
    assert typed["nonprofit_closures"].dtype == "Int64" and typed["seed"].dtype == "Int64"
    assert pd.api.types.is_string_dtype(typed["error"])
    # The store reads the same rows with the same dtypes.
    table = load_results(out).sort_values("run_id").reset_index(drop=True)
    assert table["needle_moved"].dtype == "boolean" and table["nonprofit_closures"].dtype == "Int64"
    np.testing.assert_array_equal(
        table["improvement_pct"].to_numpy(),
        typed.sort_values("run_id")["improvement_pct"].to_numpy(dtype=float, na_value=np.nan))


def test_other_config_or_command_into_the_same_folder_is_refused(tiny, tmp_path):
    """A changed config, another command's folder or a stray folder: refused in one line."""
    out = tmp_path / "o"
    run_sweep(load_config(tiny), out, progress=False)
    kept = snapshot(out)
    other = tmp_path / "other.toml"
    other.write_text(tiny_text(steps=5))
    with pytest.raises(UsageError, match=r"another configuration .*differs in: fixed") as err:
        run_sweep(load_config(other), out, progress=False)
    assert "\n" not in str(err.value)
    assert snapshot(out) == kept  # left as it was
    compare = tmp_path / "compare"
    with StudyFolder(compare, "compare", {"scenarios": ["isolated"]}):
        pass
    with pytest.raises(UsageError, match="holds results of 'cisim compare'"):
        run_sweep(load_config(tiny), compare, progress=False)
    with pytest.raises(UsageError, match="holds no sweep"):
        load_results(compare)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty and holds no cisim results"):
        run_sweep(load_config(tiny), stray, progress=False)
    assert [p.name for p in stray.iterdir()] == ["notes.txt"]
    with pytest.raises(UsageError, match="holds no sweep"):
        load_results(stray)


def test_results_of_other_model_code_warn_and_block_resume(tiny, tmp_path, monkeypatch):
    """Runs from another code version: loading warns loudly, resuming refuses to mix them."""
    out = tmp_path / "o"
    config = load_config(tiny)
    with pytest.raises(KeyboardInterrupt):  # leave some runs to do
        run_sweep(config, out, evaluate=StopAfter(3), progress=False)
    made_by = pv.model_code_version()
    monkeypatch.setattr(pv, "model_code_version", lambda: "0123456789abcdef")
    with pytest.warns(CodeVersionWarning, match="CODE VERSION MISMATCH.*0123456789abcdef"):
        load_results(out)
    kept = snapshot(out)
    with pytest.raises(UsageError, match="resuming would mix them"):
        run_sweep(config, out, progress=False)
    assert snapshot(out) == kept
    with pytest.warns(CodeVersionWarning, match="mixing them as asked"):
        run_sweep(config, out, progress=False, allow_code_change=True)
    with pytest.warns(CodeVersionWarning, match="mixes runs of 2 code versions"):
        table = load_results(out)
    assert table["code_version"].tolist() == [made_by] * 3 + ["0123456789abcdef"] * 5


def test_manifest_records_provenance(tiny, tmp_path):
    """The manifest has command, config, design, seeds, code version, git state and versions."""
    out = tmp_path / "o"
    config = load_config(tiny)
    run_sweep(config, out, progress=False)
    manifest = read_manifest(out)
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "sweep" and manifest["status"] == "complete"
    assert manifest["sweep"] == json.loads(json.dumps(config.to_dict()))
    assert manifest["config"]["evaluation"] == manifest["evaluation"] == \
        ModelEvaluation("collective").identity()
    design = manifest["design"]
    assert (design["points"], design["replications"], design["runs"]) == (4, 2, 8)
    assert design["master_seed"] == 11 and design["seed_policy"] == "independent"
    assert manifest["code_version"] == pv.model_code_version() and manifest["model_runs"]
    assert {"commit", "dirty"} <= set(manifest["git"])
    assert manifest["packages"]["SALib"] and manifest["packages"]["mesa"]
    assert (manifest["runs_done"], manifest["runs_failed"]) == (8, 0)
    assert manifest["sweep"]["parameters"][0]["name"] == "backbone_funding"
    points = pd.read_parquet(out / "design.parquet")
    assert list(points.columns) == ["point", "backbone_funding", "communication_frequency"]
    assert list(points["point"]) == [0, 1, 2, 3]
    table = load_results(out)
    assert (table["code_version"] == pv.model_code_version()).all()
    assert table["elapsed_s"].notna().all() and (table["elapsed_s"] > 0).all()
    assert table["key"].str.fullmatch(r"[0-9a-f]{16}").all() and table["key"].is_unique


def test_plan_builds_the_engine_design_and_writes_nothing(tiny, tmp_path):
    """plan_sweep checks everything and builds the design; the folder appears only on run."""
    from experiments.engine import Design
    from experiments.sweep import plan_sweep

    out = tmp_path / "o"
    plan = plan_sweep(load_config(tiny), out)
    assert not out.exists() and plan.folder.path == out
    assert isinstance(plan.design, Design)
    assert (plan.design.n_points, plan.design.replications, plan.design.n_runs) == (4, 2, 8)
    assert plan.design.seeds.tolist() == run_seeds(11, 4, 2, "independent").tolist()
    run = plan.design.run(5)
    assert (run.point, run.replication, run.seed) == (2, 1, int(plan.design.seeds[5]))
    assert run.inputs == {"n_residents": 150, "n_nonprofits": 6, "n_funders": 2, "steps": 4,
                          "scenario": "collective", "backbone_funding": 0.1,
                          "communication_frequency": 0.0}
    table = run_sweep(load_config(tiny), out, progress=False).table()
    assert table.loc[5, "seed"] == run.seed and table.loc[5, "backbone_funding"] == 0.1


def test_dry_run_estimates_and_writes_nothing(tiny, tmp_path, capsys):
    """--dry-run prints run count and time, memory and disk estimates, and creates nothing."""
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--dry-run", "--jobs", "2"]) == 0
    text = capsys.readouterr().out
    assert "= 8 runs" in text and "8 still to run" in text
    for word in ("time:", "memory:", "disk:"):
        assert word in text
    assert not out.exists()
    with pytest.raises(KeyboardInterrupt):  # a folder with 3 runs done
        run_sweep(load_config(tiny), out, evaluate=StopAfter(3), progress=False)
    kept = snapshot(out)
    assert main(["sweep", str(tiny), "--out", str(out), "--dry-run"]) == 0
    assert "8 in the design, 5 still to run" in capsys.readouterr().out
    assert snapshot(out) == kept


def double(inputs, seed):
    """A cheap evaluation function for API tests."""
    return {"y": 2.0 * inputs["a"] + inputs["b"]}


def noisy(inputs, seed):
    """2a + b plus seeded noise, so replications differ."""
    return {"y": 2.0 * inputs["a"] + inputs["b"] + np.random.default_rng(seed).normal()}


def test_api_accepts_a_problem_spec_and_a_sample_table(tmp_path):
    """sweep() takes a SALib ProblemSpec or a DataFrame of samples and returns a DataFrame."""
    problem = ProblemSpec({"names": ["a", "b"], "bounds": [[0, 1], [0, 2]], "outputs": ["y"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = sweep(problem, tmp_path / "p", design="lhs", n=10, evaluate=double,
                      model=False, progress=False)
    assert len(table) == 10 and list(table["point"]) == list(range(10))
    assert list(table.columns[:6]) == ["run_id", "point", "replication", "seed", "a", "b"]
    assert table["y"].dtype == np.float64 and table["error"].isna().all()
    assert (table["y"] == 2 * table["a"] + table["b"]).all()
    # The ProblemSpec comes back with its samples (the design) and results set.
    design = pd.read_parquet(tmp_path / "p" / "design.parquet")
    np.testing.assert_array_equal(problem.samples, design[["a", "b"]].to_numpy())
    np.testing.assert_array_equal(problem.samples, table[["a", "b"]].to_numpy())
    np.testing.assert_array_equal(problem.results, table["y"].to_numpy())
    # With replications, results are the replication means of each design point.
    replicated = ProblemSpec({"names": ["a", "b"], "bounds": [[0, 1], [0, 2]],
                              "outputs": ["y"]})
    table = sweep(replicated, tmp_path / "r", design="lhs", n=5, replications=3,
                  evaluate=noisy, model=False, progress=False)
    assert len(table) == 15 and table.groupby("point")["y"].nunique().eq(3).all()
    np.testing.assert_allclose(replicated.results, table.groupby("point")["y"].mean(),
                               rtol=1e-12)
    assert replicated.samples.shape == (5, 2)

    samples = pd.DataFrame({"backbone_funding": [0.0, 0.1, 0.1],
                            "communication_frequency": [1.0, 1.0, 3.0]})
    table = sweep(samples, tmp_path / "s", replications=2, outputs=["improvement_pct"],
                  fixed={"steps": 3, "n_residents": 100, "n_nonprofits": 4, "n_funders": 2},
                  progress=False)
    assert len(table) == 6 and list(table["point"]) == [0, 0, 1, 1, 2, 2]
    assert list(table["communication_frequency"]) == [1.0, 1.0, 1.0, 1.0, 3.0, 3.0]
    assert (table["steps"] == 3).all() and (table["scenario"] == "collective").all()
    with pytest.raises(ConfigError, match=r"backbone_funding.: got 0\.9; allowed"):
        sweep(samples.assign(backbone_funding=0.9), tmp_path / "bad",
              outputs=["improvement_pct"], progress=False)
    assert not (tmp_path / "bad").exists()


def test_api_refuses_options_that_its_spec_would_ignore(tiny, tmp_path):
    """A TOML path or config states everything itself; samples are their own design."""
    out = tmp_path / "o"
    with pytest.raises(ConfigError, match=r"^replications: not an option of a sweep config"):
        sweep(tiny, out, replications=5, progress=False)
    with pytest.raises(ConfigError, match=r"^flush_seconds: not an option of a sweep config"):
        sweep(load_config(tiny), out, flush_seconds=1.0, progress=False)
    samples = pd.DataFrame({"backbone_funding": [0.0, 0.1]})
    with pytest.raises(ConfigError, match=r"^design, n: not an option of a table of samples"):
        sweep(samples, out, design="sobol", n=8, outputs=["improvement_pct"], progress=False)
    assert not out.exists()
    assert len(sweep(str(tiny), out, progress=False)) == 8


def test_a_sweep_of_another_function_needs_that_function(tmp_path):
    """model=False without evaluate= is refused before anything is written."""
    problem = {"names": ["a", "b"], "bounds": [[0, 1], [0, 2]], "outputs": ["y"]}
    with pytest.raises(UsageError, match="not of the model: pass evaluate"):
        sweep(problem, tmp_path / "p", design="lhs", n=4, model=False, progress=False)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(("extra", "words"), [
    (["--jobs", "0"], "--jobs: got 0"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler: needs --backend dask"),
    (["--backend", "dask", "--scheduler", "nonsense://x"], "cannot reach the Dask scheduler"),
    (["--backend", "threads"], "--backend: invalid choice: 'threads'"),
    (["--flush-every", "0"], "--flush-every"),
    (["--seed", "-1"], "--seed"),
])
def test_bad_execution_options_are_refused_before_any_work(tiny, tmp_path, capsys, extra, words):
    """Bad --jobs, --scheduler, --backend, --flush-every or --seed: one line, exit 2, no folder."""
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert not out.exists()


GRID_1E10 = """
[sweep]
design = "grid"
master_seed = 1
outputs = ["improvement_pct"]
[parameters]
backbone_funding = { bounds = [0.0, 0.2], num = 100 }
initial_trust = { bounds = [0.1, 0.9], num = 100 }
communication_frequency = { bounds = [0.0, 8.0], num = 100 }
resident_engagement = { bounds = [0.0, 1.0], num = 100 }
measurement_quality = { bounds = [0.0, 1.0], num = 100 }
"""

SAMPLED = """
[sweep]
design = "{design}"
master_seed = 1
replications = {reps}
outputs = ["improvement_pct"]
[design]
n = {n}
[parameters]
backbone_funding = {{ bounds = [0.0, 0.2] }}
initial_trust = {{ bounds = [0.1, 0.9] }}
"""


@pytest.mark.parametrize(("text", "words"), [
    (GRID_1E10, "10,000,000,000 points"),
    (SAMPLED.format(design="sobol", reps=1, n=2**30), "design.n: got 1073741824"),
    (SAMPLED.format(design="lhs", reps=10**9, n=8), "sweep.replications: got 1000000000"),
    (SAMPLED.format(design="lhs", reps=2, n=10**6), "2,000,000 runs"),
], ids=["grid-1e10-points", "sobol-n-2**30", "replications-1e9", "lhs-2e6-runs"])
def test_too_large_designs_are_refused_before_anything_is_built(tmp_path, capsys, text, words):
    """A design too large to run: exit 2, one line, nothing written; --dry-run refuses alike."""
    cfg = tmp_path / "huge.toml"
    cfg.write_text(text)
    out = tmp_path / "o"
    started = time.monotonic()
    assert main(["sweep", str(cfg), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and err.startswith("cisim: error: config huge.toml")
    assert main(["sweep", str(cfg), "--out", str(out), "--dry-run"]) == 2  # no MemoryError
    captured = capsys.readouterr()
    assert captured.err.strip() == err and not captured.out
    assert not out.exists()
    assert time.monotonic() - started < 30  # refused from the options, not after sampling


def test_more_jobs_than_cores_are_capped_with_one_warning(tiny, tmp_path, capsys):
    """cisim sweep --jobs 1000 runs on the machine's cores and says so in one line."""
    cores = available_cores()
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress", "--jobs", "1000"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (f"cisim: warning: --jobs 1000: this machine has {cores} "
                                    f"cores; using {cores}")
    assert "8 runs" in captured.out
    assert len(load_results(out)) == 8 and load_results(out)["error"].isna().all()
    with pytest.warns(RuntimeWarning, match=f"using {cores}"):
        run_sweep(load_config(tiny), tmp_path / "api", jobs=1000, progress=False)
