"""East Germany in 1989 and North Korea: two apparatuses, the same synthetic people.

`gdr1989` has a denser secret police (91,015 Stasi staff for 16.4 million people) and a
denser informer network (about 189,000 IMs) than `dprk_calibrated`, but fixed prison
terms, no punishment of whole families, and almost no phones, computers or cameras to
watch. Both scenarios share the assumptions about people (grievance, speech, reporting)
and about how long a political case takes, so the comparison isolates the apparatus and
the punishment regime. This script runs both with the same seeds and compares, per
100,000 people, what each does to the people under it.

    python examples/compare_gdr_dprk.py                  # 2 x 12 runs of 100,000 people
    python examples/compare_gdr_dprk.py --agents 3000 --steps 60 --runs 2 --out /tmp/g

It writes OUT/comparison.csv, OUT/comparison.md (the table of docs/gdr-dprk.md),
OUT/figure.png and the runs in OUT/dprk_calibrated and OUT/gdr1989. Every person in these
runs is synthetic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import survsim

SCENARIOS = {"dprk_calibrated": "North Korea (calibrated)", "gdr1989": "East Germany 1989"}
COLOURS = {"dprk_calibrated": "#c0392b", "gdr1989": "#2c3e50"}


def per_100k(summary: pd.DataFrame) -> pd.DataFrame:
    """The outcomes to compare, each per 100,000 people (or a share), one row per run."""
    people = summary["national.population"].astype(float) / 1e5
    out = pd.DataFrame(index=summary.index)
    rows = {
        "staff of the agencies and border teams per 100k": "national.surveillance_personnel",
        "informants per 100k": "national.informants",
        "people convicted per 100k per year": "national.convictions_per_year",
        "wrongly convicted per 100k per year": "national.convictions_false_per_year",
        "family members imprisoned per 100k per year": "national.convictions_family_per_year",
        "political prisoners per 100k (steady state)": "national.prisoners_steady_state",
        "deaths in prison per 100k per year": "national.deaths_in_prison_per_year",
    }
    for label, column in rows.items():
        out[label] = summary[column].astype(float) / people
    out["share speaking openly in a pair (work, public)"] = summary["open_speech_k2_work_public"]
    out["share speaking openly in a group of three"] = summary["open_speech_k3_work_public"]
    out["share of dissenters who never speak"] = summary["falsification_gap"]
    out["mean days a prisoner serves"] = summary["mean_days_served"]
    return out


def comparison(results: dict[str, survsim.ExperimentResult]) -> pd.DataFrame:
    """Mean and 90% interval across runs of every outcome, for each scenario."""
    rows = []
    for name, result in results.items():
        values = per_100k(result.summary)
        for outcome in values.columns:
            v = values[outcome].to_numpy(dtype=float)
            rows.append({"scenario": name, "outcome": outcome, "mean": v.mean(),
                         "p05": np.quantile(v, 0.05), "p95": np.quantile(v, 0.95),
                         "runs": len(v)})  # fmt: skip
    return pd.DataFrame(rows)


def _cell(row: pd.Series) -> str:
    form = (lambda x: f"{x:,.0f}") if abs(row["mean"]) >= 100 else (lambda x: f"{x:.3g}")
    return f"{form(row['mean'])} ({form(row['p05'])} to {form(row['p95'])})"


def markdown(table: pd.DataFrame) -> str:
    """Outcomes as rows, scenarios as columns: the mean and the 90% interval of runs."""
    names = list(SCENARIOS)
    lines = ["| per 100,000 people (mean, 90% of runs) | " + " | ".join(
        SCENARIOS[n] for n in names) + " |", "| --- |" + " ---: |" * len(names)]  # fmt: skip
    for outcome, group in table.groupby("outcome", sort=False):
        cells = [_cell(group[group["scenario"] == n].iloc[0]) for n in names]
        lines.append(f"| {outcome} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(results: dict[str, survsim.ExperimentResult], path: Path) -> None:
    """Open speech by group size in each scenario, and the harms per 100,000 people.

    Left: the three-or-more curve. Right: convictions and prisoners per 100,000 people.
    """
    fig = Figure(figsize=(12, 4.5), dpi=100, layout="constrained")
    curve, harm = fig.subplots(1, 2)
    for name, result in results.items():
        speech = result.open_speech
        speech = speech[speech["context"].isin(["work", "public"]) & (speech["group_size"] <= 6)]
        pooled = speech.groupby(["run", "group_size"])[["present", "spoke"]].sum()
        rate = (pooled["spoke"] / pooled["present"].clip(lower=1)).unstack("group_size")
        k = rate.columns.to_numpy()
        curve.fill_between(k, rate.quantile(0.05), rate.quantile(0.95), color=COLOURS[name],
                           alpha=0.2, lw=0)  # fmt: skip
        curve.plot(k, rate.mean(), marker="o", color=COLOURS[name], label=SCENARIOS[name])
    curve.set_xticks(range(2, 7))
    curve.set_xlabel("people present (k)")
    curve.set_ylabel("share speaking openly when the topic comes up")
    curve.set_title("Open speech at work and in public, by group size")
    curve.legend(fontsize=8)
    curve.grid(alpha=0.3)
    outcomes = ["people convicted per 100k per year", "wrongly convicted per 100k per year",
                "family members imprisoned per 100k per year",
                "political prisoners per 100k (steady state)"]  # fmt: skip
    width = 0.38
    for i, (name, result) in enumerate(results.items()):
        values = per_100k(result.summary)[outcomes]
        x = np.arange(len(outcomes)) + (i - 0.5) * width
        err = [values.mean() - values.quantile(0.05), values.quantile(0.95) - values.mean()]
        harm.bar(x, values.mean(), width, yerr=err, color=COLOURS[name], label=SCENARIOS[name],
                 capsize=3)  # fmt: skip
    harm.set_xticks(np.arange(len(outcomes)),
                    ["convicted\na year", "wrongly convicted\na year",
                     "family members\nimprisoned a year", "prisoners\n(steady state)"],
                    fontsize=8)  # fmt: skip
    harm.set_yscale("symlog", linthresh=1)
    harm.set_ylabel("per 100,000 people (log scale)")
    harm.set_title("What the apparatus costs people")
    harm.legend(fontsize=8)
    harm.grid(alpha=0.3, axis="y")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


def run_one(name: str, args: argparse.Namespace) -> survsim.ExperimentResult:
    """An ensemble of one scenario; every scenario gets the same seeds.

    The runs are kept in OUT/NAME: the same command again only reads them.
    """
    out = args.out / name
    return survsim.ensemble(
        name,
        args.runs,
        agents=args.agents,
        steps=args.steps,
        seed=args.seed,
        workers=args.workers,
        progress=True,
        out=out,
        resume=out.exists(),
    )


def main() -> None:
    """Run both scenarios, print the comparison and write the table and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/gdr-dprk"))
    args = parser.parse_args()
    try:
        results = {name: run_one(name, args) for name in SCENARIOS}
    except survsim.SurvsimError as err:
        raise SystemExit(f"error: {err}") from None
    table = comparison(results)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "comparison.csv", index=False)
    text = markdown(table)
    (args.out / "comparison.md").write_text(text)
    figure(results, args.out / "figure.png")
    print(text)
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
