"""Ensemble statistics: the mean and the 90% interval of every output across runs.

A summary number a run could not estimate is NaN in that run's row (None in its
summary). It is left out of the statistics of that number, and counted: ``runs`` is the
number of runs that have it and ``missing`` the number that do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

__all__ = ["LOWER", "UPPER", "daily_bands", "metric_stats", "paired_effects"]

#: The 90% interval: the 5th and 95th percentiles across runs.
LOWER, UPPER = 0.05, 0.95
#: Columns that identify a run rather than measure it.
ID_COLUMNS = ("run", "point", "replicate", "seed")


def _describe(groups: pd.core.groupby.DataFrameGroupBy) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "mean": groups.mean(),
            "sd": groups.std(ddof=1),
            "p05": groups.quantile(LOWER),
            "median": groups.quantile(0.5),
            "p95": groups.quantile(UPPER),
            "runs": groups.count(),
            "missing": groups.size() - groups.count(),
        }
    )


def metric_stats(summary: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Per (design point and) summary metric: mean, sd, p05, median, p95, runs, missing.

    The statistics are over the runs that have the metric (``runs``); ``missing`` counts
    the runs where it is NaN.

    Args:
        summary: one row per run (the ``summary`` dataset).
        by: columns to group by first (a sweep's parameters); none for an ensemble.
    """
    by = list(by or [])
    skip = set(ID_COLUMNS) | set(by)
    metrics = [c for c in summary.columns if c not in skip]
    long = summary.melt(id_vars=by or None, value_vars=metrics, var_name="metric")
    long["value"] = long["value"].astype("float64")
    stats = _describe(long.groupby([*by, "metric"], sort=False)["value"]).reset_index()
    stats["runs"] = stats["runs"].astype("int64")
    stats["missing"] = stats["missing"].astype("int64")
    return stats


def daily_bands(timeseries: pd.DataFrame, step: str = "day") -> pd.DataFrame:
    """One row per output column and day: mean, sd, p05, median, p95 across runs.

    Args:
        timeseries: one row per run and day, sorted by run then day (as
            :meth:`~survsim.experiments.store.ExperimentStore.read` returns it); every run
            has the same days.
        step: the name of the day column.
    """
    skip = set(ID_COLUMNS) | {step}
    columns = [c for c in timeseries.columns if c not in skip and is_numeric_dtype(timeseries[c])]
    runs = timeseries["run"].nunique()
    days = timeseries.loc[timeseries["run"] == timeseries["run"].iloc[0], step].to_numpy()
    if len(timeseries) != runs * len(days):
        raise ValueError("daily_bands: the runs do not all have the same days")
    # (runs, days, columns): every statistic is one vectorised reduction over the runs.
    cube = timeseries[columns].to_numpy(dtype=np.float64).reshape(runs, len(days), len(columns))
    low, median, high = np.quantile(cube, [LOWER, 0.5, UPPER], axis=0)
    sd = cube.std(axis=0, ddof=1) if runs > 1 else np.full(cube.shape[1:], np.nan)
    shape = (len(columns), len(days))
    return pd.DataFrame(
        {
            "column": np.repeat(columns, len(days)),
            step: np.tile(days, len(columns)),
            "mean": cube.mean(axis=0).T.reshape(-1),
            "sd": sd.T.reshape(-1),
            "p05": low.T.reshape(-1),
            "median": median.T.reshape(-1),
            "p95": high.T.reshape(-1),
            "runs": np.full(shape[0] * shape[1], runs, dtype=np.int64),
        }
    )


def paired_effects(
    summary: pd.DataFrame,
    key: str,
    baseline: float,
    change: float,
    metrics: list[str],
    resamples: int = 4000,
) -> pd.DataFrame:
    """The effect of one parameter change, paired by seed (common random numbers).

    A sweep gives replicate r the same seed at every point, so the difference between two
    points within one replicate is free of the noise the two runs share. For each metric
    this returns the mean of both arms, the mean paired difference with its 90% confidence
    interval (a percentile bootstrap over replicates, with a fixed seed so the numbers
    repeat), the 5th and 95th percentiles of the paired differences themselves (how much
    one run's effect varies), and the relative change. A replicate whose metric is
    missing (NaN) in either arm is left out of that metric's pairs; ``pairs`` counts the
    pairs used and ``missing`` those left out (all NaN when none is left).

    Args:
        summary: a sweep's ``summary`` table (one row per run).
        key: the swept parameter.
        baseline: its value in the reference arm.
        change: its value in the changed arm.
        metrics: summary columns to compare.
        resamples: bootstrap resamples.

    Raises:
        ValueError: an arm is missing or the arms do not share their replicates.
    """
    arms = {}
    for name, value in (("baseline", baseline), ("change", change)):
        rows = summary[np.isclose(summary[key].astype(float), float(value))]
        if rows.empty:
            raise ValueError(f"paired_effects: no run has {key} = {value}")
        arms[name] = rows.set_index("replicate").sort_index()
    if not arms["baseline"].index.equals(arms["change"].index):
        raise ValueError("paired_effects: the two arms do not have the same replicates")
    n = len(arms["baseline"])
    rows = []
    for metric in metrics:
        before = arms["baseline"][metric].to_numpy(dtype=np.float64)
        after = arms["change"][metric].to_numpy(dtype=np.float64)
        both = np.isfinite(before) & np.isfinite(after)
        before, after = before[both], after[both]
        kept = len(before)
        if kept == 0:
            rows.append({"metric": metric, "pairs": 0, "missing": n})
            continue
        diff = after - before
        pick = np.random.default_rng(0).integers(0, kept, size=(resamples, kept))
        means = diff[pick].mean(axis=1)
        rows.append(
            {
                "metric": metric,
                "baseline": before.mean(),
                "change": after.mean(),
                "difference": diff.mean(),
                "ci_low": np.quantile(means, LOWER),
                "ci_high": np.quantile(means, UPPER),
                "runs_p05": np.quantile(diff, LOWER),
                "runs_p95": np.quantile(diff, UPPER),
                "relative": diff.mean() / before.mean() if before.mean() else np.nan,
                "pairs": kept,
                "missing": n - kept,
            }
        )
    columns = ["metric", "baseline", "change", "difference", "ci_low", "ci_high"]
    columns += ["runs_p05", "runs_p95", "relative", "pairs", "missing"]
    return pd.DataFrame(rows, columns=columns)
