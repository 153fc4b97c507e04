"""Sensitivity analysis of a scenario: SALib's points, run as a sweep on Dask.

``survsim sensitivity dprk --method morris --param speech.delta=0.1:0.6 ...`` draws the
method's points in the given ranges, runs each point ``runs`` times (replicate r of every
point shares a seed: common random numbers), takes the mean of ``--metric`` over a point's
runs, and hands the means to SALib. The cost is stated before anything runs.

A run whose metric is missing (None in its summary, NaN in the table) is left out of its
point's mean; a point none of whose runs has the metric is left out of the analysis
with its Morris trajectory or Sobol block (:func:`~.sensitivity.analyse`). The result
says how many runs lacked the metric and how many points were left out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

import numpy as np
import pandas as pd

from survsim.engine import write_json_atomic, write_parquet_atomic
from survsim.engine.results import write_text_atomic
from survsim.errors import SurvsimError
from survsim.experiments.design import Design, parse_param, sampled_design
from survsim.experiments.prepare import _scenario
from survsim.experiments.run import ExperimentResult, RunOptions, _arrow, run_experiment, tiny_sim
from survsim.experiments.sensitivity import analyse, complete_groups, cost, sample
from survsim.experiments.worker import flat_summary
from survsim.report.experiments import plot_sensitivity
from survsim.scenario import Scenario

__all__ = [
    "SensitivityResult",
    "check_metric",
    "describe_cost",
    "metric_names",
    "prepare_sensitivity",
    "run_sensitivity",
    "sensitivity",
]

#: Titles of the methods' figures.
METHODS_TITLE = {"morris": "Morris screening", "sobol": "Sobol indices"}


@dataclass
class SensitivityResult:
    """Indices of one metric, and the experiment they came from."""

    method: str
    metric: str
    indices: pd.DataFrame
    experiment: ExperimentResult
    runs: int
    #: Runs whose metric was missing (left out of their point's mean).
    missing: int = 0
    #: Points left out of the analysis: no run had the metric, or their trajectory
    #: (Morris) or block (Sobol) held such a point.
    points_dropped: int = 0

    def __repr__(self) -> str:
        gaps = f", missing={self.missing}" if self.missing else ""
        return (
            f"SensitivityResult(method='{self.method}', metric='{self.metric}', "
            f"parameters={len(self.indices)}, runs={self.runs}{gaps})"
        )


@functools.cache
def metric_names(model: str) -> tuple[str, ...]:
    """The numbers of a run's summary (``national.x`` for nested ones), from a tiny run.

    Cached: the CLI checks a metric before it states the cost, and the analysis again.
    """
    from survsim.api import summary

    return tuple(flat_summary(summary(tiny_sim(model, steps=2).run())))


def _bounds(params: Sequence[str]) -> tuple[list[str], list[tuple[float, float]]]:
    names, bounds = [], []
    for text in params:
        r = parse_param(text)
        if r.low is None or r.high is None or r.count is not None:
            raise SurvsimError(f"--param {text!r}: sensitivity takes ranges key=lo:hi")
        names.append(r.key.removeprefix("params."))
        bounds.append((r.low, r.high))
    return names, bounds


def prepare_sensitivity(
    scenario: str | Scenario,
    method: str,
    params: Sequence[str],
    size: int,
    runs: int = 1,
    *,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
) -> Design:
    """The validated design of a sensitivity analysis: the method's points x ``runs``."""
    base = _scenario(scenario, overrides, agents, steps, seed)
    names, _ = _bounds(params)
    cost(method, size, len(names), runs)  # checks method and size

    def sampler(bounds: list[tuple[float, float]], seed: int) -> np.ndarray:
        return sample(method, names, bounds, size, seed)

    return sampled_design(base, list(params), runs, method, sampler)


def describe_cost(method: str, size: int, dims: int, runs: int) -> str:
    """The cost of a method in words, as the CLI prints it before it starts."""
    total = cost(method, size, dims, runs)
    if method == "morris":
        points = f"{size} trajectories x ({dims} + 1) = {size * (dims + 1):,} points"
    else:
        points = f"N(2D + 2) = {size} x (2 x {dims} + 2) = {size * (2 * dims + 2):,} points"
    return f"{method}: {points} x {runs} run{'s' if runs > 1 else ''} = {total:,} runs"


def check_metric(model: str, metric: str) -> None:
    """Raise a one-line error unless ``metric`` is a number of the model's summary."""
    known = metric_names(model)
    if metric not in known:
        raise SurvsimError(f"--metric {metric}: not a summary number (allowed: {', '.join(known)})")


def run_sensitivity(
    design: Design,
    params: Sequence[str],
    metric: str,
    size: int,
    **options: Unpack[RunOptions],
) -> SensitivityResult:
    """Run a design from :func:`prepare_sensitivity` and analyse ``metric``.

    With ``out``, the folder also gets ``sensitivity.parquet``, ``.csv``, ``.json`` and
    ``.png``.
    """
    method = design.method
    check_metric(design.scenario["model"], metric)
    result = run_experiment(design, **options)
    runs = result.summary.reindex(columns=["point", metric]).astype({metric: "float64"})
    means = runs.groupby("point")[metric].mean()  # over the runs that have the metric
    values = means.reindex(range(len(design.points))).to_numpy(dtype=np.float64)
    names, bounds = _bounds(params)
    # The analysis sees the sampler's own values (integer parameters ran rounded).
    drawn = sample(method, names, bounds, size, design.seed)
    indices = analyse(method, names, bounds, drawn, values, seed=design.seed)
    dropped = int((~complete_groups(method, len(names), values)).sum())
    missing = int(runs[metric].isna().sum()) + design.n_runs - len(runs)
    found = SensitivityResult(method, metric, indices, result, design.n_runs, missing, dropped)
    if result.path is not None:
        _write(found, result.path, design)
    return found


def sensitivity(
    scenario: str | Scenario,
    method: str,
    params: Sequence[str],
    metric: str,
    size: int = 10,
    runs: int = 1,
    *,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    **options: Unpack[RunOptions],
) -> SensitivityResult:
    """Morris or Sobol indices of one summary number of a scenario.

    Args:
        scenario: a built-in name, a YAML file, or a :class:`~survsim.Scenario`.
        method: ``morris`` (screening) or ``sobol`` (variance decomposition).
        params: the uncertain parameters, ``key=lo:hi`` each.
        metric: a number of the run's summary (``national.prisoners_steady_state``).
        size: Morris trajectories, or Sobol's base sample N (a power of two).
        runs: runs (seeds) per point; the point's metric is their mean.
        overrides: ``key=value`` overrides, as ``--set``.
        agents: simulated people, as ``--agents`` (surveillance_state).
        steps: steps of each run (default: the scenario's).
        seed: the base seed; the points and the runs' seeds derive from it.
        **options: ``out``, ``workers``, ``scheduler``, ``resume``, ``retries`` and
            ``progress``, as for :func:`~survsim.experiments.run_experiment`.

    Returns:
        The indices (one row per parameter) and the experiment's tables.
    """
    design = prepare_sensitivity(
        scenario,
        method,
        params,
        size,
        runs,
        overrides=overrides,
        agents=agents,
        steps=steps,
        seed=seed,
    )
    return run_sensitivity(design, params, metric, size, **options)


def _write(found: SensitivityResult, root: Path, design: Design) -> None:
    write_parquet_atomic(_arrow(found.indices), root / "sensitivity.parquet")
    write_text_atomic(found.indices.to_csv(index=False), root / "sensitivity.csv")
    write_json_atomic(
        {
            "method": found.method,
            "metric": found.metric,
            "parameters": list(design.keys),
            "points": len(design.points),
            "runs": found.runs,
            "missing": found.missing,
            "points_dropped": found.points_dropped,
            # NaN (an index that could not be computed) as null: JSON has no NaN.
            "indices": found.indices.astype(object)
            .where(found.indices.notna(), None)
            .to_dict(orient="records"),
        },
        root / "sensitivity.json",
    )
    plot_sensitivity(
        found.indices,
        found.method,
        found.metric,
        root / "sensitivity.png",
        f"{design.scenario['name']}: {METHODS_TITLE[found.method]} of {found.metric}",
    )
