"""National scale: build time, speed, memory and where the time goes, by population size.

Runs the `dprk` scenario at 100,000, 1 million and 10 million people (and the whole
country, 25.7 million, with ``--national``), each in a fresh interpreter so that its peak
resident memory is its own, and prints:

- the build time and the run time of the simulated days (compilation excluded: the
  kernels come from numba's cache, warmed by a tiny run before the clock starts; the
  stationary start's spin-up is left out, ``beliefs.spinup_days=0``: it is a run of the
  same model for that many days before day 0, computed once per parameter set);
- agent-days per second and the cost per agent-day relative to the smallest size (the
  peer of the comparison);
- the peak resident memory, the person arrays' bytes per agent, and the slope of peak
  memory against population size (the marginal bytes per agent);
- the seconds per simulated day in each step of the day's plan;
- the speed-up from the machine's threads over one thread at 1 million people (the
  same run with ``NUMBA_NUM_THREADS=1``: identical output, see tests/test_parallel.py).

    python benchmarks/scaling.py                         # 1e5, 1e6, 1e7 x 365 days
    python benchmarks/scaling.py --national              # ... and 2.57e7 x 365 days
    python benchmarks/scaling.py --sizes 100000,1000000 --steps 30   # a quick look
    python benchmarks/scaling.py --json scaling.json     # also keep the numbers
    python benchmarks/scaling.py --sizes 1000000,10000000 --steps 120 \
        --against /tmp/v1/src --repeat 3                 # against another version

With ``--against SRC`` (the ``src`` folder of another checkout, e.g. a git worktree of
version 1) each size is run by both versions in turn, ``--repeat`` times, alternating so
that the machine's drift hits both alike, and the ratios of agent-days per second and of
bytes per agent are printed. The peer keeps its own numba cache next to its ``src``.

Targets (issue 5): 25.7 million x 365 days in at most 8 minutes on 2 cores, a build of at
most 60 s, at most 150 bytes per agent (slope) and 4.5 GB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

CHILD = """
import json, resource, sys, time
from survsim import load_scenario
from survsim.api import build_sim
from survsim.models import SurveillanceState, SurveillanceStateParams
agents, steps = int(sys.argv[1]), int(sys.argv[2])
# The run is timed from day 0: a version with a stationary start (a spin-up before day 0,
# which costs what a run of that many days costs) starts from the priors here.
beliefs = getattr(SurveillanceStateParams(), "beliefs", None)
cold = ["params.beliefs.spinup_days=0"] if hasattr(beliefs, "spinup_days") else []
# Load (or compile) every kernel with a tiny run before any clock starts.
tiny = load_scenario("dprk", ["params.agents=300", *cold], steps=2)
SurveillanceState(tiny.params, seed=0, steps=2).run()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
scenario = load_scenario("dprk", [f"params.agents={agents}", *cold], steps=steps)
sim = build_sim(scenario)
after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
sim.run()
run_s = time.perf_counter() - start
print(json.dumps({
    "agents": agents, "steps": steps, "build_s": sim.timings["build_s"], "run_s": run_s,
    "held": sim.pop.nbytes, "base_rss": base, "build_rss": after_build,
    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "plan": sim.plan_timings(),
}))
"""

NATIONAL = 25_700_000


def measure(agents: int, steps: int, threads: int | None = None, src: str | None = None) -> dict:
    """One size in a fresh interpreter (of the code in ``src``, if given)."""
    env = dict(os.environ)
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    if src is not None:
        env["PYTHONPATH"] = os.path.abspath(src)
        env["NUMBA_CACHE_DIR"] = os.path.join(os.path.abspath(src), "..", ".numba-cache-peer")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(agents), str(steps)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys against xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main() -> None:
    """Measure every size and print the tables."""
    parser = argparse.ArgumentParser(description="survsim at national scale")
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--steps", type=int, default=365)
    parser.add_argument("--national", action="store_true", help=f"add {NATIONAL:,} people")
    parser.add_argument("--no-threads-check", action="store_true")
    parser.add_argument("--json", help="write the measurements to this file")
    parser.add_argument("--against", help="the src folder of another version to compare")
    parser.add_argument("--repeat", type=int, default=3, help="runs per version (--against)")
    args = parser.parse_args()
    if args.against:
        compare(args)
        return
    sizes = [int(x) for x in args.sizes.split(",")] + ([NATIONAL] if args.national else [])
    import numba  # only to report the thread count

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{numba.config.NUMBA_NUM_THREADS} numba threads, Python "
          f"{platform.python_version()}; dprk, {args.steps} days")  # fmt: skip
    rows = []
    for agents in sizes:
        wall = time.perf_counter()
        r = measure(agents, args.steps)
        r["wall_s"] = time.perf_counter() - wall
        rows.append(r)
        print(f"  measured {agents:>11,} agents in {r['wall_s']:.0f} s", flush=True)
    first = rows[0]
    base_cost = first["run_s"] / (first["agents"] * first["steps"])
    print(f"\n{'agents':>11} {'build s':>8} {'run s':>8} {'M a-d/s':>8} {'ns/a-d':>7} "
          f"{'vs first':>8} {'peak GB':>8} {'B/agent':>8} {'arrays':>7}")  # fmt: skip
    for r in rows:
        agent_days = r["agents"] * r["steps"]
        cost = r["run_s"] / agent_days
        per_agent = (r["peak_rss"] - r["base_rss"]) / r["agents"]
        speed = f"{agent_days / r['run_s'] / 1e6:8.1f} {cost * 1e9:7.1f} {cost / base_cost:7.2f}x"
        memory = f"{r['peak_rss'] / 1e9:8.2f} {per_agent:8.0f} {r['held'] / r['agents']:7.0f}"
        print(f"{r['agents']:>11,} {r['build_s']:8.1f} {r['run_s']:8.1f} {speed} {memory}")
    if len(rows) >= 2:
        marginal = slope([r["agents"] for r in rows], [r["peak_rss"] for r in rows])
        print(f"\npeak memory slope: {marginal:.0f} bytes per agent (target <= 150)")
    print("\nseconds per simulated day, by step of the plan:")
    names = list(first["plan"])
    print(f"{'step':16s}" + "".join(f"{r['agents']:>13,}" for r in rows))
    for name in names:
        print(f"{name:16s}" + "".join(f"{r['plan'][name] / r['steps']:13.4f}" for r in rows))
    for r in rows:
        if r["agents"] == NATIONAL:
            minutes = r["run_s"] / 60
            print(f"\nnational: {args.steps} days in {minutes:.1f} min (target <= 8 min per "
                  f"365 days), build {r['build_s']:.0f} s (target <= 60 s), peak "
                  f"{r['peak_rss'] / 1e9:.2f} GB (target <= 4.5 GB)")  # fmt: skip
    if not args.no_threads_check:
        one = measure(1_000_000, min(args.steps, 100), threads=1)
        many = measure(1_000_000, min(args.steps, 100))
        print(f"\nthreads at 1,000,000 agents x {one['steps']} days: one thread "
              f"{one['run_s']:.1f} s, {numba.config.NUMBA_NUM_THREADS} threads "
              f"{many['run_s']:.1f} s: {one['run_s'] / many['run_s']:.2f}x")  # fmt: skip
        rows.append({"threads_check": {"one": one, "all": many}})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)


def compare(args: argparse.Namespace) -> None:
    """Each size by this version and by ``args.against``, alternating; print the ratios."""
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"this version against {args.against}; dprk, {args.steps} days, "
          f"{args.repeat} runs each, alternating")  # fmt: skip
    measure(300, 2, src=args.against)  # the peer's kernels into its cache, off the clock
    print(f"\n{'agents':>11} {'this s':>8} {'peer s':>8} {'speed':>7} {'this B/a':>9} "
          f"{'peer B/a':>9} {'memory':>7}")  # fmt: skip
    for agents in sizes:
        mine, peer = [], []
        for _ in range(args.repeat):
            mine.append(measure(agents, args.steps))
            peer.append(measure(agents, args.steps, src=args.against))
        run = [min(r["run_s"] for r in rows) for rows in (mine, peer)]
        per = [min((r["peak_rss"] - r["base_rss"]) / agents for r in rows) for rows in (mine, peer)]
        print(f"{agents:>11,} {run[0]:8.2f} {run[1]:8.2f} {run[1] / run[0]:6.3f}x "
              f"{per[0]:9.1f} {per[1]:9.1f} {per[0] / per[1]:6.3f}x")  # fmt: skip
    print(
        "\nspeed: the peer's best run time over this version's (above 1: this one is "
        "faster); memory: this version's peak bytes per agent over the peer's."
    )


if __name__ == "__main__":
    main()
