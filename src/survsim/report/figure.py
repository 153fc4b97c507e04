"""How every figure function ends: write the PNG, or hand the figure to the caller."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

__all__ = ["finish"]


def finish(fig: Figure, path: str | Path | None) -> Path | Figure:
    """Write ``fig`` as a PNG at ``path`` and return the path; with no path, return ``fig``.

    The report's PNGs and the figures a notebook shows (``sim.plot()``, ``result.plot()``)
    are drawn by the same functions.
    """
    if path is None:
        return fig
    fig.savefig(path, format="png")
    return Path(path)
