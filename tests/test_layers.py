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
    "experiments.classroom": 3, "experiments.ema": 3, "experiments.conditions": 3,
    "experiments.calibrate": 3, "experiments.ensemble": 3,
    "experiments.reports": 4, "experiments.model_figures": 4, "experiments.view_charts": 4,
    "experiments.app": 5, "experiments.web_assets": 5, "experiments.live_chart": 5,
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


# --- no platform-only or global-state imports ----------------------------------------------
#: Modules no project source imports: POSIX-only, or process-wide plotting state.
BANNED_MODULES = ("fcntl", "matplotlib.pyplot")


def portability_problems(source: str) -> list[str]:
    """Where ``source`` imports ``fcntl`` or ``matplotlib.pyplot`` or calls ``matplotlib.use``.

    ``fcntl`` exists on POSIX only; pyplot and ``matplotlib.use`` change process-wide
    plotting state (figures are drawn on ``Figure`` objects instead). Aliases count:
    ``import matplotlib as mpl; mpl.use(...)`` and ``from matplotlib import use``.
    """
    def banned(module: str) -> bool:
        return any(module == b or module.startswith(f"{b}.") for b in BANNED_MODULES)

    found = []
    mpl_names: set[str] = set()  # names bound to the matplotlib module
    use_names: set[str] = set()  # names bound to matplotlib.use
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if banned(alias.name):
                    found.append(f"line {node.lineno}: import {alias.name}")
                if alias.name == "matplotlib" or (alias.name.startswith("matplotlib.")
                                                  and alias.asname is None):
                    mpl_names.add(alias.asname or "matplotlib")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if banned(node.module) or any(banned(name) for name in names):
                found.append(f"line {node.lineno}: from {node.module} import "
                             f"{', '.join(alias.name for alias in node.names)}")
            if node.module == "matplotlib":
                use_names |= {alias.asname or alias.name for alias in node.names
                              if alias.name == "use"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if ((isinstance(func, ast.Attribute) and func.attr == "use"
             and isinstance(func.value, ast.Name) and func.value.id in mpl_names)
                or (isinstance(func, ast.Name) and func.id in use_names)):
            found.append(f"line {node.lineno}: calls matplotlib.use")
    return sorted(found, key=lambda problem: int(problem.split(":")[0].removeprefix("line ")))


def test_portability_check_sees_every_form():
    source = ("import fcntl\nfrom fcntl import flock\nimport matplotlib.pyplot as plt\n"
              "from matplotlib import pyplot\nfrom matplotlib.pyplot import figure\n"
              "import matplotlib as mpl\nmpl.use('agg')\nfrom matplotlib import use as u\n"
              "def f():\n    u('svg')\n"
              "import matplotlib\nfrom matplotlib.figure import Figure\nmatplotlib.colormaps\n")
    assert [p.split(":")[0] for p in portability_problems(source)] == [
        f"line {n}" for n in (1, 2, 3, 4, 5, 7, 10)]


def test_no_module_imports_fcntl_or_pyplot_or_switches_the_backend():
    """Outside the notebooks, no project source imports fcntl or pyplot or calls matplotlib.use."""
    sources = [path for _, path in modules()] + sorted((ROOT / "benchmarks").glob("*.py"))
    problems = [f"{path.relative_to(ROOT)} {problem}" for path in sources
                for problem in portability_problems(path.read_text())]
    assert not problems, "\n".join(problems)
