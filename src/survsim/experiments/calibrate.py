"""``survsim calibrate``: screen, then history-match assumptions against target intervals.

Morris screening ranks the free parameters; history matching then fits the most
influential ones, averaging each point over seeds.

The steps, each an experiment on Dask in a subfolder of ``OUT``:

1. ``screening/`` (only with more free parameters than ``fit``): Morris over every free
   parameter; a parameter's influence is the sum over targets of its mu* in units of the
   target's standard deviation. The ``fit`` most influential go on.
2. ``wave-0/``, ``wave-1/``, ...: history matching (:mod:`.calibration`) over them, the
   other free parameters at the scenario's values.

``OUT`` then holds ``calibration.parquet`` (every point, its means and implausibilities),
``identification.csv``, ``calibration.png``, ``calibration.md`` (the report: the fit, what
stays unidentified, the ridges), ``calibration.json`` (the targets with the runs that
lacked each, the best point) and ``<name>_calibrated.yaml``, the scenario with the best
point's values and their provenance in ``sources``.

A run may lack a target (a summary number that is missing, such as a steady state that
could not be estimated). Its point is ruled out (:mod:`.calibration`); in the screening
its point is left out of the Morris analysis. The report and ``calibration.json`` say how
many runs lacked each target.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pandas as pd
import yaml

from survsim.engine.results import write_text_atomic
from survsim.errors import SurvsimError
from survsim.experiments.analysis import _bounds, check_metric
from survsim.experiments.calibration import (
    CUTOFF,
    HistoryMatch,
    Target,
    history_match,
    parse_target,
)
from survsim.experiments.design import sampled_design
from survsim.experiments.prepare import _scenario
from survsim.experiments.run import RunOptions, _arrow, run_experiment
from survsim.experiments.sensitivity import analyse, sample
from survsim.experiments.store import as_stored, first_difference
from survsim.scenario import Scenario

__all__ = ["Calibration", "calibrate"]


@dataclass
class Calibration:
    """The outcome of a calibration."""

    match: HistoryMatch
    screening: pd.DataFrame  # per free parameter: influence (empty without screening)
    best: dict[str, float]
    scenario: dict[str, Any]  # the calibrated scenario, as its YAML file holds it
    report: str
    #: Per target, the screening's runs that lacked it (the history match's are
    #: ``match.missing``).
    screening_missing: dict[str, int] = field(default_factory=dict)


def _assumptions_only(base: Scenario, names: list[str]) -> None:
    """Calibrate only values the scenario marks as assumptions, never a sourced figure."""
    for name in names:
        source = base.sources.get(name, "")
        if source and "assumption" not in source.lower():
            raise SurvsimError(
                f"--free {name}: the scenario gives it a source ({source[:80]}); "
                "calibrate only values marked as assumptions"
            )


def _runs_of(
    base: Scenario,
    params: list[str],
    points: np.ndarray,
    runs: int,
    out: Path | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Run ``points`` (in the ranges of ``params``) ``runs`` times each; the summaries."""
    design = sampled_design(base, params, runs, "calibration", lambda bounds, seed: points)
    started = out is not None and (out / "experiment.json").is_file()
    if out is not None and not started:
        _clear_unstarted(out)
    result = run_experiment(design, out, resume=started, **options)
    return result.summary


def _clear_unstarted(folder: Path) -> None:
    """Remove what a stage killed before it recorded its design left behind.

    A stage writes ``design.parquet`` and then ``experiment.json``; a kill between the two
    leaves the first (and maybe a hidden temporary file) and no run. Anything else is left
    alone (and the stage refuses a folder that is not empty).
    """
    if not folder.is_dir():
        return
    entries = list(folder.iterdir())
    if all(e.is_file() and (e.name == "design.parquet" or e.name.startswith(".")) for e in entries):
        for entry in entries:
            entry.unlink()


def _per_point(
    summary: pd.DataFrame, names: list[str], points: int, runs: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per point and target: mean, variance and the runs that lack the target.

    The mean and variance are over the runs that have it; of the ``runs`` runs of a
    point, those without a value (missing, no such number in the summary, or no row in
    it at all) lack it.
    """
    values = summary.reindex(columns=["point", *names]).astype({n: "float64" for n in names})
    grouped = values.groupby("point")[names]
    index = pd.RangeIndex(points, name="point")
    means = grouped.mean().reindex(index)
    variances = grouped.var(ddof=1).reindex(index).fillna(0.0)
    have = grouped.count().reindex(index).fillna(0)
    return means, variances, (runs - have).clip(lower=0).astype("int64")


def _screen(
    base: Scenario,
    free: list[str],
    targets: list[Target],
    size: int,
    runs: int,
    out: Path | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    names, bounds = _bounds(free)
    points = sample("morris", names, bounds, size, base.seed)
    summary = _runs_of(base, free, points, runs, out, options)
    means, _, missing = _per_point(summary, [t.name for t in targets], len(points), runs)
    influence = np.zeros(len(names))
    for target in targets:
        # Trajectories with a point whose runs all lacked the target are left out
        # (analyse); a target that leaves no trajectory adds nothing.
        found = analyse(
            "morris", names, bounds, points, means[target.name].to_numpy(), seed=base.seed
        )
        influence += np.nan_to_num(found["mu_star"].to_numpy()) / target.sd
    screening = (
        pd.DataFrame({"parameter": names, "influence": influence})
        .sort_values("influence", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    return screening, {t.name: int(missing[t.name].sum()) for t in targets}


def calibrate(
    scenario: str | Scenario,
    targets: Sequence[str],
    free: Sequence[str],
    *,
    fit: int = 3,
    runs: int = 2,
    waves: int = 2,
    points: int = 40,
    screen_size: int = 6,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    **options: Unpack[RunOptions],
) -> Calibration:
    """Screen, then history-match the ``fit`` most influential free parameters.

    Args:
        scenario: a built-in name, a YAML file, or a :class:`~survsim.Scenario`.
        targets: ``name=lo:hi`` intervals for summary numbers.
        free: ``key=lo:hi`` ranges of the parameters that may move (assumptions only).
        fit: how many of the free parameters to fit (the most influential).
        runs: runs (seeds) per point; a point's metric is their mean.
        waves: history-matching waves.
        points: Latin-hypercube points per wave.
        screen_size: Morris trajectories of the screening.
        overrides: ``key=value`` overrides, as ``--set``.
        agents: simulated people, as ``--agents`` (surveillance_state).
        steps: steps of each run (default: the scenario's).
        seed: the base seed.
        **options: ``out``, ``workers``, ``scheduler``, ``resume``, ``retries``,
            ``progress``, as for :func:`~survsim.experiments.run_experiment`. With
            ``resume``, a calibration stopped in ``out`` is finished: the same call
            (``calibrate.json`` in ``out`` records it; another is refused with the first
            difference) runs only the runs that are missing, stage by stage (screening,
            then each wave), and gives the results an uninterrupted calibration gives.
    """
    base = _scenario(scenario, overrides, agents, steps, seed)
    wanted = [parse_target(t) for t in targets]
    if not wanted:
        raise SurvsimError("give at least one --target name=lo:hi")
    for target in wanted:
        check_metric(base.model, target.name)
    names = _bounds(free)[0]
    _assumptions_only(base, names)
    if not fit >= 1:
        raise SurvsimError(f"--fit {fit}: must be at least 1")
    resume = bool(options.pop("resume", False))
    out = options.pop("out", None)
    root = Path(out) if out is not None else None
    call = _call(base, targets, free, fit=fit, runs=runs, waves=waves, points=points,
                 screen_size=screen_size)  # fmt: skip
    if root is None:
        if resume:
            raise SurvsimError("--resume needs --out, the folder of the calibration to finish")
    elif resume:
        _check_same_call(root, call)
    else:
        from survsim.engine import write_json_atomic
        from survsim.experiments.store import check_new

        check_new(root)
        root.mkdir(parents=True, exist_ok=True)
        write_json_atomic({"calibration": as_stored(call)}, root / CALL)
    screening = pd.DataFrame()
    screening_missing: dict[str, int] = {}
    chosen = list(free)
    if len(free) > fit:
        screening, screening_missing = _screen(
            base,
            list(free),
            wanted,
            screen_size,
            runs,
            root / "screening" if root else None,
            dict(options),
        )
        top = set(screening["parameter"][:fit])
        chosen = [text for text, name in zip(free, names, strict=True) if name in top]
    fit_names, fit_bounds = _bounds(chosen)
    waves_done = iter(range(waves))

    def evaluate(drawn: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        wave = next(waves_done)
        summary = _runs_of(
            base, chosen, drawn, runs, root / f"wave-{wave}" if root else None, dict(options)
        )
        return _per_point(summary, [t.name for t in wanted], len(drawn), runs)

    match = history_match(
        fit_names,
        fit_bounds,
        wanted,
        evaluate,
        runs=runs,
        waves=waves,
        points_per_wave=points,
        seed=base.seed,
    )
    best_row = match.best
    best = {name: float(best_row[name]) for name in fit_names}
    calibrated = _calibrated_scenario(base, best, wanted, match)
    report = _report(base, wanted, match, screening, best, screening_missing)
    found = Calibration(match, screening, best, calibrated, report, screening_missing)
    if root is not None:
        _write(found, root, base.name)
    return found


#: The file in a calibration's folder that records the call (for ``--resume``).
CALL = "calibrate.json"


def _call(base: Scenario, targets: Sequence[str], free: Sequence[str], **sizes: int) -> dict:
    """What a calibration's results depend on: its scenario, targets, ranges and sizes."""
    return {"scenario": base.resolved(), "targets": list(targets), "free": list(free), **sizes}


def check_resumable(
    root: str | Path,
    scenario: str | Scenario,
    targets: Sequence[str],
    free: Sequence[str],
    *,
    fit: int = 3,
    runs: int = 2,
    waves: int = 2,
    points: int = 40,
    screen_size: int = 6,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
) -> None:
    """Refuse, before anything runs, to resume ``root`` with another call of :func:`calibrate`.

    Raises:
        SurvsimError: ``root`` holds no calibration, or one made by another call (the
            first difference is named).
    """
    base = _scenario(scenario, overrides, agents, steps, seed)
    call = _call(base, targets, free, fit=fit, runs=runs, waves=waves, points=points,
                 screen_size=screen_size)  # fmt: skip
    _check_same_call(Path(root), call)


def _check_same_call(root: Path, call: dict[str, Any]) -> None:
    """Refuse to resume a folder that holds no calibration, or another one."""
    record = root / CALL
    if not record.is_file():
        raise SurvsimError(f"--resume: {root} holds no calibration (no {CALL})")
    try:
        stored = json.loads(record.read_text(encoding="utf-8"))["calibration"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SurvsimError(f"--resume: {record} cannot be read ({exc})") from None
    wanted = as_stored(call)
    if stored != wanted:
        raise SurvsimError(
            f"--resume: {root} holds a different calibration ({first_difference(stored, wanted)})"
        )


def _set(params: dict[str, Any], key: str, value: Any) -> None:
    node = params
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _calibrated_scenario(
    base: Scenario, best: dict[str, float], targets: list[Target], match: HistoryMatch
) -> dict[str, Any]:
    data = base.resolved()
    # Only what the base scenario set (its file and overrides): the file stays as short.
    data["params"] = base.params.model_dump(exclude_unset=True)
    aims = ", ".join(f"{t.name} in [{t.low:g}, {t.high:g}]" for t in targets)
    full = base.params.model_dump()
    for key, value in best.items():
        current = full
        for part in key.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        whole = isinstance(current, int) and not isinstance(current, bool)
        # Four significant digits: the runs' noise leaves no meaning in the rest.
        kept = round(value) if whole else float(f"{value:.4g}")
        _set(data["params"], key, kept)
        data["sources"][key] = (
            f"calibrated (assumption): history matching to {aims}; "
            f"{len(match.plausible)} of {len(match.points)} points not ruled out"
        )
    data["name"] = f"{base.name}_calibrated"
    data["description"] = f"{base.description} (calibrated to {aims})"
    return data


def _report(
    base: Scenario,
    targets: list[Target],
    match: HistoryMatch,
    screening: pd.DataFrame,
    best: dict[str, float],
    screening_missing: dict[str, int] | None = None,
) -> str:
    row = match.best
    lines = [f"# Calibration of {base.name}", ""]
    lines += [
        "## Targets and the fit",
        "",
        "| target | interval | best point's mean | I |",
        "| --- | --- | --- | --- |",
    ]
    for t in targets:
        mean = row[t.name]
        shown = "missing" if pd.isna(mean) else f"{mean:.4g}"
        lines.append(f"| {t.name} | {t.low:g} to {t.high:g} | {shown} | {row[f'I:{t.name}']:.2f} |")
    lines += ["", "Best point: " + ", ".join(f"{k} = {v:.4g}" for k, v in best.items()), ""]
    lines += [
        f"{len(match.plausible)} of {len(match.points)} points are not ruled out "
        f"(implausibility at most {CUTOFF:g}; {match.runs} runs per point).",
        "",
    ]
    total = len(match.points) * match.runs
    for name, count in match.missing.items():
        lines.append(
            f"Target {name} missing in {count} of {total} runs"
            + (" (their points are ruled out)." if count else ".")
        )
    for name, count in (screening_missing or {}).items():
        if count:
            lines.append(
                f"Screening: target {name} missing in {count} runs (points whose runs all "
                "lacked it are left out of the Morris analysis)."
            )
    lines.append("")
    if len(screening):
        lines += [
            "## Screening (Morris)",
            "",
            "| parameter | influence (sum of mu*/sd) |",
            "| --- | --- |",
        ]
        lines += [f"| {r.parameter} | {r.influence:.3g} |" for r in screening.itertuples()]
        lines.append("")
    lines += [
        "## What the targets identify",
        "",
        "| parameter | prior range | not ruled out | share of prior | identified |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in match.identification().itertuples():
        lines.append(
            f"| {r.parameter} | {r.prior_low:.4g} to {r.prior_high:.4g} | {r.plausible_low:.4g} "
            f"to {r.plausible_high:.4g} | {r.share_of_prior:.2f} | "
            f"{'yes' if r.identified else 'no'} |"
        )
    lines.append("")
    ridges = match.ridges()
    if len(targets) < len(match.names):
        lines.append(
            f"{len(targets)} target(s) against {len(match.names)} parameters: the values that "
            "fit form a ridge (a curve or surface of equally good points), not a point. The "
            "best point is one of them; which one is not decided by these targets."
        )
    for a, b, r in ridges:
        lines.append(
            f"- {a} and {b} trade off along a ridge (correlation {r:+.2f} among the "
            "points not ruled out)."
        )
    return "\n".join(lines) + "\n"


def _write(found: Calibration, root: Path, name: str) -> None:
    from survsim.engine import write_json_atomic, write_parquet_atomic
    from survsim.report.experiments import plot_calibration

    root.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(_arrow(found.match.points), root / "calibration.parquet")
    write_text_atomic(found.match.identification().to_csv(index=False), root / "identification.csv")
    write_text_atomic(found.report, root / "calibration.md")
    match = found.match
    write_json_atomic(
        {
            "targets": [
                {
                    "name": t.name,
                    "low": t.low,
                    "high": t.high,
                    "missing": match.missing[t.name],
                    "screening_missing": found.screening_missing.get(t.name, 0),
                }
                for t in match.targets
            ],
            "runs": len(match.points) * match.runs,
            "runs_per_point": match.runs,
            "points": len(match.points),
            "plausible": len(match.plausible),
            "best": found.best,
        },
        root / "calibration.json",
    )
    text = yaml.safe_dump(found.scenario, sort_keys=False, allow_unicode=True)
    write_text_atomic(text, root / f"{name}_calibrated.yaml")
    plot_calibration(found.match, root / "calibration.png")
