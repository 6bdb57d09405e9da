"""Digests of seeded runs, to show that a speed-up leaves every number where it was.

``python tests/golden_runs.py`` writes ``tests/golden/runs.json``; the test
``tests/test_golden.py`` recomputes the digests and compares. A change that moves
numbers on purpose rewrites the file in the same commit and says why.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.runner import run_one  # noqa: E402
from model.scenarios import NAMED_SCENARIOS  # noqa: E402

GOLDEN = Path(__file__).with_name("golden") / "runs.json"
SMALL = {"n_residents": 300, "n_nonprofits": 12, "n_funders": 3, "steps": 36}
#: (label, scenario, seed, parameters): every preset small, two at the declared default size.
CASES = [*((f"{name}-small-{seed}", name, seed, SMALL) for name in NAMED_SCENARIOS
           for seed in (1, 20240611)),
         ("collective-default", "collective", 7, {}),
         ("isolated-default", "isolated", 7, {})]


def digest(scenario: str, seed: int, params: dict) -> dict[str, str]:
    """SHA-256 of the run's summary (as JSON, floats exact) and of its monthly table."""
    summary, series = run_one(scenario, seed, **params)
    text = json.dumps({k: (float(v).hex() if isinstance(v, float) else v)
                       for k, v in summary.items()}, sort_keys=True, default=str)
    table = hashlib.sha256()
    for column in series.columns:
        values = series[column].to_numpy()
        table.update(column.encode())
        table.update(np.ascontiguousarray(values.astype(float) if values.dtype != object
                                          else values.astype(str)).tobytes())
    return {"summary": hashlib.sha256(text.encode()).hexdigest(), "series": table.hexdigest()}


def compute() -> dict[str, dict[str, str]]:
    """The digest of every case."""
    return {label: digest(scenario, seed, params) for label, scenario, seed, params in CASES}


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
