"""The browser view, served by ``cisim app`` and driven in a real headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and
npm to fetch Solara's browser packages once; skipped with the reason otherwise.
Screenshots and the server log go to ``test-artifacts/``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-quic", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--window-size=1600,1250")
READY_TIMEOUT_S = 90
UI_TIMEOUT_S = 40


def _browser_missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found: install Debian's {package} package to run browser tests"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"cisim app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"cisim app did not answer within {READY_TIMEOUT_S} s:\n"
                f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server_url():
    """``cisim app`` on a free loopback port; always terminated afterwards."""
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[test])")
    from experiments.errors import UsageError
    from experiments.web_assets import ensure_assets

    try:
        ensure_assets()
    except (UsageError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"Solara's browser packages are unavailable: {exc}")
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    log = ARTIFACTS / "app-server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "experiments", "app", "--port", str(port),
             "--no-fetch-assets"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page(server_url):
    """Headless Chromium showing the view, with every chart drawn."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="cisim-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_script_timeout(UI_TIMEOUT_S)
        driver.get(server_url)
        WebDriverWait(driver, READY_TIMEOUT_S).until(
            lambda d: _card(d, "Wellbeing over time") is not None
            and len(d.find_elements("tag name", "img")) >= 6)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _card(driver, title: str):
    for card in driver.find_elements("css selector", ".v-card"):
        if card.text.startswith(title):
            return card
    return None


def _image_digest(driver, title: str) -> str:
    """SHA-256 of the PNG bytes shown in the card ``title`` (its src is a blob URL)."""
    img = _card(driver, title).find_element("tag name", "img")
    data = driver.execute_async_script(
        "const [img, done] = arguments;"
        "fetch(img.src).then(r => r.arrayBuffer()).then(buf => {"
        "  let s = ''; const a = new Uint8Array(buf);"
        "  for (let i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);"
        "  done(btoa(s)); }).catch(e => done('error: ' + e));", img)
    assert not data.startswith("error"), data
    return hashlib.sha256(base64.b64decode(data)).hexdigest()


def _button(driver, label: str):
    for button in driver.find_elements("tag name", "button"):
        if button.text.strip().upper() == label:
            return button
    raise AssertionError(f"no {label} button on the page")


def _wait_for(driver, condition, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, UI_TIMEOUT_S, poll_frequency=0.25).until(condition)
    except TimeoutException:
        driver.save_screenshot(str(ARTIFACTS / "app-failure.png"))
        raise AssertionError(f"timed out waiting for {what}") from None


def _month_shown(driver) -> str:
    card = _card(driver, "Information")
    return card.text.split("Time:")[-1].strip() if card is not None else ""


def _changed(driver, title: str, before: str):
    def check(d):
        try:
            return _image_digest(d, title) != before
        except Exception:  # noqa: BLE001 - the image is being replaced while we read it
            return False
    return check


def test_step_and_slider_redraw_the_view(page):
    """Step redraws the network and the time series; a moved slider changes the reset model."""
    from selenium.webdriver.common.keys import Keys

    assert _month_shown(page) == "0.0"
    network0 = _image_digest(page, "Organisations")
    series0 = _image_digest(page, "Wellbeing over time")

    _button(page, "STEP").click()
    _wait_for(page, lambda d: _month_shown(d) == "1.0", "month 1 after Step")
    _wait_for(page, _changed(page, "Wellbeing over time", series0),
              "the wellbeing chart to change after Step")
    _wait_for(page, _changed(page, "Organisations", network0),
              "the trust network to change after Step")
    page.save_screenshot(str(ARTIFACTS / "app.png"))

    params = _card(page, "Model Parameters")
    thumb = next(s for s in params.find_elements("css selector", ".v-slider")
                 if s.text.startswith("initial trust")).find_element(
        "css selector", "[role=slider]")
    before = float(thumb.get_attribute("aria-valuenow"))
    thumb.click()
    for _ in range(4):
        thumb.send_keys(Keys.ARROW_RIGHT)
    _wait_for(page, lambda d: float(thumb.get_attribute("aria-valuenow")) >= before + 0.2 - 1e-9,
              "the initial-trust slider to move by four steps")
    _button(page, "RESET").click()
    _wait_for(page, lambda d: _month_shown(d) == "0.0", "month 0 after Reset")
    # Same seed, same month, different initial trust: the month-0 network must differ.
    _wait_for(page, _changed(page, "Organisations", network0),
              "the month-0 network to show the new initial trust after Reset")
    page.save_screenshot(str(ARTIFACTS / "app-after-slider.png"))
