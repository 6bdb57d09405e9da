"""Provenance: code versions, run keys and the sweep manifest (``DIR/manifest.json``).

The *code version* of model runs is a digest of the source of the ``model`` and
``agents`` packages and of ``experiments/runner.py``: it changes whenever the
model's code changes, committed or not, and it can be computed on any worker.
The manifest also records the git commit and whether the work tree was dirty.
Each run row carries a *key*: a digest of the code version, the evaluation,
the full parameter set and the run's seed.
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

from experiments.errors import UsageError
from experiments.io import write_json

MANIFEST = "manifest.json"
FORMAT = 1

_PACKAGES = ("collective-impact-sim", "mesa", "numpy", "pandas", "pyarrow", "scipy", "SALib",
             "joblib", "dask", "distributed", "matplotlib", "tqdm")


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
        return evaluate.code_version()
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
    """A stable name of an evaluation function, e.g. ``experiments.sweep.execute:ModelRun(...)``."""
    if hasattr(evaluate, "identity"):
        return evaluate.identity()
    target = getattr(evaluate, "func", evaluate)
    module = getattr(target, "__module__", "?")
    name = getattr(target, "__qualname__", type(target).__qualname__)
    return f"{module}:{name}"


def run_key(code_version: str, evaluation: str, params: Mapping[str, Any],
            master_seed: int, run_id: int) -> str:
    """Provenance key (16 hex digits) of one run: code, evaluation, parameters, seed."""
    text = json.dumps([code_version, evaluation, dict(sorted(params.items())), master_seed,
                       run_id], default=_scalar)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the sweep folder ``out``, or None when there is none."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError:  # not JSON, or not text at all
        manifest = None
    if not isinstance(manifest, dict) or not {"fingerprint", "config"} <= manifest.keys():
        raise UsageError(f"{str(path)!r} is not a sweep manifest (damaged or of another "
                         "program); use another folder")
    return manifest


def write_manifest(out: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest atomically."""
    write_json(dict(manifest), Path(out) / MANIFEST)


def warn_code_version(what: str, stacklevel: int = 3) -> None:
    """Warn loudly (a ``CodeVersionWarning``) about results of other code."""
    warnings.warn(f"CODE VERSION MISMATCH: {what}", CodeVersionWarning, stacklevel=stacklevel)


def _scalar(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__}")
