"""An experiment's folder: the design, one Parquet partition per run, the aggregates.

Layout (``OUT``)::

    experiment.json        the design: scenario, seeds, parameter points (for --resume)
    design.parquet         one row per run: run, point, replicate, seed, parameter values
    timeseries/run=N/      one row per day of run N (hive partitioning: DuckDB, pandas
    open_speech/run=N/     and pyarrow read the folder as one table with a run column)
    summary/run=N/         one row: the run's summary numbers (written last: the run's
                           completion mark)
    stats.parquet, ...     written once every run has finished

Each file is written atomically, so a run is either complete in the folder or absent;
stopping an experiment keeps every finished run and ``--resume`` runs the rest.

Once every run has finished, :meth:`ExperimentStore.compact` gathers each table's per-run
files into one file, ``timeseries/compacted.parquet`` (sorted by run, with ``run`` as its
first column), so that 10,000 runs are three files rather than 30,000. It is crash-safe:
the compacted file is written whole under a temporary name and renamed into place, and
only then are the per-run folders removed. A compacted file holds every run of its
table, so the readers here take it alone and ignore per-run folders left beside it by an
interrupted compaction (never counting a run twice); the next compaction removes them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from survsim.engine import check_output_dir, write_json_atomic, write_parquet_atomic
from survsim.engine.results import OutputExistsError
from survsim.errors import SurvsimError
from survsim.experiments.design import Design, RunSpec
from survsim.experiments.worker import RunOutput

__all__ = [
    "COMPACTED",
    "RUN_TABLES",
    "ExperimentStore",
    "as_stored",
    "first_difference",
    "summary_table",
]

#: The per-run datasets, in the order they are written (summary last: the completion mark).
RUN_TABLES = ("timeseries", "open_speech", "summary")
PART = "part-0.parquet"
#: The one file a table's per-run files are compacted into, in the table's folder.
COMPACTED = "compacted.parquet"
#: The compacted file is written in row groups of at most this many bytes of data and
#: this many runs: the memory compaction needs, whatever the number of runs (one run's
#: file is read at a time; a run's small table costs far more than its bytes of data).
GROUP_BYTES = 32 << 20
GROUP_RUNS = 256
#: Within a run, rows are in the order of these columns (those a table has).
ORDER = ("day", "step", "context", "group_size")
#: Threads reading the per-run files, and how many files they may read ahead.
READ_THREADS, READ_AHEAD = 4, 16


def as_stored(data: Any) -> Any:
    """JSON round trip: tuples become lists, so designs compare as stored."""
    return json.loads(json.dumps(data, default=str))


def first_difference(stored: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> str:
    """The first key where two designs differ, as ``key: stored vs wanted``."""
    for key in sorted(set(stored) | set(wanted)):
        a, b = stored.get(key), wanted.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            return first_difference(a, b, f"{prefix}{key}.")
        return f"{prefix}{key}: {json.dumps(a)[:60]} there, {json.dumps(b)[:60]} asked"
    return ""


def check_new(root: str | Path) -> Path:
    """``root`` as a Path if a new experiment may be written there.

    Raises:
        OutputExistsError: ``root`` is a file or a folder that is not empty.
    """
    try:
        return check_output_dir(root)
    except OutputExistsError as exc:
        raise OutputExistsError(f"{exc} (add --resume to finish the experiment it holds)") from None


class ExperimentStore:
    """Reads and writes one experiment folder."""

    def __init__(self, root: Path, design: Design) -> None:
        self.root = root
        self.design = design

    @classmethod
    def open(cls, root: str | Path, design: Design, *, resume: bool) -> ExperimentStore:
        """Create the folder for ``design``, or with ``resume`` reopen the one holding it.

        Raises:
            OutputExistsError: ``root`` is not empty and ``resume`` is false.
            SurvsimError: ``resume`` and the folder holds no experiment, or another one.
        """
        root = Path(root)
        record = root / "experiment.json"
        if resume:
            if not record.is_file():
                raise SurvsimError(f"--resume: {root} holds no experiment (no experiment.json)")
            try:
                stored = json.loads(record.read_text(encoding="utf-8"))["design"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SurvsimError(f"--resume: {record} cannot be read ({exc})") from None
            wanted = as_stored(design.to_dict())
            if stored != wanted:
                difference = first_difference(stored, wanted)
                raise SurvsimError(f"--resume: {root} holds a different experiment ({difference})")
            return cls(root, design)
        check_new(root)
        root.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(design.table(), root / "design.parquet")
        from survsim.engine import environment

        write_json_atomic(
            {"design": as_stored(design.to_dict()), "environment": environment()}, record
        )
        return cls(root, design)

    def compacted(self, name: str) -> Path | None:
        """The compacted file of table ``name``, or None while it is in per-run files."""
        path = self.root / name / COMPACTED
        return path if path.is_file() else None

    def parts(self, name: str) -> dict[int, Path]:
        """The per-run files of table ``name`` in the folder, by run (in run order)."""
        found = {}
        for part in (self.root / name).glob(f"run=*/{PART}"):
            try:
                found[int(part.parent.name.removeprefix("run="))] = part
            except ValueError:
                continue
        return dict(sorted(found.items()))

    def done(self) -> set[int]:
        """The runs whose results are complete in the folder (compacted or not)."""
        runs = set(self.parts("summary"))
        compacted = self.compacted("summary")
        if compacted is not None:
            runs |= _runs_in(compacted)
        return runs

    def _columns(self, spec: RunSpec, rows: int) -> dict[str, pa.Array]:
        """The columns that say which run a row belongs to (run is the partition key)."""
        columns: dict[str, pa.Array] = {
            "point": pa.array([spec.point] * rows, pa.int32()),
            "replicate": pa.array([spec.replicate] * rows, pa.int32()),
            "seed": pa.array([spec.seed] * rows, pa.int64()),
        }
        for key, value in spec.overrides:
            columns[key] = pa.array([value] * rows)
        return columns

    def _with_run(self, spec: RunSpec, table: pa.Table) -> pa.Table:
        head = self._columns(spec, table.num_rows)
        return pa.table({**head, **{n: table.column(n) for n in table.column_names}})

    def write(self, spec: RunSpec, output: RunOutput) -> None:
        """Write one finished run's partitions (the summary last)."""
        summary = summary_table(output.summary)
        tables = {
            "timeseries": output.timeseries,
            "open_speech": output.open_speech,
            "summary": summary,
        }
        for name in RUN_TABLES:
            table = tables[name]
            if table is None:
                continue
            folder = self.root / name / f"run={spec.run}"
            folder.mkdir(parents=True, exist_ok=True)
            write_parquet_atomic(self._with_run(spec, table), folder / PART)

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A per-run dataset as one tidy DataFrame, sorted by run (and day).

        Args:
            name: ``timeseries``, ``open_speech`` or ``summary``.
            columns: read only these (those the table has), besides ``run``.
        """
        compacted = self.compacted(name)
        if compacted is not None:  # it holds every run: leftover per-run files are ignored
            source: Any = pq.ParquetFile(compacted)
            names = source.schema_arrow.names
        elif self.parts(name):
            source = ds.dataset(self.root / name, format="parquet", partitioning="hive")
            names = source.schema.names
        else:
            return pd.DataFrame()
        wanted = None if columns is None else ["run", *(c for c in columns if c in names)]
        table = source.read(columns=wanted) if compacted else source.to_table(columns=wanted)
        frame = table.to_pandas()
        frame.insert(0, "run", frame.pop("run").astype("int32"))
        order = ["run", *[c for c in ORDER if c in frame]]
        return frame.sort_values(order, kind="stable").reset_index(drop=True)

    def rows(self, name: str) -> int:
        """The rows of table ``name`` (from the files' metadata: nothing is read)."""
        compacted = self.compacted(name)
        files = [compacted] if compacted is not None else list(self.parts(name).values())
        return sum(pq.ParquetFile(path).metadata.num_rows for path in files)

    def compact(self) -> None:
        """Gather each table's per-run files into one file (the experiment has finished).

        Per table: the compacted file is written whole under a temporary name and renamed
        into place; only then are the per-run folders removed. A kill at any point loses
        no run, and calling this again finishes the work.

        Raises:
            SurvsimError: runs of the design are missing from the folder, or per-run
                files beside a compacted file hold runs it lacks.
        """
        missing = set(range(self.design.n_runs)) - self.done()
        if missing:
            raise SurvsimError(
                f"{self.root}: {len(missing)} runs have not finished (run {min(missing)} "
                "first); the folder is compacted once every run has"
            )
        for name in RUN_TABLES:
            self._compact(name)

    def _compact(self, name: str) -> None:
        folder = self.root / name
        if not folder.is_dir():
            return
        for stale in folder.glob(f".{COMPACTED}.*.tmp"):  # a compaction killed midway
            stale.unlink(missing_ok=True)
        parts = self.parts(name)
        compacted = self.compacted(name)
        if compacted is None:
            if not parts:
                return
            _write_compacted(parts, folder / COMPACTED)
            kept = set(parts)
        else:  # an earlier compaction stopped before removing the per-run files
            kept = _runs_in(compacted)
        if not set(parts) <= kept:
            extra = sorted(set(parts) - kept)
            raise SurvsimError(
                f"{folder}: run {extra[0]} is in a per-run file but not in {COMPACTED}; "
                "move one of them away"
            )
        for run_folder in folder.glob("run=*"):
            shutil.rmtree(run_folder)

    def write_failures(self, failures: list[dict[str, Any]]) -> Path | None:
        """Record the runs that failed (or clear the record once none did)."""
        path = self.root / "failures.json"
        if not failures:
            path.unlink(missing_ok=True)
            return None
        return write_json_atomic({"failed_runs": failures}, path)


def summary_table(summary: dict[str, Any]) -> pa.Table:
    """One run's flat summary as a one-row table.

    A number the run could not estimate (None) is a null float64, so that every run's
    partition has the same type for it (a column of nulls alone would have Arrow's null
    type, which the other runs' numbers cannot be read into).
    """
    return pa.table(
        {k: pa.array([v], pa.float64()) if v is None else [v] for k, v in summary.items()}
    )


def _runs_in(path: Path) -> set[int]:
    """The runs in a compacted file (read a row group at a time)."""
    source = pq.ParquetFile(path)
    runs: set[int] = set()
    for group in range(source.num_row_groups):
        column = source.read_row_group(group, columns=["run"]).column("run")
        runs.update(pc.unique(column).to_pylist())
    return runs


def _conform(table: pa.Table, schema: pa.Schema, run: int) -> pa.Table:
    """One run's table in the compacted file's schema, its run as the first column.

    Its rows are sorted as :meth:`ExperimentStore.read` sorts them, so every reader of the
    compacted file gets the rows in the same order.
    """
    order = [(key, "ascending") for key in ORDER if key in table.column_names]
    table = table.sort_by(order) if order else table
    run_column = pa.array(np.full(table.num_rows, run, dtype=np.int32))
    joined = table.add_column(0, schema.field("run"), run_column)
    if joined.schema.equals(schema):  # the usual case: every run has the same columns
        return joined
    columns = [run_column]
    for field in schema:
        if field.name == "run":
            continue
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.table(columns, schema=schema)


def _read_ahead(parts: dict[int, Path], schema: pa.Schema) -> Iterator[pa.Table]:
    """The parts' tables conformed to ``schema``, in run order.

    A few threads read the next files meanwhile (Parquet reads release the GIL), never more
    than ``READ_AHEAD`` ahead, so the memory held stays a few runs' tables.
    """

    def read(run: int, part: Path) -> pa.Table:
        return _conform(pq.ParquetFile(part).read(use_threads=False), schema, run)

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        pending: deque[Future[pa.Table]] = deque()
        for run, part in parts.items():
            pending.append(pool.submit(read, run, part))
            if len(pending) > READ_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _write_compacted(parts: dict[int, Path], path: Path) -> Path:
    """Write ``parts`` (run -> file) into one file at ``path``, atomically, in run order.

    The schema is every part's schema unified (a column all null in one run takes the
    type it has in the others); the parts are read one at a time, so the memory needed is
    one row group (``GROUP_BYTES``, ``GROUP_RUNS``), whatever the number of runs.
    """
    unified = None
    for part in parts.values():  # one schema held at a time
        schema = pq.read_schema(part)
        if unified is None or not unified.equals(schema):
            both = [schema] if unified is None else [unified, schema]
            unified = pa.unify_schemas(both, promote_options="permissive")
    schema = pa.schema([pa.field("run", pa.int32(), nullable=False), *unified])
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            batch: list[pa.Table] = []
            size = 0
            for table in _read_ahead(parts, schema):
                batch.append(table)
                size += table.nbytes
                if size >= GROUP_BYTES or len(batch) >= GROUP_RUNS:
                    writer.write_table(pa.concat_tables(batch))
                    batch, size = [], 0
            if batch:
                writer.write_table(pa.concat_tables(batch))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
