"""Where a civil-violence step spends its time at 40x40 (Mesa's defaults).

Each line switches a part of the model off through its parameters (movement, cops,
grievance) and prints the cost per agent-step of what is left, best of three seeds over
steps 51-450; the activation order is timed alone in a loop, and the fixed cost of a step
on a grid with no agents. The parts are differences of these lines (docs/performance.md,
"Where the time goes"), so they add up only roughly.

Usage::

    python benchmarks/civil_violence_parts.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numba as nb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from civil_violence_vs_mesa import time_survsim

from survsim.models import CivilViolence, CivilViolenceParams
from survsim.models import civil_violence_kernels as k

SWITCHES = [
    ("defaults", {}),
    ("movement: false", {"movement": False}),
    ("no cops, nobody active", {"cop_density": 0.0, "legitimacy": 1.0}),
    (
        "no cops, nobody active, movement: false",
        {"cop_density": 0.0, "legitimacy": 1.0, "movement": False},
    ),
]


@nb.njit
def _order_only(reps, order, words):
    for r in range(reps):
        k.draw_order(np.uint64(1), np.uint64(2), r, order, words)
        k.first_blocks(np.uint64(1), np.uint64(3), r, order, words)


def main() -> None:
    for name, params in SWITCHES:
        ns = min(1e9 / time_survsim(40, params, 400, seed, warmup=50)["rate"] for seed in (1, 2, 3))
        print(f"{name:42s} {ns:6.1f} ns/agent-step")
    n = 1271  # the agents of Mesa's defaults at 40x40
    order = np.empty(n, np.int32)
    words = np.empty((4, n), np.uint32)
    _order_only(1, order, words)
    start = time.perf_counter()
    _order_only(20000, order, words)
    ns = (time.perf_counter() - start) / 20000 / n * 1e9
    print(f"{'the order and the first move draws alone':42s} {ns:6.1f} ns/agent-step")
    empty = CivilViolenceParams(
        width=3, height=3, citizen_vision=1, cop_vision=1, citizen_density=0.0, cop_density=0.0
    )
    sim = CivilViolence(empty, seed=1, steps=20000)
    sim.run(10)
    start = time.perf_counter()
    sim.run()
    us = (time.perf_counter() - start) / 19990 * 1e6
    print(f"{'a step with no agents (fixed cost)':42s} {us:6.2f} us a step")


if __name__ == "__main__":
    main()
