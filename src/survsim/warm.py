"""Warm numba's cache: compile survsim's kernels once, in parallel processes.

numba compiles a kernel the first time a process calls it, and keeps the machine code in
its on-disk cache (``NUMBA_CACHE_DIR``, or ``__pycache__`` beside the sources); every later
process loads it in a second. :func:`warm` makes that first compile happen up front and
fast: each model's kernels are cut into groups (:meth:`survsim.engine.Sim.compile_groups`)
and, when the cache is cold, the groups compile in as many processes as there are cores
(never more than the memory allows), with a progress line ``compiling kernels k/N``.
``survsim warm`` calls it, and so do ``survsim run``, the dashboard server and the Dask
worker plugin before their first simulation.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "WarmReport",
    "compile_group",
    "die_with_parent",
    "fingerprint",
    "group_cached",
    "is_warm",
    "warm",
]

#: Memory one compiling process may take (numba and LLVM, measured peak about 600 MB).
_BYTES_PER_COMPILER = 1_000_000_000


@dataclass(frozen=True)
class WarmReport:
    """What :func:`warm` did."""

    models: tuple[str, ...]
    groups: int
    compiled: int
    processes: int
    seconds: float
    #: Kernels that loading every group here still had to compile (0 unless the groups
    #: miss a kernel that the model's full tiny run calls).
    missed: int = 0


def fingerprint() -> dict[str, str]:
    """The survsim version and the fingerprint of its kernel sources (for Dask workers)."""
    from survsim import __version__
    from survsim.engine.jit_cache import source_fingerprint

    return {"version": __version__, "kernels": source_fingerprint()}


def _model_class(model: str):
    from survsim.models import MODELS

    try:
        return MODELS[model][0]
    except KeyError:
        allowed = ", ".join(sorted(MODELS))
        from survsim.errors import SurvsimError

        raise SurvsimError(f"model {model!r}: unknown (allowed: {allowed})") from None


@functools.cache
def _stamp_suffix() -> str:
    """What changes the machine code: the kernel sources, numba's and Python's versions.

    Read once per process, like the stale-cache guard's fingerprint
    (:func:`survsim.engine.jit_cache.refresh_stale_cache`).
    """
    import numba

    from survsim.engine.jit_cache import source_fingerprint

    python = f"{sys.version_info[0]}{sys.version_info[1]}"
    return f"{source_fingerprint()}-nb{numba.__version__}-py{python}"


def _stamp(model: str, group: str) -> Path:
    """The file that says ``group`` of ``model`` is in numba's cache for these sources.

    It lives beside the cache and is named by everything that changes the machine code
    (:func:`_stamp_suffix`). A stamp whose cache entries were deleted by hand only costs
    a compile in the run's own process.
    """
    from survsim.engine.jit_cache import cache_folder

    return cache_folder() / "survsim-warm" / f"{model}-{group}-{_stamp_suffix()}"


def group_cached(model: str, group: str) -> bool:
    """Whether ``group`` of ``model`` was compiled into numba's cache for these sources."""
    return _stamp(model, group).exists()


def compile_group(model: str, group: str) -> None:
    """Compile (or load) ``group`` of ``model`` in this process and stamp it."""
    _model_class(model).compile_kernels(group)
    stamp = _stamp(model, group)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:  # a read-only cache: numba compiles in memory anyway
        pass


def is_warm(model: str) -> bool:
    """Whether every kernel group of ``model`` loads from numba's cache (nothing to compile)."""
    from survsim.engine.jit_cache import refresh_stale_cache

    refresh_stale_cache()
    cls = _model_class(model)
    return all(group_cached(model, group) for group in cls.compile_groups())


def _processes(wanted: int | None, groups: int) -> int:
    from survsim.engine.memory import available_bytes

    cores = os.cpu_count() or 1
    by_memory = max(1, (available_bytes() or _BYTES_PER_COMPILER) // _BYTES_PER_COMPILER)
    n = cores if wanted is None else wanted
    return max(1, min(n, groups, by_memory))


def warm(
    models: Sequence[str] | None = None,
    *,
    processes: int | None = None,
    say: Callable[[str], None] | None = None,
) -> WarmReport:
    """Compile (or load) the kernels of ``models`` (default: every model).

    Args:
        models: model names (``surveillance_state``, ``civil_violence``).
        processes: compiling processes at most (default: one per core, fewer when memory
            is short); 1 compiles in this process.
        say: called with a progress line (``compiling kernels k/N``) as each group ends;
            nothing is said when the cache is already warm.

    Returns:
        What was done. Afterwards every kernel of the models is loaded in this process.
    """
    from survsim.engine.jit_cache import refresh_stale_cache
    from survsim.models import MODELS

    start = time.perf_counter()
    names = tuple(MODELS) if models is None else tuple(models)
    classes = [_model_class(m) for m in names]
    refresh_stale_cache()
    todo = [
        (name, group)
        for name, cls in zip(names, classes, strict=True)
        for group in cls.compile_groups()
        if not group_cached(name, group)
    ]
    n_groups = sum(len(cls.compile_groups()) for cls in classes)
    n = _processes(processes, len(todo)) if todo else 0
    if todo and n > 1:
        _compile_in_processes(todo, n, say)
    elif todo:
        for k, (name, group) in enumerate(todo, 1):
            compile_group(name, group)
            if say is not None:
                say(f"compiling kernels {k}/{len(todo)}")
    with _counting_compiles() as missed:  # load everything here, from the cache just written
        for cls in classes:
            cls.compile_kernels()
    return WarmReport(
        names, n_groups, len(todo), max(n, 1), time.perf_counter() - start, len(missed)
    )


@contextmanager
def _counting_compiles() -> Iterator[list[str]]:
    """The kernels numba compiles meanwhile (cache misses), by name."""
    from numba.core import event

    found: list[str] = []

    class _Listener(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            found.append(ev.data["dispatcher"].py_func.__qualname__)

        def on_end(self, ev: event.Event) -> None:
            pass

    listener = _Listener()
    event.register("numba:compile", listener)
    try:
        yield found
    finally:
        event.unregister("numba:compile", listener)


def _compile_in_processes(
    todo: list[tuple[str, str]], n: int, say: Callable[[str], None] | None
) -> None:
    """Compile the groups ``todo`` in ``n`` processes at a time.

    A model's first group (its build) compiles before its other groups start: they load
    the build's kernels from the cache instead of each compiling them again.
    """
    first = {name: _model_class(name).compile_groups()[0] for name, _ in todo}
    pending = sorted(todo, key=lambda item: item[1] != first[item[0]])
    running: list[tuple[subprocess.Popen, str, str]] = []
    done = 0

    def ready(item: tuple[str, str]) -> bool:
        name, group = item
        if group == first[name]:
            return True
        return not any(p == (name, first[name]) for p in pending) and not any(
            (r_name, r_group) == (name, first[name]) for _, r_name, r_group in running
        )

    try:
        while pending or running:
            for item in [p for p in pending if ready(p)]:
                if len(running) >= n:
                    break
                pending.remove(item)
                running.append((_start(*item), *item))
            time.sleep(0.05)
            for item in list(running):
                proc, name, group = item
                if proc.poll() is None:
                    continue
                running.remove(item)
                proc.log.seek(0)
                err = proc.log.read().decode(errors="replace")
                proc.log.close()
                if proc.returncode != 0:
                    from survsim.errors import SurvsimError

                    last = (err.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
                    raise SurvsimError(f"compiling the kernels of {name} ({group}) failed: {last}")
                done += 1
                if say is not None:
                    say(f"compiling kernels {done}/{len(todo)}")
    finally:
        for proc, _, _ in running:  # an error or Ctrl-C: no compiler is left behind
            proc.kill()
            proc.wait()
            proc.log.close()


def die_with_parent(parent: int) -> None:
    """Linux: this (compiling) process gets SIGKILL when its parent ``parent`` dies.

    A compile started by a process that is then killed stops too, instead of going on
    alone (what it wrote to the cache by then stays usable).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _start(name: str, group: str) -> subprocess.Popen:
    """A process compiling ``group`` of ``name``; its stderr kept in ``proc.log``."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "survsim._compile_group", name, group, str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    proc.log = log  # type: ignore[attr-defined]
    return proc
