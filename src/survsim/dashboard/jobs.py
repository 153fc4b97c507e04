"""Runs of the dashboard: each a subprocess with its own folder (see :mod:`.worker`).

A :class:`Job` starts ``python -m survsim.dashboard.worker FOLDER``, reads what the worker
writes (progress, live tables, the finished run folder, or its one-line error) and can stop
it. A worker that dies without a word (killed by a signal) is a failed run said in words
too. Jobs of different browser sessions share nothing but the parent folder and the
server's memory budget (:mod:`.admission`): a job starts when its estimate fits what the
running jobs leave of it, and waits in a visible queue until then.
"""

from __future__ import annotations

import atexit
import itertools
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from survsim.dashboard.admission import admission
from survsim.engine import write_json_atomic
from survsim.scenario import Scenario

__all__ = ["Job", "Snapshot", "jobs_root"]

#: Said after every failure: a run that fails takes only itself down.
_STILL_SERVING = "the server is still running, try again"

_ROOT: list[Path] = []
_COUNTER = itertools.count(1)
#: Jobs whose process may still run: stopped when the server exits, so no run outlives it.
_LIVE: set[Job] = set()


def _stop_all() -> None:
    for job in list(_LIVE):
        job.stop()


def jobs_root() -> Path:
    """The folder of this server's jobs (a temporary folder, removed at exit)."""
    if not _ROOT:
        root = Path(tempfile.mkdtemp(prefix="survsim-dashboard-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        atexit.register(_stop_all)  # runs first (last registered): no process writes then
        _ROOT.append(root)
    return _ROOT[0]


@dataclass
class Snapshot:
    """What a job shows now."""

    state: str  # "queued", "running", "done", "failed" or "stopped"
    day: int
    steps: int
    timeseries: pa.Table | None
    open_speech: pa.Table | None
    error: str | None
    note: str = ""  # what happens before day 1 (a spin-up, or the wait for memory)

    @property
    def fraction(self) -> float:
        """The share of the days simulated so far."""
        return self.day / self.steps if self.steps else 1.0


@dataclass(eq=False)
class Job:
    """One run in a subprocess."""

    scenario: Scenario
    label: str
    folder: Path = field(init=False)
    process: subprocess.Popen | None = field(init=False, default=None)
    stopped: bool = field(init=False, default=False)
    #: Why the worker process could not start (None: it started, or waits to).
    launch_error: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.folder = jobs_root() / f"job-{next(_COUNTER)}"
        self.folder.mkdir()

    def start(self, needed: int) -> bool:
        """Ask the server's memory budget for ``needed`` bytes (the run's estimate).

        The worker starts now if they fit what the running jobs leave, else the job waits.

        Returns:
            True if the worker started, False if the job waits in the queue.

        Raises:
            SurvsimError: ``needed`` is more than the whole budget (nothing starts).
        """
        write_json_atomic({"scenario": self.scenario.resolved()}, self.folder / "job.json")
        _LIVE.add(self)
        try:
            return admission().submit(self, needed, f"scenario '{self.scenario.name}'")
        except BaseException:
            _LIVE.discard(self)
            raise

    def launch(self) -> None:
        """Start the worker process (the admission calls this when the job's turn comes)."""
        try:
            with (self.folder / "stderr.txt").open("wb") as stderr:  # the child has a copy
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "survsim.dashboard.worker", str(self.folder)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
        except OSError as err:
            self.launch_error = f"the simulation could not start ({err.strerror or err})"

    def ended(self) -> bool:
        """Whether the worker has ended, or could not start (its memory is free again)."""
        if self.launch_error is not None:
            return True
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        """Stop the worker, or take the job out of the queue.

        What it computed so far stays visible.
        """
        _LIVE.discard(self)
        if self.process is None and admission().withdraw(self):
            self.stopped = True
            return
        if self.process is None:  # it could not start
            return
        if self.process.poll() is None:
            self.stopped = True
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        admission().pump()  # its memory goes to the next in the queue

    @property
    def run_folder(self) -> Path:
        """The finished run folder (``survsim run --out``), once the job is done."""
        return self.folder / "run"

    def _state(self) -> tuple[str, str | None]:
        if self.process is None:
            if self.launch_error is not None:
                return "failed", f"{self.launch_error}; {_STILL_SERVING}"
            return ("stopped" if self.stopped else "queued"), None
        code = self.process.poll()
        if code is None:
            return "running", None
        if self.stopped:
            return "stopped", None
        if code == 0 and self.run_folder.is_dir():
            return "done", None
        error = self.folder / "error.txt"
        if error.exists():
            reason = " ".join(error.read_text(encoding="utf-8").split())
            return "failed", f"the simulation failed: {reason}; {_STILL_SERVING}"
        return "failed", f"the simulation stopped unexpectedly ({_ended(code)}); {_STILL_SERVING}"

    @property
    def state(self) -> str:
        """``queued``, ``running``, ``done``, ``failed`` or ``stopped`` (reads no table)."""
        return self._state()[0]

    def snapshot(self) -> Snapshot:
        """The job's state, progress and tables now (the finished ones once done).

        Looking also frees the memory of the jobs that ended and starts the waiting jobs
        that now fit (:meth:`.Admission.pump`).
        """
        admission().pump()
        state, error = self._state()
        steps = self.scenario.steps
        day, note = 0, ""
        if state == "queued" and (waiting := admission().waiting(self)) is not None:
            note = _waiting_note(waiting)
        try:
            progress = json.loads((self.folder / "progress.json").read_text(encoding="utf-8"))
            day, steps = int(progress["day"]), int(progress["steps"])
            note = str(progress.get("note", ""))
        except (OSError, ValueError, KeyError):
            pass
        where = self.run_folder if state == "done" else self.folder / "live"
        tables = [_read(where / f"{name}.parquet") for name in ("timeseries", "open_speech")]
        return Snapshot(state, day, steps, tables[0], tables[1], error, note)


def _waiting_note(waiting: Any) -> str:
    """What a queued job shows: its place, and what holds the memory budget."""
    runs = "run holds" if waiting.running == 1 else "runs hold"
    return (
        f"waiting for memory: place {waiting.place} of {waiting.queued} in the queue; "
        f"{waiting.running} {runs} {waiting.held / 1e9:.1f} GB of the server's "
        f"{waiting.budget / 1e9:.1f} GB budget"
    )


def _ended(code: int) -> str:
    """How a worker that wrote no error ended, in words (``code`` as ``Popen.poll``)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "an unknown signal"
    why = f"killed by signal {-code}, {name}"
    if -code == signal.SIGKILL:
        why += ", as when the machine runs out of memory"
    return why


def _read(path: Path) -> pa.Table | None:
    """The table at ``path``, or None where there is none (yet) or it cannot be read."""
    if not path.exists():
        return None
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException):
        return None
