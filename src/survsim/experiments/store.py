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
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from survsim.engine import check_output_dir, write_json_atomic, write_parquet_atomic
from survsim.engine.results import OutputExistsError
from survsim.errors import SurvsimError
from survsim.experiments.design import Design, RunSpec
from survsim.experiments.worker import RunOutput

__all__ = ["RUN_TABLES", "ExperimentStore", "summary_table"]

#: The per-run datasets, in the order they are written (summary last: the completion mark).
RUN_TABLES = ("timeseries", "open_speech", "summary")
PART = "part-0.parquet"


def _plain(data: Any) -> Any:
    """JSON round trip: tuples become lists, so designs compare as stored."""
    return json.loads(json.dumps(data, default=str))


def _difference(stored: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> str:
    """The first key where two designs differ, as ``key: stored vs wanted``."""
    for key in sorted(set(stored) | set(wanted)):
        a, b = stored.get(key), wanted.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            return _difference(a, b, f"{prefix}{key}.")
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
            wanted = _plain(design.to_dict())
            if stored != wanted:
                raise SurvsimError(
                    f"--resume: {root} holds a different experiment ({_difference(stored, wanted)})"
                )
            return cls(root, design)
        check_new(root)
        root.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(design.table(), root / "design.parquet")
        from survsim.engine import environment

        write_json_atomic(
            {"design": _plain(design.to_dict()), "environment": environment()}, record
        )
        return cls(root, design)

    def done(self) -> set[int]:
        """The runs whose results are complete in the folder."""
        folder = self.root / "summary"
        if not folder.is_dir():
            return set()
        runs = set()
        for part in folder.glob(f"run=*/{PART}"):
            try:
                runs.add(int(part.parent.name.removeprefix("run=")))
            except ValueError:
                continue
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

    def read(self, name: str) -> pd.DataFrame:
        """A per-run dataset as one tidy DataFrame, sorted by run (and day)."""
        folder = self.root / name
        if not folder.is_dir():
            return pd.DataFrame()
        dataset = ds.dataset(folder, format="parquet", partitioning="hive")
        table = dataset.to_table()
        frame = table.to_pandas()
        frame.insert(0, "run", frame.pop("run").astype("int32"))
        order = ["run", *[c for c in ("day", "step", "context", "group_size") if c in frame]]
        return frame.sort_values(order, kind="stable").reset_index(drop=True)

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
