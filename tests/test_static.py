"""The static checks CI runs: ruff's lint rules and mypy's types, both from pyproject.toml.

Both tools are in the ``test`` extra. mypy starts from an empty cache in a temporary
folder, so the test passes or fails the same on a clean checkout as on a used one
(about 30 s on two cores; a warm ``.mypy_cache`` makes a manual ``mypy`` take 1 s).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_ruff_check_is_clean():
    done = _run("ruff", "check", ".", "--no-cache", "--output-format", "concise", timeout=120)
    assert done.returncode == 0, f"ruff check . found problems:\n{done.stdout}{done.stderr}"


def test_mypy_is_clean(tmp_path_factory):
    cache = tmp_path_factory.mktemp("mypy_cache")
    done = _run("mypy", "--cache-dir", str(cache), timeout=300)
    assert done.returncode == 0, f"mypy found problems:\n{done.stdout}{done.stderr}"
