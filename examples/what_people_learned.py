"""What people learned about each class of group: why "three or more" does (not) emerge.

MODEL.md 8.5's criterion compares open speech at k = 3 with its null, the rate each
present person would have if a listener in the group were as risky to it as a listener
in a pair (its own ``a_i,2`` in place of ``a_i,3``). Whether the observed rate lies below
the null depends on what each person has learned about the two classes (MODEL.md 8.2):
the open statements it heard (``H``) and the sanctions it saw of people it knows (``A``,
a warning received counted ``speech.warning_weight`` times) in pairs and in groups of
three or more. This script runs a scenario from its stationary start and prints, over the
free adults on the last day (means over seeds with their standard errors):

- the counts ``H`` and ``A`` per class (decayed), and the share of people who heard fewer
  statements in a class than the prior is worth (``speech.prior_strength``), for whom
  that class's risk is still mostly the prior;
- the learned per-listener risks ``a_2`` and ``a_3`` (mean and median) next to the prior
  ``a0`` (``population.pi_hat0``), which gives both classes the same risk;
- what the people saw in each class: sanctions seen per statement heard, summed over
  everyone (what the world taught them);
- open speech at k = 3 and its null.

    python examples/what_people_learned.py                       # dprk_calibrated, 4 seeds
    python examples/what_people_learned.py --agents 5000 --steps 60 --seeds 2
    python examples/what_people_learned.py --set speech.prior_strength=0.05

Every person in these runs is synthetic. The script reports what the model's people
learned; it searches for no setting.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from survsim.errors import ScenarioError
from survsim.models.surveillance_state import SurveillanceState
from survsim.scenario import load_scenario
from survsim.society.beliefs import GROUP_EIGHTHS
from survsim.society.names import CHILD, FREE

#: The rows printed, in order: (key, label).
ROWS = (
    ("heard_pair", "H_2, statements heard in pairs"),
    ("heard_group", "H_3, statements heard in groups of 3+"),
    ("seen_pair", "A_2, sanctions seen, pair statements"),
    ("seen_group", "A_3, sanctions seen, group statements"),
    ("sparse_pair", "share with H_2 below the prior's worth n0"),
    ("sparse_group", "share with H_3 below the prior's worth n0"),
    ("a2_mean", "a_2, learned risk of a listener in a pair (mean)"),
    ("a3_mean", "a_3, learned risk of a listener in a group (mean)"),
    ("a2_median", "a_2 (median)"),
    ("a3_median", "a_3 (median)"),
    ("world_pair", "sanctions seen per statement heard, pairs"),
    ("world_group", "sanctions seen per statement heard, groups"),
    ("k3_observed", "open speech at k = 3, observed"),
    ("k3_null", "open speech at k = 3, its null (pair risk)"),
)


def learned(sim: SurveillanceState) -> dict[str, float]:
    """What the free adults of a finished run learned, by class (see the module's text)."""
    sim.mechanism("beliefs").stationary()  # brings everyone's counts up to the last day
    s = sim.pop.people
    p = sim.params
    n0, a0 = p.speech.prior_strength, p.population.pi_hat0
    adults = (s.status == FREE) & (s.role != CHILD)
    h2, h3, s2, s3 = (
        s[name][adults].astype(np.float64)
        for name in ("heard_pair", "heard_group", "seen_pair", "seen_group")
    )
    kbar = s.group_size[adults] / GROUP_EIGHTHS
    a2 = (n0 * a0 + s2) / (n0 + h2 + s2)
    p3 = (n0 * (1.0 - (1.0 - a0) ** (kbar - 1.0)) + s3) / (n0 + h3 + s3)
    a3 = 1.0 - (1.0 - p3) ** (1.0 / (kbar - 1.0))
    t = sim.open_speech().to_pandas()
    t = t[t.group_size == 3]
    present = t.present.sum()
    return {
        "heard_pair": h2.mean(),
        "heard_group": h3.mean(),
        "seen_pair": s2.mean(),
        "seen_group": s3.mean(),
        "sparse_pair": float((h2 < n0).mean()),
        "sparse_group": float((h3 < n0).mean()),
        "a2_mean": a2.mean(),
        "a3_mean": a3.mean(),
        "a2_median": float(np.median(a2)),
        "a3_median": float(np.median(a3)),
        "world_pair": s2.sum() / h2.sum() if h2.sum() else float("nan"),
        "world_group": s3.sum() / h3.sum() if h3.sum() else float("nan"),
        "k3_observed": t.spoke.sum() / present,
        "k3_null": (t.null_open_speech_rate * t.present).sum() / present,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the seeds, print the table; exit 2 with one line on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="dprk_calibrated")
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", help="also write the per-seed values to this file")
    args = parser.parse_args(argv)
    if args.agents < 100 or args.steps < 1 or args.seeds < 1:
        print("error: --agents must be at least 100, --steps and --seeds at least 1",
              file=sys.stderr)  # fmt: skip
        return 2
    overrides = [f"params.agents={args.agents}", *(f"params.{kv}" for kv in args.set)]
    try:
        scenario = load_scenario(args.scenario, overrides)
    except (ScenarioError, ValueError) as err:
        print(f"error: {err}".splitlines()[0], file=sys.stderr)
        return 2
    runs = []
    for seed in range(args.seeds):
        sim = SurveillanceState(scenario.params, seed=seed, steps=args.steps).run()
        runs.append(learned(sim))
        print(f"seed {seed} done", file=sys.stderr)
    p = scenario.params
    print(f"{args.scenario}, {args.agents:,} people, {args.steps} days after a stationary "
          f"start of {p.beliefs.spinup_days} days, {args.seeds} seeds; prior a0 = "
          f"{p.population.pi_hat0}, worth n0 = {p.speech.prior_strength} statements")  # fmt: skip
    for key, label in ROWS:
        values = np.array([r[key] for r in runs])
        se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else float("nan")
        print(f"  {label:<52s} {values.mean():10.5f}  (SE {se:.5f})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(runs, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
