"""Run an experiment's runs on Dask: submit, retry failures, write each result as it comes.

What can go wrong, and what happens then:

- a run raises: it is submitted again, up to ``retries`` more times, then reported;
- its worker dies (killed, out of memory, its machine lost): Dask's scheduler runs it on
  another worker (up to ``distributed.scheduler.allowed-failures`` times, 3 by default,
  without counting a try here); past that the run errs with ``KilledWorker`` and is
  submitted again like a run that raised;
- the scheduler goes (or the connection to it): nothing can run any more, so this stops at
  once with :class:`SchedulerLostError`, keeping every run already written.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from survsim.errors import SurvsimError
from survsim.experiments.design import Design, RunSpec
from survsim.experiments.store import ExperimentStore
from survsim.experiments.worker import RunOutput, run_task

__all__ = ["Progress", "RunFailure", "Runner", "SchedulerLostError", "run_pending"]

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

    def __init__(self, address: str, finished: int, total: int, path: Path) -> None:
        super().__init__(
            f"lost the Dask scheduler at {address}: {finished} of {total} runs finished and "
            f"kept in {path}; rerun the same command with --resume to finish"
        )
        self.address = address
        self.finished = finished
        self.total = total
        self.path = path


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


def _lost(client: Any, store: ExperimentStore) -> SchedulerLostError:
    """The error for a lost scheduler, counting the runs kept in the folder."""
    address = getattr(client.scheduler, "address", None) or "an unknown address"
    return SchedulerLostError(address, len(store.done()), store.design.n_runs, store.root)


def _result(client: Any, future: Any, store: ExperimentStore) -> Any:
    """A finished future's result, fetched from its worker.

    Raises:
        SchedulerLostError: the connection broke before the result came.
    """
    try:
        return future.result()
    except Exception:
        if _connected(client):
            raise
        raise _lost(client, store) from None


def run_pending(
    client: Any,
    design: Design,
    store: ExperimentStore,
    *,
    retries: int = 2,
    progress: Progress | None = None,
    runner: Runner = run_task,
    reporters: Mapping[str, Callable[[Any], float]] | None = None,
) -> list[RunFailure]:
    """Run every run of ``design`` that ``store`` does not hold yet.

    ``reporters`` (user reporters, named as in ``design.reporters``) travel with every
    run's task to its worker.

    Each run is submitted as one task; a run whose task raises (or whose worker dies) is
    submitted again, up to ``retries`` more times, then reported. Results are written by
    this process as they arrive, so an interrupted experiment keeps every finished run.

    Returns:
        The runs that failed on every try (empty when all finished).

    Raises:
        SchedulerLostError: the connection to the scheduler broke (the finished runs are
            kept in ``store``).
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

    if progress is not None:
        progress(finished, 0, total)
    for spec in pending:
        submit(spec)
    try:
        for future in queue:
            spec = futures.pop(future.key)[1]
            if future.status == "finished":
                store.write(spec, _result(client, future, store))
                finished += 1
            elif not _connected(client):  # cancelled with the connection: no retry helps
                raise _lost(client, store)
            elif tries[spec.run] <= retries:
                submit(spec)
            else:
                failures.append(
                    RunFailure(spec.run, spec.seed, tries[spec.run], _error_text(future))
                )
            future.release()
            if progress is not None:
                progress(finished, len(failures), total)
    except BaseException:
        if _connected(client):
            with contextlib.suppress(Exception):  # the error on its way matters more
                client.cancel([future for future, _ in futures.values()])
        raise
    failures.sort(key=lambda f: f.run)
    return failures
