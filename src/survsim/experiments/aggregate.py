"""An experiment's statistics, computed by DuckDB over its Parquet files.

The same numbers as the in-memory functions of :mod:`survsim.experiments.stats`
(:func:`~survsim.experiments.stats.metric_stats`,
:func:`~survsim.experiments.stats.daily_bands`) and of
:func:`survsim.report.experiments.open_speech_rates`, which the tests hold them to, but
without reading the runs into memory: DuckDB streams the files, so the memory needed does
not grow with the number of runs.

Only the percentiles need every value of their group at once (DuckDB's ``quantile_cont``,
linear interpolation as numpy's default). Each query therefore covers a slice of the
table (some metrics, some columns and days, some group sizes) holding at most
``VALUES_PER_QUERY`` values, and DuckDB's own buffers are capped at ``MEMORY_LIMIT``.
The peak is then bounded whatever the number of runs (a slice is never smaller than one
day of one column, that is one value per run: 4 million runs before the bound moves).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from survsim.errors import SurvsimError
from survsim.experiments.stats import ID_COLUMNS, LOWER, UPPER

__all__ = ["MEMORY_LIMIT", "VALUES_PER_QUERY", "bands_of", "connect", "rates_of", "stats_of"]

#: The most values one query's percentiles hold (8 bytes each: 32 MiB).
VALUES_PER_QUERY = 1 << 22
#: DuckDB's memory limit (it spills what does not fit to a scratch folder).
MEMORY_LIMIT = "512MB"
#: The percentiles a statistic row gives, in order: p05, median, p95.
QUANTILES = f"[{LOWER}, 0.5, {UPPER}]"


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise SurvsimError(
            "an experiment's statistics are computed by DuckDB, which is not installed: "
            "pip install 'survsim[dask]'"
        ) from None
    return duckdb


@contextmanager
def connect(scratch: Path, threads: int | None = None) -> Iterator[Any]:
    """An in-memory DuckDB connection capped at ``MEMORY_LIMIT``, with no downloads.

    It spills into a folder made (and removed) in ``scratch``.
    """
    duckdb = _duckdb()
    with TemporaryDirectory(prefix=".duckdb-", dir=scratch) as tmp:
        config = {
            "memory_limit": MEMORY_LIMIT,
            "temp_directory": tmp,
            "autoinstall_known_extensions": False,
        }
        if threads is not None:
            config["threads"] = threads
        con = duckdb.connect(config=config)
        try:
            yield con
        finally:
            con.close()


def _query(con: Any, sql: str, params: dict[str, Any]) -> pa.Table:
    """The rows of a query as an Arrow table (DuckDB 1.x and 2.x)."""
    relation = con.sql(sql, params=params)
    read = getattr(relation, "to_arrow_table", None)
    found = read() if read is not None else relation.arrow()
    return found.read_all() if isinstance(found, pa.RecordBatchReader) else found


def _name(column: str) -> str:
    """A column's name quoted for SQL (parameter names have dots)."""
    return '"' + column.replace('"', '""') + '"'


def _skip_nan(column: str) -> str:
    """A column as DOUBLE with NaN as NULL, so it is left out as pandas leaves it out."""
    value = f"{_name(column)}::DOUBLE"
    return f"(CASE WHEN isnan({value}) THEN NULL ELSE {value} END)"


def _numeric(field: pa.Field) -> bool:
    kind = field.type
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)


def _slices(sizes: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive index ranges ``[lo, hi)`` of ``sizes``, each summing to ``budget`` at most.

    A range holds at least one item, however large.
    """
    spans, lo, total = [], 0, 0
    for i, size in enumerate(sizes):
        if i > lo and total + size > budget:
            spans.append((lo, i))
            lo, total = i, 0
        total += size
    if lo < len(sizes):
        spans.append((lo, len(sizes)))
    return spans


def _split(quantiles: pa.ChunkedArray) -> list[np.ndarray]:
    """DuckDB's list of percentiles per row as one float array per percentile."""
    return [
        pc.list_element(quantiles, i).to_numpy(zero_copy_only=False).astype(np.float64)
        for i in range(3)
    ]


def _float(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False).astype(np.float64)


def stats_of(con: Any, summary: Path, keys: Sequence[str] = ()) -> pd.DataFrame:
    """Per (design point and) summary number: mean, sd, p05, median, p95, runs, missing.

    The DuckDB version of :func:`~survsim.experiments.stats.metric_stats`: a run whose
    number is NaN or null is left out of its statistics and counted in ``missing``; rows
    come in the same order (number by number, points in order of their first run).

    Args:
        con: from :func:`connect`.
        summary: the compacted ``summary`` file (one row per run).
        keys: the swept parameters (a sweep's points), none for an ensemble.
    """
    keys = list(keys)
    schema = pq.read_schema(summary)
    metrics = [name for name in schema.names if name not in {*ID_COLUMNS, *keys}]
    runs = pq.ParquetFile(summary).metadata.num_rows
    by = ", ".join(_name(k) for k in keys)
    frames = []
    for lo, hi in _slices([runs] * len(metrics), VALUES_PER_QUERY):
        chunk = metrics[lo:hi]
        select = [*(_name(k) for k in keys), "min(run) AS first_run", "count(*) AS n"]
        for i, metric in enumerate(chunk):
            value = _skip_nan(metric)
            select += [
                f"avg({value}) AS mean_{i}",
                f"stddev_samp({value}) AS sd_{i}",
                f"quantile_cont({value}, {QUANTILES}) AS q_{i}",
                f"count({value}) AS runs_{i}",
            ]
        sql = f"SELECT {', '.join(select)} FROM read_parquet($path)"
        sql += f" GROUP BY {by} ORDER BY first_run" if keys else ""
        wide = _query(con, sql, {"path": str(summary)})
        n = _float(wide.column("n")).astype(np.int64)
        for i, metric in enumerate(chunk):
            low, median, high = _split(wide.column(f"q_{i}"))
            counted = _float(wide.column(f"runs_{i}")).astype(np.int64)
            frame = pd.DataFrame(index=range(wide.num_rows))
            for key in keys:
                frame[key] = wide.column(key).to_pandas()
            frame["metric"] = metric
            frame["mean"] = _float(wide.column(f"mean_{i}"))
            frame["sd"] = _float(wide.column(f"sd_{i}"))
            frame["p05"], frame["median"], frame["p95"] = low, median, high
            frame["runs"], frame["missing"] = counted, n - counted
            frames.append(frame)
    if not frames:
        columns = [*keys, "metric", "mean", "sd", "p05", "median", "p95", "runs", "missing"]
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def bands_of(con: Any, timeseries: Path, step: str = "day") -> pd.DataFrame:
    """One row per output column and day: mean, sd, p05, median, p95 across runs.

    The DuckDB version of :func:`~survsim.experiments.stats.daily_bands`, to the same
    rules: every numeric column but the run's identity and the day, every run over the
    same days, and (as numpy) a day where a run lacks the value (NaN or null) has NaN
    statistics.

    Args:
        con: from :func:`connect`.
        timeseries: the compacted ``timeseries`` file.
        step: the name of the day column.

    Raises:
        ValueError: the runs do not all have the same days.
    """
    schema = pq.read_schema(timeseries)
    columns = [f.name for f in schema if f.name not in {*ID_COLUMNS, step} and _numeric(f)]
    source = {"path": str(timeseries)}
    day = _name(step)
    days_table = _query(
        con,
        f"SELECT {day} AS day, count(*) AS n FROM read_parquet($path) GROUP BY ALL ORDER BY 1",
        source,
    )
    days = days_table.column("day").to_numpy(zero_copy_only=False)
    per_day = days_table.column("n").to_numpy(zero_copy_only=False)
    runs = _query(con, "SELECT count(DISTINCT run) AS runs FROM read_parquet($path)", source)
    runs = int(runs.column("runs")[0].as_py())
    if (per_day != runs).any():
        raise ValueError("daily_bands: the runs do not all have the same days")
    if not len(days) or not columns:
        return pd.DataFrame(columns=["column", step, "mean", "sd", "p05", "median", "p95", "runs"])
    # A slice: some columns over every day, or one column over some days.
    if runs * len(days) <= VALUES_PER_QUERY:
        pieces = [
            (columns[lo:hi], 0, len(days))
            for lo, hi in _slices([runs * len(days)] * len(columns), VALUES_PER_QUERY)
        ]
    else:
        spans = _slices([runs] * len(days), VALUES_PER_QUERY)
        pieces = [([column], lo, hi) for column in columns for lo, hi in spans]
    found: dict[str, list[pd.DataFrame]] = {column: [] for column in columns}
    for chunk, lo, hi in pieces:
        select = [f"{day} AS day"]
        for i, column in enumerate(chunk):
            value = f"{_name(column)}::DOUBLE"
            select += [
                f"avg({value}) AS mean_{i}",
                f"stddev_samp({value}) AS sd_{i}",
                f"quantile_cont({value}, {QUANTILES}) AS q_{i}",
                f"bool_or({value} IS NULL OR isnan({value})) AS gap_{i}",
            ]
        sql = (
            f"SELECT {', '.join(select)} FROM read_parquet($path) "
            f"WHERE {day} BETWEEN $lo AND $hi GROUP BY {day} ORDER BY {day}"
        )
        bounds = {"lo": days[lo].item(), "hi": days[hi - 1].item()}
        wide = _query(con, sql, {**source, **bounds})
        for i, column in enumerate(chunk):
            gap = wide.column(f"gap_{i}").to_numpy(zero_copy_only=False).astype(bool)
            values = {
                "mean": _float(wide.column(f"mean_{i}")),
                "sd": _float(wide.column(f"sd_{i}")),
                **dict(zip(("p05", "median", "p95"), _split(wide.column(f"q_{i}")), strict=True)),
            }
            for array in values.values():
                array[gap] = np.nan
            found[column].append(pd.DataFrame({step: days[lo:hi], **values}))
    frames = [frame.assign(column=column) for column in columns for frame in found[column]]
    bands = pd.concat(frames, ignore_index=True)
    bands["runs"] = np.int64(runs)
    return bands[["column", step, "mean", "sd", "p05", "median", "p95", "runs"]]


def rates_of(con: Any, open_speech: Path, min_present: int) -> pd.DataFrame:
    """Per context and group size: the mean open-speech rate over runs and its 90% band.

    The DuckDB version of :func:`survsim.report.experiments.open_speech_rates`: bins with
    fewer than ``min_present`` people present in a run (and groups of one) are left out of
    that run; rows in order of first appearance (by run, context, group size).

    Args:
        con: from :func:`connect`.
        open_speech: the compacted ``open_speech`` file.
        min_present: the fewest people present for a bin to count.
    """
    source = {"path": str(open_speech), "least": min_present}
    kept = "FROM read_parquet($path) WHERE present >= $least AND group_size >= 2"
    sizes = con.sql(
        f"SELECT group_size, count(*) AS n {kept} GROUP BY ALL ORDER BY 1", params=source
    ).fetchall()
    value = _skip_nan("open_speech_rate")
    frames = []
    for lo, hi in _slices([n for _, n in sizes], VALUES_PER_QUERY):
        sql = (
            f"SELECT context, group_size, min(run) AS first_run, avg({value}) AS mean, "
            f"quantile_cont({value}, [{LOWER}, {UPPER}]) AS q, count({value}) AS runs "
            f"{kept} AND group_size BETWEEN $lo AND $hi GROUP BY ALL"
        )
        bounds = {"lo": sizes[lo][0], "hi": sizes[hi - 1][0]}
        frames.append(_query(con, sql, {**source, **bounds}).to_pandas())
    if not frames:
        return pd.DataFrame(columns=["context", "group_size", "mean", "p05", "p95", "runs"])
    rates = pd.concat(frames, ignore_index=True)
    rates = rates.sort_values(["first_run", "context", "group_size"], kind="stable")
    quantiles = np.array([[np.nan, np.nan] if q is None else q for q in rates["q"]], dtype=float)
    rates["p05"], rates["p95"] = quantiles[:, 0], quantiles[:, 1]
    rates["runs"] = rates["runs"].astype(np.int64)
    return rates[["context", "group_size", "mean", "p05", "p95", "runs"]].reset_index(drop=True)
