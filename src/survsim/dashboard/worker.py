"""One dashboard run, in its own process: ``python -m survsim.dashboard.worker JOB_DIR``.

The dashboard never runs a simulation in its own process: numba's threads are not safe
for concurrent calls from several Python threads (two browser sessions), and a crash or
a Stop must not take the server down. This process reads ``JOB_DIR/job.json`` (the
resolved scenario), runs it, and while it runs writes, atomically and at most a few times
a second, ``live/timeseries.parquet``, ``live/open_speech.parquet`` and
``progress.json`` (``{"day", "steps"}``, with a ``"note"`` while a spin-up runs). At the
end it writes the run folder ``JOB_DIR/run`` (as ``survsim run --out``). Any failure is
written as one line to ``JOB_DIR/error.txt`` and the process exits 1.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

__all__ = ["main"]

#: Seconds between two live snapshots.
SNAPSHOT_EVERY = 0.4


def _snapshot(sim, job: Path) -> None:
    from survsim.engine import write_json_atomic, write_parquet_atomic

    live = job / "live"
    live.mkdir(exist_ok=True)
    write_parquet_atomic(sim.timeseries(), live / "timeseries.parquet")
    write_parquet_atomic(sim.open_speech(), live / "open_speech.parquet")
    write_json_atomic({"day": sim.t, "steps": sim.n_steps}, job / "progress.json")


def run(job: Path) -> None:
    """Run the job in ``job`` to its end, writing snapshots and the run folder."""
    from survsim.api import build_sim, save_run
    from survsim.engine import spinup, write_json_atomic
    from survsim.scenario import validate

    spec = json.loads((job / "job.json").read_text(encoding="utf-8"))
    scenario = validate(spec["scenario"], "dashboard run")

    def preparing(note: str) -> None:  # a new parameter set's spin-up (docs/odd.md 4.3)
        write_json_atomic({"day": 0, "steps": scenario.steps, "note": note},
                          job / "progress.json")  # fmt: skip

    with spinup.reporting(preparing):
        sim = build_sim(scenario)
    last = [0.0]

    def progress(sim) -> None:
        now = time.monotonic()
        if now - last[0] >= SNAPSHOT_EVERY or sim.t == sim.n_steps:
            _snapshot(sim, job)
            last[0] = now

    _snapshot(sim, job)
    sim.run(progress=progress)
    save_run(sim, scenario, job / "run")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process; returns its exit code."""
    args = sys.argv[1:] if argv is None else argv
    job = Path(args[0])
    try:
        run(job)
    except Exception as err:  # any failure becomes the page's one line
        message = " ".join(str(err).split()) or type(err).__name__
        (job / "error.txt").write_text(f"{type(err).__name__}: {message}\n", encoding="utf-8")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
