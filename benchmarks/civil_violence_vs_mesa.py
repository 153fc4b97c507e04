"""survsim's civil-violence model against Mesa 3.3.1's, on the same configuration.

Both run in this one invocation, on the same machine, over the same window of steps
(step 1 is a warm-up for both; then the timed steps). A ratio measured once still moves
with the machine's load, because the two sides suffer from load differently, so:

- **alternation**: the repetitions run Mesa, survsim, Mesa, survsim, ... each on a fresh
  model with the same seed (``--seed``), so a change of load falls on both sides alike and
  every repetition does the same work (with a seed per repetition, the spread would mix
  the machine's noise with the dynamics': at 200x200 the five timed steps of Mesa's
  defaults differ by about 20% from seed to seed);
- **repetitions** (``--repeats``, default 7): the median of 7 ignores up to 3 disturbed
  runs on either side; each repetition's ratio is taken against the Mesa run just before
  it (the pair shares its load);
- **spread**: for each side and for the ratio, the median and the interquartile range
  relative to the median; where a side's relative spread exceeds its bound, a warning
  line says the machine was busy and the figures should not be quoted. The bounds are
  about twice what an idle 2-core machine shows: 10% at 40x40 (idle: 1-2% for Mesa, 2-5%
  for survsim), 30% for Mesa at 200x200 (idle: 14-19%: each of its runs of 31,000 agents
  takes 12 s and its garbage collector's passes fall differently) and 10% for survsim
  there; ``--busy`` sets one bound for all.

Prints agent-steps per second for each side and the ratio, memory per agent at build, and
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
import time
import tracemalloc
import warnings

import numpy as np

from survsim.models import CivilViolence, CivilViolenceParams

#: The relative spread (interquartile range over the median) above which a side's timings
#: say the machine was busy: about twice an idle machine's (see the module's text).
BUSY = {(40, "Mesa"): 0.10, (40, "survsim"): 0.10, (200, "Mesa"): 0.30, (200, "survsim"): 0.10}

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


def spread(values: list[float]) -> tuple[float, float]:
    """The median and the interquartile range relative to it."""
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return float(median), float((q3 - q1) / median)


def alternate(size: int, params: dict, steps: int, repeats: int, seed: int) -> dict:
    """Mesa and survsim in alternation, ``repeats`` fresh runs of ``seed`` each."""
    mesa, ours = [], []
    for _ in range(repeats):
        mesa.append(time_mesa(size, params, steps, seed))
        ours.append(time_survsim(size, params, steps, seed))
    ratios = [o["rate"] / m["rate"] for m, o in zip(mesa, ours, strict=True)]
    return {
        "agents": ours[0]["agents"],
        "mesa": spread([r["rate"] for r in mesa]),
        "survsim": spread([r["rate"] for r in ours]),
        "ratio": spread(ratios),
        "mesa_bytes": mesa[0]["bytes"],
        "survsim_bytes": ours[0]["bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="default")
    parser.add_argument("--quick", action="store_true", help="few steps: a smoke test")
    parser.add_argument("--repeats", type=int, default=7, help="runs per side and grid")
    parser.add_argument("--seed", type=int, default=1, help="the seed of every repetition")
    parser.add_argument(
        "--busy", type=float, default=None, help="relative spread that flags a busy machine"
    )
    args = parser.parse_args()
    params = CONFIGS[args.config]
    q = args.quick
    repeats = 3 if q else args.repeats
    print(f"configuration: {args.config} {params or '(Mesa defaults, Epstein Run 5)'}")
    print(f"machine: {platform.machine()}, {platform.system()}, python "
          f"{platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    CivilViolence(CivilViolenceParams(**params), seed=0, steps=2).run()  # load numba cache
    print()
    print(f"{'grid':>9} {'steps':>5} {'agents':>7} {'Mesa a-s/s':>17} {'survsim a-s/s':>20} "
          f"{'ratio':>13} {'Mesa B/agent':>13} {'survsim B/agent':>16}")  # fmt: skip
    busy = []
    for size, steps in [(40, 20 if q else 200), (200, 2 if q else 5)]:
        r = alternate(size, params, steps, repeats, args.seed)
        (m, m_iqr), (o, o_iqr), (ratio, r_iqr) = r["mesa"], r["survsim"], r["ratio"]
        print(f"{size:>4}x{size:<4} {steps:>5} {r['agents']:>7} {m:>11,.0f} ±{m_iqr:4.0%} "
              f"{o:>13,.0f} ±{o_iqr:4.0%} {ratio:>6.0f}x ±{r_iqr:4.0%} "
              f"{r['mesa_bytes']:>13,.0f} {r['survsim_bytes']:>16,.0f}")  # fmt: skip
        for side, iqr in (("Mesa", m_iqr), ("survsim", o_iqr)):
            bound = args.busy if args.busy is not None else BUSY.get((size, side), 0.10)
            if iqr > bound:
                busy.append(f"{size}x{size} {side} {iqr:.0%} > {bound:.0%}")
    print(
        f"(medians of {repeats} alternated runs per side, seed {args.seed}, ± the "
        "interquartile range over the median; each ratio against the Mesa run before it)"
    )
    if busy:
        print(
            f"WARNING: the machine was busy (relative spread above its bound: "
            f"{', '.join(busy)}); do not quote these figures: rerun on an idle machine"
        )
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
