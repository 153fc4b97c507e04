"""What the seed article's two policy changes cost the people watched, with intervals.

The seed article reports two changes to North Korea's apparatus: about 100,000 CCTV
cameras bought over four years, and border surveillance teams cut from five people to
three. This script answers, for each, "what does it do to people?": how many stop
speaking openly, how many are reported, wrongly convicted and imprisoned. It runs the
calibrated scenario with and without the change, the same seeds in both arms (common
random numbers), and reports the mean paired difference with its 90% confidence interval.

    python examples/policy_questions.py cameras        # 2 x 16 runs of 100,000 people
    python examples/policy_questions.py border-teams
    python examples/policy_questions.py cameras --agents 3000 --steps 60 --runs 2 --out /tmp/c
    python examples/policy_questions.py cameras --scenario dprk      # uncalibrated, to compare

It writes OUT/effects.csv, OUT/effects.md (the table of docs/policy-*.md), OUT/figure.png
and the runs themselves in OUT/runs (the same command again only reads them). It answers
questions about harm; it does not search for the apparatus that silences or imprisons
most, and no option of it does. Every person is synthetic.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import survsim
from survsim.experiments.stats import paired_effects


@dataclass(frozen=True)
class Question:
    """One policy change: the parameter, its value before and after, and the labels."""

    key: str
    baseline: float
    change: float
    before: str
    after: str
    evidence: str  # the daily column of the evidence the change adds
    evidence_label: str


QUESTIONS = {
    "cameras": Question(
        "policy.camera_purchase.cameras", 0, 100_000,
        "no cameras", "100,000 cameras bought over four years",
        "reports_cctv", "camera flags added to open cases",
    ),
    "border-teams": Question(
        "border.team_size", 5, 3,
        "border teams of five", "teams of three, same personnel",
        "reports_border", "recordings by border teams",
    ),
}  # fmt: skip

#: What each change costs people, in the order of the table: (column, what it counts).
OUTCOMES = [
    ("national.people_speaking_openly_per_day", "people who speak openly on a day"),
    ("open_speech_k3_work_public", "share speaking openly in a group of three (work, public)"),
    ("falsification_gap", "share of dissenters who never speak"),
    ("national.reports_per_year", "reports to the state per year"),
    ("national.convictions_per_year", "people convicted per year"),
    ("national.convictions_false_per_year", "people wrongly convicted per year"),
    ("national.convictions_family_per_year", "family members imprisoned per year"),
    ("national.prisoners", "political prisoners on the last day"),
    ("national.prisoners_steady_state", "political prisoners, steady state (Little's law)"),
    ("regions.border_held_per_100k", "border residents held per 100,000, last day"),
]


def run_question(
    question: Question, args: argparse.Namespace, out: Path
) -> survsim.ExperimentResult:
    """Both arms of one question, with the same seeds; the runs are kept in ``out``.

    Run again with the same options, it reads the finished runs instead of repeating them.
    """
    return survsim.sweep(
        args.scenario,
        {question.key: [question.baseline, question.change]},
        runs=args.runs,
        overrides=args.set,
        agents=args.agents,
        steps=args.steps,
        seed=args.seed,
        workers=args.workers,
        progress=True,
        out=out,
        resume=out.exists(),
    )


def effects_table(result: survsim.ExperimentResult, question: Question) -> pd.DataFrame:
    """Paired effects of the change on every outcome, with what each counts."""
    summary = result.summary.copy()
    years = summary["days"].clip(lower=1) / 365.25
    summary["national.reports_per_year"] = (
        summary["reports"] * summary["national.scale_factor"] / years
    )
    columns = [c for c, _ in OUTCOMES]
    table = paired_effects(summary, question.key, question.baseline, question.change, columns)
    table.insert(1, "outcome", [label for _, label in OUTCOMES])
    return table


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def markdown(table: pd.DataFrame, question: Question) -> str:
    """The table of the docs page: both arms, the paired difference and its interval."""
    lines = [
        f"| outcome | {question.before} | {question.after} | difference (90% CI) | change |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.outcome} | {_number(r.baseline)} | {_number(r.change)} | "
            f"{_number(r.difference)} ({_number(r.ci_low)} to {_number(r.ci_high)}) | "
            f"{f'{r.relative:+.1%}' if np.isfinite(r.relative) else 'n/a'} |"
        )
    return "\n".join(lines) + "\n"


def _arm_bands(
    timeseries: pd.DataFrame, key: str, column: str, scale: float, cumulative: bool
) -> dict:
    out = {}
    for value, arm in timeseries[timeseries["day"] > 0].groupby(key):
        cube = arm.pivot(index="day", columns="run", values=column).to_numpy(float) * scale
        cube = cube.cumsum(axis=0) if cumulative else cube
        out[float(value)] = (
            arm["day"].unique(),
            cube.mean(axis=1),
            np.quantile(cube, 0.05, axis=1),
            np.quantile(cube, 0.95, axis=1),
        )
    return out


def figure(result: survsim.ExperimentResult, table: pd.DataFrame, question: Question, path: Path):
    """The effects with their intervals; prisoners and the added evidence over time.

    Left: each outcome's relative change. Right: both arms over time (90% of runs shaded).
    """
    scale = float(result.summary["national.scale_factor"].iloc[0])
    fig = Figure(figsize=(16, 5.2), dpi=100, layout="constrained")
    effects, prison, added = fig.subplots(1, 3, width_ratios=[1.3, 1, 1])
    y = np.arange(len(table))[::-1]
    base = table["baseline"].replace(0, np.nan)
    rel, low, high = (table[c] / base * 100 for c in ("difference", "ci_low", "ci_high"))
    effects.errorbar(rel, y, xerr=[rel - low, high - rel], fmt="o", color="#c0392b", capsize=3)
    effects.axvline(0, color="#555", lw=1)
    effects.set_yticks(y, table["outcome"], fontsize=8)
    effects.set_xlabel(f"change from '{question.before}' (%), 90% CI of the mean")
    effects.grid(alpha=0.3, axis="x")
    colours = {float(question.baseline): "#2c3e50", float(question.change): "#c0392b"}
    labels = {float(question.baseline): question.before, float(question.change): question.after}
    panels = ((prison, "imprisoned", "political prisoners\n(national)", False),
              (added, question.evidence, f"{question.evidence_label}\n(national, cumulative)",
               True))  # fmt: skip
    for ax, column, title, cumulative in panels:
        bands = _arm_bands(result.timeseries, question.key, column, scale, cumulative)
        for value, (days, mean, lo, hi) in bands.items():
            ax.fill_between(days, lo, hi, color=colours[value], alpha=0.2, lw=0)
            ax.plot(days, mean, color=colours[value], label=labels[value])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    runs = int(table["pairs"].iloc[0])
    fig.suptitle(f"{question.after} vs {question.before}: {runs} paired runs each")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


def main() -> None:
    """Run one question, print its table and write the table, the data and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", choices=sorted(QUESTIONS))
    parser.add_argument("--scenario", default="dprk_calibrated")
    parser.add_argument(
        "--set", action="append", default=[], help="override a value, as survsim --set"
    )
    parser.add_argument("--runs", type=int, default=16, help="paired runs per arm")
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="default: runs/policy-QUESTION")
    args = parser.parse_args()
    question = QUESTIONS[args.question]
    out = args.out or Path("runs") / f"policy-{args.question}"
    try:
        result = run_question(question, args, out / "runs")
    except survsim.SurvsimError as err:
        raise SystemExit(f"error: {err}") from None
    table = effects_table(result, question)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "effects.csv", index=False)
    text = markdown(table, question)
    (out / "effects.md").write_text(text)
    figure(result, table, question, out / "figure.png")
    print(text)
    print(f"results in {out}")


if __name__ == "__main__":
    main()
