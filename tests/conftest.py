"""Shared fixtures and helpers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import numpy as np
from hypothesis import settings

from survsim.models import CivilViolence, CivilViolenceParams

# Hypothesis profiles. "ci" (loaded when the environment variable CI is set, as CI services
# do) is derandomised and keeps no example database: every run tries the same examples, so
# a red run is reproducible, and print_blob prints the line that replays a failure.
# "dev" (otherwise) draws new examples each run and keeps .hypothesis/ (git-ignored), so a
# failure found once is tried first next time. Choose one with HYPOTHESIS_PROFILE=ci|dev.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# Spin-ups (survsim.engine.spinup) are cached: the suite keeps its own cache, fresh for
# every session, so that nothing a developer computed earlier is read back here. The
# CLI's and the dashboard's subprocesses inherit it.
_SPINUP_CACHE = tempfile.mkdtemp(prefix="survsim-tests-cache-")
os.environ["SURVSIM_CACHE_DIR"] = _SPINUP_CACHE
atexit.register(shutil.rmtree, _SPINUP_CACHE, ignore_errors=True)


def make_sim(steps: int = 20, seed: int = 1, **params) -> CivilViolence:
    """A small civil-violence run with the given parameters."""
    return CivilViolence(CivilViolenceParams(**params), seed=seed, steps=steps)


def diamond_counts(positions: np.ndarray, width: int, height: int, radius: int) -> np.ndarray:
    """Brute-force count of positions within each cell's von Neumann diamond (centre out)."""
    counts = np.zeros(width * height, dtype=np.int64)
    ys, xs = np.divmod(positions, width)
    for cell in range(width * height):
        y, x = divmod(cell, width)
        dy = np.abs(ys - y)
        dy = np.minimum(dy, height - dy)
        dx = np.abs(xs - x)
        dx = np.minimum(dx, width - dx)
        d = dy + dx
        counts[cell] = int(((d <= radius) & (d > 0)).sum())
    return counts
