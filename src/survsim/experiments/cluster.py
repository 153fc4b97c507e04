"""Dask: a LocalCluster started by survsim, or an existing cluster by its address.

An existing cluster is named by its scheduler's address (``--scheduler tcp://HOST:PORT``)
or by the scheduler file its scheduler wrote (``--scheduler-file PATH``, as
``dask scheduler --scheduler-file PATH`` writes it on a shared file system).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from survsim.errors import SurvsimError

__all__ = [
    "MAX_LOCAL_WORKERS",
    "dask_client",
    "local_workers",
    "scheduler_address",
    "scheduler_from_file",
]

#: The most worker processes a LocalCluster is started with.
MAX_LOCAL_WORKERS = 512


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SurvsimError(
            "ensembles and sweeps run on Dask, which is not installed: pip install 'survsim[dask]'"
        ) from None
    return distributed


def local_workers(workers: int | None, runs: int) -> int:
    """Worker processes for a LocalCluster: ``workers``, or one per core (not more than runs)."""
    if workers is None:
        return max(1, min(os.cpu_count() or 1, runs))
    if not 1 <= workers <= MAX_LOCAL_WORKERS:
        raise SurvsimError(f"--workers {workers}: not allowed (1 to {MAX_LOCAL_WORKERS})")
    return workers


def scheduler_from_file(path: str | Path) -> str:
    """The address in a Dask scheduler file (``dask scheduler --scheduler-file PATH``).

    Raises:
        SurvsimError: the file is missing, cannot be read, or names no address (one line
            naming the file).
    """
    where = f"--scheduler-file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SurvsimError(
            f"{where}: no such file (start the scheduler with --scheduler-file first)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SurvsimError(f"{where}: cannot be read ({reason})") from None
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    address = record.get("address") if isinstance(record, dict) else None
    if not isinstance(address, str) or not address:
        raise SurvsimError(f'{where}: not a Dask scheduler file (a JSON object with an "address")')
    return address


def scheduler_address(scheduler: str | None, scheduler_file: str | Path | None) -> str | None:
    """The scheduler to run on: ``--scheduler``, or the address in ``--scheduler-file``.

    Raises:
        SurvsimError: both are given, or the file does not name a scheduler.
    """
    if scheduler is not None and scheduler_file is not None:
        raise SurvsimError(
            "--scheduler and --scheduler-file: give one of them (an address, or the file "
            "the scheduler wrote), not both"
        )
    if scheduler_file is not None:
        return scheduler_from_file(scheduler_file)
    return scheduler


@contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence these loggers meanwhile (their levels restored after)."""
    levels = {name: logging.getLogger(name).level for name in loggers}
    for name in levels:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _close(client: Any, hung: bool = False) -> None:
    """Close a client of an existing scheduler, quietly if the connection is gone.

    A client that lost its scheduler is trying to reconnect; closing it cancels that, and
    distributed would log the cancelled attempt with a traceback. survsim has already said
    what happened, in one line. A hung scheduler (``hung``) would never answer the goodbye:
    the client is given a second, then left.
    """
    if client.status == "running" and not hung:
        client.close()
        return
    with (
        _quiet("distributed.client", "distributed.utils", "distributed.core"),
        contextlib.suppress(Exception),
    ):
        if hung:
            client.close(timeout=1)
        else:
            client.close()


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread meanwhile, and in every thread it starts.

    A LocalCluster's event loop runs in a thread that the cluster starts; that thread
    starts the worker processes (and restarts any that dies), and a process inherits the
    signal mask of the thread that started it. Ctrl-C in a terminal sends SIGINT to the
    whole process group, workers included: with SIGINT blocked they let it pass, and this
    process alone stops the experiment (one line, no traceback from each worker). A
    Ctrl-C meanwhile is held, and raised when the mask is restored.

    multiprocessing's resource tracker is started first: starting it unblocks SIGINT in
    the thread that starts it (bpo-33613), which would otherwise be the event loop's.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _local_cluster(n: int) -> Any:
    """A LocalCluster of ``n`` single-threaded worker processes (start it SIGINT blocked)."""
    return _distributed().LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # No web dashboard, and the scheduler's small HTTP server on a free port: 8787 may
        # be taken (by another cluster), and taking another port would be a warning.
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.CRITICAL,
        env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )


def _prepare_workers(client: Any, models: Sequence[str]) -> None:
    """Check every worker's survsim against this one's and warm ``models`` on each."""
    if models:
        from survsim.experiments.warm_plugin import register

        register(client, models)


@contextmanager
def dask_client(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    runs: int = 1,
    warm: Sequence[str] = (),
) -> Iterator[Any]:
    """A connected Dask client; a LocalCluster it starts is closed on the way out.

    Args:
        workers: worker processes of the LocalCluster (default: one per core).
        scheduler: the address of an existing scheduler (``tcp://host:8786``) instead.
        runs: the runs to come (a LocalCluster never has more workers than runs).
        warm: models whose kernels every worker warms before the client is yielded
            (:mod:`.warm_plugin`: a worker that runs another survsim is refused).

    Raises:
        SurvsimError: a worker runs another survsim than this process (``warm`` given).

    The LocalCluster's workers have one thread each and one numba thread each
    (``NUMBA_NUM_THREADS=1``), no web dashboard, and quiet logs: a failed run is reported
    by survsim, once. They do not take Ctrl-C: this process stops them.
    """
    distributed = _distributed()
    if scheduler is not None:
        if workers is not None:
            raise SurvsimError(
                "--workers: applies to the LocalCluster survsim starts, not to --scheduler or "
                "--scheduler-file (that cluster has the workers it was given)"
            )
        try:
            client = distributed.Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise SurvsimError(
                f"--scheduler {scheduler}: cannot connect ({reason[:160]})"
            ) from None
        try:
            _prepare_workers(client, warm)
            yield client
        except BaseException as exc:
            _close(client, hung=getattr(exc, "silent", None) is not None)
            raise
        else:
            _close(client)
        return
    n = local_workers(workers, runs)
    cluster = None
    try:
        with _sigint_blocked():
            cluster = _local_cluster(n)
        # (A Ctrl-C held meanwhile is raised as the block ends, ``cluster`` set: closed below.)
        client = distributed.Client(cluster, set_as_default=False)
        try:
            _prepare_workers(client, warm)
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
