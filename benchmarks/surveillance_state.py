"""The surveillance-state model: speed, bytes per agent and peak memory per agent.

Runs the `dprk` scenario and, in the same invocation as the peer, the same population
with the apparatus switched off (the society alone: conversations, speech, listening,
beliefs), so the ratio shows what the apparatus costs. Each configuration runs in a fresh
subprocess so that its peak resident memory is its own.

    python benchmarks/surveillance_state.py                     # 100,000 people, 1,461 days
    python benchmarks/surveillance_state.py --agents 1000000 --steps 365
    python benchmarks/surveillance_state.py --quick             # a smoke test

Prints agent-days per second, the seconds in each step of the day's plan, the bytes per
agent held by the person arrays, and the peak resident memory per agent (which includes
Python, numpy, numba and the build's temporaries: a fixed cost that small runs divide by
few agents).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

CHILD = """
import json, resource, sys, time
from survsim import load_scenario
from survsim.api import build_sim
agents, steps, apparatus = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "on"
scenario = load_scenario("dprk", [f"params.agents={agents}", f"params.apparatus={apparatus}"],
                         steps=steps)
sim = build_sim(scenario)
start = time.perf_counter()
sim.run()
run_s = time.perf_counter() - start
held = sim.pop.nbytes
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"run_s": run_s, "build_s": sim.timings["build_s"], "held": held,
                  "peak": peak, "plan": sim.plan_timings()}))
"""


def measure(agents: int, steps: int, apparatus: bool) -> dict:
    """Run one configuration in a fresh interpreter and return its measurements."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(agents), str(steps), "on" if apparatus else "off"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure with and without the apparatus and print the comparison."""
    parser = argparse.ArgumentParser(description="surveillance_state speed and memory")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1461)
    parser.add_argument("--quick", action="store_true", help="20,000 people, 60 days")
    args = parser.parse_args()
    agents, steps = (20_000, 60) if args.quick else (args.agents, args.steps)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"dprk, {agents:,} agents x {steps:,} days")  # fmt: skip
    results = {}
    for apparatus in (False, True):
        start = time.perf_counter()
        results[apparatus] = r = measure(agents, steps, apparatus)
        rate = agents * steps / r["run_s"]
        label = "society + apparatus" if apparatus else "society alone (peer)"
        print(f"{label:22s} run {r['run_s']:7.2f} s ({rate / 1e6:5.2f} M agent-days/s), "
              f"build {r['build_s']:.2f} s, arrays {r['held'] / agents:5.1f} B/agent, "
              f"peak RSS {r['peak'] / agents:7.0f} B/agent "
              f"(wall {time.perf_counter() - start:.0f} s incl. start-up)")  # fmt: skip
    ratio = results[True]["run_s"] / results[False]["run_s"]
    print(f"the apparatus costs {ratio:.2f}x the society's run time")
    print("seconds per plan step (with the apparatus):")
    for name, seconds in results[True]["plan"].items():
        print(f"  {name:16s} {seconds:8.3f}")


if __name__ == "__main__":
    main()
