"""survsim's civil-violence model against Mesa 3.3.1's, on the same configuration.

Both run in this one invocation, on the same machine, so the ratio is like for like.
Prints agent-steps per second for each, the ratio, memory per agent at build, and
survsim's cost per agent-step from 40x40 to 400x400.

Usage (needs the ``validation`` extra for Mesa)::

    python benchmarks/civil_violence_vs_mesa.py                 # 40x40 and 200x200
    python benchmarks/civil_violence_vs_mesa.py --config run2   # Epstein Run 2 instead
    python benchmarks/civil_violence_vs_mesa.py --quick         # fewer steps, for a smoke test

An agent-step is one agent (citizen or cop) activated once; jailed citizens count, as
they do in Mesa's scheduler.
"""

from __future__ import annotations

import argparse
import gc
import platform
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


def _peak_build_bytes(build) -> tuple[object, int]:
    gc.collect()
    tracemalloc.start()
    obj = build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return obj, peak


def time_mesa(size: int, params: dict, steps: int, seed: int = 1) -> dict:
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, peak = _peak_build_bytes(
            lambda: EpsteinCivilViolence(width=size, height=size, seed=seed, **params)
        )
        agents = len(model.agents)
        model.step()  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            model.step()
        seconds = time.perf_counter() - start
    return {"agents": agents, "steps": steps, "seconds": seconds,
            "rate": agents * steps / seconds, "bytes_per_agent": peak / agents}  # fmt: skip


def time_survsim(
    size: int, params: dict, steps: int, seed: int = 1, repeats: int = 3, warmup: int = 1
) -> dict:
    p = CivilViolenceParams(width=size, height=size, **params)
    CivilViolence(p, seed=seed, steps=2).run()  # compile or load the numba cache
    best = None
    for _ in range(repeats):
        sim, peak = _peak_build_bytes(lambda: CivilViolence(p, seed=seed, steps=steps + warmup))
        sim.run(warmup)  # warmup=1: the same warm-up as Mesa
        start = time.perf_counter()
        sim.run()
        seconds = time.perf_counter() - start
        if best is None or seconds < best["seconds"]:
            plan = {k: v / (steps + warmup) for k, v in sim.plan_timings().items()}
            best = {"agents": sim.agents, "steps": steps, "seconds": seconds,
                    "rate": sim.agents * steps / seconds, "bytes_per_agent": peak / sim.agents,
                    "plan_us": {k: v * 1e6 for k, v in plan.items()}}  # fmt: skip
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="default")
    parser.add_argument("--quick", action="store_true", help="few steps: a smoke test")
    parser.add_argument("--no-mesa", action="store_true", help="survsim only")
    args = parser.parse_args()
    params = CONFIGS[args.config]
    q = args.quick
    print(f"configuration: {args.config} {params or '(Mesa defaults)'}")
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    print()
    header = f"{'grid':>9} {'agents':>7} {'Mesa a-s/s':>12} {'survsim a-s/s':>14} {'ratio':>7}"
    print(header + f" {'Mesa B/agent':>13} {'survsim B/agent':>16}")
    for size, mesa_steps, our_steps in [(40, 10 if q else 100, 200 if q else 3000),
                                        (200, 1 if q else 3, 20 if q else 200)]:  # fmt: skip
        ours = time_survsim(size, params, our_steps)
        if args.no_mesa:
            print(f"{size:>4}x{size:<4} {ours['agents']:>7} {'-':>12} {ours['rate']:>14,.0f}")
            continue
        mesa = time_mesa(size, params, mesa_steps)
        ratio = ours["rate"] / mesa["rate"]
        print(f"{size:>4}x{size:<4} {ours['agents']:>7} {mesa['rate']:>12,.0f} "
              f"{ours['rate']:>14,.0f} {ratio:>6.0f}x {mesa['bytes_per_agent']:>13,.0f} "
              f"{ours['bytes_per_agent']:>16,.0f}")  # fmt: skip
    print()
    print("survsim cost per agent-step by grid size (same densities):")
    base = None
    for size in (40, 100, 200, 400):
        ours = time_survsim(
            size, params, max(20, (300 if q else 3000) * 1600 // size**2), repeats=2
        )
        ns = 1e9 / ours["rate"]
        base = base or ns
        plan = ", ".join(f"{k} {v:.0f} us" for k, v in ours["plan_us"].items())
        print(f"{size:>4}x{size:<4} {ours['agents']:>7} agents: {ns:6.1f} ns/agent-step "
              f"({ns / base:4.2f}x 40x40); per step: {plan}")  # fmt: skip


if __name__ == "__main__":
    main()
