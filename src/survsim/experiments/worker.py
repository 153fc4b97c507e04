"""What a worker does with one run: build it, run it, return its tables.

This function runs in Dask worker processes; it returns small Arrow tables (one row per
day, the open-speech curve, the summary) and the client writes them, so workers need no
shared file system.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from survsim.experiments.design import RunSpec, scenario_for

__all__ = ["RunOutput", "flat_summary", "keep_numba_threads", "run_task"]


@dataclass
class RunOutput:
    """The tables of one finished run."""

    timeseries: pa.Table
    open_speech: pa.Table | None
    summary: dict[str, float | int | None]


def flat_summary(facts: dict[str, Any], prefix: str = "") -> dict[str, float | int | None]:
    """The numbers of a summary, nested keys joined with dots (``national.prisoners``).

    A number the run could not estimate (None, such as a steady state without enough
    admissions) is kept as None, so every run has the same columns and the missing value
    is counted, not dropped (the store writes it as a null float). Text (the notes that
    say why) is left out.
    """
    out: dict[str, float | int | None] = {}
    for key, value in facts.items():
        if isinstance(value, dict):
            out.update(flat_summary(value, f"{prefix}{key}."))
        elif value is None:
            out[f"{prefix}{key}"] = None
        elif isinstance(value, bool):
            out[f"{prefix}{key}"] = int(value)
        elif isinstance(value, int | float) and key not in ("seed",):
            out[f"{prefix}{key}"] = value
    return out


def keep_numba_threads() -> None:
    """Keep ``NUMBA_NUM_THREADS`` in the environment at the value numba holds.

    numba reads the variable when it is imported and again before every compilation, and
    refuses a value other than the one its thread pool may have been started with
    ("Cannot set NUMBA_NUM_THREADS to a different value once the threads have been
    launched"). A worker process that imported numba before its environment was set (a
    spawned Dask worker re-imports the client's ``__main__`` before the Nanny applies its
    ``env``) would fail the first run that compiles anything; pinning the variable to
    what numba read makes that compilation harmless. The threads a run uses are set with
    :func:`numba.set_num_threads`.
    """
    import numba

    os.environ["NUMBA_NUM_THREADS"] = str(numba.config.NUMBA_NUM_THREADS)


def run_task(
    scenario: dict[str, Any],
    spec: RunSpec,
    threads: int = 1,
    reporters: Mapping[str, Callable[[Any], float]] | None = None,
) -> RunOutput:
    """Build and run one run of an experiment (in a worker process).

    Args:
        scenario: the experiment's resolved scenario.
        spec: the run: its seed and parameter values.
        threads: numba threads for this run (one per worker by default, so that workers
            do not compete for cores).
        reporters: user reporters, extra time-series columns (see
            :class:`~survsim.engine.sim.Sim`).

    Raises:
        SurvsimError: this worker runs another survsim than the client (it joined after
            the client checked the workers; :mod:`.warm_plugin` refused it).
    """
    plugin = sys.modules.get("survsim.experiments.warm_plugin")
    if plugin is not None:
        plugin.check_worker()
    import numba

    from survsim.api import build_sim, summary

    keep_numba_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    sim = build_sim(scenario_for(scenario, spec), reporters=reporters)
    sim.run()
    open_speech = sim.open_speech() if callable(getattr(sim, "open_speech", None)) else None
    return RunOutput(
        sim.timeseries(),
        open_speech,
        flat_summary(summary(sim)),
    )
