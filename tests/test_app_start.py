"""``cisim app`` starts even when npm is missing, slow or odd, and warns about open hosts.

npm is replaced by a small script on ``PATH``; Solara's asset cache by a
temporary folder holding one fake package; ``os.execve`` by a recorder, so no
server starts and no network is used. Every failure to fetch the browser
packages must end in one warning line, and the server must still be started.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from experiments import web_assets
from experiments.cli import main
from experiments.errors import UsageError

SPEC = "fakepkg@1.0.0"
CDN_FALLBACK = "; the view will load missing browser files from Solara's CDN (needs internet)"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty stand-in for Solara's proxy cache, needing one fake package."""
    folder = tmp_path / "cdn"
    folder.mkdir()
    monkeypatch.setattr(web_assets, "cache_dir", lambda: folder)
    monkeypatch.setattr(web_assets, "required_packages", lambda: [SPEC])
    return folder


@pytest.fixture
def started(monkeypatch) -> list[list[str]]:
    """The command lines ``cisim app`` would have replaced itself with."""
    commands: list[list[str]] = []
    monkeypatch.setattr(os, "execve", lambda path, argv, env: commands.append(list(argv)))
    return commands


def tarball(path: Path, files: dict[str, bytes]) -> Path:
    """Write a gzipped tarball holding ``files`` (name: content)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def good_tarball(path: Path) -> Path:
    """An npm-style tarball: everything under ``package/``."""
    return tarball(path, {"package/package.json": b'{"name": "fakepkg", "version": "1.0.0"}',
                          "package/index.js": b"// fake\n"})


def fake_npm(tmp_path: Path, monkeypatch, body: str) -> Path:
    """Put an ``npm`` on ``PATH`` (and nothing else) that runs ``body``.

    ``body`` is Python that sees ``spec`` (the package asked for) and ``dest``
    (the ``--pack-destination`` folder).
    """
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / "npm"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent("""\
        import shutil, subprocess, sys, time
        from pathlib import Path
        args = sys.argv[1:]
        spec = args[1]
        dest = Path(args[args.index("--pack-destination") + 1])
        """) + textwrap.dedent(body), encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    return script


def no_npm(tmp_path: Path, monkeypatch) -> None:
    """A ``PATH`` on which there is no npm."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def packs(source: Path, before: str = "") -> str:
    """A fake npm body that prints ``before``, npm's JSON report, and packs ``source``."""
    report = [{"id": SPEC, "name": "fakepkg", "version": "1.0.0",
               "filename": "fakepkg-1.0.0.tgz", "files": []}]
    return (f"sys.stdout.write({before!r})\n"
            f"shutil.copy({str(source)!r}, dest / 'fakepkg-1.0.0.tgz')\n"
            f"print({json.dumps(report, indent=2)!r})\n")


SLEEPS = """\
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # holds the pipes
time.sleep(30)
"""
GARBAGE = "print('\\x1b[31mnpm says hello\\x1b[0m'); print('{not json at all' * 20)\n"
FAILS = """\
sys.stderr.write("npm error code E404\\n"
                 "npm error 404 Not Found - GET https://registry.npmjs.org/fakepkg\\n"
                 "npm error A complete log of this run can be found in: /x/debug-0.log\\n")
sys.exit(1)
"""


def only_cache_entry(cache: Path) -> list[str]:
    """Names in the cache, hidden ones too (a half-unpacked package would show here)."""
    return sorted(p.name for p in cache.rglob("*") if p.parent == cache)


# --- fetch_package: every failure is one UsageError naming the package ---------------------
def assert_one_line_about_spec(exc: pytest.ExceptionInfo[UsageError], *words: str) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    assert SPEC in message, message
    for word in words:
        assert word.lower() in message.lower(), message
    return message


def test_npm_missing_is_one_error(tmp_path, monkeypatch, cache):
    no_npm(tmp_path, monkeypatch)
    with pytest.raises(UsageError) as exc:
        web_assets.fetch_package(SPEC, cache)
    assert_one_line_about_spec(exc, "npm is not installed")
    assert only_cache_entry(cache) == []


def test_slow_npm_is_stopped_after_the_timeout(tmp_path, monkeypatch, cache):
    """npm still running after the limit is stopped, with what it started, and reported."""
    fake_npm(tmp_path, monkeypatch, SLEEPS)
    begun = time.monotonic()
    with pytest.raises(UsageError) as exc:
        web_assets.fetch_package(SPEC, cache, timeout=0.5)
    assert time.monotonic() - begun < 10
    assert_one_line_about_spec(exc, "0.5 s")
    assert only_cache_entry(cache) == []


def test_npm_printing_garbage_is_one_error(tmp_path, monkeypatch, cache):
    fake_npm(tmp_path, monkeypatch, GARBAGE)
    with pytest.raises(UsageError) as exc:
        web_assets.fetch_package(SPEC, cache)
    message = assert_one_line_about_spec(exc, "not understood", "npm says hello")
    assert len(message) < 250, message
    assert only_cache_entry(cache) == []


def test_npm_printing_nothing_is_one_error(tmp_path, monkeypatch, cache):
    fake_npm(tmp_path, monkeypatch, "pass\n")
    with pytest.raises(UsageError) as exc:
        web_assets.fetch_package(SPEC, cache)
    assert_one_line_about_spec(exc, "printed nothing")


def test_npm_failing_shows_its_exit_code_and_its_error(tmp_path, monkeypatch, cache):
    """The reported line is npm's error, not its pointer to a log file."""
    fake_npm(tmp_path, monkeypatch, FAILS)
    with pytest.raises(UsageError) as exc:
        web_assets.fetch_package(SPEC, cache)
    message = assert_one_line_about_spec(exc, "code 1", "404 Not Found")
    assert "complete log" not in message
    assert only_cache_entry(cache) == []


def test_warnings_before_the_json_are_skipped(tmp_path, monkeypatch, cache):
    """npm notices on stdout before its JSON report do not stop the fetch."""
    source = good_tarball(tmp_path / "source.tgz")
    fake_npm(tmp_path, monkeypatch, packs(
        source, "npm warn config production Use `--omit=dev` instead.\n"
                "npm notice New major version of npm available! 11.0.0 -> 12.0.0\n"))
    target = web_assets.fetch_package(SPEC, cache)
    assert target == cache / SPEC
    assert (target / "package.json").is_file()
    assert only_cache_entry(cache) == [SPEC]


def test_a_lone_tarball_is_used_when_the_report_is_unreadable(tmp_path, monkeypatch, cache):
    source = good_tarball(tmp_path / "source.tgz")
    fake_npm(tmp_path, monkeypatch,
             f"shutil.copy({str(source)!r}, dest / 'fakepkg-1.0.0.tgz')\nprint('[oops')\n")
    assert (web_assets.fetch_package(SPEC, cache) / "package.json").is_file()


@pytest.mark.parametrize("files, words", [
    (None, ("cannot be unpacked",)),
    ({"a/package.json": b"{}", "b/index.js": b""}, ("no package",)),
], ids=["not a tarball", "no package folder"])
def test_a_bad_archive_is_one_error(files, words, tmp_path, monkeypatch, cache):
    source = tmp_path / "source.tgz"
    if files is None:
        source.write_bytes(b"this is not a gzip file")
    else:
        tarball(source, files)
    fake_npm(tmp_path, monkeypatch, packs(source))
    with pytest.raises(UsageError) as exc:
        web_assets.fetch_package(SPEC, cache)
    assert_one_line_about_spec(exc, *words)
    assert only_cache_entry(cache) == []


def test_packages_fetched_before_a_failure_stay(tmp_path, monkeypatch, cache):
    source = good_tarball(tmp_path / "source.tgz")
    fake_npm(tmp_path, monkeypatch,
             "if spec.startswith('broken'):\n    sys.exit(1)\n" + packs(source))
    monkeypatch.setattr(web_assets, "required_packages", lambda: [SPEC, "broken@2.0.0"])
    with pytest.raises(UsageError, match=r"broken@2\.0\.0"):
        web_assets.ensure_assets(cache)
    assert only_cache_entry(cache) == [SPEC]
    assert web_assets.missing_packages(cache) == ["broken@2.0.0"]


# --- cisim app: one warning line, then the server starts anyway -----------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(argv: list[str], capsys, started) -> list[str]:
    """Run ``cisim app argv``; check it got as far as the server; return its stderr lines."""
    code = main(["app", "--port", str(free_port()), *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert code == 0, err
    assert len(started) == 1, err
    assert started[0][1:4] == ["-m", "solara", "run"]
    return err.strip().splitlines()


def warnings_in(lines: list[str]) -> list[str]:
    return [line for line in lines if "warning" in line]


@pytest.mark.parametrize("npm", ["absent", "slow", "garbage", "fails"])
def test_app_warns_once_and_serves_when_npm_fails(npm, tmp_path, monkeypatch, capsys, cache,
                                                  started):
    if npm == "absent":
        no_npm(tmp_path, monkeypatch)
    else:
        fake_npm(tmp_path, monkeypatch, {"slow": SLEEPS, "garbage": GARBAGE,
                                         "fails": FAILS}[npm])
    lines = start(["--npm-timeout", "0.5"], capsys, started)
    warned = warnings_in(lines)
    assert len(warned) == 1, lines
    assert warned[0].startswith("cisim app: warning: cannot fetch fakepkg@1.0.0: "), warned
    assert warned[0].endswith(CDN_FALLBACK), warned
    assert only_cache_entry(cache) == []


def test_app_fetches_the_packages_then_serves(tmp_path, monkeypatch, capsys, cache, started):
    source = good_tarball(tmp_path / "source.tgz")
    fake_npm(tmp_path, monkeypatch, packs(source, "npm notice something\n"))
    lines = start([], capsys, started)
    assert warnings_in(lines) == [], lines
    assert f"cisim app: fetched {SPEC}" in lines
    assert (cache / SPEC / "package.json").is_file()


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_app_refuses_a_bad_npm_timeout(value, capsys, started):
    code = main(["app", "--no-fetch-assets", "--port", str(free_port()),
                 "--npm-timeout", value])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("cisim: error:"), lines
    assert "--npm-timeout" in lines[0] and "unrecognized" not in lines[0], lines
    assert started == []


# --- --host: warned when other machines can connect -----------------------------------------
def test_app_warns_that_0000_is_open_to_the_network(capsys, started):
    lines = start(["--no-fetch-assets", "--host", "0.0.0.0"], capsys, started)
    warned = warnings_in(lines)
    assert len(warned) == 1, lines
    assert warned[0].startswith("cisim app: warning: --host 0.0.0.0"), warned
    for words in ("anyone", "network", "drive the model", "no password"):
        assert words in warned[0], warned
    assert started[0][started[0].index("--host") + 1] == "0.0.0.0"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_app_does_not_warn_on_loopback(host, capsys, started):
    lines = start(["--no-fetch-assets", "--host", host], capsys, started)
    assert warnings_in(lines) == [], lines


@pytest.mark.parametrize("host, reachable", [
    ("127.0.0.1", False), ("127.3.4.5", False), ("::1", False), ("localhost", False),
    ("0.0.0.0", True), ("::", True), ("192.0.2.1", True), ("2001:db8::1", True),
])
def test_which_hosts_reach_the_network(host, reachable):
    from experiments.commands.app import reaches_network

    assert reaches_network(host, 8765) is reachable
