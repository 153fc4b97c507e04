"""The self-censorship model's validation figures: the paper's Fig. 3 and a population's phases.

1. ``figure3.png``: Daymude, Axelrod & Forrest (2025), Fig. 3, redrawn from survsim's
   kernel: whether one individual (boldness 1) complies, self-censors or defies, by its
   desired dissent against tolerance, surveillance, severity and boldness, under both
   punishments, at the paper's settings (tau 0.25, nu 0.5, psi 0.6 / 1.5).
2. ``shares.png`` and ``shares.csv``: the shares of a population (the ``daymude2025``
   scenario) in each phase across a grid of severity x surveillance, run as a sweep on
   Dask (one run per setting; every setting applied to the same synthetic individuals).

    python examples/daymude_phases.py --out docs/figures        # 100,000 individuals, 12 x 12
    python examples/daymude_phases.py --agents 5000 --grid 4 --out /tmp/phases

This measures what given settings do to people; it does not look for the settings that
silence the most.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import survsim
from survsim.report.self_censorship import plot_figure3


def main() -> None:
    """Draw both figures and write the shares table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--grid", type=int, default=12, help="settings per axis")
    parser.add_argument("--workers", type=int, default=None, help="Dask workers")
    parser.add_argument("--punishment", choices=["uniform", "proportional"], default="uniform")
    parser.add_argument("--out", type=Path, default=Path("phases"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    plot_figure3(args.out / "figure3.png")
    result = survsim.sweep(
        "daymude2025",
        {
            "psi": np.round(np.linspace(0.1, 2.0, args.grid), 4).tolist(),
            "nu": np.round(np.linspace(0.0, 1.0, args.grid), 4).tolist(),
        },
        overrides=[f"punishment={args.punishment}"],
        agents=args.agents,
        workers=args.workers,
    )
    summary = result.summary.sort_values(["nu", "psi"])
    columns = ["psi", "nu", "shares.compliant", "shares.self_censoring", "shares.defiant"]
    summary[[*columns, "expressed_share"]].to_csv(args.out / "shares.csv", index=False)
    psis, nus = np.unique(summary["psi"]), np.unique(summary["nu"])
    fig = Figure(figsize=(11, 3.8), dpi=110, layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, name in zip(axes, ("self_censoring", "defiant", "expressed_share"), strict=True):
        key = name if name == "expressed_share" else f"shares.{name}"
        values = summary[key].to_numpy().reshape(nus.size, psis.size)
        image = ax.pcolormesh(psis, nus, values, cmap="viridis", shading="auto")
        fig.colorbar(image, ax=ax, shrink=0.9)  # each its own scale: the ranges differ
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("severity ψ")
    axes[0].set_ylabel("surveillance ν")  # noqa: RUF001 (the Greek letter is meant)
    fig.suptitle(
        f"daymude2025, {args.punishment} punishment, {args.agents:,} individuals: "
        "shares by severity and surveillance (tolerance 0.25)"
    )
    fig.savefig(args.out / "shares.png")
    print(f"figure3.png, shares.png and shares.csv in {args.out} ({len(summary)} settings)")


if __name__ == "__main__":
    main()
