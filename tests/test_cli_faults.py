"""Bad input to the command line: one clear line, a non-zero exit, nothing half written.

Every case runs ``cisim`` in-process through ``experiments.cli.main`` and checks
that it returns a non-zero exit code, prints exactly one line on stderr (no
traceback unless ``--debug``), and leaves the output folder as it was. A few
cases run the installed entry point in a subprocess, to see the real exit code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from experiments.io import write_json, write_parquet

TINY = ["--set", "n_residents=60", "--set", "n_nonprofits=4", "--set", "n_funders=2",
        "--steps", "2"]


@pytest.fixture(autouse=True)
def never_serve(monkeypatch):
    """Should a case wrongly pass validation, ``cisim app`` must not replace pytest."""
    def refuse_to_exec(*args, **kwargs):
        raise AssertionError("cisim app got as far as starting the server")

    monkeypatch.setattr(os, "execve", refuse_to_exec)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its content."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refuse(argv: list[str], capsys, *, must_mention: str = "", debug: bool = False) -> str:
    """Run ``cisim argv`` and check it fails cleanly; return the error line."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0, f"exit code 0 for {argv}"
    lines = captured.err.strip().splitlines()
    if debug:
        assert "Traceback" in captured.err, captured.err
    else:
        assert "Traceback" not in captured.err, captured.err
        assert len(lines) == 1, f"{argv}: expected one line on stderr, got {captured.err!r}"
        assert lines[0].startswith("cisim"), lines[0]
    assert must_mention.lower() in lines[-1].lower(), lines[-1]
    return lines[-1]


# --- argument errors of every subcommand --------------------------------------------------
#: Subcommands that write into an --out folder.
OUT_COMMANDS = ("run", "compare", "breakeven")
BAD_ARGUMENTS = {
    "no command": ([], ""),
    "unknown command": (["frobnicate"], "frobnicate"),
    "params: unknown format": (["params", "--format", "xml"], "xml"),
    "params: stray argument": (["params", "extra"], "extra"),
    "scenarios: unknown option": (["scenarios", "--bogus"], "--bogus"),
    "run: no --out": (["run"], "--out"),
    "run: unknown parameter": (["run", "--set", "bogus=1"], "bogus"),
    "run: text for an integer": (["run", "--set", "n_residents=abc"], "n_residents"),
    "run: integer out of range": (["run", "--set", "n_nonprofits=0"], "n_nonprofits"),
    "run: share above 1": (["run", "--set", "initial_trust=1.5"], "initial_trust"),
    "run: NaN": (["run", "--set", "initial_trust=nan"], "initial_trust"),
    "run: infinity": (["run", "--set", "total_funding=inf"], "total_funding"),
    "run: negative infinity": (["run", "--set", "complementarity=-inf"], "complementarity"),
    "run: fraction for an integer": (["run", "--set", "n_domains=2.5"], "n_domains"),
    "run: unknown choice": (["run", "--set", "regime=communal"], "regime"),
    "run: --set without =": (["run", "--set", "steps"], "name=value"),
    "run: --set without name": (["run", "--set", "=5"], "name=value"),
    "run: empty value": (["run", "--set", "steps="], "steps"),
    "run: empty scenario": (["run", "--scenario", ""], "scenario"),
    "run: unknown scenario": (["run", "--scenario", "utopia"], "utopia"),
    "run: negative seed": (["run", "--seed", "-1"], "seed"),
    "run: text seed": (["run", "--seed", "abc"], "seed"),
    "run: zero steps": (["run", "--steps", "0"], "steps"),
    "run: fractional steps": (["run", "--steps", "1.5"], "steps"),
    "run: too many steps": (["run", "--steps", "100000"], "steps"),
    "run: unknown option": (["run", "--frobnicate"], "--frobnicate"),
    "compare: no --out": (["compare"], "--out"),
    "compare: empty scenario list": (["compare", "--scenarios", ""], "scenarios"),
    "compare: empty scenario in list": (["compare", "--scenarios", "isolated,,collective"],
                                        "scenarios"),
    "compare: unknown scenario": (["compare", "--scenarios", "isolated,utopia"], "utopia"),
    "compare: repeated scenario": (["compare", "--scenarios", "isolated,isolated"], "isolated"),
    "compare: one replication": (["compare", "--reps", "1"], "reps"),
    "compare: text replications": (["compare", "--reps", "many"], "reps"),
    "compare: zero jobs": (["compare", "--jobs", "0"], "jobs"),
    "compare: reference not compared": (["compare", "--scenarios", "isolated,hybrid",
                                         "--reference", "collective"], "reference"),
    "compare: negative seed": (["compare", "--seed", "-3"], "seed"),
    "compare: bad --set": (["compare", "--set", "backbone_funding=0.9"], "backbone_funding"),
    "compare: zero steps": (["compare", "--steps", "0"], "steps"),
    "breakeven: no --param": (["breakeven", "--target", "needle_moved"], "--param"),
    "breakeven: no --target": (["breakeven", "--param", "backbone_funding"], "--target"),
    "breakeven: unknown parameter": (["breakeven", "--param", "bogus", "--target",
                                      "needle_moved"], "bogus"),
    "breakeven: choice parameter": (["breakeven", "--param", "regime", "--target",
                                     "needle_moved"], "regime"),
    "breakeven: empty target": (["breakeven", "--param", "backbone_funding", "--target", ""],
                                "target"),
    "breakeven: unknown output": (["breakeven", "--param", "backbone_funding", "--target",
                                   "happiness>=1"], "happiness"),
    "breakeven: number without threshold": (["breakeven", "--param", "backbone_funding",
                                             "--target", "improvement_pct"], "improvement_pct"),
    "breakeven: text threshold": (["breakeven", "--param", "backbone_funding", "--target",
                                   "improvement_pct>=abc"], "abc"),
    "breakeven: NaN threshold": (["breakeven", "--param", "backbone_funding", "--target",
                                  "improvement_pct>=nan"], "nan"),
    "breakeven: probability 0": (["breakeven", "--param", "backbone_funding", "--target",
                                  "needle_moved", "--probability", "0"], "probability"),
    "breakeven: probability NaN": (["breakeven", "--param", "backbone_funding", "--target",
                                    "needle_moved", "--probability", "nan"], "probability"),
    "breakeven: range outside declared": (["breakeven", "--param", "backbone_funding",
                                           "--target", "needle_moved", "--range", "0,0.9"],
                                          "backbone_funding"),
    "breakeven: empty range": (["breakeven", "--param", "backbone_funding", "--target",
                                "needle_moved", "--range", "0.2,0.2"], "range"),
    "breakeven: range of three": (["breakeven", "--param", "backbone_funding", "--target",
                                   "needle_moved", "--range", "0,0.1,0.2"], "range"),
    "breakeven: text range": (["breakeven", "--param", "backbone_funding", "--target",
                               "needle_moved", "--range", "low,high"], "range"),
    "breakeven: NaN in range": (["breakeven", "--param", "backbone_funding", "--target",
                                 "needle_moved", "--range", "nan,0.3"], "backbone_funding"),
    "breakeven: one point": (["breakeven", "--param", "backbone_funding", "--target",
                              "needle_moved", "--points", "1"], "points"),
    "breakeven: one replication": (["breakeven", "--param", "backbone_funding", "--target",
                                    "needle_moved", "--reps", "1"], "reps"),
    "breakeven: searched parameter also fixed": (["breakeven", "--param", "backbone_funding",
                                                  "--target", "needle_moved", "--set",
                                                  "backbone_funding=0.1"], "backbone_funding"),
    "breakeven: unknown scenario": (["breakeven", "--param", "backbone_funding", "--target",
                                     "needle_moved", "--scenario", ""], "scenario"),
    "breakeven: zero jobs": (["breakeven", "--param", "backbone_funding", "--target",
                              "needle_moved", "--jobs", "0"], "jobs"),
    "app: port 0": (["app", "--no-fetch-assets", "--port", "0"], "port"),
    "app: port above 65535": (["app", "--no-fetch-assets", "--port", "70000"], "port"),
    "app: text port": (["app", "--no-fetch-assets", "--port", "http"], "port"),
    "app: empty host": (["app", "--no-fetch-assets", "--host", ""], "host"),
    "app: address of another machine": (["app", "--no-fetch-assets", "--host", "192.0.2.1"],
                                         "192.0.2.1"),
}


@pytest.mark.parametrize("argv, mention", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_give_one_line_and_no_files(argv, mention, tmp_path, capsys):
    """Each bad argument is refused in one line naming it, before any file is written."""
    out = tmp_path / "out"
    if argv and argv[0] in OUT_COMMANDS and "--out" not in argv and argv != [argv[0]]:
        argv = [*argv, "--out", str(out)]
    refuse(argv, capsys, must_mention=mention)
    assert not out.exists()


def test_debug_flag_shows_the_traceback(tmp_path, capsys):
    """With --debug the same refusal also shows where it came from."""
    refuse(["--debug", "run", "--set", "steps=0", "--out", str(tmp_path / "o")], capsys,
           must_mention="steps", debug=True)
    assert not (tmp_path / "o").exists()


def test_app_listens_on_this_machine_only_by_default():
    """Unless --host says otherwise, the browser view binds to 127.0.0.1."""
    from experiments.cli import build_parser
    from experiments.commands.app import solara_command

    args = build_parser().parse_args(["app"])
    assert args.host == "127.0.0.1"
    command = solara_command(args.host, args.port)
    assert command[command.index("--host") + 1] == "127.0.0.1"


def test_app_refuses_a_busy_port(capsys):
    """A port another program listens on is refused in one line, before serving."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refuse(["app", "--port", str(port), "--no-fetch-assets"], capsys,
               must_mention=str(port))


# --- output folders that cannot be used ---------------------------------------------------
def test_out_is_an_existing_file(tmp_path, capsys):
    """--out naming a file is refused and the file is left untouched."""
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    refuse(["run", *TINY, "--out", str(target)], capsys, must_mention="results.txt")
    assert target.read_text() == "keep me"


def test_out_below_a_file(tmp_path, capsys):
    """--out inside a path whose parent is a file is refused in one line."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    refuse(["run", *TINY, "--out", str(blocker / "sub")], capsys)
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind the root user")
def test_out_in_read_only_folder(tmp_path, capsys):
    """--out inside a folder without write permission is refused before the run."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        refuse(["run", *TINY, "--out", str(locked / "out")], capsys, must_mention="locked")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_out_on_a_filesystem_that_refuses_writes(capsys):
    """A folder the system will not create (under /proc) ends in one line, even for root."""
    if not Path("/proc/self").exists():
        pytest.skip("needs Linux /proc")
    refuse(["run", *TINY, "--out", "/proc/cisim-out"], capsys)
    assert not Path("/proc/cisim-out").exists()


def test_existing_run_folder_is_left_whole_on_refusal(tmp_path, capsys):
    """A refused run never damages the results already in its --out folder."""
    out = tmp_path / "out"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    before = snapshot(out)
    assert {"timeseries.parquet", "summary.json"} <= set(before)
    refuse(["run", *TINY, "--set", "initial_trust=2", "--out", str(out)], capsys)
    assert snapshot(out) == before


# --- sweep and analyze: config files and sweep folders -----------------------------------
SWEEP = """
[sweep]
name = "faults"
design = "grid"
scenario = "collective"
replications = 1
steps = 2
master_seed = 5
outputs = ["improvement_pct"]

[parameters]
initial_trust = { levels = [0.2, 0.4] }

[fixed]
n_residents = 60
n_nonprofits = 4
n_funders = 2
"""

#: name -> (config file content, str or bytes; extra arguments; words the error must hold)
BAD_SWEEPS = {
    "missing config": (None, [], "no such file"),
    "malformed TOML": ("[sweep\nname = ", [], "TOML"),
    "empty TOML": ("", [], "[sweep]"),
    "not UTF-8": (b"\xff\xfe[sweep]\x80", [], "UTF-8"),
    "table of the wrong type": (SWEEP.replace('[parameters]\ninitial_trust = { levels = '
                                              '[0.2, 0.4] }', 'parameters = 5'), [], "parameters"),
    "unknown key": (SWEEP.replace('design = "grid"', 'design = "grid"\ncolour = "red"'), [],
                    "colour"),
    "level out of range": (SWEEP.replace("[0.2, 0.4]", "[0.2, 1.5]"), [], "initial_trust"),
    "NaN level": (SWEEP.replace("[0.2, 0.4]", "[0.2, nan]"), [], "initial_trust"),
    "infinite bound": (SWEEP.replace("levels = [0.2, 0.4]", "bounds = [0.0, inf], num = 3"), [],
                       "initial_trust"),
    "unknown parameter": (SWEEP.replace("initial_trust =", "inital_trust ="), [],
                          "inital_trust"),
    "fixed out of range": (SWEEP.replace("n_funders = 2", "n_funders = 0"), [], "n_funders"),
    "unknown scenario": (SWEEP.replace('scenario = "collective"', 'scenario = ""'), [],
                         "scenario"),
    "unknown output": (SWEEP.replace('["improvement_pct"]', '["happiness"]'), [], "happiness"),
    "zero jobs": (SWEEP, ["--jobs", "0"], "jobs"),
    "unknown backend": (SWEEP, ["--backend", "spark"], "spark"),
    "flush never": (SWEEP, ["--flush-every", "0"], "flush"),
    "flush NaN": (SWEEP, ["--flush-every", "nan"], "flush"),
    "scheduler without dask": (SWEEP, ["--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
}


def write_config(folder: Path, content: str | bytes | None) -> Path:
    """A config file holding ``content`` (None: a path that does not exist)."""
    path = folder / "sweep.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize("content, extra, mention", BAD_SWEEPS.values(), ids=BAD_SWEEPS.keys())
def test_bad_sweep_config_or_option_gives_one_line_and_no_folder(content, extra, mention,
                                                                  tmp_path, capsys):
    """A missing, malformed or invalid sweep config, or a bad option, creates nothing."""
    config = write_config(tmp_path, content)
    out = tmp_path / "sweep"
    refuse(["sweep", str(config), "--out", str(out), "--no-progress", *extra], capsys,
           must_mention=mention)
    assert not out.exists()


def test_sweep_config_that_is_a_folder(tmp_path, capsys):
    """A folder given as the config file is refused in one line."""
    refuse(["sweep", str(tmp_path), "--out", str(tmp_path / "o")], capsys, must_mention="read")


@pytest.fixture
def finished_sweep(tmp_path, capsys) -> Path:
    """A finished two-run sweep folder."""
    out = tmp_path / "done"
    assert main(["sweep", str(write_config(tmp_path, SWEEP)), "--out", str(out),
                 "--no-progress"]) == 0
    capsys.readouterr()
    return out


def test_folder_holding_another_sweep_is_refused(finished_sweep, tmp_path, capsys):
    """A different sweep into a folder holding another one is refused; nothing changes."""
    before = snapshot(finished_sweep)
    other = tmp_path / "other"
    other.mkdir()
    config = write_config(other, SWEEP.replace("[0.2, 0.4]", "[0.3, 0.5]"))
    refuse(["sweep", str(config), "--out", str(finished_sweep), "--no-progress"], capsys,
           must_mention="config")
    assert snapshot(finished_sweep) == before


@pytest.mark.parametrize("command", ["run", "compare", "breakeven"])
def test_other_commands_into_a_sweep_folder_are_refused(command, finished_sweep, capsys):
    """run, compare and breakeven never write their files into a folder holding a sweep."""
    before = snapshot(finished_sweep)
    argv = {"run": ["run", *TINY],
            "compare": ["compare", *TINY, "--reps", "2", "--jobs", "1", "--no-progress"],
            "breakeven": ["breakeven", *TINY, "--param", "initial_trust", "--target",
                          "needle_moved", "--points", "2", "--refine", "0", "--reps", "2",
                          "--jobs", "1", "--no-progress"]}[command]
    refuse([*argv, "--out", str(finished_sweep)], capsys, must_mention="sweep")
    assert snapshot(finished_sweep) == before


@pytest.mark.parametrize("manifest", [b'{"name": "x", ', b"[1, 2]", b'{"name": "webapp"}',
                                      b"\xff\xfe\x00"],
                         ids=["truncated", "a list", "another program's", "binary"])
@pytest.mark.parametrize("command", ["sweep", "analyze"])
def test_damaged_or_foreign_manifest_is_refused(command, manifest, tmp_path, capsys):
    """A manifest.json that is not a readable sweep manifest is refused, and left alone."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_bytes(manifest)
    argv = (["sweep", str(write_config(tmp_path, SWEEP)), "--out", str(out), "--no-progress"]
            if command == "sweep" else ["analyze", str(out), "--no-figures"])
    refuse(argv, capsys, must_mention="manifest")
    assert snapshot(out) == {"manifest.json": manifest}


@pytest.mark.parametrize("command", ["sweep", "analyze"])
def test_damaged_result_part_is_named(command, finished_sweep, tmp_path, capsys):
    """A result part that is not Parquet (damaged on disk) is refused, naming the file."""
    (part,) = sorted((finished_sweep / "runs").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[:100])
    argv = (["sweep", str(write_config(tmp_path, SWEEP)), "--out", str(finished_sweep),
             "--no-progress"] if command == "sweep" else
            ["analyze", str(finished_sweep), "--no-figures"])
    refuse(argv, capsys, must_mention=part.name)


BAD_ANALYSES = {
    "no such folder": (["analyze", "{missing}"], "no sweep"),
    "folder without a sweep": (["analyze", "{empty}"], "no sweep"),
    "one bin": (["analyze", "{done}", "--bins", "1"], "bins"),
    "empty outputs": (["analyze", "{done}", "--outputs", ","], "outputs"),
    "unknown output": (["analyze", "{done}", "--outputs", "happiness"], "happiness"),
    "heat map of one parameter": (["analyze", "{done}", "--heatmap", "initial_trust"],
                                  "heatmap"),
    "heat map of an unvaried parameter": (["analyze", "{done}", "--heatmap",
                                           "initial_trust,n_funders"], "n_funders"),
}


@pytest.mark.parametrize("argv, mention", BAD_ANALYSES.values(), ids=BAD_ANALYSES.keys())
def test_bad_analyze_arguments_give_one_line(argv, mention, finished_sweep, tmp_path, capsys):
    """analyze refuses a folder without a sweep or bad options in one line, writing nothing."""
    (tmp_path / "empty").mkdir()
    folders = {"missing": tmp_path / "missing", "empty": tmp_path / "empty",
               "done": finished_sweep}
    before = snapshot(finished_sweep)
    refuse([a.format(**folders) for a in argv], capsys, must_mention=mention)
    assert snapshot(finished_sweep) == before
    assert not (tmp_path / "missing").exists() and not any((tmp_path / "empty").iterdir())


KILL_SWEEP = SWEEP.replace("levels = [0.2, 0.4]", "bounds = [0.0, 1.0], num = 15").replace(
    "replications = 1", "replications = 2").replace("steps = 2", "steps = 240").replace(
    "n_residents = 60", "n_residents = 2000").replace("n_nonprofits = 4", "n_nonprofits = 40")
# runs long enough (about half a second each, 2026-12) that random kills land while the sweep
# is running; the model getting faster shortens them (kills after the end fail the test)
KILL_RUNS = 30


@pytest.mark.slow
def test_resume_after_kill_9_at_several_random_moments_gives_the_full_table(tmp_path):
    """kill -9 a sweep five times in a row (once during start-up, then at random moments
    after new parts appear); resuming ends with the table of an uninterrupted sweep."""
    import random

    from experiments.engine.store import RunStore
    from experiments.sweep import load_config, load_results, run_sweep
    from experiments.sweep.execute import sweep_schema

    def part_paths(folder):
        return RunStore(folder, sweep_schema(load_config(config))).parts()

    config = write_config(tmp_path, KILL_SWEEP)
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "experiments", "sweep", str(config), "--out", str(out),
               "--no-progress", "--jobs", "2", "--flush-every", "0.1"]
    rng = random.Random(8)
    saved = []
    for kill in range(5):
        parts_before = len(part_paths(out))
        proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if kill == 0:
            time.sleep(rng.uniform(0.2, 1.5))  # while starting up
        else:
            deadline = time.monotonic() + 120
            while (len(part_paths(out)) <= parts_before and proc.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 1.0))
        with contextlib.suppress(ProcessLookupError):  # it may have finished already
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        if (out / "manifest.json").exists():
            saved.append(len(load_results(out, check_code=False)))
    assert saved == sorted(saved), f"finished runs were lost between kills: {saved}"
    assert sum(0 < n < KILL_RUNS for n in saved) >= 3, f"too few kills mid-sweep: {saved}"
    finish = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert finish.returncode == 0, finish.stderr
    resumed = load_results(out)
    fresh = run_sweep(load_config(config), tmp_path / "fresh", progress=False).table()
    assert list(resumed["run_id"]) == list(range(KILL_RUNS))
    pd.testing.assert_frame_equal(resumed.drop(columns="elapsed_s"),
                                  fresh.drop(columns="elapsed_s"))
    print("runs saved after each kill:", saved)


# --- the real entry point -----------------------------------------------------------------
def cisim(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the installed ``cisim`` entry point."""
    return subprocess.run([sys.executable, "-m", "experiments", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_entry_point_exit_code_and_single_line(tmp_path):
    """The real process exits non-zero with one line and no traceback on a bad value."""
    done = cisim("run", "--set", "initial_trust=-0.1", "--out", str(tmp_path / "o"),
                 cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "initial_trust" in done.stderr
    assert not (tmp_path / "o").exists()


# --- atomic writes ------------------------------------------------------------------------
def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    """A writer that fails half-way leaves neither the target nor a temporary file."""
    def broken(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError):
        write_parquet(pd.DataFrame({"a": [1, 2]}), tmp_path / "part.parquet")
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_old_file(tmp_path):
    """Rewriting a result that fails half-way keeps the previous complete file."""
    target = tmp_path / "summary.json"
    write_json({"a": 1}, target)
    with pytest.raises(TypeError):
        write_json({"a": object()}, target)
    assert target.read_text().strip().startswith("{") and '"a": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    from experiments.io import write_parquet
    target = sys.argv[1]
    i = 0
    print("ready", flush=True)
    while True:
        n = 20_000 + 5_000 * (i % 7)
        write_parquet(pd.DataFrame({"i": np.full(n, i), "x": np.arange(n, dtype=float)}),
                      target)
        i += 1
""")


@pytest.mark.parametrize("delay", [0.02, 0.15, 0.4])
def test_kill_during_writes_never_leaves_a_corrupt_file(tmp_path, delay):
    """kill -9 while a result is rewritten in a loop: the file is always whole or absent."""
    target = tmp_path / "part.parquet"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(target)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    if target.exists():
        table = pd.read_parquet(target)
        (value,) = set(table["i"])
        assert len(table) == 20_000 + 5_000 * (value % 7)
        assert (table["x"].to_numpy() == range(len(table))).all()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in
                 ("part.parquet", "writer.py")]
    assert all(name.startswith(".part.parquet.") and name.endswith(".tmp")
               for name in leftovers), leftovers


# --- user files are data, never code ------------------------------------------------------
#: Calls that would execute or unpickle what a file holds.
UNSAFE_CALLS = {"eval", "exec", "pickle.load", "pickle.loads", "pickle.Unpickler",
                "joblib.load", "pd.read_pickle", "pandas.read_pickle", "read_pickle",
                "yaml.load", "yaml.unsafe_load", "marshal.load", "marshal.loads",
                "shelve.open", "runpy.run_path", "runpy.run_module", "dill.load", "dill.loads",
                "cloudpickle.load", "cloudpickle.loads", "torch.load"}
PACKAGES = ("model", "agents", "experiments")


def _dotted(node) -> str:
    import ast

    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def test_no_user_file_is_executed_or_unpickled():
    """No project module calls eval/exec, unpickles, or loads arrays with allow_pickle."""
    import ast

    root = Path(__file__).resolve().parent.parent
    found = []
    for package in PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            tree = ast.parse(source.read_text(), filename=str(source))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = _dotted(node.func)
                short = name.rsplit(".", 1)[-1]
                pickled = any(k.arg == "allow_pickle" and not (
                    isinstance(k.value, ast.Constant) and k.value.value is False)
                    for k in node.keywords)
                if name in UNSAFE_CALLS or short == "read_pickle" or pickled:
                    found.append(f"{source.relative_to(root)}:{node.lineno} {name}")
    assert not found, found
