"""The class notebooks: stored without outputs, and each runs top to bottom on its defaults."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
#: Figures (PNG outputs) each notebook must draw on its small defaults.
MIN_FIGURES = {
    "01_classroom_demo.ipynb": 5,
    "02_funders_isolated_vs_collective.ipynb": 5,
    "03_parameter_sweep_and_sensitivity.ipynb": 3,
    "04_five_conditions.ipynb": 5,
    "05_moving_the_needle.ipynb": 3,
}
TIMEOUT_S = 300  # per cell; the whole notebook takes well under a minute on 2 cores
#: Whole-notebook budget, twice the one-minute target so that a busy machine still passes;
#: a notebook whose small defaults grew (say REPS raised to 24) fails here.
BUDGET_S = 120


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_every_notebook_is_known():
    """A new notebook gets a figure count here, so it is executed by the suite too."""
    assert {p.name for p in _notebooks()} == set(MIN_FIGURES)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    """Notebooks are committed clean: no outputs, no execution counts."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]


def _code(path: Path) -> ast.Module:
    """The notebook's code cells as one Python module (IPython magics and shell lines dropped)."""
    nb = nbformat.read(path, as_version=4)
    lines = [line for cell in nb.cells if cell.cell_type == "code"
             for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines), filename=path.name)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_imports_public_names_only(path):
    """Notebooks use the public API: no module or name starting with an underscore."""
    for node in ast.walk(_code(path)):
        if isinstance(node, ast.ImportFrom):
            parts = [*(node.module or "").split("."), *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            parts = [p for a in node.names for p in a.name.split(".")]
        else:
            continue
        assert not [p for p in parts if p.startswith("_")], ast.unparse(node)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_writes_only_into_fresh_temporary_folders(path):
    """No fixed paths: no absolute path in the code, no shared folder under gettempdir()."""
    tree = _code(path)
    absolute = re.compile(r"^(/|~|[A-Za-z]:[\\/])")
    paths = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
             and isinstance(n.value, str) and absolute.match(n.value)]
    assert not paths, paths
    assert "gettempdir" not in ast.unparse(tree), "use tempfile.mkdtemp() for output folders"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path):
    """The notebook executes end to end without an error and draws its figures."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    elapsed = time.perf_counter() - started
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES[path.name], f"{path.name} drew {figures} figures"
    assert elapsed < BUDGET_S, f"{path.name} took {elapsed:.0f} s on its small defaults"
