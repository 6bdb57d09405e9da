"""The documentation stays in step with the code."""

import ast
import re
from pathlib import Path

import pytest

from experiments.docgen import DOCS, GENERATED
from model.metrics import OUTPUTS, SUMMARY_FIELDS
from model.parameters import PARAMETERS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_reference_is_current(name):
    """docs/parameters.md and docs/outputs.md match the declarations (regenerate if not)."""
    assert (DOCS / name).read_text() == GENERATED[name](), (
        f"docs/{name} is stale: run python -m experiments.docgen")


def _mechanisms() -> list[str]:
    """Functions in model/ and agents/ whose docstring names a mechanism or backbone role."""
    names = []
    for path in [*(ROOT / "model").glob("*.py"), *(ROOT / "agents").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and re.search(
                    r"(Mechanism|role) '", ast.get_docstring(node) or ""):
                names.append(node.name)
    return names


def test_odd_names_every_output_parameter_and_mechanism():
    """docs/ODD.md itself names every output, summary field, parameter and mechanism."""
    odd = (ROOT / "docs" / "ODD.md").read_text()
    # a whole word (within code spans or formulas), not a substring of a longer name
    missing = [name for name in (*OUTPUTS, *SUMMARY_FIELDS, *(p.name for p in PARAMETERS))
               if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", odd)]
    assert not missing, f"not in docs/ODD.md: {missing}"
    mechanisms = _mechanisms()
    assert len(mechanisms) >= 15  # the scan still finds the model's mechanisms
    assert not [m for m in mechanisms if m not in odd]
    for heading in ("Purpose and patterns", "Entities, state variables and scales",
                    "Process overview", "Design concepts", "Initialisation", "Input data",
                    "Submodels", "Calibration"):
        assert heading in odd
