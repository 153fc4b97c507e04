"""survsim's civil-violence model against Mesa 3.3.1's, on the same configuration.

Both run in this one invocation, on the same machine, over the same window of steps
(step 1 is a warm-up for both; then the timed steps), so the ratio is like for like.
Prints agent-steps per second for each and the ratio, memory per agent at build, and
survsim's cost per agent-step from 40x40 to 400x400 with the time in each plan step.

Usage (needs the ``validation`` extra for Mesa)::

    python benchmarks/civil_violence_vs_mesa.py                 # Mesa's defaults (Run 5)
    python benchmarks/civil_violence_vs_mesa.py --config run2   # Epstein Run 2
    python benchmarks/civil_violence_vs_mesa.py --quick         # a smoke test

An agent-step is one agent (citizen or cop) activated once; jailed citizens count, as
they do in Mesa's scheduler. Mesa's time includes its DataCollector, which its model
runs every step as shipped.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np

from survsim.models import CivilViolence, CivilViolenceParams

CONFIGS = {
    "default": {},  # Mesa's model defaults: Epstein's Run 5
    "run2": {"legitimacy": 0.82, "cop_density": 0.04, "max_jail_term": 30},
    "outbursts": {"legitimacy": 0.7, "cop_density": 0.04, "max_jail_term": 30},
}


def _traced_peak(build):
    gc.collect()
    tracemalloc.start()
    obj = build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return obj, peak


def time_mesa(size: int, params: dict, steps: int, seed: int) -> dict:
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, peak = _traced_peak(
            lambda: EpsteinCivilViolence(width=size, height=size, seed=seed, **params)
        )
        agents = len(model.agents)
        model.step()  # warm-up: step 1
        start = time.perf_counter()
        for _ in range(steps):
            model.step()
        seconds = time.perf_counter() - start
    return {"agents": agents, "rate": agents * steps / seconds, "bytes": peak / agents}


def time_survsim(size: int, params: dict, steps: int, seed: int, warmup: int = 1) -> dict:
    p = CivilViolenceParams(width=size, height=size, **params)
    sim, peak = _traced_peak(lambda: CivilViolence(p, seed=seed, steps=warmup + steps))
    sim.run(warmup)  # the same warm-up as Mesa (and the numba cache is loaded by then)
    for step in sim.plan.steps:
        step.seconds = 0.0
    start = time.perf_counter()
    sim.run()
    seconds = time.perf_counter() - start
    plan_us = {k: v / steps * 1e6 for k, v in sim.plan_timings().items()}
    return {"agents": sim.agents, "rate": sim.agents * steps / seconds,
            "bytes": peak / sim.agents, "plan_us": plan_us}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="default")
    parser.add_argument("--quick", action="store_true", help="few steps: a smoke test")
    parser.add_argument("--seeds", type=int, default=3, help="runs per model and grid")
    args = parser.parse_args()
    params = CONFIGS[args.config]
    q = args.quick
    seeds = range(1, 1 + (1 if q else args.seeds))
    print(f"configuration: {args.config} {params or '(Mesa defaults, Epstein Run 5)'}")
    print(f"machine: {platform.machine()}, {platform.system()}, python "
          f"{platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    CivilViolence(CivilViolenceParams(**params), seed=0, steps=2).run()  # load numba cache
    print()
    print(f"{'grid':>9} {'steps':>5} {'agents':>7} {'Mesa a-s/s':>11} {'survsim a-s/s':>14} "
          f"{'ratio':>6} {'Mesa B/agent':>13} {'survsim B/agent':>16}")  # fmt: skip
    for size, steps in [(40, 20 if q else 200), (200, 2 if q else 5)]:
        mesa = [time_mesa(size, params, steps, s) for s in seeds]
        ours = [time_survsim(size, params, steps, s) for s in seeds]
        m_rate = statistics.median(r["rate"] for r in mesa)
        o_rate = statistics.median(r["rate"] for r in ours)
        print(f"{size:>4}x{size:<4} {steps:>5} {ours[0]['agents']:>7} {m_rate:>11,.0f} "
              f"{o_rate:>14,.0f} {o_rate / m_rate:>5.0f}x {mesa[0]['bytes']:>13,.0f} "
              f"{ours[0]['bytes']:>16,.0f}")  # fmt: skip
    print("(median over seeds; timed steps 2..steps+1 of fresh runs for both)")
    print()
    print("survsim cost per agent-step by grid size (timed steps 51-150):")
    base = None
    for size in (40, 100, 200, 400):
        ours = time_survsim(size, params, 20 if q else 100, seed=1, warmup=5 if q else 50)
        ns = 1e9 / ours["rate"]
        base = base or ns
        plan = ", ".join(f"{k} {v:,.0f} us" for k, v in ours["plan_us"].items())
        print(f"{size:>4}x{size:<4} {ours['agents']:>7} agents: {ns:6.1f} ns/agent-step "
              f"({ns / base:4.2f}x 40x40); per step: {plan}")  # fmt: skip


if __name__ == "__main__":
    main()
