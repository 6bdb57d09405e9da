"""The browser view, served by ``cisim app`` and driven in a real headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and
npm to fetch Solara's browser packages once; skipped with the reason otherwise.
Screenshots, the measured latencies and the server log go to ``test-artifacts/``.

Latency is measured inside the page: the test's script clicks Step and polls every
5 ms until the month text and every chart show the new month (each chart writes
the month it has drawn into its ``data-revision`` attribute once drawn).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import statistics
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


def _serve(command: list[str], log: Path):
    """Start ``command`` (a server on the port it names) and yield its URL; always stop it."""
    port = command[command.index("--port") + 1]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"})
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


def _assets_or_skip():
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


@pytest.fixture(scope="module")
def server_url():
    """``cisim app`` on a free loopback port; always terminated afterwards."""
    _assets_or_skip()
    yield from _serve([sys.executable, "-m", "experiments", "app", "--port", str(_free_port()),
                       "--no-fetch-assets"], ARTIFACTS / "app-server.log")


@pytest.fixture(scope="module")
def user_page_url():
    """A Mesa user's own SolaraViz page (``tests/assets``) served by Solara."""
    _assets_or_skip()
    yield from _serve([sys.executable, "-m", "solara", "run",
                       str(ROOT / "tests" / "assets" / "mesa_user_page.py"), "--port",
                       str(_free_port()), "--production", "--no-open"],
                      ARTIFACTS / "mesa-user-page.log")


def _chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="cisim-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(UI_TIMEOUT_S)
    return driver, profile


@pytest.fixture(scope="module")
def page(server_url):
    """Headless Chromium showing the view, with every chart of the first tab drawn."""
    driver, profile = _chromium()
    try:
        driver.get(server_url)
        _wait_for(driver, lambda d: len(_charts_at(d, 0)) == N_CHARTS, "the six charts at month 0",
                  timeout=READY_TIMEOUT_S)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


N_CHARTS = 6  # charts of the one-community tab

STEP_AND_WAIT = """
const [month, done] = arguments;
const want = 'Month ' + month + ' of';
const button = [...document.querySelectorAll('button')]
  .find(b => b.innerText.trim().toUpperCase() === 'STEP');
const started = performance.now();
let text = null;
button.click();
function poll() {
  const shown = document.querySelector('.cisim-month');
  if (text === null && shown && shown.textContent.includes(want)) {
    text = performance.now() - started;
  }
  const charts = [...document.querySelectorAll('.cisim-live-chart')];
  const drawn = charts.filter(c => c.dataset.revision === String(month));
  if (text !== null && charts.length && drawn.length === charts.length) {
    done([text, performance.now() - started]); return;
  }
  if (performance.now() - started > 20000) { done([text, null]); return; }
  setTimeout(poll, 5);
}
poll();
"""


def _wait_for(driver, condition, what: str, timeout: float = UI_TIMEOUT_S):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except TimeoutException:
        driver.save_screenshot(str(ARTIFACTS / "app-failure.png"))
        raise AssertionError(f"timed out waiting for {what}") from None


def _charts_at(driver, month: int) -> list:
    return [c for c in driver.find_elements("css selector", ".cisim-live-chart")
            if c.get_attribute("data-revision") == str(month)]


def _text(driver, css: str) -> str:
    """Text of the first element matching ``css`` (read in the page: never stale)."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';", css)


def _month(driver) -> str:
    return _text(driver, ".cisim-month")


class _Button:
    """A button found by its label at the moment it is clicked (the page redraws often)."""

    def __init__(self, driver, label: str):
        self.driver, self.label = driver, label

    def click(self):
        found = self.driver.execute_script(
            "const b = [...document.querySelectorAll('button')]"
            "  .find(b => b.innerText.trim().toUpperCase() === arguments[0].toUpperCase());"
            "if (!b) return false; b.scrollIntoView({block: 'center'}); b.click(); return true;",
            self.label)
        assert found, f"no {self.label} button on the page"


def _button(driver, label: str) -> _Button:
    return _Button(driver, label)


def _canvas_digest(driver, index: int) -> str:
    """SHA-256 of what chart ``index`` (page order) shows on its canvas."""
    data = driver.execute_script(
        "const c = document.querySelectorAll('.cisim-live-chart')[arguments[0]]"
        ".querySelector('canvas'); return c ? c.toDataURL('image/png') : '';", index)
    return hashlib.sha256(data.encode()).hexdigest()


def _severe_console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _reset_to_month_0(page):
    _button(page, "RESET").click()
    _wait_for(page, lambda d: _month(d).startswith("Month 0 of"), "month 0 after Reset")
    _wait_for(page, lambda d: len(_charts_at(d, 0)) == N_CHARTS, "the charts at month 0")


def test_step_answers_within_0_3_s_and_every_chart_shows_the_new_month(page):
    """Each press of Step puts the next month on screen, in text and in all six charts."""
    assert _month(page) == "Month 0 of 120 (start)"
    assert not _severe_console_errors(page)
    page.save_screenshot(str(ARTIFACTS / "app-month-0.png"))
    latencies = []
    for month in range(1, 13):
        text_ms, charts_ms = page.execute_async_script(STEP_AND_WAIT, month)
        assert charts_ms is not None, f"month {month} never reached every chart"
        latencies.append({"month": month, "text_ms": text_ms, "charts_ms": charts_ms})
        time.sleep(0.2)
    assert _month(page) == "Month 12 of 120 (year 1)"
    page.save_screenshot(str(ARTIFACTS / "app-month-12.png"))
    median = statistics.median(x["charts_ms"] for x in latencies)
    (ARTIFACTS / "app-latency.json").write_text(json.dumps(
        {"median_charts_ms": median, "presses": latencies}, indent=1))
    assert median < 300, f"Step took {median:.0f} ms (median) to reach every chart"
    assert not _severe_console_errors(page)


CONTRAST = """
function channel(c) {
  c /= 255;
  return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}
function luminance(rgb) {
  return 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
}
function parse(colour) {
  const m = colour.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function background(el) {
  let layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let out = [255, 255, 255];
  for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
  return out;
}
const low = [];
for (const el of document.querySelectorAll('body *')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.offsetParent) continue;
  if (el.closest('[disabled], .v-btn--disabled, .v-input--is-disabled')) continue;
  const style = getComputedStyle(el);
  const fg = parse(style.color); if (!fg) continue;
  const bg = background(el);
  const text = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
  const [a, b] = [luminance(text), luminance(bg)].sort((x, y) => y - x);
  const ratio = (a + 0.05) / (b + 0.05);
  if (ratio < 4.5) low.push(el.textContent.trim().slice(0, 40) + ' : ' + ratio.toFixed(2));
}
return low;
"""


def test_every_text_on_the_page_has_a_contrast_of_at_least_4_5(page):
    """WCAG AA: text against what is behind it, header and controls included."""
    low = page.execute_script(CONTRAST)
    assert not low, f"text below 4.5:1: {low}"


def test_play_keeps_up_with_its_speed(page):
    """Playing at 4 months per second advances about that fast, charts following."""
    _reset_to_month_0(page)
    _button(page, "▶").click()
    samples = []
    started = time.monotonic()
    while time.monotonic() - started < 4.0:
        month = int(_month(page).split()[1])
        drawn = set(page.execute_script(
            "return [...document.querySelectorAll('.cisim-live-chart')]"
            ".map(c => c.dataset.revision || null);"))
        samples.append((month, drawn))
        time.sleep(0.25)
    _button(page, "❚❚").click()
    _wait_until_still(page)
    reached = samples[-1][0]
    assert reached >= 10, f"4 s of play at 4 months/s reached only month {reached}"
    behind = [m - min(int(r) for r in drawn if r is not None)
              for m, drawn in samples if drawn and None not in drawn]
    assert max(behind) <= 2, f"charts fell {max(behind)} months behind the month shown"


def _wait_until_still(page, seconds: float = 0.75):
    """Wait until the month shown stops changing for ``seconds``.

    Mesa's play loop may finish the month it was sleeping on after Pause (one more
    step, within one play interval), so a test that goes on at once can see that
    step land on whatever model comes next.
    """
    last, since = _month(page), time.monotonic()
    deadline = since + UI_TIMEOUT_S
    while time.monotonic() - since < seconds:
        assert time.monotonic() < deadline, "the month kept changing after Pause"
        time.sleep(0.1)
        now = _month(page)
        if now != last:
            last, since = now, time.monotonic()


def _select(page, label: str, option: str):
    """Open the select labelled ``label`` and pick ``option``, as a user would."""
    field = next(f for f in page.find_elements("css selector", ".v-select")
                 if f.text.startswith(label))
    page.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
    field.find_element("css selector", ".v-select__slot").click()
    _wait_for(page, lambda d: d.execute_script(
        "return [...document.querySelectorAll('.menuable__content__active .v-list-item')]"
        ".some(i => i.innerText.trim() === arguments[0]);", option), f"the option {option!r}")
    page.execute_script(
        "[...document.querySelectorAll('.menuable__content__active .v-list-item')]"
        ".find(i => i.innerText.trim() === arguments[0]).click();", option)


def test_the_picked_scenario_survives_reset(page):
    """Picking collective_top_down runs it; Mesa's Reset then rebuilds that same preset."""
    _select(page, "start from the named scenario", "collective_top_down")
    _wait_for(page, lambda d: "running: collective_top_down" in _text(d, ".cisim-running"),
              "the picked preset to run")
    assert "resident engagement: 0.00" in page.find_element("tag name", "body").text
    _button(page, "STEP").click()
    _wait_for(page, lambda d: _month(d).startswith("Month 1 of"), "month 1")
    _reset_to_month_0(page)
    assert "running: collective_top_down" in _text(page, ".cisim-running")
    _select(page, "start from the named scenario", "collective")
    _wait_for(page, lambda d: "running: collective," in _text(page, ".cisim-running"),
              "the collective preset again")


def _flip(page, switch):
    """Click a Vuetify switch as a user would (its ripple covers the input itself)."""
    page.execute_script("arguments[0].scrollIntoView({block: 'center'});", switch)
    switch.find_element("css selector", ".v-input--selection-controls__ripple").click()


def test_switching_a_condition_off_changes_the_run(page):
    """The backbone switch restarts the community without a backbone, and the network shows it."""
    _reset_to_month_0(page)
    network = 2  # third chart in page order
    before = _canvas_digest(page, network)
    switch = next(s for s in page.find_elements("css selector", ".v-input--switch")
                  if s.text.startswith("Backbone organisation"))
    _flip(page, switch)
    _wait_for(page, lambda d: "Backbone organisation (off)" in
              d.find_element("tag name", "body").text, "the backbone switch to show off")
    _wait_for(page, lambda d: "backbone" not in _text(d, ".cisim-running").split("on:")[1],
              "the running model to have no backbone")
    _wait_for(page, lambda d: len(_charts_at(d, 0)) == N_CHARTS, "the charts redrawn")
    _wait_for(page, lambda d: _canvas_digest(d, network) != before,
              "the network to lose its backbone")
    page.save_screenshot(str(ARTIFACTS / "app-backbone-off.png"))
    _flip(page, switch)
    _wait_for(page, lambda d: "backbone" in _text(d, ".cisim-running").split("on:")[1],
              "the backbone back")


def test_ensemble_mode_draws_the_fan_of_communities(page):
    """The ensemble tab runs 20 communities per arm in the background and answers in words."""
    next(t for t in page.find_elements("css selector", ".v-tab")
         if t.text.strip().upper() == "MANY COMMUNITIES").click()
    run = _wait_for(page, lambda d: next((b for b in d.find_elements("tag name", "button")
                                          if b.text.strip().upper().startswith("RUN 20")), None),
                    "the ensemble's run button")
    run.click()
    answer = _wait_for(page, lambda d: _text(d, ".cisim-ensemble-answer"),
                       "the ensemble to finish", timeout=180)
    assert "communities moved the needle" in answer and "isolated funding" in answer
    page.save_screenshot(str(ARTIFACTS / "app-ensemble.png"))
    seconds = float(answer.split(" runs in ")[1].split(" s")[0])
    (ARTIFACTS / "app-ensemble.json").write_text(json.dumps({"seconds": seconds,
                                                             "answer": answer}))
    assert not _severe_console_errors(page)


def test_mesa_components_draw_in_a_users_own_solaraviz_page(user_page_url):
    """Mesa's grid layout, space and plot components render with this project installed."""
    driver, profile = _chromium()
    try:
        driver.get(user_page_url)
        _wait_for(driver, lambda d: len([i for i in d.find_elements("css selector",
                                                                     ".vue-grid-item img")
                                         if i.size["height"] > 50]) >= 2,
                  "Mesa's space and plot components in the grid", timeout=READY_TIMEOUT_S)
        assert "Time:" in driver.find_element("tag name", "body").text
        driver.save_screenshot(str(ARTIFACTS / "mesa-user-page.png"))
        assert not [m for m in _severe_console_errors(driver) if "GlobalVue" in m]
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
