"""Regenerate Mesa's reference statistics for the civil-violence validation.

Runs Mesa 3.3.1's ``epstein_civil_violence`` example (the reference implementation
survsim's ``civil_violence`` model is validated against) for a number of seeds on the
validation configurations and writes one row per run to
``tests/data/mesa_civil_violence_reference.csv``:

- ``active_1_10``: mean active share of citizens over steps 1-10 (the first outburst),
- ``active_50_200``: mean active share over steps 50-200,
- ``jailed_50_200``: mean jailed share over steps 50-200.

Usage (needs the ``validation`` extra, about 15 s per run on one core)::

    python scripts/mesa_reference.py --seeds 40 --jobs 2
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# The configurations of the validation (MODEL.md section 6). Keys are Mesa's
# parameter names, which survsim's scenario files share.
CONFIGS: dict[str, dict[str, float]] = {
    # Epstein's Run 2, as Mesa's dashboard sliders set it.
    "run2": {"legitimacy": 0.82, "cop_density": 0.04, "max_jail_term": 30},
    # A stronger configuration with clear outbursts.
    "legitimacy07": {"legitimacy": 0.7, "cop_density": 0.04, "max_jail_term": 30},
}
STEPS = 200
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mesa_civil_violence_reference.csv"
FIELDS = [
    "config",
    "seed",
    "steps",
    "width",
    "height",
    "legitimacy",
    "cop_density",
    "max_jail_term",
    "citizens",
    "active_1_10",
    "active_50_200",
    "jailed_50_200",
    "mesa_version",
]


def run_mesa(config: str, seed: int, steps: int = STEPS) -> dict[str, object]:
    """Run Mesa's model once and return its per-run statistics."""
    import mesa
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    params = CONFIGS[config]
    model = EpsteinCivilViolence(seed=seed, **params)
    for _ in range(steps):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    citizens = int(frame["active"].iloc[0] + frame["quiet"].iloc[0] + frame["arrested"].iloc[0])
    active = frame["active"].to_numpy() / citizens
    jailed = frame["arrested"].to_numpy() / citizens
    return {
        "config": config,
        "seed": seed,
        "steps": steps,
        "width": 40,
        "height": 40,
        **params,
        "citizens": citizens,
        "active_1_10": float(active[1:11].mean()),
        "active_50_200": float(active[50:201].mean()),
        "jailed_50_200": float(jailed[50:201].mean()),
        "mesa_version": mesa.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """Run all configurations for the requested seeds and write the CSV atomically."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="seeds per configuration")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    tasks = [(c, s) for c in CONFIGS for s in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(run_mesa, *zip(*tasks, strict=True)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, args.out)
    print(f"wrote {len(rows)} runs to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
