"""Checkpoints: bytes on disk per agent, and the time to write and restore one.

Builds the `dprk` scenario at each size, runs a few days, writes a checkpoint and
restores it into a fresh build, and prints the file size (total and per agent), the
write and read+restore seconds, and the ratio of the checkpoint to the run's own state
arrays (the peer: what the run holds in memory anyway) and to a rebuild from the seed
(what a resume costs on top of reading the file).

    python benchmarks/checkpoint.py                        # 100k and 1M people
    python benchmarks/checkpoint.py --sizes 25700000       # the whole country (~4 GB RAM)
    python benchmarks/checkpoint.py --folder /big/disk     # where to write the files

At national scale a four-year spin-up to the stationary start takes longer than the rest
together; a shorter one still fills every belief count with varied values (what a
compressor sees), e.g. ``--sizes 25700000 --set beliefs.spinup_days=90``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from survsim.api import build_sim
from survsim.engine.checkpoint import read_checkpoint, restore, write_checkpoint
from survsim.scenario import load_scenario


def measure(
    agents: int, folder: Path, days: int, overrides: list[str] | None = None
) -> dict[str, float]:
    """Build, run ``days``, checkpoint, then rebuild and restore; the numbers of each."""
    scenario = load_scenario("dprk", [f"agents={agents}", *(overrides or [])], steps=days + 10)
    start = time.perf_counter()
    sim = build_sim(scenario)
    build_s = time.perf_counter() - start
    sim.run(steps=days)
    state = sim.pop.people.nbytes
    path = folder / f"dprk-{agents}.npz"
    start = time.perf_counter()
    write_checkpoint(sim, path)
    write_s = time.perf_counter() - start
    del sim
    again = build_sim(scenario)
    start = time.perf_counter()
    restore(again, read_checkpoint(path))
    restore_s = time.perf_counter() - start
    size = path.stat().st_size
    path.unlink()
    return {
        "agents": agents,
        "bytes": size,
        "bytes_per_agent": size / agents,
        "vs_state": size / state,
        "write_s": write_s,
        "restore_s": restore_s,
        "build_s": build_s,
    }


def main() -> None:
    """Parse the sizes, measure each, print one row per size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated agents")
    parser.add_argument("--days", type=int, default=5, help="days run before the checkpoint")
    parser.add_argument("--folder", type=Path, default=None, help="where to write (default: tmp)")
    parser.add_argument("--set", action="append", default=[], help="key=value (repeatable)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        print(
            f"{'agents':>12} {'file':>10} {'B/agent':>8} {'vs state':>8} "
            f"{'write s':>8} {'restore s':>9} {'rebuild s':>9}"
        )
        for agents in sizes:
            m = measure(agents, Path(folder), args.days, args.set)
            print(
                f"{agents:>12,} {m['bytes'] / 1e9:>8.3f}GB {m['bytes_per_agent']:>8.1f} "
                f"{m['vs_state']:>8.2f} {m['write_s']:>8.2f} {m['restore_s']:>9.2f} "
                f"{m['build_s']:>9.2f}"
            )


if __name__ == "__main__":
    main()
