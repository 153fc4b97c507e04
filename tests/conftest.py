"""Shared fixtures and helpers."""

from __future__ import annotations

import numpy as np

from survsim.models import CivilViolence, CivilViolenceParams


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
