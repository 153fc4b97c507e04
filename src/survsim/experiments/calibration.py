"""Calibration by history matching: rule out the parameter values the targets cannot allow.

A target is an interval for one summary number (``national.prisoners_steady_state=
80000:120000``). It is read as an observation at the interval's centre whose standard
deviation is a quarter of its width (the interval is about +-2 sd). A candidate point is
run ``runs`` times; its *implausibility* for a target is

    I = |mean - centre| / sqrt(sd_target^2 + var_runs / runs)

(Craig et al. 1997; Vernon, Goldstein and Bower 2010), and a point is *ruled out* when
its largest I over the targets exceeds the cutoff (3, Pukelsheim's three-sigma rule).
Each wave samples a Latin hypercube in the box that holds the points not yet ruled out,
so the search narrows where the targets allow. What is left says both what fits and what
the targets leave unidentified: a parameter whose non-implausible values span most of its
range is not identified, and two parameters whose non-implausible values are strongly
correlated lie on a ridge (one target constrains only a combination of them).

A run can lack a target: a summary number may be missing (None or NaN, as
``national.prisoners_steady_state`` is when the run's admissions give no steady state).
Such a run cannot show that its point fits, so a point with any run missing a target has
implausibility infinity for that target and is ruled out; :class:`HistoryMatch` counts
those runs per target (``missing``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from survsim.errors import SurvsimError
from survsim.experiments.design import latin_hypercube

__all__ = [
    "CUTOFF",
    "HistoryMatch",
    "Target",
    "history_match",
    "implausibility",
    "parse_target",
]

#: Implausibility above which a point is ruled out (Pukelsheim 1994: 3 sd holds at least
#: 95% of any unimodal distribution).
CUTOFF = 3.0


@dataclass(frozen=True)
class Target:
    """An interval the model's summary number ``name`` should fall in."""

    name: str
    low: float
    high: float

    @property
    def centre(self) -> float:
        """The middle of the interval."""
        return (self.low + self.high) / 2

    @property
    def sd(self) -> float:
        """The observation's standard deviation: a quarter of the interval's width."""
        return (self.high - self.low) / 4


def parse_target(text: str) -> Target:
    """``name=lo:hi`` (one line of error if malformed)."""
    name, sep, raw = text.partition("=")
    parts = raw.split(":")
    try:
        low, high = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        low = high = math.nan
    if not sep or not name.strip() or not (math.isfinite(low) and math.isfinite(high)):
        raise SurvsimError(
            f"--target {text!r}: expected name=lo:hi, for example "
            "national.prisoners_steady_state=80000:120000"
        )
    if not high > low:
        raise SurvsimError(f"--target {text!r}: hi must be above lo")
    return Target(name.strip(), low, high)


def implausibility(
    means: np.ndarray, variances: np.ndarray, runs: int, target: Target
) -> np.ndarray:
    """Implausibility of each point for one target (see the module's docstring).

    A point whose mean is missing (NaN: no run had the target) has implausibility
    infinity.

    Args:
        means: the metric's mean over each point's runs.
        variances: the metric's variance across each point's runs (0 for one run).
        runs: runs per point.
        target: the interval.
    """
    spread = target.sd**2 + np.nan_to_num(np.asarray(variances, dtype=np.float64)) / runs
    found = np.abs(np.asarray(means, dtype=np.float64) - target.centre) / np.sqrt(spread)
    return np.where(np.isnan(found), np.inf, found)


#: ``evaluate(points) -> (means, variances)`` or ``(means, variances, missing)``: each a
#: DataFrame with one row per point and one column per target name; ``missing`` counts
#: the runs of each point that lacked the target (without it, a NaN mean counts as
#: ``runs`` runs missing). A column absent from ``means`` is missing at every point.
Evaluate = Callable[[np.ndarray], tuple[pd.DataFrame, ...]]


@dataclass
class HistoryMatch:
    """The waves of a history match."""

    names: list[str]
    bounds: list[tuple[float, float]]
    targets: list[Target]
    runs: int
    #: One row per point evaluated: wave, the parameters, each target's mean, I and
    #: ``missing:<target>`` (its runs that lacked the target), and ``max_i`` (the largest
    #: I), ``plausible`` (max_i <= cutoff).
    points: pd.DataFrame

    @property
    def plausible(self) -> pd.DataFrame:
        """The points not ruled out."""
        return self.points[self.points["plausible"]]

    @property
    def missing(self) -> dict[str, int]:
        """Per target, how many runs (over every wave) lacked it; their points are ruled out."""
        return {
            t.name: int(self.points[f"missing:{t.name}"].sum())
            if f"missing:{t.name}" in self.points
            else 0
            for t in self.targets
        }

    @property
    def best(self) -> pd.Series:
        """The point with the smallest largest implausibility."""
        return self.points.loc[self.points["max_i"].idxmin()]

    def identification(self) -> pd.DataFrame:
        """What the targets pin down, per parameter.

        Returns:
            The range of its non-implausible values and the share of its prior range they
            span (near 1: the targets do not identify it).
        """
        rows = []
        kept = self.plausible
        for name, (low, high) in zip(self.names, self.bounds, strict=True):
            values = kept[name] if len(kept) else pd.Series(dtype=float)
            span = (values.max() - values.min()) / (high - low) if len(values) > 1 else 0.0
            rows.append(
                {
                    "parameter": name,
                    "prior_low": low,
                    "prior_high": high,
                    "plausible_low": values.min() if len(values) else math.nan,
                    "plausible_high": values.max() if len(values) else math.nan,
                    "share_of_prior": span,
                    "identified": bool(len(values)) and span < 0.5,
                }
            )
        return pd.DataFrame(rows)

    def ridges(self, threshold: float = 0.7) -> list[tuple[str, str, float]]:
        """Pairs of parameters whose non-implausible values correlate beyond ``threshold``."""
        kept = self.plausible
        found = []
        if len(kept) < 5:
            return found
        for i, a in enumerate(self.names):
            for b in self.names[i + 1 :]:
                if kept[a].std() > 0 and kept[b].std() > 0:
                    r = float(np.corrcoef(kept[a], kept[b])[0, 1])
                    if abs(r) >= threshold:
                        found.append((a, b, r))
        return found


def history_match(
    names: Sequence[str],
    bounds: Sequence[tuple[float, float]],
    targets: Sequence[Target],
    evaluate: Evaluate,
    *,
    runs: int,
    waves: int = 2,
    points_per_wave: int = 40,
    seed: int = 0,
    cutoff: float = CUTOFF,
) -> HistoryMatch:
    """Run ``waves`` waves of ``points_per_wave`` Latin-hypercube points each.

    The first wave covers ``bounds``; each later one the box of the points not ruled out
    so far, widened by one stratum (the same box again if every point was ruled out).
    """
    if not targets:
        raise SurvsimError("give at least one --target name=lo:hi")
    if waves < 1 or points_per_wave < 2:
        raise SurvsimError("--waves must be at least 1 and --points at least 2")
    box = [tuple(map(float, b)) for b in bounds]
    frames = []
    for wave in range(waves):
        drawn = latin_hypercube(points_per_wave)(box, seed + wave)  # type: ignore[arg-type]
        means, variances, missing = _evaluated(evaluate(drawn), targets, len(drawn), runs)
        frame = pd.DataFrame(drawn, columns=list(names))
        frame.insert(0, "wave", wave)
        worst = np.zeros(len(frame))
        for target in targets:
            i = implausibility(means[target.name], variances[target.name], runs, target)
            # A run without the target cannot show that its point fits: ruled out.
            i = np.where(missing[target.name] > 0, np.inf, i)
            frame[target.name] = means[target.name]
            frame[f"I:{target.name}"] = i
            frame[f"missing:{target.name}"] = missing[target.name]
            worst = np.maximum(worst, i)
        frame["max_i"] = worst
        frame["plausible"] = worst <= cutoff
        frames.append(frame)
        kept = pd.concat(frames)
        kept = kept[kept["plausible"]]
        if len(kept):
            # The next box holds every point not ruled out, widened by one stratum of the
            # current box on each side (the space between samples is not ruled out either),
            # and stays within the prior bounds.
            box = [
                (
                    max(lo, float(kept[n].min()) - (b[1] - b[0]) / points_per_wave),
                    min(hi, float(kept[n].max()) + (b[1] - b[0]) / points_per_wave),
                )
                for n, b, (lo, hi) in zip(names, box, bounds, strict=True)
            ]
    return HistoryMatch(
        list(names),
        [tuple(b) for b in bounds],
        list(targets),
        runs,
        pd.concat(frames, ignore_index=True),
    )


def _column(frame: pd.DataFrame | None, name: str, points: int, fill: float) -> np.ndarray:
    """``frame[name]`` as floats, or ``fill`` at every point where there is no such column."""
    if frame is None or name not in frame:
        return np.full(points, fill)
    return np.asarray(frame[name], dtype=np.float64).reshape(-1)


def _evaluated(
    found: tuple[pd.DataFrame, ...], targets: Sequence[Target], points: int, runs: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each target's means, variances and runs missing per point, as arrays of ``points``.

    A target absent from ``means`` is missing in every run; without a ``missing`` frame a
    NaN mean counts as ``runs`` runs missing (so does one whose count says none).
    """
    means, variances, *rest = found
    counts = rest[0] if rest else None
    out: tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]] = ({}, {}, {})
    for target in targets:
        name = target.name
        mean = _column(means, name, points, np.nan)
        missing = np.nan_to_num(_column(counts, name, points, 0.0))
        missing = np.where(np.isnan(mean) & (missing == 0), runs, missing)
        out[0][name] = mean
        out[1][name] = np.nan_to_num(_column(variances, name, points, 0.0))
        out[2][name] = missing.astype(np.int64)
    return out
