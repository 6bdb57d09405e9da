"""Provenance: which code made a result, with which packages, from which commit.

The *code version* of model runs is a digest of the source of the ``model`` and
``agents`` packages and of ``experiments/runner.py``: it changes whenever the
model's code changes, committed or not, and any worker can compute it. Each run
row also carries a *key*: a digest of the evaluation, the inputs the run is
given (its design point and the study's fixed inputs; everything else is a
declared default) and its seed, so two rows with the same key are the same
computation under the same code version.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import json
import platform
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiments.io import plain

_PACKAGES = ("collective-impact-sim", "mesa", "numpy", "pandas", "pyarrow", "scipy", "SALib",
             "joblib", "dask", "distributed", "matplotlib", "tqdm", "filelock")


class CodeVersionWarning(UserWarning):
    """Results were made by model code other than the code now installed, or by several."""


@functools.cache
def model_code_version() -> str:
    """Digest (16 hex digits) of the model's source: ``model/``, ``agents/``, ``runner.py``."""
    import agents
    import model
    from experiments import runner

    digest = hashlib.sha256()
    for package in (model, agents):
        assert package.__file__ is not None, f"{package.__name__} is a regular package"
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package.__name__}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(b"experiments/runner.py\0" + Path(runner.__file__).read_bytes())
    return digest.hexdigest()[:16]


def code_version_of(evaluate: Callable[..., Any]) -> str:
    """The code version of an evaluation function.

    Objects with a ``code_version()`` method (the model's evaluation) answer
    themselves; for other functions it is a digest of the source of the module
    defining them (or of their qualified name when the source is unavailable).
    """
    if hasattr(evaluate, "code_version"):
        return str(evaluate.code_version())
    target = getattr(evaluate, "func", evaluate)  # functools.partial
    module = inspect.getmodule(target)
    try:
        text = inspect.getsource(module) if module is not None else None
    except (OSError, TypeError):
        text = None
    if text is None:
        text = evaluation_name(evaluate)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def evaluation_name(evaluate: Callable[..., Any]) -> str:
    """A stable name of an evaluation function, e.g. ``experiments.runner:run_one(...)``."""
    if hasattr(evaluate, "identity"):
        return str(evaluate.identity())
    target = getattr(evaluate, "func", evaluate)
    module = getattr(target, "__module__", "?")
    name = getattr(target, "__qualname__", type(target).__qualname__)
    return f"{module}:{name}"


def digest(data: Any, length: int = 16) -> str:
    """Hex digest of plain data (JSON with sorted keys; NumPy scalars as Python numbers)."""
    text = json.dumps(data, sort_keys=True, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def run_key(evaluation: str, params: Mapping[str, Any], seed: int) -> str:
    """Provenance key (16 hex digits) of one run: evaluation, its inputs, its seed."""
    return digest([evaluation, dict(params), int(seed)])


def git_state(path: Path | None = None) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the work tree holding ``path``."""
    where = path or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True)
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages results depend on."""
    versions: dict[str, str | None] = {"python": sys.version.split()[0],
                                       "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def warn_code_version(what: str, stacklevel: int = 3) -> None:
    """Warn loudly (a ``CodeVersionWarning``) about results of other code."""
    warnings.warn(f"CODE VERSION MISMATCH: {what}", CodeVersionWarning, stacklevel=stacklevel)
