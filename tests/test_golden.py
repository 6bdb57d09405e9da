"""Seeded runs give the numbers recorded before (see ``tests/golden_runs.py``)."""

import json

import pytest

from tests.golden_runs import CASES, GOLDEN, digest

RECORDED = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("label, scenario, seed, params", CASES, ids=[c[0] for c in CASES])
def test_a_seeded_run_gives_the_recorded_numbers(label, scenario, seed, params):
    assert digest(scenario, seed, params) == RECORDED[label], (
        f"{label}: the numbers moved; if on purpose, rerun tests/golden_runs.py and say why")
