"""The dashboard: its input checks in-process, and the page in a real browser.

The browser tests start ``survsim dashboard`` on a free port, drive Debian's chromium with
Playwright, and fail on any failed request or any request that leaves this machine.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from survsim.dashboard import controls
from survsim.dashboard.controls import defaults, prepare

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


# -- the checks behind the page (in-process) -------------------------------------------


def test_controls_start_at_the_scenarios_values():
    values = defaults("dprk")
    assert values["agents"] == 100_000 and values["steps"] == 1461
    assert values["border.team_size"] == 5 and values["mic_factor"] == 1.0
    ready = prepare("dprk", {**values, "agents": 2000, "steps": 3})
    assert ready.error is None and ready.scenario.params.agents == 2000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("agents", 0, "People simulated: 0 is not allowed (allowed: 1000 to 2e+06)"),
        ("population.informant_density", float("nan"), "is not a finite number"),
        ("border.team_size", 2.5, "Border team size: 2.5 is not a whole number"),
        ("listening.reward", "lots", "Reward per report: 'lots' is not a number"),
    ],
)
def test_bad_values_are_one_line_messages(name, value, message):
    ready = prepare("dprk", {**defaults("dprk"), name: value})
    assert ready.scenario is None and message in ready.error and "\n" not in ready.error


def test_microphone_factor_scales_every_coverage_and_caps_at_one():
    base = prepare("dprk", defaults("dprk")).scenario.params.channels.mic
    more = prepare("dprk", {**defaults("dprk"), "mic_factor": 5.0}).scenario.params.channels.mic
    assert more.neighbourhood.capital == pytest.approx(min(1.0, 5 * base.neighbourhood.capital))
    assert more.household.interior == pytest.approx(5 * base.household.interior)


def test_a_run_is_named_by_what_differs_from_its_scenario():
    values = {**defaults("dprk"), "agents": 3000, "border.team_size": 3}
    assert controls.describe("dprk", values) == "dprk (agents=3000, team_size=3, seed 0)"


def test_a_run_too_large_for_the_machine_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr("survsim.engine.memory.available_bytes", lambda: 10**8)
    ready = prepare("dprk", {**defaults("dprk"), "agents": 2_000_000})
    assert ready.scenario is None
    assert "needs about" in ready.error and "GB available" in ready.error
    assert prepare("civil", defaults("dprk")).error.startswith("scenario 'civil' is not")
    assert set(controls.scenario_names()) >= {"dprk", "dprk_calibrated", "gdr1989"}


def test_a_job_runs_in_its_own_process_and_none_outlives_the_server():
    from survsim.dashboard import jobs

    ready = prepare("dprk", {**defaults("dprk"), "agents": 200_000})
    job = jobs.Job(ready.scenario, "long")
    job.start()
    deadline = time.monotonic() + 60
    while job.snapshot().day < 1:
        assert job.snapshot().state == "running" and time.monotonic() < deadline
        time.sleep(0.2)
    assert job.process.pid != os.getpid()
    jobs._stop_all()  # what the server does when it exits
    assert job.process.poll() is not None
    snap = job.snapshot()
    assert snap.state == "stopped" and snap.timeseries.num_rows >= 2  # kept what it had


# -- the page in a browser -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``survsim dashboard`` on a free port; yields its URL; its log must stay clean."""
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "survsim.cli", "dashboard", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path_factory.mktemp("cwd"),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the dashboard did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        # localhost, not 127.0.0.1: Solara warns about cookies for any other host name.
        yield f"http://localhost:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = log.read_text()
    assert "Traceback" not in text and "Warning" not in text, text[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


class Traffic:
    """Every request a page makes: failed ones, errors, and any that leave this machine."""

    def __init__(self, page) -> None:
        self.failed: list[str] = []
        page.on("requestfailed", lambda r: self.failed.append(f"failed {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        page.on("request", self._local)

    def _local(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob", "about") and url.hostname not in (
            "localhost", "127.0.0.1",
        ):  # fmt: skip
            self.failed.append(f"external {request.url}")


def _open(browser, url):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    traffic = Traffic(page)
    page.goto(url, wait_until="domcontentloaded")
    page.locator(".ss-run").wait_for(timeout=60_000)
    return page, traffic


def _type(page, name: str, value: int) -> None:
    field = page.locator(f".ss-control-{name} input")
    field.fill(str(value))
    field.press("Enter")


def _run_and_wait(page, days: int, run: int = 1, click: bool = True) -> str:
    if click:
        page.locator(".ss-run").click()
    # The page's own view comes first; the comparison below repeats runs.
    status = page.locator(".ss-status").filter(has_text=re.compile(rf"^run {run}: .*: done"))
    status.first.wait_for(timeout=120_000)
    numbers = page.locator(".ss-numbers").first
    numbers.filter(has_text=f"{days:,}").wait_for(timeout=10_000)
    return numbers.inner_text()


@pytest.mark.browser
def test_the_page_runs_a_simulation_and_a_slider_changes_it(server, browser):
    page, traffic = _open(browser, server)
    _type(page, "agents", 3000)
    _type(page, "steps", 40)
    first = _run_and_wait(page, 40)
    chart = page.locator(".ss-daily img").first
    chart.wait_for(timeout=10_000)
    first_chart = chart.get_attribute("src")
    assert page.locator(".ss-open-speech img").count() >= 1

    slider = page.locator(".ss-control-population-informant_density [role=slider]")
    before = slider.get_attribute("aria-valuenow")
    slider.focus()
    for _ in range(20):  # +0.02: about three times the informants
        slider.press("ArrowRight")
    page.wait_for_function(
        "v => document.querySelector("
        "'.ss-control-population-informant_density [role=slider]')"
        ".getAttribute('aria-valuenow') !== v",
        arg=before,
    )
    second = _run_and_wait(page, 40, run=2)
    assert second != first  # more informants: other numbers
    page.wait_for_function(
        "s => { const i = document.querySelector('.ss-daily img'); return i && i.src !== s; }",
        arg=first_chart,
    )
    page.locator(".ss-compare").wait_for(timeout=10_000)  # two runs: side by side
    for name in ("timeseries.parquet", "timeseries.csv", "open_speech.csv", "daily_story.png"):
        page.get_by_role("button", name=name).first.wait_for(timeout=10_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="timeseries.csv").first.click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header.startswith('"day","population"')  # the run's own table, as CSV
    shot = os.environ.get("SURVSIM_DASHBOARD_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)
    assert traffic.failed == []


@pytest.mark.browser
def test_bad_input_is_one_line_on_the_page_and_stop_ends_a_run(server, browser):
    page, traffic = _open(browser, server)
    _type(page, "agents", 5)
    page.locator(".ss-run").click()
    error = page.locator(".ss-input-error")
    error.wait_for(timeout=10_000)
    assert "People simulated: 5 is not allowed" in error.inner_text()
    assert page.locator(".ss-status").count() == 0  # nothing ran
    _type(page, "agents", 200_000)  # four years of 200,000 people: a minute or more
    page.locator(".ss-run").click()
    status = page.locator(".ss-status")
    status.filter(has_text=re.compile(r"running, day [1-9]")).wait_for(timeout=60_000)
    page.locator(".ss-stop").click()
    status.filter(has_text="stopped").wait_for(timeout=20_000)
    assert page.locator(".ss-input-error").count() == 0
    assert traffic.failed == []


@pytest.mark.browser
def test_two_sessions_run_at_once_and_see_only_their_own_runs(server, browser):
    pages = [_open(browser, server) for _ in range(2)]
    for (page, _), (agents, days) in zip(pages, ((3000, 30), (4000, 50)), strict=True):
        _type(page, "agents", agents)
        _type(page, "steps", days)
    for page, _ in pages:
        page.locator(".ss-run").click()
    texts = [
        _run_and_wait(page, days, click=False)
        for (page, _), days in zip(pages, (30, 50), strict=True)
    ]
    assert "30" in texts[0] and "50" in texts[1]
    for page, traffic in pages:
        statuses = page.locator(".ss-status").all_inner_texts()
        assert len(statuses) == 1 and statuses[0].startswith("run 1: dprk")  # its own run only
        assert traffic.failed == []
    assert "agents=3000, steps=30" in pages[0][0].locator(".ss-status").inner_text()
    assert "agents=4000, steps=50" in pages[1][0].locator(".ss-status").inner_text()
