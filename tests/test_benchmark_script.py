"""The benchmark script runs end to end at tiny sizes and reports every target."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
TARGETS = (
    "default run / Mesa BoltzmannWealth, time per agent-step",
    "residents x 12 steps, run time",
    "residents x 12 steps, peak memory",
    "cost per resident-step",
    "speed-up of 2 workers over 1",
)


def test_quick_benchmark_prints_every_target_with_a_verdict(tmp_path):
    """`run.py --quick` measures everything and prints each target with PASS or FAIL."""
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for name in TARGETS:
        hits = [line for line in lines if name in line]
        assert len(hits) == 1, (name, done.stdout)
        assert hits[0].rstrip().endswith(("PASS", "FAIL"))
    for row in ("collective scenario", "Mesa BoltzmannWealth", "1 worker", "2 workers"):
        assert any(line.startswith(row) or row in line for line in lines), row
    saved = json.loads(out.read_text())
    assert len(saved["targets"]) == len(TARGETS)
    for m in saved["measurements"].values():
        assert m["median_seconds"] > 0 and m["peak_mb"] > 0


def test_bad_repeats_is_refused_before_any_work():
    """A repeat count below one exits with status 2 and names the option."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "0"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--repeats" in done.stderr and "..." not in done.stderr
