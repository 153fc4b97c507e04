"""Ensemble statistics: the mean and the 90% interval of every output across runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

__all__ = ["LOWER", "UPPER", "daily_bands", "metric_stats"]

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
        }
    )


def metric_stats(summary: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """One row per (design point and) summary metric: mean, sd, p05, median, p95, runs.

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
