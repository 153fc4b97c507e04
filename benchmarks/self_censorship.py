"""The self-censorship model: a phase diagram of a population over a grid of settings.

Times survsim's parallel kernel (:func:`survsim.models.self_censorship.phase_grid`) on
a population of a million individuals over a 100 x 100 grid of severity and surveillance,
for both punishments, against a plain vectorised numpy version of the same rules run in
the same invocation. numpy takes long enough per setting that it is timed on a sample of
the settings (``--numpy-points``) and its time per setting scaled to the whole grid; the
shares it gives on those settings must equal survsim's exactly (else the benchmark
stops: two different rules would not be a comparison).

    python benchmarks/self_censorship.py                  # 1,000,000 individuals, 100 x 100
    python benchmarks/self_censorship.py --agents 100000 --grid 30 --numpy-points 10

Prints seconds, individual-settings per second, the ratio, and peak memory per individual.
Every individual is synthetic; the grid measures what each setting does to them.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np

from survsim.models.self_censorship import SelfCensorship, SelfCensorshipParams, phase_grid


def numpy_shares(delta, beta, punishment, tau, psi, nu):
    """Compliant, self-censoring and defiant counts and the summed action, in numpy."""
    above = delta > tau
    if punishment == "uniform":
        slope = beta - (1.0 - nu) * psi
        bar = beta * tau + nu * psi
        defy = (slope > 0) & (delta * slope >= bar) | ((slope == 0) & (bar == 0))
        action = np.where(above & ~defy, tau, delta)
    elif nu >= 1.0:
        action = np.where(above & (beta < psi), tau, delta)
    else:
        vertex = 0.5 * (tau + (beta - nu * psi) * (1.0 / ((1.0 - nu) * psi)))
        action = np.where(above, np.minimum(np.maximum(vertex, tau), delta), delta)
    compliant = int(np.count_nonzero(~above))
    censoring = int(np.count_nonzero(above & (action < delta)))
    return compliant, censoring, delta.size - compliant - censoring, float(action.sum())


def main() -> None:
    """Time both implementations and print the comparison."""
    parser = argparse.ArgumentParser(description="self_censorship phase-diagram speed")
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--grid", type=int, default=100, help="settings per axis")
    parser.add_argument("--numpy-points", type=int, default=20, help="settings numpy runs")
    args = parser.parse_args()
    import numba

    print(f"# {platform.processor() or platform.machine()}, numba threads "
          f"{numba.get_num_threads()}, numpy {np.__version__}")  # fmt: skip
    print(f"# {args.agents:,} individuals x {args.grid} x {args.grid} settings "
          "(severity 0.05-2.5, surveillance 0-1, tolerance 0.25)")  # fmt: skip
    psis, nus = np.meshgrid(np.linspace(0.05, 2.5, args.grid), np.linspace(0, 1, args.grid))
    settings = {"psi": psis.ravel(), "nu": nus.ravel()}
    rng = np.random.default_rng(0)
    sample = rng.choice(psis.size, size=min(args.numpy_points, psis.size), replace=False)
    header = "punishment   survsim_s   numpy_s(scaled)   ratio   M individual-settings/s"
    print(header)
    for punishment in ("uniform", "proportional"):
        p = SelfCensorshipParams(agents=args.agents, punishment=punishment)
        tiny = p.model_copy(update={"agents": 10})
        phase_grid(tiny, {"psi": [0.5, 1.0]})  # the kernel loaded before timing
        start = time.perf_counter()
        grid = phase_grid(p, settings, seed=1)
        ours = time.perf_counter() - start
        sim = SelfCensorship(p, seed=1)  # the same population, for numpy
        start = time.perf_counter()
        for g in sample:
            c0, c1, c2, _ = numpy_shares(
                sim.delta, sim.beta, punishment, 0.25, settings["psi"][g], settings["nu"][g]
            )
            mine = (grid["compliant"][g], grid["self_censoring"][g], grid["defiant"][g])
            if (c0 / p.agents, c1 / p.agents, c2 / p.agents) != mine:
                raise SystemExit(f"numpy and survsim disagree at setting {g}: {mine}")
        theirs = (time.perf_counter() - start) / sample.size * psis.size
        rate = args.agents * psis.size / ours / 1e6
        print(f"{punishment:<12} {ours:>9.2f}   {theirs:>15.1f}   {theirs / ours:>5.0f}x   "
              f"{rate:>12,.0f}")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak resident memory: {peak / 1e6:,.0f} MB, {peak / args.agents:.0f} B per individual "
          "(the interpreter and libraries included)")  # fmt: skip


if __name__ == "__main__":
    main()
