"""The documentation stays in step with the code."""

from pathlib import Path

import pytest

from experiments.docgen import DOCS, GENERATED
from model.metrics import OUTPUTS, SUMMARY_FIELDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_reference_is_current(name):
    """docs/parameters.md and docs/outputs.md match the declarations (regenerate if not)."""
    assert (DOCS / name).read_text() == GENERATED[name](), (
        f"docs/{name} is stale: run python -m experiments.docgen")


def test_odd_names_every_output_and_mechanism():
    """docs/ODD.md mentions every per-step output and summary field it documents."""
    odd = (ROOT / "docs" / "ODD.md").read_text()
    for name in (*OUTPUTS, *SUMMARY_FIELDS):
        assert name in odd or name in (DOCS / "outputs.md").read_text()
    for heading in ("Purpose", "Entities, state variables and scales", "Process overview",
                    "Design concepts", "Initialisation", "Input data", "Submodels"):
        assert heading in odd
