"""Ensembles on Dask: wall time against the same runs one after another in one process.

The peers are the plainest ways to run an ensemble, in this same invocation: a Python
loop over the seeds with one numba thread per run, and the same loop with every core on
each run (the kernels' own parallelism). The ensemble runs the same runs, with the same
seeds, on a LocalCluster with one worker per core (one thread each). It prints the wall
times, their ratios, the overhead per run (cluster start-up, kernel loading in each
worker, moving the tables, writing Parquet, the figures), and checks that all three
produced the same summaries.

    python benchmarks/ensemble.py            # dprk, 100,000 people x 1,461 days, 8 runs
    python benchmarks/ensemble.py --runs 4 --agents 20000 --steps 100   # a quick look

The overhead is mostly fixed: starting the cluster, loading the compiled kernels in each
worker, and drawing the figures at the end (about 8 s here in all); it is amortised over
longer runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numba
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="dprk")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from survsim.api import run_scenario, summary
    from survsim.experiments import prepare_ensemble, run_experiment
    from survsim.experiments.design import scenario_for
    from survsim.experiments.worker import flat_summary

    design = prepare_ensemble(args.scenario, args.runs, agents=args.agents, steps=args.steps)
    workers = args.workers or os.cpu_count() or 1
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba {numba.__version__}; {args.scenario}, {args.agents:,} people x "
          f"{design.scenario['steps']:,} days, {args.runs} runs")  # fmt: skip

    def loop(threads: int) -> tuple[float, pd.DataFrame]:
        """The runs one after another in this process, with ``threads`` numba threads."""
        numba.set_num_threads(threads)
        run_scenario(scenario_for(design.scenario, design.runs()[0]), steps=1)  # load kernels
        start = time.perf_counter()
        rows = []
        for spec in design.runs():
            sim = run_scenario(scenario_for(design.scenario, spec))
            rows.append({"run": spec.run, **flat_summary(summary(sim))})
        return time.perf_counter() - start, pd.DataFrame(rows).set_index("run")

    # Peer 1: one thread per run, as each worker has. Peer 2: each run on every core.
    loop_s, looped = loop(1)
    threads = numba.config.NUMBA_NUM_THREADS
    loop_all_s, looped_all = loop(threads)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        first: list[float] = []

        def progress(finished: int, failed: int, total: int) -> None:
            if finished and not first:
                first.append(time.perf_counter() - start)

        result = run_experiment(design, Path(tmp) / "ens", workers=workers, progress=progress)
        dask_s = time.perf_counter() - start
    same = looped.equals(looped_all) and looped.equals(
        result.summary.set_index("run")[looped.columns]
    )
    ideal = min(workers, args.runs)
    print(f"loop, 1 thread per run            {loop_s:7.1f} s  {loop_s / args.runs:6.2f} s/run")
    print(
        f"loop, {threads} threads per run           {loop_all_s:7.1f} s  "
        f"{loop_all_s / args.runs:6.2f} s/run"
    )
    print(
        f"Dask LocalCluster, {workers} workers x 1 thread {dask_s:5.1f} s  "
        f"{dask_s / args.runs:6.2f} s/run"
    )
    print(
        f"Dask against the 1-thread loop: {loop_s / dask_s:.2f}x (ideal {ideal}x); against the "
        f"{threads}-thread loop: {loop_all_s / dask_s:.2f}x; overhead "
        f"{(dask_s - loop_s / ideal) / args.runs:+.2f} s/run; identical summaries: {same}"
    )
    print(f"first run back after {first[0]:.1f} s (a run alone: {loop_s / args.runs:.1f} s)")


if __name__ == "__main__":
    main()
