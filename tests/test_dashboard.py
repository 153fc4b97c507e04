"""The dashboard: its input checks and its page in-process, and the page in a real browser.

The browser tests start ``survsim dashboard`` on a free port, drive Debian's chromium with
Playwright, and fail on any failed request or any request that leaves this machine.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from survsim.dashboard import admission, controls, jobs
from survsim.dashboard.controls import CONTROLS, defaults, prepare

CHROMIUM = "/usr/bin/chromium"
#: survsim.warm, the module.
WARM = importlib.import_module("survsim.warm")
ROOT = Path(__file__).resolve().parents[1]


# -- the checks behind the page (in-process) -------------------------------------------


@pytest.fixture(autouse=True)
def _own_budget(monkeypatch):
    """Each test's jobs share a memory budget of their own (1 TB: every run fits)."""
    monkeypatch.setattr(admission, "_ADMISSION", [admission.Admission(10**12)])


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
    assert job.start(ready.needed)
    deadline = time.monotonic() + 120  # a new parameter set: its spin-up runs first
    notes = set()
    while (snap := job.snapshot()).day < 1:
        assert snap.state == "running" and time.monotonic() < deadline
        notes.add(snap.note)
        time.sleep(0.2)
    # The page says what happens before day 1 (the suite's spin-up cache starts empty).
    assert any(note.startswith("spin-up to a stationary start: day ") for note in notes), notes
    assert job.process.pid != os.getpid()
    jobs._stop_all()  # what the server does when it exits
    assert job.process.poll() is not None
    snap = job.snapshot()
    assert snap.state == "stopped" and snap.timeseries.num_rows >= 2  # kept what it had


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: c.name)
def test_every_value_out_of_its_range_is_refused_on_the_server(control):
    # The page's sliders stop at these limits, but a request can carry any value.
    for value in (control.low - control.step, control.high + control.step):
        ready = prepare("dprk", {**defaults("dprk"), control.name: value})
        assert ready.scenario is None
        assert ready.error.startswith(f"{control.label}: ") and "is not allowed" in ready.error


def _render_page():
    import solara

    from survsim.dashboard.app import Page

    return solara.render(solara.AppLayout(children=[Page()]), handle_error=False)[1]


class _Worker:
    """Stands for a worker process that runs until stopped; counts the ones started."""

    started = 0

    def __init__(self, *args, **kwargs) -> None:
        type(self).started += 1
        self.code = None

    def poll(self):
        return self.code

    def terminate(self) -> None:
        self.code = -signal.SIGTERM

    def wait(self, timeout=None):
        return self.code


def test_the_page_refuses_crafted_values_oversize_runs_and_a_second_run_at_once(monkeypatch):
    import ipyvuetify as v

    monkeypatch.setattr(jobs.subprocess, "Popen", _Worker)
    monkeypatch.setattr(_Worker, "started", 0)
    # 0.4 GB available: 2,000 people fit (about 0.3 GB), 2 million do not (about 0.6 GB).
    monkeypatch.setattr("survsim.engine.memory.available_bytes", lambda: 4 * 10**8)
    page = _render_page()
    refusal = lambda: page.find(v.Alert, class_="ss-input-error").widget.children[0]  # noqa: E731
    try:
        run = page.find(v.Btn, children=["Run"]).widget
        slider = page.find(v.Html, class_="ss-control-border-team_size").find(v.Slider).widget
        slider.v_model = 500  # what a crafted message past the slider's end would set
        run.click()
        assert refusal() == "Border team size: 500 is not allowed (allowed: 1 to 20)"
        slider.v_model = 5
        agents = page.find(v.TextField, label="People simulated").widget
        agents.v_model = "2000000"
        agents.fire_event("keyup.enter")
        run.click()
        assert "needs about" in refusal() and "GB available" in refusal()
        assert _Worker.started == 0  # no process for either
        agents.v_model = "2000"
        agents.fire_event("keyup.enter")
        run.click()
        assert _Worker.started == 1
        run.click()  # Run is disabled while the run goes on; a crafted click is refused
        assert refusal() == "a run is going on: wait for its end or stop it first"
        assert _Worker.started == 1
    finally:
        page.close()


def test_the_dashboard_listens_on_this_machine_unless_told_otherwise(monkeypatch):
    from survsim import cli

    calls = []
    monkeypatch.setattr("survsim.dashboard.server.serve", lambda *a, **k: calls.append(a[:2]))
    assert cli.main(["dashboard"]) == 0
    assert cli.main(["dashboard", "--host", "0.0.0.0", "--port", "9000"]) == 0
    assert calls == [("127.0.0.1", 8765), ("0.0.0.0", 9000)]


def _solara_settings(monkeypatch, assets: Path) -> None:
    """Set what serve sets (restored after), valid should Solara be imported first now."""
    for name, value in (
        ("APP", "survsim.dashboard.app"),
        ("ASSETS_PROXY_CACHE_DIR", str(assets)),
        ("TELEMETRY_MIXPANEL_ENABLE", "false"),
        ("MODE", "production"),
    ):
        monkeypatch.setenv(f"SOLARA_{name}", value)


def test_serve_listens_where_told_and_warns_when_others_can_reach_it(monkeypatch, tmp_path):
    import uvicorn

    from survsim.dashboard import server

    _solara_settings(monkeypatch, tmp_path)
    monkeypatch.setattr("survsim.dashboard.assets.ensure", lambda say: tmp_path)
    monkeypatch.setattr(server, "_check_port", lambda host, port: None)
    monkeypatch.setattr(WARM, "is_warm", lambda model: True)  # nothing to compile
    hosts, said = [], []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **k: hosts.append(host))
    server.serve("127.0.0.1", 9000, say=said.append)
    assert hosts == ["127.0.0.1"] and not any("warning" in line for line in said)
    server.serve("0.0.0.0", 9000, say=said.append)
    assert hosts[-1] == "0.0.0.0" and said[-1].startswith("warning: listening on 0.0.0.0:")
    assert all(server.is_local(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "localhost"))
    assert not any(server.is_local(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


def test_a_cold_cache_is_compiled_before_the_server_says_it_is_ready(monkeypatch, tmp_path):
    import uvicorn

    from survsim.dashboard import server

    _solara_settings(monkeypatch, tmp_path)
    monkeypatch.setattr("survsim.dashboard.assets.ensure", lambda say: tmp_path)
    monkeypatch.setattr(server, "_check_port", lambda host, port: None)
    said: list = []

    def warm(models, *, processes=None, say=None):  # a cold cache, compiled in two groups
        said.append(("warm", tuple(models)))
        for k in (1, 2):
            say(f"compiling kernels {k}/2")

    monkeypatch.setattr(WARM, "is_warm", lambda model: said.append(("is_warm", model)))
    monkeypatch.setattr(WARM, "warm", warm)
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **k: said.append("serving"))
    server.serve("127.0.0.1", 9000, say=said.append, memory_budget=2.5)
    ready = "survsim dashboard on http://127.0.0.1:9000/ (Ctrl-C stops it)"
    budget = (
        "memory budget: 2.5 GB for all runs together (--memory-budget); a run that does not "
        "fit what is left waits its turn"
    )
    assert said == [
        ("is_warm", "surveillance_state"),
        "preparing the simulator (first start only): compiling its kernels",
        ("warm", ("surveillance_state",)),
        "compiling kernels 1/2",
        "compiling kernels 2/2",
        ready,
        budget,
        "serving",
    ]
    assert admission.admission().budget == 2_500_000_000
    said.clear()  # a warm cache: nothing to say, nothing to compile
    monkeypatch.setattr(WARM, "is_warm", lambda model: True)
    monkeypatch.setattr("survsim.dashboard.admission.available_bytes", lambda: 10 * 10**9)
    server.serve("127.0.0.1", 9000, say=said.append)  # the default: 80% of what is free
    assert said == [ready, budget.replace("2.5 GB", "8.0 GB"), "serving"]
    for bad in (0.0, float("nan"), -1.0):
        with pytest.raises(admission.SurvsimError, match=r"^--memory-budget .*: not allowed"):
            server.serve("127.0.0.1", 9000, say=said.append, memory_budget=bad)


def test_a_worker_killed_by_a_signal_is_a_failed_run_said_in_words():
    ready = prepare("dprk", {**defaults("dprk"), "agents": 2000})
    job = jobs.Job(ready.scenario, "killed")
    assert job.start(ready.needed)
    job.process.send_signal(signal.SIGKILL)
    job.process.wait(timeout=20)
    snap = job.snapshot()
    assert snap.state == "failed" and job.state == "failed"
    assert snap.error == (
        "the simulation stopped unexpectedly (killed by signal 9, SIGKILL, as when the "
        "machine runs out of memory); the server is still running, try again"
    )


def test_a_worker_that_raises_is_a_failed_run_with_its_one_line_reason():
    from survsim.dashboard import worker

    job = jobs.Job(prepare("dprk", {**defaults("dprk"), "agents": 2000}).scenario, "raises")
    spec = {"scenario": {"model": "surveillance_state", "no such key": 1}}
    (job.folder / "job.json").write_text(json.dumps(spec))
    assert worker.main([str(job.folder)]) == 1  # the worker's own code, in-process
    job.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    job.process.wait(timeout=20)
    snap = job.snapshot()
    assert snap.state == "failed" and snap.timeseries is None
    assert snap.error.startswith("the simulation failed: ")
    assert snap.error.endswith("; the server is still running, try again")
    assert "ScenarioError: dashboard run: " in snap.error and "Traceback" not in snap.error


# -- one memory budget for all the runs of the server -----------------------------------


class _Run:
    """Stands for a job in the admission's queue: it ends when told."""

    def __init__(self) -> None:
        self.launched = self.over = False

    def launch(self) -> None:
        self.launched = True

    def ended(self) -> bool:
        return self.over


def test_the_budget_starts_what_fits_queues_the_rest_in_order_and_refuses_the_impossible():
    gb = 10**9
    budget = admission.Admission(10 * gb)
    a, b, c, d = (_Run() for _ in range(4))
    assert budget.submit(a, 6 * gb, "a") and a.launched
    assert not budget.submit(b, 6 * gb, "b") and not b.launched  # 6 + 6 > 10: it waits
    assert not budget.submit(c, 1 * gb, "c") and not c.launched  # it fits, but b came first
    assert budget.waiting(c) == admission.Waiting(
        place=2, queued=2, held=6 * gb, running=1, budget=10 * gb
    )
    with pytest.raises(admission.SurvsimError) as refused:
        budget.submit(d, 11 * gb, "scenario 'x'")
    assert str(refused.value) == (
        "scenario 'x' needs about 11.0 GB, more than the dashboard's memory budget of 10.0 GB "
        "for all its runs: choose fewer people or fewer days (or start the server with a "
        "larger --memory-budget)"
    )
    assert budget.waiting(d) is None and not d.launched
    budget.pump()
    assert not b.launched  # nothing ended: nothing moves
    a.over = True
    budget.pump()
    assert b.launched and c.launched and budget.held == 7 * gb  # in order, both now fit
    assert budget.withdraw(c) is False  # started: no longer in the queue


def test_two_runs_started_at_the_same_instant_cannot_both_pass_the_budget(monkeypatch):
    """Two sessions press Run at once (threads released together by a barrier), with a
    budget that holds one run: one starts its process, the other waits, visibly, and
    starts when the first ends."""
    from survsim.dashboard import app

    values = {**defaults("dprk"), "agents": 2000, "steps": 20}
    needed = prepare("dprk", values).needed
    monkeypatch.setattr(admission, "_ADMISSION", [admission.Admission(int(1.5 * needed))])

    class Said:
        value = None

        def set(self, value):
            self.value = value

    barrier = threading.Barrier(2)
    found, said = [None, None], [Said(), Said()]

    def press(i: int) -> None:
        barrier.wait()
        found[i] = app._start(None, "dprk", values, 1, said[i])

    presses = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for thread in presses:
        thread.start()
    for thread in presses:
        thread.join()
    try:
        assert said[0].value is None and said[1].value is None
        assert sorted(job.process is None for job in found) == [False, True]
        first, second = sorted(found, key=lambda job: job.process is None)
        assert second.state == "queued"
        budget = f"{int(1.5 * needed) / 1e9:.1f}"
        assert second.snapshot().note == (
            f"waiting for memory: place 1 of 1 in the queue; 1 run holds "
            f"{needed / 1e9:.1f} GB of the server's {budget} GB budget"
        )
        first.stop()  # its memory goes to the one waiting
        assert second.process is not None and second.state in ("running", "done")
        second.stop()
        stopped = jobs.Job(prepare("dprk", values).scenario, "stopped while waiting")
        holder = _Run()
        assert admission.admission().submit(holder, int(1.5 * needed), "x")  # holds it all
        assert not stopped.start(needed) and stopped.state == "queued"
        stopped.stop()
        assert stopped.state == "stopped" and stopped.process is None
        holder.over = True
        admission.admission().pump()
        assert admission.admission().held == 0 and stopped.process is None  # not started
    finally:
        for job in found:
            if job is not None:
                job.stop()


# -- the page in a browser -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """A running ``survsim dashboard``."""

    url: str
    port: int
    pid: int
    log: Path


#: The memory budget of the test server (GB).
BUDGET_GB = 0.5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``survsim dashboard`` on a free port, as a user starts it; its log must stay clean.

    The kernels are compiled here first: with a cold cache the server would compile them
    before it listens (minutes), and the deadline below is for starting only.
    """
    WARM.warm(["surveillance_state"])
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            # A budget that holds one of the small runs below (about 0.30 GB each, 0.34 GB
            # for 200,000 people), not two: two sessions at once must take turns.
            [sys.executable, "-m", "survsim.cli", "dashboard", "--port", str(port),
             "--memory-budget", str(BUDGET_GB)],
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
        yield Server(f"http://localhost:{port}/", port, process.pid, log)
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
    page, traffic = _open(browser, server.url)
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
    page, traffic = _open(browser, server.url)
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
def test_two_sessions_share_the_memory_budget_and_see_only_their_own_runs(server, browser):
    """The server's budget holds one of these runs, not both: the run pressed second waits,
    visibly, and starts when the first ends; each page sees only its own run."""
    pages = [_open(browser, server.url) for _ in range(2)]
    for (page, _), (agents, days) in zip(pages, ((3000, 30), (4000, 50)), strict=True):
        _type(page, "agents", agents)
        _type(page, "steps", days)
    for page, _ in pages:
        page.locator(".ss-run").click()
    waiting = pages[1][0].locator(".ss-status").filter(has_text="waiting for memory")
    waiting.wait_for(timeout=30_000)
    assert re.search(
        r": queued, waiting for memory: place 1 of 1 in the queue; 1 run holds 0\.3 GB of "
        rf"the server's {BUDGET_GB} GB budget$",
        waiting.inner_text(),
    ), waiting.inner_text()
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


def _non_loopback_ipv4() -> list[str]:
    import psutil

    return [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]


@pytest.mark.browser
def test_the_server_listens_on_this_machine_only(server):
    import psutil

    sockets = psutil.Process(server.pid).net_connections(kind="inet")  # IPv4 and IPv6
    listening = {(s.laddr.ip, s.laddr.port) for s in sockets if s.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", server.port)}
    for address in _non_loopback_ipv4():  # this machine's other addresses: nobody answers
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()


def _worker(server_pid: int):
    """The one simulation process the server runs now."""
    import psutil

    found = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "survsim.dashboard.worker" in child.cmdline():
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    assert len(found) == 1, found
    return found[0]


@pytest.mark.browser
def test_a_run_that_crashes_is_an_error_on_the_page_and_the_next_run_finishes(server, browser):
    page, traffic = _open(browser, server.url)
    _type(page, "agents", 50_000)  # ten years of 50,000 people: long enough to catch
    _type(page, "steps", 3650)
    page.locator(".ss-run").click()
    status = page.locator(".ss-status")
    status.filter(has_text=re.compile(r"running, day [1-9]")).wait_for(timeout=60_000)
    _worker(server.pid).send_signal(signal.SIGKILL)  # as the kernel does when memory runs out
    error = page.locator(".ss-error")
    error.wait_for(timeout=20_000)
    assert "stopped unexpectedly (killed by signal 9" in error.inner_text()
    assert "the server is still running" in error.inner_text()
    assert "failed" in status.inner_text()
    _type(page, "agents", 3000)
    _type(page, "steps", 5)
    _run_and_wait(page, 5, run=2)  # the same page, the same server: the next run finishes
    assert page.locator(".ss-error").count() == 0
    assert "Traceback" not in server.log.read_text()
    assert traffic.failed == []
