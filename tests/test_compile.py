"""numba's cache of survsim's kernels: parallel warming, concurrent and killed compiles.

Every test here compiles into a fresh ``NUMBA_CACHE_DIR`` of its own, in subprocesses, and
compares results with runs made from the suite's own (warm) cache. The civil-violence
model (about 13 s of compile on one core) stands in where a test needs a cold compile;
one slow test compiles the surveillance model's groups cold to show that they cover every
kernel of the default scenario.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from survsim.cli import main
from survsim.warm import _compile_in_processes

# A child that counts numba's compiles (cache misses) while it runs a CLI command.
_COUNTING = """
import sys
from numba.core import event

compiles = []

class Count(event.Listener):
    def on_start(self, ev):
        compiles.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass

event.register("numba:compile", Count())
from survsim.cli import main

code = main(sys.argv[1:])
print("COMPILES", len(compiles), ",".join(sorted(set(compiles))))
sys.exit(code)
"""


def _env(cache: Path) -> dict[str, str]:
    return dict(os.environ, NUMBA_CACHE_DIR=str(cache), SURVSIM_DEBUG="")


def _survsim(cache: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``survsim ARGS`` in a child with its own cache, counting what it compiles."""
    return subprocess.run(
        [sys.executable, "-c", _COUNTING, *args],
        env=_env(cache),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _compiles(out: subprocess.CompletedProcess) -> int:
    line = next(x for x in out.stdout.splitlines() if x.startswith("COMPILES"))
    return int(line.split()[1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pq.Table:
    """An epstein run from the suite's warm cache: what every cold run must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["run", "epstein", "--steps", "40", "--seed", "5", "--out", str(out)]) == 0
    return pq.read_table(out / "timeseries.parquet")


def _epstein(cache: Path, out: Path) -> subprocess.CompletedProcess:
    return _survsim(cache, "run", "epstein", "--steps", "40", "--seed", "5", "--out", str(out))


def test_warm_compiles_once_then_every_run_loads_the_kernels(tmp_path, reference):
    cache = tmp_path / "cache"
    first = _survsim(cache, "warm", "--model", "civil_violence")
    assert first.returncode == 0, first.stderr
    # One group, so one process (this one) compiled it.
    assert "compiled 1 kernel groups of civil_violence in 1 processes" in first.stdout
    assert _compiles(first) > 0, first.stdout
    again = _survsim(cache, "warm", "--model", "civil_violence")
    assert "already compiled" in again.stdout and _compiles(again) == 0
    run = _epstein(cache, tmp_path / "run")
    assert run.returncode == 0, run.stderr
    assert _compiles(run) == 0, run.stdout
    assert pq.read_table(tmp_path / "run" / "timeseries.parquet").equals(reference)


def test_two_cold_runs_compiling_into_one_cache_at_once(tmp_path, reference):
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _COUNTING,
                "run",
                "epstein",
                "--steps",
                "40",
                "--seed",
                "5",
                "--out",
                str(tmp_path / f"run{i}"),
            ],
            env=_env(cache),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
    for i in range(2):
        assert pq.read_table(tmp_path / f"run{i}" / "timeseries.parquet").equals(reference)
    # The cache they wrote together is whole: a third run loads every kernel from it.
    third = _epstein(cache, tmp_path / "third")
    assert third.returncode == 0 and _compiles(third) == 0, third.stdout
    assert pq.read_table(tmp_path / "third" / "timeseries.parquet").equals(reference)


@pytest.mark.parametrize("moment", [0, 1])
def test_a_compile_killed_midway_leaves_a_cache_that_gives_right_results(
    tmp_path, reference, moment
):
    cache = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-m", "survsim._compile_group", "civil_violence", "all"],
        env=_env(cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Moment 0: as soon as numba has written its first kernel; 1: a seeded time later.
    deadline = time.monotonic() + 300
    while not list(cache.rglob("*.nbi")) and time.monotonic() < deadline:
        time.sleep(0.02)
    if moment:
        time.sleep(random.Random(moment).uniform(1.0, 4.0))
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert list(cache.rglob("*.nbi")), "the compile ended before it could be killed"
    assert not list(cache.rglob("survsim-warm/*")), "a killed compile must not say it is warm"
    run = _epstein(cache, tmp_path / "run")
    assert run.returncode == 0, run.stderr
    assert pq.read_table(tmp_path / "run" / "timeseries.parquet").equals(reference)


def test_a_changed_kernel_source_makes_the_next_run_compile_afresh(tmp_path, reference):
    cache = tmp_path / "cache"
    assert _survsim(cache, "warm", "--model", "civil_violence").returncode == 0
    # As if a kernel file had changed since: the stored fingerprint no longer matches.
    (stamp,) = cache.rglob("survsim-sources.blake2b")
    stamp.write_text("0" * 32, encoding="ascii")
    run = _epstein(cache, tmp_path / "run")
    assert run.returncode == 0, run.stderr
    assert _compiles(run) > 0, "the stale cache was used"
    assert pq.read_table(tmp_path / "run" / "timeseries.parquet").equals(reference)
    assert stamp.read_text(encoding="ascii") != "0" * 32


def test_a_failed_compile_is_one_line_naming_the_group(tmp_path, monkeypatch):
    from survsim.errors import SurvsimError

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SurvsimError, match=r"compiling the kernels of civil_violence \(nope\)"):
        _compile_in_processes([("civil_violence", "nope")], 1, None)


def test_warm_names_an_unknown_model_in_one_line(capsys):
    assert main(["warm", "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model 'nope': unknown" in err


@pytest.mark.slow
def test_the_surveillance_groups_compile_in_parallel_and_cover_the_default_scenario(tmp_path):
    cache = tmp_path / "cache"
    lines = tmp_path / "lines.txt"
    warm = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom survsim.warm import warm\n"
            f"out = open({str(lines)!r}, 'w')\n"
            "r = warm(['surveillance_state'], processes=2, say=lambda s: print(s, file=out))\n"
            "print(r.compiled, r.processes, r.groups, r.missed)",
        ],
        env=_env(cache),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert warm.returncode == 0, warm.stderr
    groups = len(__import__("survsim.models", fromlist=["x"]).SurveillanceState.compile_groups())
    # Every group compiled in its own process; loading them all here compiled nothing more.
    assert warm.stdout.split() == [str(groups), "2", str(groups), "0"]
    said = lines.read_text().splitlines()
    assert said == [f"compiling kernels {k}/{groups}" for k in range(1, groups + 1)]
    # A run of the default scenario (the main job, smaller) compiles nothing more.
    run = _survsim(
        cache, "run", "dprk", "--agents", "3000", "--steps", "40", "--out", str(tmp_path / "r")
    )
    assert run.returncode == 0, run.stderr
    assert _compiles(run) == 0, run.stdout
