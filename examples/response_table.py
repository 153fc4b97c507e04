"""What each lever of the apparatus does to the people under it: the response table.

For each lever (the agencies' capacity, informant density, cameras, family punishment,
severity, the conformity of speech, and East Germany's apparatus in place of North
Korea's) this runs ``dprk_calibrated`` with the lever moved, with the same seeds as one
shared baseline ensemble of the unchanged scenario (common random numbers), and reports
for every outcome the mean of each arm with the 90% interval of its runs and the mean
paired difference with its 90% confidence interval.

    python examples/response_table.py                   # 8 seeds x 100,000 people x 4 years
    python examples/response_table.py --agents 20000 --steps 730 --out /tmp/response
    python examples/response_table.py --out runs/response --doc docs/model-response.md
    python examples/response_table.py --levers capacity,family --agents 2000 --steps 30 --runs 2

It writes OUT/response.csv (one row per lever, arm and outcome), OUT/values.csv (the
value of every outcome in every run, so each paired difference can be checked),
OUT/response.md (the tables) and, with ``--doc PATH``, a complete markdown page. The runs
are kept in OUT/runs: the same command again reads them instead of repeating them.

It reports what each lever does to people. It does not rank levers by the silence or the
imprisonment they buy, searches for no setting, and no option of it does. Every person
in these runs is synthetic.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import survsim
from survsim.experiments.stats import LOWER, UPPER, paired_effects

SCENARIO = "dprk_calibrated"
#: The sizes the table is specified at (the scenario's own): 100,000 people, four years.
FULL_AGENTS, FULL_STEPS = 100_000, 1461


@dataclass(frozen=True)
class Outcome:
    """One row of every table: how it is computed from a run and what it counts."""

    key: str
    label: str
    column: str = ""  # a summary column read as is; empty: computed in ``outcome_values``
    national: bool = False  # a national count: per 100,000 people where populations differ


OUTCOMES = [
    Outcome("open_speech_k2", "share speaking openly in a pair (work, public)",
            "open_speech_k2_work_public"),
    Outcome("open_speech_k3", "share speaking openly in a group of three (work, public)",
            "open_speech_k3_work_public"),
    Outcome("open_speech_k4", "share speaking openly in a group of four (work, public)",
            "open_speech_k4_work_public"),
    Outcome("k3_against_null", "open speech at k = 3 / its pair-risk null (work, public)"),
    Outcome("falsification_gap", "share of dissenters who never spoke openly",
            "falsification_gap"),
    Outcome("reports_per_year", "reports to the state per year", national=True),
    Outcome("sanctions_per_year", "sanctions per year (detentions + prison sentences)",
            national=True),
    Outcome("prisoners", "political prisoners on the last day", "national.prisoners",
            national=True),
    Outcome("prisoners_steady_state", "political prisoners, steady state (Little's law)",
            "national.prisoners_steady_state", national=True),
    Outcome("crossings_per_year", "border crossings per year", "national.crossings_per_year",
            national=True),
    Outcome("dissenter_share", "share of people who are dissenters (g > T), last day",
            "dissenter_share"),
    Outcome("perceived_risk", "mean perceived risk of speaking, last 90 days"),
]  # fmt: skip
OUTCOME = {o.key: o for o in OUTCOMES}


@dataclass(frozen=True)
class Arm:
    """One changed arm: parameter values set in the scenario, or another scenario."""

    key: str
    label: str
    values: dict[str, float] = field(default_factory=dict)
    scenario: str = SCENARIO
    #: The direction a naive reader expects (+1 up, -1 down), for the check "wrong way".
    expect: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Lever:
    """One lever: its arms, what the baseline is, and what is assumed or emerges."""

    key: str
    title: str
    baseline: str
    arms: tuple[Arm, ...]
    assumed: str
    emerges: str
    per_100k: bool = False  # the arms have different populations: counts per 100,000


def levers(params: dict) -> list[Lever]:
    """The levers, each arm multiplying or replacing the scenario's own value."""
    density = params["population"]["informant_density"]
    cameras = params["policy"]["camera_purchase"]["cameras"]
    punishment = params["punishment"]
    term, labour = punishment["term_median_years"], punishment["labour_days"]
    conformity = params["speech"]["conformity"]
    harsher = {"sanctions_per_year": 1, "prisoners": 1, "prisoners_steady_state": 1}
    milder = {k: -v for k, v in harsher.items()}
    return [
        Lever(
            "capacity", "Capacity of the agencies (`agencies.capacity_scale`)",
            "x1 (the scenario)",
            (Arm("x0", "x0 (no checks or investigations)", {"agencies.capacity_scale": 0.0},
                 expect={**milder, "open_speech_k3": 1}),
             Arm("x10", "x10", {"agencies.capacity_scale": 10.0},
                 expect={**harsher, "open_speech_k3": -1})),
            "Capacity multiplies the checks and investigations every agency can do a day, and "
            "files are never closed unread, so with more capacity more of the waiting files are "
            "examined and sanctioned: more sanctions and prisoners at x10, and at x0 no new "
            "sanction at all while the day-0 prisoners are released or die, are close to "
            "mechanical.",
            "Whether people speak less is not built in: it follows only if the extra sanctions "
            "fall on people others know, in a class of group (pairs, three or more) that they "
            "learn from, and outweigh the grievance the imprisonments add to the families and "
            "friends of those taken (deterrence against backlash).",
        ),
        Lever(
            "informants", "Informant density (`population.informant_density`)",
            f"x1 ({density:g}, the scenario)",
            (Arm("x0.25", f"x0.25 ({density * 0.25:g})",
                 {"population.informant_density": density * 0.25},
                 expect={"reports_per_year": -1, "open_speech_k3": 1}),
             Arm("x4", f"x4 ({density * 4:g})", {"population.informant_density": density * 4},
                 expect={"reports_per_year": 1, "sanctions_per_year": 1, "open_speech_k3": -1})),
            "The density is also the SSD's recruitment target, so it is held through the run. "
            "Informants listen and report and never speak openly themselves, so more of them "
            "means more reports of the same speech, and a slightly smaller share of the people "
            "present who can speak, by assumption.",
            "Whether the extra reports become sanctions depends on triage: capacity is fixed, so "
            "more reports may only raise the scores of files that would have been examined "
            "anyway. Whether people then speak less depends on what they see happen to people "
            "they know, as for capacity.",
        ),
        Lever(
            "cameras", "Cameras bought over four years (`policy.camera_purchase.cameras`)",
            f"{cameras:,.0f} (the scenario)",
            (Arm("0", "none", {"policy.camera_purchase.cameras": 0.0},
                 expect={"open_speech_k3": 1}),
             Arm("1M", "1,000,000", {"policy.camera_purchase.cameras": 1_000_000.0},
                 expect={"open_speech_k3": -1})),
            "Cameras people can see raise the believed bugging of public places directly "
            "(`speech.camera_visibility`: `m_public = m0 + v * cameras / 100,000`, at most 1), "
            "so less open speech in public is assumed. Camera flags strengthen open files and "
            "never open one (`channels.cctv_coverage`).",
            "Any response at work, any change in sanctions (flags only add weight to files that "
            "exist) and any change in learned risk beyond the believed bugging.",
        ),
        Lever(
            "family", "Family punishment (`punishment.p_family`)",
            f"{punishment['p_family']:g} (the scenario)",
            (Arm("off", "off (0)", {"punishment.p_family": 0.0},
                 expect={"prisoners": -1, "prisoners_steady_state": -1, "open_speech_k3": 1}),),
            "Without it no relative follows a prison sentence: fewer prisoners and family "
            "members imprisoned are mechanical. The loss people believe a sanction brings counts "
            "the relatives taken, so the believed loss falls by construction.",
            "How much that lowers silence, and the backlash: the relatives taken no longer add "
            "grievance in their own networks.",
        ),
        Lever(
            "severity", "Severity (`punishment.term_median_years`, `punishment.labour_days`)",
            f"{term:g} years median term, {labour:g} days of labour training (the scenario)",
            (Arm("half", f"halved ({term / 2:g} years, {labour // 2} days)",
                 {"punishment.term_median_years": term / 2,
                  "punishment.labour_days": labour // 2},
                 expect={"prisoners": -1, "prisoners_steady_state": -1, "open_speech_k3": 1}),),
            "Shorter terms empty the prisons faster (Little's law: the steady state scales with "
            "the time served). The believed loss is learned from the severities seen, against "
            "one fixed reference of 10 prison-years, so halving severity halves what people come "
            "to fear once they have seen enough sanctions.",
            "The size of the speech response, and its feedback: more speech brings more reports "
            "and files, which may give back part of the fall in sanctions.",
        ),
        Lever(
            "conformity", "Conformity of speech (`speech.conformity`, lambda)",
            f"{conformity:g} (the default)",
            (Arm("0", "0 (no pull of others' speech)", {"speech.conformity": 0.0},
                 expect={"open_speech_k2": -1, "open_speech_k3": -1}),),
            "The pull of others' open speech is a positive term in the speech rule, so taking "
            "it out lowers everyone's chance of speaking at first, by assumption.",
            "The cascade: how much of the open speech in the baseline is carried by others "
            "speaking (Kuran's preference falsification), and what less speech does to reports, "
            "sanctions and what people learn.",
        ),
        Lever(
            "gdr", "East Germany's apparatus (`gdr1989` against `dprk_calibrated`)",
            "dprk_calibrated",
            (Arm("gdr1989", "gdr1989", scenario="gdr1989",
                 expect={"prisoners": -1, "prisoners_steady_state": -1}),),
            "gdr1989 differs in many assumptions at once (more secret-police staff and "
            "informants; short fixed terms, no life terms, no family punishment; almost no "
            "phones, computers or cameras; a rarer attempt to cross, fitted to about 300 "
            "escapes a year; its own population), so no row isolates one cause. People, speech "
            "and the days a case takes are the same as dprk_calibrated's.",
            "Everything the bundle does to speech, reports and sanctions through the loop. "
            "Counts are per 100,000 people here, as the two countries' populations differ. "
            "tests/test_stationary.py isolates the sanctions: dprk_calibrated's own people "
            "under gdr1989's sanctions speak more openly than under their own, and mostly "
            "through what they learn (learning on against off, paired seeds); at the "
            "calibrated capacity that part is about +0.002 in open speech, so most of this "
            "row's gap comes from the countries' different mix of contexts and group sizes.",
            per_100k=True,
        ),
    ]  # fmt: skip


# -- running ------------------------------------------------------------------------------


@contextmanager
def local_cluster(workers: int | None, runs: int) -> Iterator[str]:
    """One Dask cluster for every ensemble of the table; yields its address.

    survsim's own LocalCluster (its workers warmed), started once rather than once per
    ensemble.
    """
    from survsim.experiments.cluster import dask_client

    with dask_client(workers=workers, runs=runs, warm=["surveillance_state"]) as client:
        yield client.scheduler.address


def _run(arm_values: dict, scenario: str, args: argparse.Namespace, scheduler: str, out: Path):
    """An ensemble of ``scenario`` with ``arm_values`` set, kept in ``out``.

    Run r of every ensemble gets ``derive_seed(seed, r)`` (as replicate r of a sweep
    does), so every arm shares the baseline's seeds: the arms are paired by seed.
    """
    return survsim.ensemble(
        scenario,
        args.runs,
        overrides=[f"{key}={value!r}" for key, value in arm_values.items()],
        agents=args.agents,
        steps=args.steps,
        seed=args.seed,
        scheduler=scheduler,
        progress=True,
        out=out,
        resume=out.exists(),
    )


def _timed_run(name: str, arm_values: dict, scenario: str, args, scheduler: str, timing: dict):
    """``_run`` in OUT/runs/NAME, recording in ``timing`` the wall time it took to run.

    A resumed ensemble keeps the time it took when it was run (its manifest still says it
    until the resume rewrites it), so the page reports the runs' time, not the reading's.
    """
    out = Path(args.out) / "runs" / name
    manifest = out / "manifest.json"
    if name not in timing and manifest.exists():
        timing[name] = json.loads(manifest.read_text())["seconds"]
    result = _run(arm_values, scenario, args, scheduler, out)
    timing.setdefault(name, result.seconds)
    return result


def outcome_values(result, per_100k: bool = False) -> pd.DataFrame:
    """Every outcome of every run, one row per seed (national counts, or per 100,000)."""
    s = result.summary.set_index("seed").sort_index()
    years = s["days"].clip(lower=1) / 365.25
    values = pd.DataFrame(index=s.index)
    for o in OUTCOMES:
        if o.column:
            values[o.key] = s[o.column].astype(float)
    values["reports_per_year"] = s["reports"] * s["national.scale_factor"] / years
    values["sanctions_per_year"] = s["sanctions"] * s["national.scale_factor"] / years
    ts = result.timeseries
    last = ts[ts["day"] > ts["day"].max() - 90]
    values["perceived_risk"] = last.groupby("seed")["mean_perceived_risk"].mean()
    # The k = 3 test of MODEL.md 8.5: observed open speech in groups of three against the
    # rate each present person would have had with its own pair risk (below 1: groups of
    # three are feared more per listener than pairs).
    speech = result.open_speech
    three = speech[speech["context"].isin(["work", "public"]) & (speech["group_size"] == 3)]
    three = three.assign(null=three["null_open_speech_rate"] * three["present"])
    sums = three.groupby("seed")[["spoke", "null"]].sum()
    values["k3_against_null"] = sums["spoke"] / sums["null"].where(sums["null"] > 0)
    if per_100k:
        people = s["national.population"].astype(float) / 1e5
        for o in OUTCOMES:
            if o.national:
                values[o.key] = values[o.key] / people
    return values[[o.key for o in OUTCOMES]]


def _arm_stats(v: pd.Series) -> tuple[float, float, float]:
    v = v.dropna().to_numpy(float)
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    return v.mean(), np.quantile(v, LOWER), np.quantile(v, UPPER)


def compare(lever: Lever, arm: Arm, base: pd.DataFrame, changed: pd.DataFrame) -> pd.DataFrame:
    """Rows of one arm: both arms' means and intervals, the paired difference and its CI."""
    if not base.index.equals(changed.index):
        raise SystemExit(f"error: {lever.key}/{arm.key}: the arms do not share their seeds")
    both = pd.concat([base.assign(arm=0), changed.assign(arm=1)])
    both["replicate"] = both.index.map({s: r for r, s in enumerate(base.index)})
    keys = [o.key for o in OUTCOMES]
    effects = paired_effects(both.reset_index(drop=True), "arm", 0, 1, keys).set_index("metric")
    rows = []
    for o in OUTCOMES:
        e = effects.loc[o.key].copy()
        b, c = _arm_stats(base[o.key]), _arm_stats(changed[o.key])
        # Rounding noise of a mean of identical pairs (1e-14) is a difference of 0.
        tiny = 1e-9 * (1 + abs(b[0])) if np.isfinite(b[0]) else 0
        for k in ("difference", "ci_low", "ci_high", "runs_p05", "runs_p95"):
            if abs(e[k]) < tiny:
                e[k] = 0.0
        noise = not (e["ci_low"] > 0 or e["ci_high"] < 0)  # NaN (no pair) counts as noise
        sign = 0 if noise else int(np.sign(e["difference"]))
        expected = arm.expect.get(o.key, 0)
        rows.append({
            "lever": lever.key, "arm": arm.key, "arm_label": arm.label, "outcome": o.key,
            "label": _label(o, lever), "baseline_mean": b[0], "baseline_p05": b[1],
            "baseline_p95": b[2], "arm_mean": c[0], "arm_p05": c[1], "arm_p95": c[2],
            "difference": e["difference"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
            "runs_p05": e["runs_p05"], "runs_p95": e["runs_p95"], "relative": e["relative"],
            "pairs": int(e["pairs"]), "missing": int(e["missing"]), "within_noise": noise,
            "expected": expected, "wrong_way": bool(expected and sign == -expected),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _label(o: Outcome, lever: Lever) -> str:
    if not o.national:
        return o.label
    return o.label + (" per 100,000 people" if lever.per_100k else " (national)")


# -- tables and the page ------------------------------------------------------------------


def _number(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _interval(mean: float, low: float, high: float) -> str:
    return f"{_number(mean)} ({_number(low)} to {_number(high)})"


def lever_markdown(lever: Lever, table: pd.DataFrame) -> str:
    """One lever's table: the baseline, then each arm and its paired difference."""
    rows = table[table["lever"] == lever.key]
    arms = list(dict.fromkeys(rows["arm"]))
    labels = dict(zip(rows["arm"], rows["arm_label"], strict=False))
    head = f"| outcome | baseline: {lever.baseline} |"
    for a in arms:
        head += f" {labels[a]} | difference (90% CI) |"
    lines = [head, "| --- | ---: |" + " ---: | ---: |" * len(arms)]
    for o in OUTCOMES:
        mine = rows[rows["outcome"] == o.key].set_index("arm")
        first = mine.iloc[0]
        line = f"| {first['label']} | "
        line += _interval(first["baseline_mean"], first["baseline_p05"], first["baseline_p95"])
        for a in arms:
            r = mine.loc[a]
            mark = " °" if r["within_noise"] else ""
            mark += " †" if r["wrong_way"] else ""
            line += f" | {_interval(r['arm_mean'], r['arm_p05'], r['arm_p95'])} | "
            line += f"{_number(r['difference'])} ({_number(r['ci_low'])} to "
            line += f"{_number(r['ci_high'])}){mark}"
        lines.append(line + " |")
    return "\n".join(lines) + "\n"


def markdown(chosen: list[Lever], table: pd.DataFrame) -> str:
    """All the levers' tables, each under its title."""
    parts = []
    for lever in chosen:
        parts.append(f"### {lever.title}\n\n{lever_markdown(lever, table)}")
    legend = (
        "Each arm: the mean across runs (the 5th to 95th percentile of the runs). Difference: "
        "the mean paired difference, arm minus baseline on the same seed, with its 90% "
        "bootstrap confidence interval. ° the interval contains 0 (within noise); † the "
        "response goes against the naive expectation (its interval excludes 0).\n"
    )
    return legend + "\n" + "\n".join(parts)


def _describe(r: pd.Series, lever: Lever) -> str:
    o = OUTCOME[r["outcome"]]
    change = f"{_number(r['difference'])} ({_number(r['ci_low'])} to {_number(r['ci_high'])})"
    where = f"{_number(r['baseline_mean'])} -> {_number(r['arm_mean'])}"
    return f"{_label(o, lever)}: {where}, difference {change}"


def _moved(rows: pd.DataFrame, outcome: str) -> int:
    """+1 or -1 where the outcome moved beyond noise, else 0."""
    r = rows.loc[outcome]
    return 0 if r["within_noise"] else int(np.sign(r["difference"]))


def signatures(chosen: list[Lever], table: pd.DataFrame) -> str:
    """The emergent patterns, read off the numbers: groups against pairs, backlash, beliefs."""
    split, backlash, risk_up, risk_down, crossings = [], [], [], [], []
    for lever in chosen:
        for arm in lever.arms:
            rows = table[(table["lever"] == lever.key) & (table["arm"] == arm.key)]
            rows = rows.set_index("outcome")
            name = f"{lever.key} {arm.label}"
            k2, k3 = _moved(rows, "open_speech_k2"), _moved(rows, "open_speech_k3")
            d2, d3 = (
                rows.loc["open_speech_k2", "difference"],
                rows.loc["open_speech_k3", "difference"],
            )
            if k3 and (k2 != k3 or abs(d3) > 2 * abs(d2)):
                split.append(f"{name} (pairs {_number(d2)}, groups of three {_number(d3)})")
            dissent = _moved(rows, "dissenter_share")
            if dissent > 0:
                more = _number(rows.loc["dissenter_share", "difference"])
                backlash.append(f"{name} (dissenters {more}, open speech at k = 3 {_number(d3)})")
            risk = _moved(rows, "perceived_risk")
            (risk_up if risk > 0 else risk_down if risk < 0 else []).append(name)
            cross = _moved(rows, "crossings_per_year")
            if cross:
                crossings.append(
                    f"{name} ({'up' if cross > 0 else 'down'} "
                    f"{_number(abs(rows.loc['crossings_per_year', 'difference']))} a year; "
                    f"dissenters {'up' if dissent > 0 else 'down' if dissent < 0 else 'unchanged'})"
                )
    none = "none in this run"
    first = table.drop_duplicates("outcome").set_index("outcome")["baseline_mean"]
    k2, k3, k4 = (first[f"open_speech_k{k}"] for k in (2, 3, 4))
    order = "below" if k3 < k2 else "above"
    ratio = first["k3_against_null"]
    feared = "more" if ratio < 1 else "less"
    return "\n".join([
        f"- **Open speech by group size, baseline.** Pairs {_number(k2)}, groups of three "
        f"{_number(k3)}, of four {_number(k4)}: groups of three speak {order} pairs in the "
        "raw shares (which mix contexts and people; the model's own test of the k = 3 "
        "pattern compares the observed rate at k = 3 with the rate each present person would "
        "have with its pair risk, `null_open_speech_rate`). Here the observed rate at k = 3 "
        f"is {_number(ratio)} times that null: people have learned to fear a listener in a "
        f"group of three {feared} than a listener in a pair (why: docs/odd.md 4.2, and "
        "`python examples/what_people_learned.py` for what people heard and saw in each "
        "class).",
        "- **Groups of three against pairs.** Arms that move open speech in groups of three "
        "beyond noise and either leave pairs alone, move them the other way or move them by "
        f"less than half as much: {'; '.join(split) or none}.",
        "- **Backlash.** Arms that leave more dissenters (grievance above the threshold) on "
        f"the last day: {'; '.join(backlash) or none}.",
        "- **Learned risk.** The mean perceived risk of speaking rises in: "
        f"{', '.join(risk_up) or none}; and falls in: {', '.join(risk_down) or none}.",
        f"- **Crossings.** Arms that move crossings beyond noise: {'; '.join(crossings) or none}.",
    ]) + "\n"  # fmt: skip


def findings(chosen: list[Lever], table: pd.DataFrame) -> str:
    """In words, from the numbers: the headline responses, the wrong way, the noise."""
    lines = ["For each arm, open speech in a group of three and sanctions a year:", ""]
    for lever in chosen:
        for arm in lever.arms:
            rows = table[(table["lever"] == lever.key) & (table["arm"] == arm.key)]
            rows = rows.set_index("outcome")
            k3, sanctions = rows.loc["open_speech_k3"], rows.loc["sanctions_per_year"]
            words = []
            for r, name in ((k3, "open speech at k = 3"), (sanctions, "sanctions")):
                ci = f"CI {_number(r['ci_low'])} to {_number(r['ci_high'])}"
                if r["pairs"] and r["runs_p05"] == 0 and r["runs_p95"] == 0:
                    words.append(f"{name} the same in every pair of runs")
                    continue
                if r["within_noise"]:
                    words.append(f"{name} within noise ({_number(r['difference'])}, {ci})")
                    continue
                way = "up" if r["difference"] > 0 else "down"
                rel = f", {r['relative']:+.1%}" if np.isfinite(r["relative"]) else ""
                words.append(f"{name} {way} by {_number(abs(r['difference']))} ({ci}{rel})")
            lines.append(f"- **{lever.key} {arm.label}**: " + "; ".join(words) + ".")
    same = table[(table["outcome"] == "sanctions_per_year") & (table["runs_p05"] == 0)
                 & (table["runs_p95"] == 0) & (table["pairs"] > 0)]  # fmt: skip
    if not same.empty:
        lines += ["", "Arms with exactly the baseline's sanctions in every pair of runs (the "
                  "same number, seed for seed): " + ", ".join(
                      f"{r.lever} {r.arm_label}" for r in same.itertuples()) + ". The "
                  "agencies' capacity, which these arms leave alone, is used in full (files "
                  "wait in a queue) and sets how many files are investigated; these arms do "
                  "not change how many of them end in a sanction."]  # fmt: skip

    def listing(rows: pd.DataFrame, title: str) -> list[str]:
        out = ["", title, ""]
        if rows.empty:
            out.append("- none in this run.")
        for r in rows.itertuples():
            lever = next(x for x in chosen if x.key == r.lever)
            out.append(f"- {r.lever} {r.arm_label}: " + _describe(pd.Series(r._asdict()), lever))
        return out

    lines += listing(table[table["wrong_way"]], "Responses that go the \"wrong\" way (against "
                     "the direction a reader would naively expect, with an interval that "
                     "excludes 0):")  # fmt: skip
    noise = table[table["within_noise"] & (table["expected"] != 0) & (table["pairs"] > 0)]
    lines += listing(noise, "Responses a reader would expect that are within noise (the "
                     "interval contains 0):")  # fmt: skip
    unknown = table[table["pairs"] == 0]
    if not unknown.empty:
        lines += ["", "Not estimated in any pair of runs (too few admissions for a steady "
                  "state, for example): " + "; ".join(
                      sorted({f"{r.lever} {r.arm_label}: {r.outcome}"
                              for r in unknown.itertuples()})) + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


GENERAL = """\
Built into the model's assumptions (the sign of the response follows from the rules):

- **More capacity, more sanctions and prisoners.** Investigations are limited by capacity
  and no evidence expires unread, so capacity sets how many files are sanctioned; the
  prison stock follows from admissions and the time served (Little's law).
- **Severity and family punishment set the stock.** Shorter terms and no relatives taken
  shrink the stock mechanically; what people believe a sanction costs is read from the
  severities they see against one fixed reference (10 prison-years), so a milder regime
  lowers the believed loss by construction.
- **Cameras lower public speech.** Visible cameras raise the believed bugging of public
  places through `speech.camera_visibility`; that response is assumed, not learned.
- **More informants, more reports.** Each informant listens and reports; the number of
  reports of the same speech rises with their number.
- **Conformity carries speech.** With lambda = 0 the pull of others' open speech is gone
  from the speech rule.

Emerging from the loop (not written into any rule; they can come out either way):

- **Learned risk.** Nobody's fear is fixed: each person learns the chance that an open
  statement is followed by punishment from the sanctions it sees among the people it
  knows, against the statements it hears. A lever changes silence only as far as it
  changes what people see: a sanction nobody they know receives teaches nothing.
- **The k = 3 pattern.** Risk is learned separately for pairs and for groups of three or
  more, from a prior that is the same for both. Groups of three become more feared than
  pairs only if statements made in them were in fact more often followed by sanctions
  (defensive reporting and corroboration by more listeners, and triage of files with more
  evidence, make that so). How each lever moves the k = 2, 3 and 4 rows is an outcome.
- **Deterrence against backlash.** A prison sentence raises the grievance of the household
  and friends of the person taken, while the sanction teaches risk to those who see it.
  Which wins for a lever (more or less speech, more or fewer dissenters) is not set by any
  parameter; the dissenter share in the tables is the backlash side.
- **Crossings respond to beliefs.** Border residents attempt to cross at a hazard that
  rises with their grievance and falls with the detection they believe in (their
  suspicion of being watched), not with the true coverage. A lever moves crossings only
  through grievance and suspicion, or through the border teams' detection of attempts.
"""


def page(chosen: list[Lever], table: pd.DataFrame, run: dict) -> str:
    """The complete docs page: what was run, the tables, and what is assumed or emerges."""
    reduced = run["agents"] < FULL_AGENTS or run["steps"] < FULL_STEPS
    head = ["# What each lever does to people: the response table", ""]
    head.append(
        "Every person in these runs is synthetic. This page reports what each lever of the "
        "apparatus does to the people of the calibrated North Korea scenario, as the model "
        "computes it. It does not rank the levers by the silence or the imprisonment they buy "
        "per unit of cost, and it suggests no setting; nothing in survsim searches for the "
        "apparatus that silences or imprisons most."
    )
    head.append("")
    if reduced:
        head.append(
            f"**This is a reduced run**: {run['agents']:,} people and {run['steps']:,} days, "
            f"reduced from the specified {FULL_AGENTS:,} people and four years "
            f"({FULL_STEPS:,} days) to fit a two-core machine. National numbers are scaled up "
            f"from {run['agents']:,} people and noisier than at full size. To regenerate at "
            "full size:\n\n    python examples/response_table.py --runs 8 --out "
            "runs/response --doc docs/model-response.md\n"
        )
        head.append(
            "At this size sanctions are rare events: a baseline run has "
            f"{run['sanctions']:.1f} sanctions in all on average ({run['prison_sentences']:.1f} "
            f"prison sentences, {run['detentions']:.1f} labour-training detentions), so "
            "sanctions and prisoners move in whole events, and a bootstrap interval over "
            f"{run['runs']} pairs of such counts can exclude 0 on a difference of a few "
            "events. Read those rows as counts of a few events, not as precise rates.\n"
        )
    cameras = run.get("cameras_note", "")
    head += [
        "## What was run",
        "",
        f"- command: `{run['command']}`",
        f"- scenario `{SCENARIO}` (and `gdr1989` for the last lever), {run['agents']:,} "
        f"people, {run['steps']:,} days, {run['runs']} paired runs per arm, base seed "
        f"{run['seed']}",
        f"- seeds of the runs (the same in every arm): {', '.join(map(str, run['seeds']))}",
        f"- date: {run['date']}; survsim {survsim.__version__}; {run['workers']} workers; "
        f"the ensembles took {run['run_minutes']:.1f} minutes of wall time when they ran "
        f"(summed), and the command that wrote this page {run['minutes']:.1f} minutes "
        "(runs already kept in its output folder are read, not repeated)",
        f"- runs: one baseline ensemble of `{SCENARIO}` shared by every lever, and "
        f"{run['arms']} changed arms: {run['total']} runs",
    ]
    if cameras:
        head.append(f"- {cameras}")
    head += [
        "",
        "Open speech is the share of the present people who speak openly when the topic comes "
        "up in a group of k at work or in public, over the whole run. National counts are the "
        "simulated counts times the national scale factor (national population / simulated "
        "people); reports and sanctions are per year of the run. The perceived risk is the "
        "mean, over the people present when the topic came up, of the risk each perceives, "
        "over the last 90 days.",
        "",
        "## The tables",
        "",
    ]
    body = [markdown(chosen, table), "## What this run shows", "", findings(chosen, table)]
    body += ["Emergent patterns in this run (see the next section for why they are not built "
             "in):", "", signatures(chosen, table)]  # fmt: skip
    body += ["## What is assumed and what emerges", "", GENERAL, "Per lever:", ""]
    for lever in chosen:
        body.append(f"- **{lever.title}.** Assumed: {lever.assumed} Emerges: {lever.emerges}")
    body += [
        "",
        "Every number here is a property of the model and of its assumptions (docs/odd.md, "
        "docs/dprk-calibrated.md), computed for synthetic people; none is a measurement of "
        "any real person or population.",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(body)


def main() -> None:
    """Run every chosen lever against the shared baseline and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="paired runs (seeds) per arm")
    parser.add_argument("--agents", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--steps", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/response"))
    parser.add_argument("--levers", default=None, help="comma-separated; default: all")
    parser.add_argument("--doc", type=Path, default=None, help="write the markdown page here")
    args = parser.parse_args()
    started = time.perf_counter()
    scenario = survsim.load_scenario(SCENARIO)
    params = scenario.resolved()["params"]
    everything = levers(params)
    names = [lv.key for lv in everything]
    wanted = args.levers.split(",") if args.levers else names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise SystemExit(f"error: unknown lever {', '.join(unknown)}; choose from {names}")
    chosen = [lv for lv in everything if lv.key in wanted]
    timing_file = args.out / "timing.json"
    timing = json.loads(timing_file.read_text()) if timing_file.exists() else {}
    try:
        with local_cluster(args.workers, args.runs) as scheduler:
            baseline = _timed_run("baseline", {}, SCENARIO, args, scheduler, timing)
            results = {
                (lever.key, arm.key): _timed_run(f"{lever.key}-{arm.key}", arm.values,
                                                 arm.scenario, args, scheduler, timing)
                for lever in chosen for arm in lever.arms
            }  # fmt: skip
    except survsim.SurvsimError as err:
        raise SystemExit(f"error: {err}") from None
    timing_file.write_text(json.dumps(timing, indent=1))
    tables, values = [], []
    for lever in chosen:
        base = outcome_values(baseline, lever.per_100k)
        values.append(base.assign(lever=lever.key, arm="baseline"))
        for arm in lever.arms:
            changed = outcome_values(results[lever.key, arm.key], lever.per_100k)
            values.append(changed.assign(lever=lever.key, arm=arm.key))
            tables.append(compare(lever, arm, base, changed))
    table = pd.concat(tables, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "response.csv", index=False)
    values = pd.concat(values).reset_index()
    values[["lever", "arm", "seed", *OUTCOME]].to_csv(args.out / "values.csv", index=False)
    text = markdown(chosen, table)
    (args.out / "response.md").write_text(text)
    print(text)
    if args.doc:
        s = baseline.summary
        cams = {
            "baseline": s["national.cameras"].mean(),
            **{a.label: results["cameras", a.key].summary["national.cameras"].mean()
               for lv in chosen if lv.key == "cameras" for a in lv.arms},
        }  # fmt: skip
        run = {
            "command": "python examples/response_table.py "
            + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "agents": int(s["agents"].iloc[0]),
            "steps": int(s["steps"].iloc[0]),
            "runs": args.runs,
            "seed": args.seed,
            "seeds": sorted(int(x) for x in s["seed"]),
            "date": datetime.date.today().isoformat(),
            "minutes": (time.perf_counter() - started) / 60,
            "run_minutes": sum(timing.values()) / 60,
            "sanctions": s["sanctions"].mean(),
            "prison_sentences": s["prison_sentences"].mean(),
            "detentions": s["detentions"].mean(),
            "workers": args.workers or "the default number of",
            "arms": len(results),
            "total": args.runs * (1 + len(results)),
            "cameras_note": "cameras installed on the last day: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in cams.items())
            if len(cams) > 1
            else "",
        }
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(page(chosen, table, run))
        print(f"page in {args.doc}")
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
