"""The benchmark script runs end to end at tiny sizes and reports every target."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
# Target lines of a --quick run (its sizes: 300 residents, 12 months, the "large" run of
# 1,500 residents, the "million" run of 3,000, a sweep of 4 runs, base of the ratios 600).
TARGETS = (
    "default run, 300 residents x 12 months, run time",
    "default run / Mesa BoltzmannWealth, time per agent-step",
    "Sobol study, 16,896 default runs on 2 workers",
    "1,500 residents x 12 months, run time",
    "cost per resident-step, 1,500 over 600 residents",
    "3,000 residents x 12 months, run time",
    "3,000 residents x 12 months, peak memory",
    "cost per resident-step, 3,000 over 600 residents",
    "sweep of 4 default runs, speed-up of 2 workers over 1",
    "browser-view month, server side (step + 6 charts + JSON), median of 12",
)
MILLION = TARGETS[5:8]
VERDICTS = ("PASS", "FAIL", "SKIP", "NOT MEASURED")


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def _target_line(stdout: str, name: str) -> str:
    hits = [line for line in stdout.splitlines() if name in line]
    assert len(hits) == 1, (name, stdout)
    return hits[0].rstrip()


def test_quick_benchmark_prints_every_target_with_a_verdict(tmp_path):
    """`run.py --quick` measures everything and prints each target with PASS or FAIL."""
    out = tmp_path / "bench.json"
    done = _run("--quick", "--json", str(out))
    assert done.returncode == 0, done.stderr
    for name in TARGETS:
        assert _target_line(done.stdout, name).endswith(("PASS", "FAIL"))
    lines = done.stdout.splitlines()
    for row in ("collective scenario", "Mesa BoltzmannWealth", "1 worker", "2 workers",
                "Sobol estimate:", "Browser-view month, server side", "Browser side:"):
        assert any(row in line for line in lines), row
    saved = json.loads(out.read_text())
    assert [t["name"] for t in saved["targets"]][:2] == list(TARGETS[:2])
    assert len(saved["targets"]) == len(TARGETS)
    assert len(saved["view_month"]["total"]) == 12
    for m in saved["measurements"].values():
        assert m["median_seconds"] > 0 and m["peak_mb"] > 0


def test_a_largest_run_over_its_time_limit_is_stopped_and_reported():
    """A run stopped by --million-timeout prints 'did not finish' instead of crashing."""
    done = _run("--quick", "--only-million", "--million-timeout", "0.01")
    assert done.returncode == 0, done.stderr
    line = _target_line(done.stdout, MILLION[0])
    assert "did not finish in 0.01 s" in line
    assert line.endswith(("FAIL", "NOT MEASURED"))
    for name in MILLION[1:]:
        assert _target_line(done.stdout, name).endswith(VERDICTS)


def test_the_largest_run_is_refused_without_enough_free_memory():
    """Below --min-free-gb the largest run does not start, and the reason is printed."""
    done = _run("--quick", "--only-million", "--min-free-gb", "1000000")
    assert done.returncode == 0, done.stderr
    for name in MILLION:
        line = _target_line(done.stdout, name)
        assert "not started" in line and "GB free" in line
        assert line.endswith("NOT MEASURED")


def test_bad_options_are_refused_before_any_work():
    """A repeat count below one, or both million flags, exit with status 2 at once."""
    for args, option in ((("--repeats", "0"), "--repeats"),
                         (("--skip-million", "--only-million"), "--skip-million"),
                         (("--million-timeout", "0"), "--million-timeout")):
        done = _run(*args, timeout=60)
        assert done.returncode == 2, args
        assert option in done.stderr and "..." not in done.stderr
