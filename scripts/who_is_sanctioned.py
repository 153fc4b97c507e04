"""Who is sanctioned, and what the prison stock does, under ranked and random triage.

    python scripts/who_is_sanctioned.py [--scenario dprk_calibrated] [--agents 100000]
        [--years 4] [--seeds 3]

Runs the scenario with its camera purchase removed (no policy change) under
``agencies.triage: ranked`` (the model) and ``random`` (the negative control) on the same
seeds, and prints, per triage: the share of files opened that were checked and
investigated, the sanctions, the mean open statements made before their sanction by the
people sanctioned against those of the file holders and of all free adults (on the same
days), the mean file scores, and the prison stock each year with the Little's-law steady
state. Every person in these runs is synthetic; the question is who bears the sanctions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from survsim.models.surveillance_state import SurveillanceState  # noqa: E402
from survsim.scenario import load_scenario  # noqa: E402

KEYS = (
    ("checked_share_of_files_opened", "files opened that were checked"),
    ("investigated_share_of_files_opened", "files opened that were investigated"),
    ("sanctions", "sanctions (detentions + prison sentences)"),
    ("detentions", "  of which labour-training detentions"),
    ("warnings", "warnings"),
    ("sanctioned_prior_statements_mean", "open statements before sanction: sanctioned"),
    ("file_holders_prior_statements_mean", "  file holders, same days"),
    ("population_prior_statements_mean", "  all free adults, same days"),
    ("sanctioned_file_score_mean", "file score: sanctioned"),
    ("file_holders_file_score_mean", "  file holders"),
    ("open_speech_k3_work_public", "open speech, groups of 3 (work, public)"),
)


def run(scenario: str, agents: int, days: int, seed: int, triage: str) -> dict:
    """One run's summary plus its prison stock once a year."""
    overrides = [
        f"params.agents={agents}",
        f"params.agencies.triage={triage}",
        "params.policy.camera_purchase.cameras=0",
    ]
    params = load_scenario(scenario, overrides, steps=days).params
    sim = SurveillanceState(params, seed=seed, steps=days).run()
    out = sim.summary()
    stock = sim.timeseries().column("imprisoned").to_numpy()
    out["stock_by_year"] = [int(stock[d]) for d in range(0, days + 1, 365)]
    return out


def main() -> None:
    """Run both triages on the same seeds and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="dprk_calibrated")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    a = parser.parse_args()
    days = a.years * 365
    runs = {
        triage: [run(a.scenario, a.agents, days, seed, triage) for seed in range(a.seeds)]
        for triage in ("ranked", "random")
    }
    print(f"{a.scenario}, {a.agents:,} people, {days} days, seeds 0-{a.seeds - 1}, "
          "no camera purchase; mean over seeds (ranked | random)")  # fmt: skip
    for key, label in KEYS:
        cells = []
        for triage in ("ranked", "random"):
            values = [r[key] for r in runs[triage] if r[key] is not None]
            cells.append(f"{statistics.fmean(values):10.4g}" if values else f"{'n/a':>10}")
        print(f"{label:48s} {cells[0]} | {cells[1]}")
    for triage in ("ranked", "random"):
        for seed, r in enumerate(runs[triage]):
            steady, se = (
                r["prisoners_steady_state_simulated"],
                r.get("prisoners_steady_state_simulated_se"),
            )
            shown = "n/a" if steady is None else f"{steady:.0f} +- {se or 0:.0f}"
            print(f"{triage:6s} seed {seed}: prison stock by year {r['stock_by_year']}, "
                  f"steady state {shown}")  # fmt: skip


if __name__ == "__main__":
    main()
