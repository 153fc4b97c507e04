"""A stationary start: run the model before day 0 once, keep what people carry, cache it.

What people believe, feel and do at day 0 (MODEL.md 8.4: the learned counts, grievance,
banned-media use) is not a parameter: it is what the model's own day-to-day dynamics
make of them. A run's day 0 therefore takes those arrays from a *spin-up*: the same
population (same seed, same size), run for ``days`` days under the day-0 parameters with
no dated policy, with its own random draws (a seed derived from the run's). Each
mechanism says what a spin-up hands on (:meth:`Mechanism.stationary`) and how a run
takes it (:meth:`Mechanism.settle`).

A spin-up is computed once per resolved parameter set, seed and source version and
cached in ``SURVSIM_CACHE_DIR/spinup`` (default ``~/.cache/survsim/spinup``), written
atomically; a ``--set`` override is another parameter set and gets its own. A damaged
cache file is computed again, never trusted.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from survsim.engine.modular import ModularSim

__all__ = ["cache_dir", "carried_names", "reporting", "settle", "spinup_key", "stationary_start"]

#: Bump when what a spin-up stores changes meaning.
FORMAT = 1
#: Who hears of a spin-up's progress (the CLI's status line), or None.
_REPORTER: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "survsim_spinup_reporter", default=None
)


@contextlib.contextmanager
def reporting(say: Callable[[str], None]) -> Iterator[None]:
    """Within the block, spin-ups report their progress as lines to ``say``."""
    token = _REPORTER.set(say)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def cache_dir() -> Path:
    """The spin-up cache: ``$SURVSIM_CACHE_DIR/spinup`` or ``~/.cache/survsim/spinup``."""
    root = os.environ.get("SURVSIM_CACHE_DIR")
    if root:
        return Path(root) / "spinup"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "survsim" / "spinup"


@functools.cache
def _sources() -> str:
    from survsim.engine.jit_cache import source_fingerprint

    return source_fingerprint(Path(__file__).resolve().parents[1], ())


def spinup_key(label: str, params: Any, seed: int, days: int) -> str:
    """The cache key of a spin-up: its model class, parameters, seed, length and sources."""
    text = json.dumps(
        {
            "format": FORMAT,
            "model": label,
            "params": params.model_dump(mode="json"),
            "seed": int(seed),
            "days": int(days),
            "sources": _sources(),
        },
        sort_keys=True,
    )
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def spin_seed(seed: int) -> np.uint64:
    """The seed of a spin-up's daily draws: unrelated to the run's own days."""
    digest = hashlib.blake2b(f"survsim-spinup:{int(seed)}".encode(), digest_size=8)
    return np.uint64(int.from_bytes(digest.digest(), "little"))


def _load(path: Path, names: set[str], n: int) -> dict[str, np.ndarray] | None:
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing or damaged: compute it again
    if set(arrays) != names or any(a.shape != (n,) for a in arrays.values()):
        return None
    return arrays


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays atomically; a cache that cannot be written is only not kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".spinup-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass


def carried_names(sim_class: type[ModularSim]) -> set[str]:
    """The arrays a spin-up of ``sim_class`` hands on, as ``mechanism/array``."""
    return {f"{m.name}/{a}" for m in sim_class.mechanisms for a in m.carried}


def stationary_start(
    sim_class: type[ModularSim], spin_params: Any, seed: int, agents: int, days: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays a ``days``-day spin-up hands on: read from the cache, or computed.

    Called before the run allocates its own arrays, so a computed spin-up and the run
    are never in memory together. ``spin_params`` are the day-0 parameters without dated
    policy and without a spin-up of their own.

    Returns:
        The arrays (``mechanism/array``) and what happened: ``days``, ``cached`` (read
        from the cache), ``seconds``, ``key``.
    """
    start = time.perf_counter()
    label = f"{sim_class.__module__}.{sim_class.__qualname__}"
    key = spinup_key(label, spin_params, seed, days)
    path = cache_dir() / f"{key}.npz"
    arrays = _load(path, carried_names(sim_class), agents)
    cached = arrays is not None
    if arrays is None:
        arrays = _compute(sim_class, spin_params, seed, days)
        _save(path, arrays)
    info = {"days": days, "cached": cached, "seconds": time.perf_counter() - start, "key": key}
    return arrays, info


def settle(sim: ModularSim, arrays: dict[str, np.ndarray]) -> None:
    """Each mechanism of ``sim`` (just built) takes its part of a spin-up's arrays."""
    for m in sim.parts.values():
        if m.carried:
            m.settle({a: arrays[f"{m.name}/{a}"] for a in m.carried})


def _compute(
    sim_class: type[ModularSim], spin_params: Any, seed: int, days: int
) -> dict[str, np.ndarray]:
    say = _REPORTER.get()
    spin = sim_class(spin_params, seed=seed, steps=days, compile=False)
    spin.seed64 = spin_seed(seed)  # the same people, other days
    every = max(1, days // 20)

    def tell(s: ModularSim) -> None:
        if s.t % every == 0 or s.t == days:
            say(f"spin-up to a stationary start: day {s.t:,} of {days:,} (once; cached)")

    spin.run(progress=tell if say is not None else None)
    out: dict[str, np.ndarray] = {}
    for m in spin.parts.values():
        for name, array in m.stationary().items():
            out[f"{m.name}/{name}"] = np.ascontiguousarray(array)
    return out
