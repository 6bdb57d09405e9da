"""The browser-side packages the Solara server needs, kept on disk for offline use.

Solara's page loads its JavaScript application, RequireJS, Font Awesome and the
grid layout from a CDN through a caching proxy in the server: the first request
for each file is fetched from the CDN and kept in ``proxy_cache_dir``. On a
machine without that CDN (a classroom behind a firewall, a CI runner) the page
stays blank. ``ensure_assets`` fills the same cache from the npm registry with
``npm pack`` (the files the CDN serves are those of the npm packages), so the
view then works with no other network access.

Which packages and versions are needed is read from the installed Solara itself
(its page template and its widgets), so a Solara upgrade needs no change here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import zlib
from pathlib import Path

from experiments.errors import UsageError

#: ``{{cdn}}/<package>@<version>/...`` in the page template, ``getCdn()}/...`` in widgets.
_CDN_REFERENCE = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/+((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")
_FONT_AWESOME = re.compile(r"^/*((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")
#: Seconds ``npm pack`` may take for one package before it is given up.
#: The project's own browser templates (``experiments.live_chart``), which load from the same CDN.
PROJECT_TEMPLATES = Path(__file__).with_name("vue")
NPM_TIMEOUT_S = 60.0


def _solara_root() -> Path:
    spec = importlib.util.find_spec("solara")
    if spec is None or spec.origin is None:
        raise UsageError("solara is not installed; install the project's dependencies")
    return Path(spec.origin).parent


def uses_vue3() -> bool:
    """Tell whether Solara renders with Vue 3 (it does when ipyvue 3 is installed)."""
    import ipyvue

    return ipyvue.__version__.startswith("3")


def required_packages() -> list[str]:
    """List the npm packages (``name@version``) the installed Solara loads from its CDN.

    Read from Solara's page template, its widget sources, the project's own
    templates and Solara's Font Awesome setting. Of the two application bundles in
    the template (Vue 2 and Vue 3), only the one this installation renders with is
    kept.
    """
    root = _solara_root()
    sources = [root / "server" / "templates" / "solara.html.j2",
               *sorted((root / "widgets" / "vue").glob("*.vue")),
               *sorted(PROJECT_TEMPLATES.glob("*.vue"))]
    found: set[str] = set()
    for path in sources:
        if path.exists():
            found.update(_CDN_REFERENCE.findall(path.read_text(encoding="utf-8")))
    from solara.server import settings

    if settings.assets.fontawesome_enabled:
        match = _FONT_AWESOME.match(settings.assets.fontawesome_path)
        if match:
            found.add(match[1])
    unwanted = "@widgetti/solara-vuetify-app@" if uses_vue3() else \
        "@widgetti/solara-vuetify3-app@"
    return sorted(p for p in found if not p.startswith(unwanted))


def cache_dir() -> Path:
    """Return the folder Solara's server reads proxied CDN files from."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def missing_packages(directory: Path | None = None) -> list[str]:
    """List the required packages with no folder in the cache yet."""
    directory = cache_dir() if directory is None else Path(directory)
    return [p for p in required_packages() if not (directory / p / "package.json").exists()]


def _one_line(text: object, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _run_npm(command: list[str], cwd: str, timeout: float) -> tuple[int, str, str]:
    """Run npm; return its exit code, stdout and stderr.

    npm runs in its own process group, so that on a timeout (or Ctrl-C) it is
    stopped together with anything it started and cannot keep the pipes open.

    Raises:
        subprocess.TimeoutExpired: when npm is still running after ``timeout`` seconds.
    """
    posix = os.name == "posix"
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace", cwd=cwd,
                          start_new_session=posix) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:  # the timeout, or Ctrl-C: stop npm and what it started
            if posix:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()
            proc.communicate()
            raise
    return proc.returncode, stdout, stderr


def _npm_failure(stdout: str, stderr: str) -> str:
    """The most telling line of a failed ``npm pack``: its JSON error, else its stderr."""
    with contextlib.suppress(ValueError):
        report = json.loads(stdout)
        if isinstance(report, dict) and isinstance(report.get("error"), dict):
            error = report["error"]
            summary = " ".join(str(error.get(k) or "") for k in ("code", "summary")).strip()
            if summary:
                return summary
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and "complete log of this run" not in line]
    if not lines:
        return "no message"
    return re.sub(r"^npm (?:error|ERR!)\s*", "", lines[-1]) or lines[-1]


def _packed_filename(stdout: str) -> str | None:
    """The tarball name in ``npm pack --json`` output, or None when there is none.

    npm may print notices or warnings before the JSON array; parsing starts at
    the first line that opens an array.
    """
    lines = stdout.splitlines(keepends=True)
    for start, line in enumerate(lines):
        if not line.lstrip().startswith("["):
            continue
        try:
            report, _ = json.JSONDecoder().raw_decode("".join(lines[start:]).lstrip())
        except ValueError:
            continue
        if (isinstance(report, list) and report and isinstance(report[0], dict)
                and isinstance(report[0].get("filename"), str)):
            return str(report[0]["filename"])
    return None


def _find_tarball(stdout: str, destination: Path) -> Path | None:
    """The tarball npm packed into ``destination``: the one its output names, else the only one."""
    name = _packed_filename(stdout)
    if name is not None and Path(name).name == name and (destination / name).is_file():
        return destination / name
    tarballs = sorted(destination.glob("*.tgz"))
    return tarballs[0] if len(tarballs) == 1 else None


def _package_folder(unpacked: Path) -> Path | None:
    """The package inside an unpacked npm tarball: ``package/``, else its only folder."""
    if (unpacked / "package").is_dir():
        return unpacked / "package"
    folders = [p for p in unpacked.iterdir() if p.is_dir()] if unpacked.is_dir() else []
    return folders[0] if len(folders) == 1 else None


def fetch_package(spec: str, directory: Path, timeout: float = NPM_TIMEOUT_S) -> Path:
    """Download ``spec`` with ``npm pack`` and unpack it as ``directory/spec``.

    The package appears in the cache only once it is completely unpacked; a
    failure leaves the cache as it was.

    Raises:
        UsageError: one line naming ``spec`` and the cause: npm is missing or
            cannot start, it ran longer than ``timeout`` seconds, it failed, its
            output or its archive cannot be understood, or the cache cannot be
            written.
    """
    failed = f"cannot fetch {spec}"
    npm = shutil.which("npm")
    if npm is None:
        raise UsageError(f"{failed}: npm is not installed (install Node.js and npm)")
    target = directory / spec
    with tempfile.TemporaryDirectory(prefix="cisim-npm-") as tmp:
        try:
            code, stdout, stderr = _run_npm(
                [npm, "pack", spec, "--json", "--pack-destination", tmp], tmp, timeout)
        except subprocess.TimeoutExpired:
            raise UsageError(f"{failed}: npm pack did not finish within {timeout:g} s "
                             "(slow or unreachable registry)") from None
        except OSError as exc:
            raise UsageError(f"{failed}: cannot run {npm} "
                             f"({exc.strerror or _one_line(exc)})") from None
        if code != 0:
            raise UsageError(f"{failed}: npm pack exited with code {code}: "
                             f"{_one_line(_npm_failure(stdout, stderr))}")
        tarball = _find_tarball(stdout, Path(tmp))
        if tarball is None and stdout.strip():
            raise UsageError(f"{failed}: npm pack printed output that is not understood "
                             f"and left no single .tgz file: {_one_line(stdout, 80)!r}")
        if tarball is None:
            raise UsageError(f"{failed}: npm pack printed nothing and left no .tgz file")
        unpacked = Path(tmp) / "unpacked"
        try:
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise UsageError(f"{failed}: its archive {tarball.name} cannot be unpacked "
                             f"({_one_line(exc, 80)})") from None
        package = _package_folder(unpacked)
        if package is None or not (package / "package.json").is_file():
            raise UsageError(f"{failed}: its archive {tarball.name} holds no "
                             "package/package.json")
        staged = directory / f".{spec.replace('/', '_')}.partial"
        try:
            shutil.rmtree(staged, ignore_errors=True)
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(package, staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            staged.rename(target)
        except OSError as exc:
            shutil.rmtree(staged, ignore_errors=True)
            raise UsageError(f"{failed}: cannot write it into {directory} "
                             f"({exc.strerror or _one_line(exc, 80)})") from None
    return target


def ensure_assets(directory: Path | None = None, timeout: float = NPM_TIMEOUT_S) -> list[str]:
    """Fetch every required package missing from the cache; return those fetched.

    ``timeout`` is the most seconds ``npm pack`` may take for one package. On
    the first failure the fetching stops; packages fetched before it stay.

    Raises:
        UsageError: one line naming the package that cannot be fetched and why.
    """
    directory = cache_dir() if directory is None else Path(directory)
    fetched = []
    for spec in missing_packages(directory):
        fetch_package(spec, directory, timeout)
        fetched.append(spec)
    return fetched
