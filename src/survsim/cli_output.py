"""Helpers the CLI's commands share: the default scenario, output folders, shown numbers."""

from __future__ import annotations

import math
import os
import tempfile
from datetime import datetime
from pathlib import Path

from survsim.errors import SurvsimError
from survsim.scenario import builtin_scenarios

__all__ = [
    "DEFAULT_SCENARIO",
    "FALLBACK_SCENARIO",
    "check_writable",
    "default_out",
    "default_scenario",
    "shown",
]

#: The main job: ``survsim run`` with no scenario runs this one (once it is installed).
DEFAULT_SCENARIO = "dprk"
#: What ``survsim run`` runs while the main job's scenario file is not installed.
FALLBACK_SCENARIO = "epstein"


def default_scenario() -> str:
    """The scenario a command runs when none is named: the main job, if installed."""
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO in builtin_scenarios() else FALLBACK_SCENARIO


def default_out(name: str, seed: int, kind: str = "") -> Path:
    """A new folder under ``runs/``: ``runs/dprk-ensemble-20261127-101500-seed0``.

    It is named after the scenario, the kind of job, the time and the seed.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{name}{'-' + kind if kind else ''}-{stamp}-seed{seed}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def check_writable(out: Path) -> None:
    """Fail before the run, not after it, if results could not be written."""
    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise SurvsimError(f"--out {out}: cannot write in {parent}")
    try:
        with tempfile.TemporaryDirectory(dir=parent):
            pass
    except OSError as exc:
        raise SurvsimError(f"--out {out}: cannot write in {parent}: {exc.strerror}") from None


def shown(value: object) -> str:
    """A value as the summary shows it: ints with separators, floats to 4 significant digits.

    None (a number that could not be estimated) is "n/a".
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) < 1e4:
            return f"{value:,.4g}"
        digits = 3 - math.floor(math.log10(abs(value)))
        return f"{round(value, digits):,.0f}"
    return str(value)
