"""The class notebooks: stored without outputs, and each runs top to bottom on its defaults."""

from __future__ import annotations

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
}
TIMEOUT_S = 300  # per cell; the whole notebook takes well under a minute on 2 cores


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


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path):
    """The notebook executes end to end without an error and draws its figures."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= MIN_FIGURES[path.name], f"{path.name} drew {figures} figures"
