"""How every figure function ends: write the PNG, or hand the figure to the caller."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from matplotlib import figure

__all__ = ["Figure", "finish", "titled"]


class Figure(figure.Figure):
    """A matplotlib figure that shows itself in a notebook without ``%matplotlib inline``.

    Jupyter displays an object by its ``_repr_png_``; matplotlib gives a figure one only
    once its inline backend is loaded, so a bare figure would show as text in a fresh
    kernel. Every survsim figure is drawn on this class.
    """

    def _repr_png_(self) -> bytes:
        buffer = BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def titled(what: str, title: str) -> str:
    """``what: title``, or ``what`` alone when there is no title."""
    return f"{what}: {title}" if title else what


def finish(fig: Figure, path: str | Path | None) -> Path | Figure:
    """Write ``fig`` as a PNG at ``path`` and return the path; with no path, return ``fig``.

    The report's PNGs and the figures a notebook shows (``sim.plot()``, ``result.plot()``)
    are drawn by the same functions.
    """
    if path is None:
        return fig
    fig.savefig(path, format="png")
    return Path(path)
