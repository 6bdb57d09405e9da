"""Result folders that a command owns: one writer, one configuration, outputs replaced whole.

Every command that writes results writes into a folder it owns. The folder's
``manifest.json`` names the command and the *fingerprint* of its
configuration; another command, or the same command with another
configuration, is refused with one line and the folder is left as it was. A
second writer is refused by a lock (``filelock``) for as long as the first one
runs. Running the same command again resumes its runs and then replaces the
folder's derived outputs (tables, report, figures) as a whole: they are written
into a hidden staging folder and moved into place only when all of them are
ready, and outputs of the previous publication that are not written again are
removed, so nothing stale and nothing mixed is left. Temporary files a killed
process left behind are removed when the folder is next opened.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from experiments.engine import provenance as pv
from experiments.engine.schema import FORMAT
from experiments.errors import UsageError
from experiments.io import write_json

MANIFEST = "manifest.json"
LOCK = ".cisim.lock"
_STAGING_PREFIX = ".staging-"


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of folder ``path``; None when it has none.

    Raises:
        UsageError: the manifest is damaged or was written by another program.
    """
    file = Path(path) / MANIFEST
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_bytes())
    except ValueError:  # not JSON, or not text at all
        manifest = None
    if not isinstance(manifest, dict) or not {"command", "fingerprint"} <= manifest.keys():
        raise UsageError(f"{str(file)!r} is not a cisim manifest (damaged or of another "
                         "program); use another folder")
    return manifest


def check_folder(path: str | os.PathLike, command: str, fingerprint: str,
                 config: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """Whether ``command`` with ``fingerprint`` may write into ``path``; writes nothing.

    ``config`` (the plain data behind ``fingerprint``) only serves to name what
    differs when the folder holds another configuration.

    Returns:
        The folder's manifest when it holds results of the same command and
        configuration (to be resumed or replaced), else None (a new or empty folder).

    Raises:
        UsageError: ``path`` is a file, cannot be written, is not empty and holds no
            manifest, or holds results of another command or configuration.
    """
    path = Path(path)
    option = f"--out {str(path)!r}"
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} exists and is not a folder")
    parent = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise UsageError(f"{option}: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: cannot write into {str(parent)!r}")
    if not path.is_dir():
        return None
    manifest = read_manifest(path)
    if manifest is None:
        if any(p.name != LOCK for p in path.iterdir()):
            raise UsageError(f"{option} is not empty and holds no cisim results; use a new or "
                             "empty folder")
        return None
    if manifest["command"] != command:
        raise UsageError(f"{option} holds results of 'cisim {manifest['command']}'; "
                         f"'cisim {command}' will not write into it: use another folder")
    if manifest["fingerprint"] != fingerprint:
        changed = _differences(manifest.get("config", {}), config or {})
        raise UsageError(f"{option} holds 'cisim {command}' results of another configuration"
                         f"{changed}; use another folder")
    return manifest


def _differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    changed = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    return f" (differs in: {', '.join(changed)})" if changed else ""


class StudyFolder:
    """A result folder owned by one command and configuration while it is open.

    Use as a context manager::

        with StudyFolder(out, "compare", config) as folder:
            ...                               # runs go to folder.path / "runs"
            with folder.publishing() as staging:
                write_tables(staging)         # derived outputs, replaced as a whole

    Args:
        path: the folder (created on entry).
        command: the command writing it (``compare``, ``sweep``...).
        config: everything that determines the results, as plain data; its digest is
            the folder's fingerprint.
        details: more manifest fields (design sizes, seeds, seed policy...).
    """

    def __init__(self, path: str | os.PathLike, command: str, config: Mapping[str, Any],
                 details: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.command = command
        self.config = json.loads(json.dumps(dict(config), default=pv.plain))
        self.fingerprint = pv.digest(self.config)
        self.details = dict(details or {})
        self.manifest: dict[str, Any] = {}
        self._lock: FileLock | None = None

    def check(self) -> dict[str, Any] | None:
        """``check_folder`` for this command and configuration (writes nothing)."""
        return check_folder(self.path, self.command, self.fingerprint, self.config)

    def __enter__(self) -> StudyFolder:
        self.check()
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise UsageError(f"--out {str(self.path)!r}: another cisim command is writing into "
                             "it; wait for it to finish or use another folder") from None
        self._lock = lock
        try:
            existing = self.check()  # again: another writer may have finished meanwhile
            remove_temporaries(self.path)
            self.manifest = existing or self._new_manifest()
            self.manifest.update(self.details)
            self.manifest.update(status="running", updated=pv.now(), argv=sys.argv[1:],
                                 git=pv.git_state(), packages=pv.package_versions())
            self.write_manifest()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None and self.manifest.get("status") == "running":
            self.manifest["status"] = "interrupted"
            with contextlib.suppress(OSError):
                self.write_manifest()
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            # No waiter can hold the file (the lock is never waited for), so remove it.
            with contextlib.suppress(OSError):
                (self.path / LOCK).unlink()
            self._lock = None

    def _new_manifest(self) -> dict[str, Any]:
        return {"format": FORMAT, "command": self.command, "fingerprint": self.fingerprint,
                "config": self.config, "created": pv.now(), "outputs": []}

    def write_manifest(self) -> None:
        """Write the manifest atomically."""
        write_json(self.manifest, self.path / MANIFEST)

    def update(self, **fields: Any) -> None:
        """Set manifest fields and write it."""
        self.manifest.update(fields, updated=pv.now())
        self.write_manifest()

    @contextlib.contextmanager
    def publishing(self) -> Iterator[Path]:
        """A staging folder for the derived outputs; on success they replace the old ones.

        Every file written under the staging folder is moved to the same relative path
        in the result folder; files of the previous publication that were not written
        again are removed. On error nothing of the old outputs changes.
        """
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.path))
        try:
            yield staging
            new = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                         if p.is_file())
            old = [name for name in self.manifest.get("outputs", []) if name not in new]
            self.update(outputs=new, status="publishing")
            for name in old:
                with contextlib.suppress(FileNotFoundError):
                    (self.path / name).unlink()
            for name in new:
                target = self.path / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, target)
            _remove_empty_dirs(self.path, keep={"runs", "timeseries"})
            self.update(status="complete")
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def remove_temporaries(path: Path) -> int:
    """Delete what a killed writer left in ``path``: temporary files and staging folders."""
    removed = 0
    for stale in path.glob(f"{_STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
        removed += 1
    for stale in path.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def _remove_empty_dirs(path: Path, keep: set[str]) -> None:
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
        if sub.name not in keep and not any(sub.iterdir()):
            sub.rmdir()
