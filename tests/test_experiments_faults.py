"""Faults on real Dask processes: a worker killed mid-run, the scheduler lost, Ctrl-C.

Each fault happens to a real process (SIGKILL, SIGINT) while runs are in flight; the
experiment then completes, here or with ``--resume``, and its data files equal those of
the same ensemble run without a fault (a run's seed depends on its index only).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin

from survsim.cli import main
from survsim.experiments import prepare_ensemble, run_experiment

# Runs of 0.5 to 1 s on one core (several times that on a loaded machine): long enough to
# be caught in flight, short enough for a quick test.
ENSEMBLE = [
    "ensemble", "epstein_outbursts", "--runs", "5", "--steps", "2000", "--seed", "3",
    "--set", "width=40", "--set", "height=40",
]  # fmt: skip
RUNS = 5
#: How long a wait may last before the test fails (a loaded 2-core machine is slow).
PATIENCE = 240.0


def _design() -> Any:
    return prepare_ensemble(
        "epstein_outbursts", RUNS, overrides=["width=40", "height=40"], steps=2000, seed=3
    )


def _data_files(root: Path) -> dict[str, Any]:
    """Every data file of an experiment folder, read as a table (manifest excluded).

    A run's rows of a table are keyed ``table/run=N``, whether the folder holds them in
    the run's own file (in flight) or in the table's compacted file (finished).
    """
    found = {}
    for path in sorted(root.rglob("*.parquet")):
        table = pq.read_table(path)
        if path.name == "compacted.parquet":
            for run in sorted(set(table.column("run").to_pylist())):
                rows = table.filter(pc.equal(table.column("run"), run)).drop_columns(["run"])
                found[f"{path.parent.name}/run={run}"] = rows
        elif path.parent.name.startswith("run="):
            found[f"{path.parent.parent.name}/{path.parent.name}"] = table
        else:
            found[str(path.relative_to(root))] = table
    return found


def _written(out: Path) -> set[int]:
    """The runs whose results are complete in ``out`` (the summary is written last)."""
    runs = {int(p.parent.name[4:]) for p in out.glob("summary/run=*/part-0.parquet")}
    compacted = out / "summary" / "compacted.parquet"
    if compacted.is_file():
        runs.update(pq.read_table(compacted, columns=["run"]).column("run").to_pylist())
    return runs


def _wait_for(condition: Callable[[], Any], what: str, alive: Any = None) -> Any:
    """Poll ``condition`` until it is true; fail if ``alive`` (a process) exits first."""
    deadline = time.monotonic() + PATIENCE
    while not (found := condition()):
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"the process ended (code {alive.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {PATIENCE:.0f} s")
        time.sleep(0.05)
    return found


def _assert_same_data(out: Path, clean: dict[str, Any], runs: set[int] | None = None) -> None:
    """``out`` holds the clean ensemble's data files (all, or those of ``runs`` only)."""
    mine = _data_files(out)
    if runs is None:
        assert mine.keys() == clean.keys()
    else:
        wanted = {f"{t}/run={r}" for t in ("timeseries", "summary") for r in runs}
        assert {n for n in mine if "run=" in n} == wanted
    for name, table in mine.items():
        assert table.equals(clean[name]), name


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster like survsim's: two single-threaded workers, one numba thread each."""
    from survsim.experiments.cluster import _local_cluster

    with _local_cluster(2) as cluster:
        yield cluster


def _resume_finishes(out: Path, cluster: Any, clean: dict[str, Any], capsys: Any) -> None:
    """The same command with --resume runs only the missing runs, to the clean data.

    It runs on the test's cluster, which saves starting another; the scheduler's record
    of the tasks that finished shows which runs ran.
    """
    from distributed import Client

    kept = _written(out)
    resume = [*ENSEMBLE, "--out", str(out), "--resume", "--scheduler", cluster.scheduler_address]
    with Client(cluster, set_as_default=False) as client:
        client.register_plugin(_Finished(), name="resumed-keys")
        try:
            assert main(resume) == 0, capsys.readouterr().err
            keys = cluster.scheduler.plugins["resumed-keys"].keys
        finally:
            client.unregister_scheduler_plugin("resumed-keys")
    ran = {int(k.rsplit("-run", 1)[1].split("-")[0]) for k in keys if k.startswith("survsim-")}
    assert ran == set(range(RUNS)) - kept  # the finished runs were not run again
    _assert_same_data(out, clean)


@pytest.fixture(scope="module")
def clean(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The data files of the ensemble run without a fault."""
    out = tmp_path_factory.mktemp("clean") / "ens"
    run_experiment(_design(), out, scheduler=cluster.scheduler_address)
    assert len(_written(out)) == RUNS
    return _data_files(out)


# -- a worker killed --------------------------------------------------------------------


class _Finished(SchedulerPlugin):
    """A scheduler plugin: the keys of the tasks that finished (in the scheduler's thread)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def transition(self, key: str, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        """Record ``key`` when it reaches memory (its result is ready)."""
        if finish == "memory":
            self.keys.append(str(key))


def _removal(client: Any, worker: str) -> dict[str, Any] | None:
    """The scheduler's record of removing ``worker``, once it has."""
    for _, event in client.get_events("all"):
        if event.get("action") == "remove-worker" and event.get("worker") == worker:
            return event
    return None


def _kill_once(client: Any) -> set[str]:
    """SIGKILL a worker busy with a run; the runs it was processing when it was removed."""
    busy = _wait_for(lambda: [w for w, keys in client.processing().items() if keys], "busy worker")
    worker = busy[0]
    pid = client.run(os.getpid, workers=[worker], on_error="ignore").get(worker)
    if pid is None:  # it went meanwhile
        return set()
    os.kill(pid, signal.SIGKILL)
    event = _wait_for(lambda: _removal(client, worker), "removed worker")
    return {str(k) for k in event["processing-tasks"] if str(k).startswith("survsim-")}


def _kill_a_busy_worker(client: Any, out: Path, found: dict[str, Any]) -> None:
    """Once a run is written, SIGKILL a worker while it runs one; note which run it was.

    A run that ends between the look and the kill makes the kill miss; then it is tried
    again on the next busy worker.
    """
    try:
        _wait_for(lambda: _written(out), "finished run")
        for _ in range(3):
            if killed := _kill_once(client):
                found["killed"] = killed
                return
        raise AssertionError("three kills, and none hit a run in flight")
    except BaseException as exc:  # reported by the test, in its own thread
        found["error"] = exc


@pytest.mark.parametrize(
    ("allowed_failures", "who_retries"),
    [(3, "dask"), (0, "survsim")],
    ids=["rescheduled-by-dask", "resubmitted-by-survsim"],
)
def test_a_worker_killed_mid_run_loses_no_run(
    tmp_path, cluster, clean, allowed_failures, who_retries
):
    """Dask runs a dead worker's task elsewhere (up to ``allowed-failures`` times, 3 by
    default); past that the run errs with KilledWorker and survsim submits it again. Either
    way the ensemble completes with every run, and nothing is reported as failed."""
    from distributed import Client

    out = tmp_path / "ens"
    scheduler = cluster.scheduler
    with Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=PATIENCE)
        finished = _Finished()
        client.register_plugin(finished, name="finished-keys")
        plugin = scheduler.plugins["finished-keys"]  # this process's scheduler: the copy
        scheduler.allowed_failures, before = allowed_failures, scheduler.allowed_failures
        found: dict[str, Any] = {}
        killer = threading.Thread(target=_kill_a_busy_worker, args=(client, out, found))
        killer.start()
        try:
            result = run_experiment(_design(), out, scheduler=cluster.scheduler_address)
        finally:
            killer.join()
            scheduler.allowed_failures = before
            client.unregister_scheduler_plugin("finished-keys")
    assert "error" not in found, found.get("error")
    killed = found["killed"]  # the runs the killed worker held (a worker takes two at once)
    assert all(k.endswith("-try1") for k in killed)
    retried = {k.removesuffix("-try1") for k in killed}
    # Which layer ran them again: the same try (Dask) or a second one (survsim).
    again = sorted(k for k in plugin.keys if k.rsplit("-", 1)[0] in retried)
    assert again == sorted(killed if who_retries == "dask" else {f"{r}-try2" for r in retried})
    # Every other run finished in its first try. One that finished on the killed worker
    # before its result was gathered is computed again by Dask (the same try): its key
    # may appear twice, never as a second try.
    others = {k for k in plugin.keys if k.rsplit("-", 1)[0] not in retried}
    assert len(others) == RUNS - len(retried) and all(k.endswith("-try1") for k in others)
    assert len(result.summary) == RUNS and not (out / "failures.json").exists()
    _assert_same_data(out, clean)


# -- the scheduler lost -----------------------------------------------------------------


def _start(args: list[str], log: Path, **env: str) -> subprocess.Popen:
    """A process in its own session (so that signals reach it and its children alone)."""
    with log.open("w") as stderr:  # the child has its own copy
        return subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **env},
            start_new_session=True,
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts; whatever is left of them is killed afterwards."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _scheduler_and_worker(
    tmp_path: Path, processes: list, workers: int = 1
) -> tuple[subprocess.Popen, str]:
    """A ``dask scheduler`` and ``workers`` ``dask worker`` processes of their own."""
    record = tmp_path / "scheduler.json"
    scheduler = _start(
        ["-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(record)],
        tmp_path / "scheduler.log",
    )  # fmt: skip
    processes.append(scheduler)
    address = _wait_for(
        lambda: record.is_file() and json.loads(record.read_text() or "{}").get("address"),
        "scheduler address",
        alive=scheduler,
    )
    for n in range(workers):
        worker = _start(
            ["-m", "distributed.cli.dask_worker", address, "--no-nanny", "--nthreads", "1",
             "--no-dashboard"],
            tmp_path / f"worker-{n}.log",
            NUMBA_NUM_THREADS="1",
        )  # fmt: skip
        processes.append(worker)
    return scheduler, address


def _takes_ctrl_c() -> None:
    """In the child before it starts: SIGINT back to its default, as in a terminal.

    A test suite started in the background by a non-interactive shell (as CI may start
    it) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _survsim(argv: list[str], tmp_path: Path) -> subprocess.Popen:
    """``survsim ARGV`` in a process of its own, stderr in a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "survsim.cli", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_takes_ctrl_c,
        cwd=tmp_path,
    )


def test_a_lost_scheduler_is_one_line_and_resume_finishes(
    tmp_path, cluster, clean, processes, capsys
):
    """The scheduler killed mid-ensemble: exit code 1 and one line, finished runs kept and
    intact, no aggregate; the same command with --resume, on another cluster, finishes."""
    scheduler, address = _scheduler_and_worker(tmp_path, processes)
    out = tmp_path / "ens"
    command = _survsim([*ENSEMBLE, "--scheduler", address, "--out", str(out)], tmp_path)
    processes.append(command)
    _wait_for(lambda: len(_written(out)) >= 2, "two finished runs", alive=command)
    scheduler.kill()
    _, err = command.communicate(timeout=PATIENCE)  # a hang fails here
    lines = err.splitlines()
    assert command.returncode == 1, err
    assert len(lines) == 2 and lines[0].startswith("ensemble of epstein_outbursts:"), err
    kept = _written(out)
    assert lines[1] == (
        f"survsim: error: lost the Dask scheduler at {address}: {len(kept)} of {RUNS} runs "
        f"finished and kept in {out}; rerun the same command with --resume to finish"
    )
    assert 2 <= len(kept) < RUNS
    assert not (out / "stats.parquet").exists() and not (out / "manifest.json").exists()
    _assert_same_data(out, clean, runs=kept)
    _resume_finishes(out, cluster, clean, capsys)
    assert not (out / "failures.json").exists()


# -- a hung scheduler or worker (SIGSTOP) ------------------------------------------------

#: The heartbeat of these tests (seconds): short, so that a test waits little.
BEAT = 3


def test_a_stopped_scheduler_ends_the_command_within_the_heartbeat_and_resume_finishes(
    tmp_path, cluster, clean, processes, capsys
):
    """The scheduler stopped with SIGSTOP keeps its connection open, and answers nothing:
    within the heartbeat the command ends with exit code 1 and one line naming the address
    and --resume, the finished runs kept; --resume on another cluster finishes."""
    scheduler, address = _scheduler_and_worker(tmp_path, processes)
    out = tmp_path / "ens"
    argv = [*ENSEMBLE, "--scheduler", address, "--out", str(out), "--heartbeat", str(BEAT)]
    command = _survsim(argv, tmp_path)
    processes.append(command)
    _wait_for(lambda: len(_written(out)) >= 2, "two finished runs", alive=command)
    os.kill(scheduler.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        _, err = command.communicate(timeout=PATIENCE)  # a hang fails here
    finally:
        os.kill(scheduler.pid, signal.SIGCONT)
    waited = time.monotonic() - stopped
    lines = err.splitlines()
    assert command.returncode == 1, err
    assert len(lines) == 2 and lines[0].startswith("ensemble of epstein_outbursts:"), err
    kept = _written(out)
    assert lines[1] == (
        f"survsim: error: the Dask scheduler at {address} has not answered for {BEAT} s "
        f"(stopped or frozen?): {len(kept)} of {RUNS} runs finished and kept in {out}; rerun "
        "the same command with --resume to finish, once it answers again or on another "
        "scheduler"
    )
    # Noticed within the heartbeat (its last answer came up to BEAT / 5 s before the stop),
    # not before; the rest is the process closing (slow on a loaded machine).
    assert BEAT - 1 < waited < BEAT + 10, waited
    assert 2 <= len(kept) < RUNS
    assert not (out / "stats.parquet").exists() and not (out / "manifest.json").exists()
    # The heartbeat asked only for the scheduler's identity: nothing ran on it, so its
    # log gained no line (the next test, where a worker hangs, shows the line it would be).
    assert "out-of-band function" not in (tmp_path / "scheduler.log").read_text()
    _assert_same_data(out, clean, runs=kept)
    _resume_finishes(out, cluster, clean, capsys)


def test_a_stopped_worker_is_removed_and_its_runs_finish_on_the_other(tmp_path, clean, processes):
    """A worker stopped with SIGSTOP while it holds a run: the heartbeat has the scheduler
    remove it (Dask's own limit, worker-ttl, is 5 minutes), its runs finish on the other
    worker, and the data equal the clean ensemble's."""
    from distributed import Client

    _, address = _scheduler_and_worker(tmp_path, processes, workers=2)
    out = tmp_path / "ens"
    found: dict[str, Any] = {}
    with Client(address, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=PATIENCE)

        def stop_a_busy_worker() -> None:
            try:
                busy = _wait_for(
                    lambda: [w for w, keys in client.processing().items() if keys],
                    "busy worker",
                )
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGSTOP)
                found["worker"], found["pid"] = busy[0], pid
            except BaseException as exc:  # reported by the test, in its own thread
                found["error"] = exc

        stopper = threading.Thread(target=stop_a_busy_worker)
        stopper.start()
        try:
            result = run_experiment(_design(), out, scheduler=address, heartbeat=BEAT)
        finally:
            stopper.join()
            if "pid" in found:
                os.kill(found["pid"], signal.SIGCONT)
        assert "error" not in found, found.get("error")
        event = _removal(client, found["worker"])
    assert event is not None and event["stimulus_id"].startswith("survsim-heartbeat-")
    assert "Run out-of-band function 'sweep'" in (tmp_path / "scheduler.log").read_text()
    assert len(result.summary) == RUNS and not (out / "failures.json").exists()
    _assert_same_data(out, clean)


def test_the_heartbeat_is_checked_before_anything_starts(tmp_path, capsys):
    for bad in ("0.5", "nan", "4000"):
        out = tmp_path / f"ens-{bad}"
        assert main([*ENSEMBLE, "--heartbeat", bad, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert f"--heartbeat {bad}: not allowed (seconds, 1 to 3600)" in err
        assert not out.exists()


# -- Ctrl-C -----------------------------------------------------------------------------


def _group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (zombies do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)"
        except (OSError, IndexError):
            continue  # it ended meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _takes_sigint(pid: int) -> bool:
    """Whether SIGINT would reach process ``pid`` (neither blocked nor ignored)."""
    masks = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    bit = 1 << (signal.SIGINT - 1)
    return not (int(masks["SigBlk"], 16) | int(masks["SigIgn"], 16)) & bit


def _dask_workers(pids: list[int]) -> list[int]:
    """The processes that multiprocessing spawned (the LocalCluster's workers)."""
    return [p for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc (Linux)")
def test_ctrl_c_keeps_the_finished_runs_and_resume_finishes(
    tmp_path, cluster, clean, processes, capsys
):
    """SIGINT to the whole process group, as Ctrl-C in a terminal: exit code 130, one line
    naming the folder and --resume (no traceback from the workers), no process left, the
    finished runs kept untouched; --resume runs the rest."""
    out = tmp_path / "ens"
    command = _survsim([*ENSEMBLE, "--workers", "1", "--out", str(out)], tmp_path)
    processes.append(command)
    _wait_for(lambda: len(_written(out)) >= 2, "two finished runs", alive=command)
    # Only survsim itself takes the signal: its workers block it (else each of them could
    # print a KeyboardInterrupt traceback, if it wins the race with survsim's shutdown).
    others = [p for p in _group(command.pid) if p != command.pid]
    assert _dask_workers(others) and not [p for p in others if _takes_sigint(p)]
    os.killpg(command.pid, signal.SIGINT)
    _, err = command.communicate(timeout=PATIENCE)
    assert command.returncode == 130, err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ensemble of epstein_outbursts:"), err
    assert lines[1] == (
        f"survsim: error: interrupted: the finished runs are kept in {out}; run the same "
        "command with --resume to finish"
    )
    _wait_for(lambda: not _group(command.pid), "end of the workers")
    kept = _written(out)
    assert 2 <= len(kept) < RUNS
    _assert_same_data(out, clean, runs=kept)
    _resume_finishes(out, cluster, clean, capsys)


_LATE_ENVIRONMENT = """
import os, sys
os.environ.pop("NUMBA_NUM_THREADS", None)
import numba
from numba.np.ufunc import parallel
held = numba.config.NUMBA_NUM_THREADS
# As in a spawned Dask worker: numba was imported (with the client's __main__) before
# the Nanny set the worker's environment, and a cached kernel started the thread pool.
os.environ["NUMBA_NUM_THREADS"] = str(held % 2 + 1)
parallel._launch_threads()
if sys.argv[1] == "pinned":
    from survsim.experiments.worker import keep_numba_threads
    keep_numba_threads()
add_one = numba.njit(lambda x: x + 1)  # a compilation reads the environment again
print(add_one(1))
"""


@pytest.mark.parametrize("pinned", [True, False])
def test_a_worker_whose_environment_came_after_numba_still_compiles(pinned):
    """The runs of an experiment compile in a worker whose ``NUMBA_NUM_THREADS`` was set
    after numba read it (seen in a four-year response table: every run of one arm failed
    with "Cannot set NUMBA_NUM_THREADS ..."). Unpinned, the negative control fails so."""
    done = subprocess.run(
        [sys.executable, "-c", _LATE_ENVIRONMENT, "pinned" if pinned else "plain"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if pinned:
        assert done.returncode == 0 and done.stdout.strip() == "2", done.stderr
    else:
        assert done.returncode != 0 and "Cannot set NUMBA_NUM_THREADS" in done.stderr
