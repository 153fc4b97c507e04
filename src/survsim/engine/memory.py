"""Refuse up front a run that would not fit in memory."""

from __future__ import annotations

import os

from survsim.errors import SurvsimError

__all__ = ["InsufficientMemoryError", "available_bytes", "check_fits"]


class InsufficientMemoryError(SurvsimError):
    """A run needs more memory than the machine has available."""


def available_bytes() -> int | None:
    """Memory available to a new allocation now (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(needed: int, what: str, available: int | None = None) -> None:
    """Raise :class:`InsufficientMemoryError` if ``needed`` bytes exceed what is available.

    Args:
        needed: estimated peak bytes of the run.
        what: the run, in a few words, for the message.
        available: bytes available (default: :func:`available_bytes`).
    """
    available = available_bytes() if available is None else available
    if available is not None and needed > available:
        raise InsufficientMemoryError(
            f"{what} needs about {needed / 1e9:.1f} GB, {available / 1e9:.1f} GB available"
        )
