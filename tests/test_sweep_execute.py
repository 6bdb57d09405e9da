"""Running sweeps: determinism across workers and backends, resume, failures, provenance."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pandas as pd
import pytest
from SALib import ProblemSpec

from experiments.cli import main
from experiments.errors import UsageError
from experiments.sweep import (
    CodeVersionWarning,
    ConfigError,
    ModelRun,
    load_config,
    load_results,
    run_sweep,
    sweep,
)
from experiments.sweep import manifest as mf
from experiments.sweep.store import TIMING_COLUMNS, part_paths

TINY = """
[sweep]
name = "tiny"
design = "grid"
replications = 2
steps = {steps}
master_seed = 11
outputs = ["improvement_pct", "final_mean_trust"]

[parameters]
backbone_funding = {{ levels = [0.0, 0.1] }}
communication_frequency = {{ bounds = [0.0, 4.0], num = {num} }}

[fixed]
n_residents = 150
n_nonprofits = 6
n_funders = 2
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(steps=4, num=2))
    return path


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
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, dask)
    assert one["key"].is_unique


@pytest.mark.slow
def test_same_table_on_a_local_dask_cluster_of_worker_processes(tiny, tmp_path):
    """Dask worker processes (the local cluster --backend dask starts) give the same table."""
    config = load_config(tiny)
    one = run_sweep(config, tmp_path / "one", progress=False).table()
    dask = run_sweep(config, tmp_path / "dask", backend="dask", jobs=2,
                     progress=False).table()
    pd.testing.assert_frame_equal(one, dask)


def test_runs_equal_direct_model_runs_with_their_seed(tiny, tmp_path):
    """A sweep row is what run_one gives with the run's SeedSequence child."""
    from experiments.runner import run_one
    from experiments.sweep import run_seed

    config = load_config(tiny)
    table = run_sweep(config, tmp_path / "o", progress=False).table()
    row = table.iloc[5]
    params = {**config.fixed, "backbone_funding": row["backbone_funding"],
              "communication_frequency": row["communication_frequency"]}
    summary, _ = run_one("collective", run_seed(11, 5), **params)
    assert row["improvement_pct"] == pytest.approx(summary["improvement_pct"], rel=0, abs=0)


def test_kill_9_mid_sweep_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    """kill -9 leaves only whole parts; the same command resumes to the identical table."""
    cfg = tmp_path / "kill.toml"
    cfg.write_text(TINY.format(steps=8, num=10))  # 40 runs
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "experiments", "sweep", str(cfg), "--out", str(out),
           "--no-progress", "--flush-every", "0.2"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not part_paths(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    partial = load_results(out)
    assert 0 < len(partial) < 40
    report = run_sweep(load_config(cfg), out, progress=False)
    assert report.skipped == len(partial) and report.ran == 40 - len(partial)
    resumed = load_results(out)
    fresh = run_sweep(load_config(cfg), tmp_path / "fresh", progress=False).table()
    assert list(resumed["run_id"]) == list(range(40))
    pd.testing.assert_frame_equal(resumed, fresh)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 2 and manifest["status"]["state"] == "complete"


class StopAfter:
    """An evaluation that behaves like Ctrl-C after a number of runs."""

    def __init__(self, n):
        self.n, self.model = n, ModelRun()

    def __call__(self, params, seed):
        self.n -= 1
        if self.n < 0:
            raise KeyboardInterrupt
        return self.model(params, seed)

    def identity(self):
        return self.model.identity()

    def code_version(self):
        return self.model.code_version()


def test_ctrl_c_keeps_finished_runs_and_resume_completes(tiny, tmp_path):
    """An interrupted sweep saves what finished; rerunning skips it and completes the table."""
    config = load_config(tiny)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, tmp_path / "o", evaluate=StopAfter(3), progress=False)
    assert len(load_results(tmp_path / "o")) == 3
    report = run_sweep(config, tmp_path / "o", progress=False)
    assert (report.skipped, report.ran, report.failed) == (3, 5, 0)
    full = run_sweep(config, tmp_path / "full", progress=False).table()
    pd.testing.assert_frame_equal(load_results(tmp_path / "o"), full)


def test_failing_run_is_recorded_and_the_cli_exits_non_zero(tiny, tmp_path, monkeypatch, capsys):
    """A run that raises gets its error in the table, the others run, and the exit code is 1."""
    real = ModelRun.__call__

    def flaky(self, params, seed):
        if params["backbone_funding"] > 0 and params["communication_frequency"] > 0:
            raise RuntimeError("meeting room flooded")
        return real(self, params, seed)

    monkeypatch.setattr(ModelRun, "__call__", flaky)
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "2 of 8 runs failed" in err and "meeting room flooded" in err
    table = load_results(out)
    failed = table.loc[table["error"].notna()]
    assert len(table) == 8 and len(failed) == 2
    assert failed["error"].str.startswith("RuntimeError: meeting room flooded").all()
    assert failed["improvement_pct"].isna().all()
    assert table.loc[table["error"].isna(), "improvement_pct"].notna().all()
    monkeypatch.setattr(ModelRun, "__call__", real)
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress",
                 "--retry-failed"]) == 0
    assert load_results(out)["error"].isna().all() and len(load_results(out)) == 8


def test_other_config_into_the_same_folder_is_refused(tiny, tmp_path):
    """Rerunning with a changed config into the same DIR is refused with one line."""
    out = tmp_path / "o"
    run_sweep(load_config(tiny), out, progress=False)
    other = tmp_path / "other.toml"
    other.write_text(TINY.format(steps=5, num=2))
    with pytest.raises(ConfigError, match="different config .*fixed") as err:
        run_sweep(load_config(other), out, progress=False)
    assert "\n" not in str(err.value)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("x")
    with pytest.raises(UsageError, match="holds no sweep manifest"):
        run_sweep(load_config(tiny), stray, progress=False)


def test_results_of_other_model_code_warn_and_block_resume(tiny, tmp_path, monkeypatch):
    """Runs from another code version: loading warns loudly, resuming refuses to mix them."""
    out = tmp_path / "o"
    config = load_config(tiny)
    run_sweep(config, out, progress=False, flush_seconds=1e-6)  # one part per run
    first = part_paths(out)[0]
    first.unlink()  # leave some runs to do
    monkeypatch.setattr(mf, "model_code_version", lambda: "0123456789abcdef")
    with pytest.warns(CodeVersionWarning, match="CODE VERSION MISMATCH"):
        load_results(out)
    with pytest.raises(UsageError, match="resuming would mix them"):
        run_sweep(config, out, progress=False)
    with pytest.warns(CodeVersionWarning):
        run_sweep(config, out, progress=False, allow_code_change=True)
    with pytest.warns(CodeVersionWarning, match="mixes runs of 2 code versions"):
        load_results(out)


def test_manifest_records_provenance(tiny, tmp_path):
    """The manifest has config, space, versions, git state, code version, seed and run count."""
    out = tmp_path / "o"
    run_sweep(load_config(tiny), out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run_count"] == 8 and manifest["master_seed"] == 11
    assert manifest["code"]["version"] == mf.model_code_version()
    assert {"commit", "dirty"} <= set(manifest["code"])
    assert manifest["versions"]["SALib"] and manifest["versions"]["mesa"]
    assert manifest["parameter_space"]["parameters"][0]["name"] == "backbone_funding"
    table = load_results(out, timing=True)
    assert set(TIMING_COLUMNS) <= set(table.columns)
    assert (table["code_version"] == mf.model_code_version()).all()


def test_dry_run_estimates_and_writes_nothing(tiny, tmp_path, capsys):
    """--dry-run prints run count and time, memory and disk estimates, and creates nothing."""
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--dry-run", "--jobs", "2"]) == 0
    text = capsys.readouterr().out
    assert "= 8 runs" in text
    for word in ("time:", "memory:", "disk:"):
        assert word in text
    assert not out.exists()


def double(params, seed):
    """A cheap evaluation function for API tests."""
    return {"y": 2.0 * params["a"] + params["b"]}


def test_api_accepts_a_problem_spec_and_a_sample_table(tmp_path):
    """sweep() takes a SALib ProblemSpec or a DataFrame of samples and returns a DataFrame."""
    problem = ProblemSpec({"names": ["a", "b"], "bounds": [[0, 1], [0, 2]], "outputs": ["y"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = sweep(problem, tmp_path / "p", design="lhs", n=10, evaluate=double,
                      model=False, progress=False)
    assert len(table) == 10
    assert (table["y"] == 2 * table["a"] + table["b"]).all()
    samples = pd.DataFrame({"backbone_funding": [0.0, 0.1, 0.1],
                            "communication_frequency": [1.0, 1.0, 3.0]})
    table = sweep(samples, tmp_path / "s", replications=2, outputs=["improvement_pct"],
                  fixed={"steps": 3, "n_residents": 100, "n_nonprofits": 4, "n_funders": 2},
                  progress=False)
    assert len(table) == 6
    assert list(table["communication_frequency"]) == [1.0, 1.0, 1.0, 1.0, 3.0, 3.0]
    with pytest.raises(ConfigError, match="backbone_funding.: got 0.9; allowed"):
        sweep(samples.assign(backbone_funding=0.9), tmp_path / "bad",
              outputs=["improvement_pct"], progress=False)


@pytest.mark.parametrize(("extra", "words"), [
    (["--jobs", "0"], "--jobs: got 0"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --backend dask"),
    (["--backend", "dask", "--scheduler", "nonsense://x"], "cannot reach the Dask scheduler"),
    (["--flush-every", "0"], "--flush-every"),
])
def test_bad_execution_options_are_refused_before_any_work(tiny, tmp_path, capsys, extra, words):
    """Bad --jobs, --scheduler or --flush-every: one line, exit 2, no output folder."""
    out = tmp_path / "o"
    assert main(["sweep", str(tiny), "--out", str(out), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert not out.exists()
