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

import importlib.util
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from experiments.errors import UsageError

#: ``{{cdn}}/<package>@<version>/...`` in the page template, ``getCdn()}/...`` in widgets.
_CDN_REFERENCE = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/+((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")
_FONT_AWESOME = re.compile(r"^/*((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")
NPM_TIMEOUT_S = 300


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

    Read from Solara's page template, its widget sources and its Font Awesome
    setting. Of the two application bundles in the template (Vue 2 and Vue 3),
    only the one this installation renders with is kept.
    """
    root = _solara_root()
    sources = [root / "server" / "templates" / "solara.html.j2",
               *sorted((root / "widgets" / "vue").glob("*.vue"))]
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


def fetch_package(spec: str, directory: Path) -> Path:
    """Download ``spec`` with ``npm pack`` and unpack it as ``directory/spec``.

    The package appears in the cache only once it is completely unpacked.

    Raises:
        UsageError: when npm is missing or the download fails.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise UsageError(f"cannot fetch {spec}: npm is not installed (install Node.js and npm)")
    target = directory / spec
    with tempfile.TemporaryDirectory(prefix="cisim-npm-") as tmp:
        result = subprocess.run(
            [npm, "pack", spec, "--json", "--pack-destination", tmp],
            capture_output=True, text=True, timeout=NPM_TIMEOUT_S, cwd=tmp, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise UsageError(f"npm pack {spec} failed: {last}")
        filename = json.loads(result.stdout)[0]["filename"]
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(Path(tmp) / filename) as archive:
            archive.extractall(unpacked, filter="data")
        staged = directory / f".{spec.replace('/', '_')}.partial"
        shutil.rmtree(staged, ignore_errors=True)
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(unpacked / "package", staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
    return target


def ensure_assets(directory: Path | None = None) -> list[str]:
    """Fetch every required package missing from the cache; return those fetched.

    Raises:
        UsageError: when a package cannot be fetched (no npm, no registry).
    """
    directory = cache_dir() if directory is None else Path(directory)
    fetched = []
    for spec in missing_packages(directory):
        fetch_package(spec, directory)
        fetched.append(spec)
    return fetched
