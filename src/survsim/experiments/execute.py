"""Run an experiment's runs on Dask: submit, retry failures, write each result as it comes.

What can go wrong, and what happens then:

- a run raises: it is submitted again, up to ``retries`` more times, then reported;
- its worker dies (killed, out of memory, its machine lost): Dask's scheduler runs it on
  another worker (up to ``distributed.scheduler.allowed-failures`` times, 3 by default,
  without counting a try here); past that the run errs with ``KilledWorker`` and is
  submitted again like a run that raised;
- the scheduler goes (or the connection to it): nothing can run any more, so this stops at
  once with :class:`SchedulerLostError`, keeping every run already written;
- the scheduler hangs with its connection open (a stopped process, a frozen machine): a
  heartbeat asks it to answer every few seconds, and when it has not answered for
  ``heartbeat`` seconds this stops with :class:`SchedulerLostError` too;
- a worker hangs (stopped, frozen) while it holds runs: the same heartbeat asks the
  scheduler to remove every worker holding a run of this experiment that has not been heard
  from for ``heartbeat`` seconds, and the scheduler runs its runs on the other workers.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from survsim.errors import SurvsimError
from survsim.experiments.design import Design, RunSpec
from survsim.experiments.store import ExperimentStore
from survsim.experiments.worker import RunOutput, run_task

__all__ = [
    "HEARTBEAT",
    "Progress",
    "RunFailure",
    "Runner",
    "SchedulerLostError",
    "check_heartbeat",
    "run_pending",
]

#: Seconds the scheduler, or a worker holding a run, may stay silent before it counts as hung
#: (``--heartbeat``). A worker is heard from between its runs' steps; a single kernel call
#: that held it longer than this would make it look hung, so keep this above the longest.
HEARTBEAT = 30.0
#: The range ``--heartbeat`` accepts (seconds).
HEARTBEAT_RANGE = (1.0, 3600.0)

#: ``progress(finished, failed, total)``: called once before the first result and after each.
Progress = Callable[[int, int, int], None]
#: ``runner(scenario, spec, threads)``, and ``reporters=`` when the experiment has some.
Runner = Callable[..., RunOutput]


@dataclass(frozen=True)
class RunFailure:
    """A run that failed on every try."""

    run: int
    seed: int
    tries: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``failures.json``."""
        return {"run": self.run, "seed": self.seed, "tries": self.tries, "error": self.error}


class SchedulerLostError(SurvsimError):
    """The connection to the Dask scheduler broke: no run can finish any more.

    The runs already written are kept; the same experiment with ``resume`` runs the rest.
    The CLI exits with code 1 (the experiment did not complete; the input was fine).
    """

    exit_code = 1

    def __init__(
        self, address: str, finished: int, total: int, path: Path, silent: float | None = None
    ) -> None:
        kept = f"{finished} of {total} runs finished and kept in {path}"
        if silent is None:
            text = (
                f"lost the Dask scheduler at {address}: {kept}; rerun the same command with "
                "--resume to finish"
            )
        else:
            text = (
                f"the Dask scheduler at {address} has not answered for {silent:g} s "
                f"(stopped or frozen?): {kept}; rerun the same command with --resume to "
                "finish, once it answers again or on another scheduler"
            )
        super().__init__(text)
        self.address = address
        self.finished = finished
        self.total = total
        self.path = path
        #: The heartbeat (seconds) the scheduler did not answer in (None: the connection broke).
        self.silent = silent


def check_heartbeat(seconds: float) -> float:
    """``seconds`` as a heartbeat timeout, or a one-line error naming the allowed range."""
    lo, hi = HEARTBEAT_RANGE
    if not lo <= seconds <= hi:  # NaN fails too
        raise SurvsimError(f"--heartbeat {seconds:g}: not allowed (seconds, {lo:g} to {hi:g})")
    return float(seconds)


def _sweeper(prefix: str, timeout: float) -> Callable[..., Any]:
    """A function for the scheduler that removes this experiment's silent workers.

    Those are the workers holding runs whose keys start with ``prefix`` that it has not
    heard from for ``timeout`` seconds; the function returns their addresses.

    It is made here, inside a function, so that it travels by value: the scheduler needs
    no survsim. The scheduler's own clock judges the silence.
    """

    async def sweep(dask_scheduler: Any) -> list[str]:
        import time as clock

        now = clock.time()
        silent = [
            ws.address
            for ws in list(dask_scheduler.workers.values())
            if now - ws.last_seen > timeout
            and any(str(ts.key).startswith(prefix) for ts in ws.processing)
        ]
        for address in silent:
            await dask_scheduler.remove_worker(
                address, stimulus_id=f"survsim-heartbeat-{now}", close=True
            )
        return silent

    return sweep


class _Heartbeat:
    """A thread that asks the scheduler to answer every few seconds.

    Each call is a plain request for the scheduler's identity, which lists every worker
    with the time the scheduler last heard from it. A worker whose time has not moved for
    ``timeout`` seconds (by this machine's clock: no two clocks are compared) looks hung;
    only then does a small function run on the scheduler to remove it, if it holds a run
    of this experiment, so the scheduler's log gains a line only when a worker hangs.
    :meth:`silent` says how long the scheduler itself has gone unanswered.

    A call that never returns (the scheduler stopped) leaves the thread waiting; it is a
    daemon thread, so it never keeps the process alive.
    """

    def __init__(self, client: Any, prefix: str, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.interval = min(max(timeout / 5, 0.2), 5.0)
        self.answered = time.monotonic()
        #: The workers the scheduler removed at survsim's request (their addresses).
        self.removed: list[str] = []
        self._sweep = _sweeper(prefix, timeout)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="survsim-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _beat(self) -> None:
        # worker address -> (the scheduler's last_seen of it, when that value first came)
        heard: dict[str, tuple[Any, float]] = {}
        while not self._stop.is_set():
            try:
                workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
            except Exception:  # an answer too; a broken connection is seen by the futures
                workers = {}
            now = time.monotonic()
            self.answered = now
            quiet = []
            for address, worker in workers.items():
                seen = worker.get("last_seen")
                if address not in heard or heard[address][0] != seen:
                    heard[address] = (seen, now)
                elif now - heard[address][1] > self.timeout:
                    quiet.append(address)
            if quiet:
                with contextlib.suppress(Exception):
                    self.removed.extend(self.client.run_on_scheduler(self._sweep) or [])
                for address in quiet:  # looked at: not again before another timeout
                    heard[address] = (heard[address][0], now)
            self._stop.wait(self.interval)

    def silent(self) -> float | None:
        """Seconds without an answer, once past the timeout; None while the scheduler talks."""
        silent = time.monotonic() - self.answered
        return silent if silent > self.timeout else None


def _error_text(future: Any) -> str:
    try:
        exc = future.exception()
    except BaseException as err:  # a cancelled future raises here
        exc = err
    if exc is None:  # a cancelled future may also have no exception
        return f"cancelled ({future.status})"
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:500]


def _connected(client: Any) -> bool:
    """Whether ``client`` still talks to its scheduler.

    When the connection breaks, the client cancels every future (reason
    ``scheduler-connection-lost``) and leaves the ``running`` state while it tries to
    reconnect (for its ``timeout``), then closes.
    """
    return client.status == "running"


def _lost(client: Any, store: ExperimentStore, silent: float | None = None) -> SchedulerLostError:
    """The error for a lost (or hung) scheduler, counting the runs kept in the folder."""
    address = getattr(client.scheduler, "address", None) or "an unknown address"
    return SchedulerLostError(
        address, len(store.done()), store.design.n_runs, store.root, silent=silent
    )


def _result(client: Any, future: Any, store: ExperimentStore, beat: _Heartbeat) -> Any:
    """A finished future's result, fetched from its worker.

    Raises:
        SchedulerLostError: the connection broke, or the scheduler hung, before it came.
        TimeoutError: it did not come within the heartbeat's timeout, while the scheduler
            still answers (the worker holding it hangs): the run is tried again.
    """
    try:
        return future.result(timeout=beat.timeout)
    except Exception:
        if not _connected(client):
            raise _lost(client, store) from None
        if beat.silent() is not None:
            raise _lost(client, store, beat.timeout) from None
        raise


def run_pending(
    client: Any,
    design: Design,
    store: ExperimentStore,
    *,
    retries: int = 2,
    progress: Progress | None = None,
    runner: Runner = run_task,
    reporters: Mapping[str, Callable[[Any], float]] | None = None,
    heartbeat: float = HEARTBEAT,
) -> list[RunFailure]:
    """Run every run of ``design`` that ``store`` does not hold yet.

    ``reporters`` (user reporters, named as in ``design.reporters``) travel with every
    run's task to its worker.

    Each run is submitted as one task; a run whose task raises (or whose worker dies) is
    submitted again, up to ``retries`` more times, then reported. Results are written by
    this process as they arrive, so an interrupted experiment keeps every finished run.

    A heartbeat asks the scheduler to answer every ``heartbeat / 5`` seconds (at most 5):
    silent for ``heartbeat`` seconds, it counts as hung; so does a worker holding one of
    these runs, which the scheduler is then asked to remove (its runs go to the others).

    Returns:
        The runs that failed on every try (empty when all finished).

    Raises:
        SchedulerLostError: the connection to the scheduler broke, or the scheduler did not
            answer for ``heartbeat`` seconds (the finished runs are kept in ``store``).
    """
    from distributed import as_completed

    done = store.done()
    pending = [spec for spec in design.runs() if spec.run not in done]
    total, finished, failures = design.n_runs, len(done), []
    tag = uuid.uuid4().hex[:8]
    tries: dict[int, int] = {}
    futures: dict[str, tuple[Any, RunSpec]] = {}
    queue = as_completed(loop=client.loop)

    def submit(spec: RunSpec) -> None:
        tries[spec.run] = tries.get(spec.run, 0) + 1
        key = f"survsim-{tag}-run{spec.run}-try{tries[spec.run]}"
        extra = {"reporters": reporters} if reporters else {}
        future = client.submit(runner, design.scenario, spec, 1, key=key, pure=False, **extra)
        futures[future.key] = (future, spec)
        queue.add(future)

    def settle(future: Any, spec: RunSpec) -> None:
        nonlocal finished
        error = None
        if future.status == "finished":
            try:
                output = _result(client, future, store, beat)
            except SchedulerLostError:
                raise
            except Exception as exc:  # its result cannot be fetched: the run is tried again
                error = " ".join(f"its result could not be fetched ({type(exc).__name__})".split())
            else:
                store.write(spec, output)
                finished += 1
                return
        elif not _connected(client):  # cancelled with the connection: no retry helps
            raise _lost(client, store)
        if tries[spec.run] <= retries:
            submit(spec)
        else:
            error = error or _error_text(future)
            failures.append(RunFailure(spec.run, spec.seed, tries[spec.run], error))

    if progress is not None:
        progress(finished, 0, total)
    hung = False
    with _Heartbeat(client, f"survsim-{tag}-", heartbeat) as beat:
        for spec in pending:
            submit(spec)
        try:
            while not queue.is_empty():
                batch = queue.next_batch(block=False)
                if not batch:
                    if beat.silent() is not None:
                        hung = True
                        raise _lost(client, store, beat.timeout)
                    time.sleep(0.02)
                    continue
                for future in batch:
                    spec = futures.pop(future.key)[1]
                    settle(future, spec)
                    future.release()
                    if progress is not None:
                        progress(finished, len(failures), total)
        except BaseException as exc:
            hung = hung or getattr(exc, "silent", None) is not None
            if _connected(client) and not hung:
                with contextlib.suppress(Exception):  # the error on its way matters more
                    client.cancel([future for future, _ in futures.values()])
            raise
    failures.sort(key=lambda f: f.run)
    return failures
