"""The dashboard page (Solara): choose, run, watch, compare, download.

Every browser session has its own state (Solara keeps component state per session) and
its own runs, each in a subprocess (:mod:`.jobs`). The page never shows a traceback:
bad values and runs too large for the machine are one line, as in the CLI, and so is a
run that crashed (the server goes on serving).
"""

from __future__ import annotations

import io
import tempfile
import threading
from html import escape
from pathlib import Path

# Imported now, not by a run's first table in a session's thread: while pandas is half
# imported in one thread, Solara's renders in the others fail (they look it up).
import pandas  # noqa: F401
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import solara

from survsim.dashboard.controls import CONTROLS, defaults, describe, prepare, scenario_names
from survsim.dashboard.jobs import Job, Snapshot
from survsim.errors import SurvsimError
from survsim.report.surveillance import plot_daily_story, plot_open_speech

__all__ = ["Page"]

#: Seconds between two looks at a running job.
POLL = 0.3


def _png(draw, table: pa.Table | None, title: str) -> bytes | None:
    if table is None or table.num_rows < 2:
        return None
    with tempfile.TemporaryDirectory(prefix="survsim-figure-") as tmp:
        path = Path(tmp) / "figure.png"
        draw(table, path, title)
        return path.read_bytes()


def numbers(table: pa.Table | None) -> dict[str, str]:
    """The headline numbers of a (running) run, formatted for the page."""
    if table is None or table.num_rows == 0:
        return {}
    last = {name: table.column(name)[-1].as_py() for name in table.column_names}
    total = lambda name: int(pa.compute.sum(table.column(name)).as_py() or 0)  # noqa: E731
    reports = sum(total(c) for c in table.column_names if c.startswith("reports_"))
    return {
        "day": f"{last['day']:,}",
        "people imprisoned": f"{last['imprisoned']:,}",
        "spoke openly today": f"{last['spoke_openly']:,}",
        "reports so far": f"{reports:,}",
        "wrongly convicted so far": f"{total('convictions_false'):,}",
        "dissenters never heard": f"{last['falsification_gap']:.3f}",
    }


def _numbers_table(table: pa.Table | None) -> str:
    """The numbers as an HTML table (Solara's Markdown would load scripts from a CDN)."""
    rows = numbers(table)
    if not rows:
        return "<p>no days yet</p>"
    cells = "".join(
        f"<tr><td>{escape(k)}</td><td style='text-align:right;padding-left:2em'>"
        f"{escape(v)}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def _csv(path) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(pq.read_table(path), buffer)
    return buffer.getvalue()


@solara.component
def Controls(scenario: solara.Reactive[str], values: solara.Reactive[dict]):
    """The scenario and its main parameters."""

    def choose(name: str) -> None:
        scenario.set(name)
        values.set(defaults(name))

    solara.Select("Scenario", values=scenario_names(), value=scenario.value, on_value=choose,
                  classes=["ss-scenario"])  # fmt: skip
    for control in CONTROLS:
        current = values.value.get(control.name)

        def update(value, name=control.name) -> None:
            values.set({**values.value, name: value})

        with solara.Div(classes=[f"ss-control-{control.name.replace('.', '-')}"]):
            if control.name in ("agents", "steps", "seed"):
                solara.InputInt(control.label, value=current, on_value=update)
            elif control.kind == "int":
                low, high, step = int(control.low), int(control.high), int(control.step)
                label = f"{control.label}: {int(current):,}"
                solara.SliderInt(label, int(current), low, high, step, on_value=update)
            else:
                low, high, step = control.low, control.high, control.step
                label = f"{control.label}: {float(current):g}"
                solara.SliderFloat(label, float(current), low, high, step, on_value=update)


@solara.component
def RunView(job: Job | None, snap: Snapshot | None):
    """Progress, numbers, the daily story and the open-speech curve of one run."""
    title = job.label if job is not None else ""
    key = (id(job), snap.day if snap else -1, snap.state if snap else "")
    series = snap.timeseries if snap else None
    speech = snap.open_speech if snap else None
    story = solara.use_memo(lambda: _png(plot_daily_story, series, title), [key])
    curve = solara.use_memo(lambda: _png(plot_open_speech, speech, title), [key])
    if job is None or snap is None:
        solara.Info("Choose a scenario and its parameters, then press Run.")
        return
    if snap.state == "running":
        solara.ProgressLinear(value=100 * snap.fraction, classes=["ss-progress"])
    where = f"day {snap.day:,} of {snap.steps:,}"
    if snap.state in ("running", "queued") and snap.day == 0 and snap.note:
        where = snap.note
    solara.Text(f"{title}: {snap.state}, {where}", classes=["ss-status"])
    if snap.error:
        solara.Error(snap.error, classes=["ss-error"])
    solara.HTML(tag="div", unsafe_innerHTML=_numbers_table(series), classes=["ss-numbers"])
    with solara.Columns([1, 1]):
        with solara.Div(classes=["ss-daily"]):
            if story:
                solara.Image(story, width="100%")
        with solara.Div(classes=["ss-open-speech"]):
            if curve:
                solara.Image(curve, width="100%")


@solara.component
def Downloads(job: Job):
    """The finished run's tables (Parquet, CSV) and figures."""
    folder = job.run_folder
    with solara.Row(classes=["ss-downloads"]):
        for name in ("timeseries", "open_speech"):
            path = folder / f"{name}.parquet"
            solara.FileDownload(lambda p=path: p.read_bytes(), f"{name}.parquet",
                                label=f"{name}.parquet")  # fmt: skip
            solara.FileDownload(lambda p=path: _csv(p), f"{name}.csv", label=f"{name}.csv")
        for png in sorted(folder.glob("*.png")):
            solara.FileDownload(lambda p=png: p.read_bytes(), png.name, label=png.name)


@solara.component
def Compare(finished: list[Job]):
    """Two finished runs side by side."""
    labels = [job.label for job in finished]
    left = solara.use_reactive(labels[-2] if len(labels) > 1 else labels[0])
    right = solara.use_reactive(labels[-1])
    with solara.Columns([1, 1], classes=["ss-compare"]):
        for side in (left, right):
            with solara.Column():
                solara.Select("Run", values=labels, value=side)
                chosen = next((j for j in finished if j.label == side.value), finished[-1])
                RunView(chosen, chosen.snapshot())


def _start(
    busy: Job | None, name: str, values: dict, number: int, error: solara.Reactive
) -> Job | None:
    """Check the choice on the server and start its run; None (and ``error`` set) if not.

    The page's limits are only a convenience: a request can carry any value, so every
    value is checked here again (:func:`.prepare`), and nothing starts while the session's
    run goes on or waits. The run then asks the server's memory budget for its estimate:
    it starts, or waits in the queue, or (larger than the whole budget) is refused.
    """
    if busy is not None and busy.state in ("running", "queued"):
        error.set("a run is going on: wait for its end or stop it first")
        return None
    prepared = prepare(name, values)
    error.set(prepared.error)
    if prepared.scenario is None:
        return None
    try:
        job = Job(prepared.scenario, f"run {number}: {describe(name, values)}")
        job.start(prepared.needed)
    except SurvsimError as err:
        error.set(str(err))
        return None
    except OSError as err:
        error.set(f"the simulation could not start ({err.strerror or err}); try again")
        return None
    return job


@solara.component
def Page():
    """The dashboard."""
    first = scenario_names()[0]
    scenario = solara.use_reactive(first)
    values = solara.use_reactive(defaults(first))
    jobs = solara.use_reactive([])
    current = solara.use_reactive(None)
    snap = solara.use_reactive(None)
    error = solara.use_reactive(None)

    def watch(cancel: threading.Event) -> None:
        job = current.value
        while job is not None and not cancel.is_set():
            now = job.snapshot()
            snap.set(now)
            if now.state not in ("running", "queued"):
                break
            cancel.wait(POLL)

    solara.use_thread(watch, dependencies=[current.value], intrusive_cancel=False)

    def stop_on_close():
        # When the session ends (the tab closes), its runs end with it.
        return lambda: [job.stop() for job in jobs.value]

    solara.use_effect(stop_on_close, [])

    def run() -> None:
        job = _start(current.value, scenario.value, values.value, len(jobs.value) + 1, error)
        if job is None:
            return
        jobs.set([*jobs.value, job])
        snap.set(None)
        current.set(job)

    def stop() -> None:
        if current.value is not None:
            current.value.stop()

    running = snap.value is not None and snap.value.state in ("running", "queued")
    solara.Title("survsim dashboard")
    with solara.Sidebar():
        solara.Text("survsim: a mass-surveillance state, simulated. Every person in it is "
                    "synthetic.")  # fmt: skip
        Controls(scenario, values)
        with solara.Row():
            solara.Button("Run", on_click=run, color="primary", disabled=running,
                          classes=["ss-run"])  # fmt: skip
            solara.Button("Stop", on_click=stop, disabled=not running, classes=["ss-stop"])
        if error.value:
            solara.Error(error.value, classes=["ss-input-error"])
    RunView(current.value, snap.value)
    if snap.value is not None and snap.value.state == "done":
        Downloads(current.value)
    finished = [j for j in jobs.value if j.state == "done"]
    if len(finished) >= 2:
        solara.HTML(tag="h3", unsafe_innerHTML="Compare two runs")
        Compare(finished)
