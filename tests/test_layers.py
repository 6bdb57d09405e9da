"""Dependencies point one way: model <- runner <- engine <- studies <- reports <- cli.

Every import in every module (at the top or inside a function) is read from the
source; a module may import only from its own layer or the layers below it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Layer of each module, by longest matching name prefix (lowest first).
LAYERS: dict[str, int] = {
    "model": 0, "agents": 0,
    "experiments": 1, "experiments.errors": 1, "experiments.io": 1, "experiments.runner": 1,
    "experiments.engine": 2, "experiments.stats": 2,
    "experiments.compare": 3, "experiments.breakeven": 3, "experiments.sweep": 3,
    "experiments.classroom": 3, "experiments.ema": 3,
    "experiments.reports": 4, "experiments.model_figures": 4,
    "experiments.app": 5, "experiments.web_assets": 5,
    "experiments.cli": 6, "experiments.commands": 6, "experiments.__main__": 6,
    "experiments.docgen": 6,
}
NAMES = {0: "model", 1: "runner", 2: "engine", 3: "studies", 4: "reports", 5: "teaching",
         6: "cli"}


def layer(module: str) -> int | None:
    """The layer of ``module`` (None for modules outside the project)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    return None


def modules() -> list[tuple[str, Path]]:
    """Every module of the project's packages, with its dotted name."""
    found = []
    for package in ("model", "agents", "experiments"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((name.removesuffix(".__init__"), path))
    return found


def imports(path: Path) -> set[str]:
    """Names of the modules ``path`` imports (absolute imports only; the project uses them)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_project_module_has_a_layer():
    assert [name for name, _ in modules() if layer(name) is None] == []


@pytest.mark.parametrize("name, path", modules(), ids=[n for n, _ in modules()])
def test_no_module_imports_from_a_layer_above_it(name, path):
    own = layer(name)
    upward = sorted(m for m in imports(path) if (layer(m) or 0) > own)
    assert not upward, f"{name} ({NAMES[own]}) imports from above: {upward}"
