"""What an ensemble or a sweep gives back: its tables, figures and folder.

:func:`load_experiment` reads a finished experiment's folder back as the same object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from survsim.errors import SurvsimError
from survsim.experiments.design import Design
from survsim.experiments.store import RUN_TABLES, ExperimentStore
from survsim.models import MODELS
from survsim.report import experiments as figures

__all__ = ["ExperimentResult", "load_experiment"]


class StoredTable:
    """A per-run table of an experiment's folder, read when it is first asked for."""

    def __init__(self, store: ExperimentStore, name: str) -> None:
        self.store, self.name = store, name

    def __call__(self) -> pd.DataFrame:
        """The table, read now (:meth:`~survsim.experiments.store.ExperimentStore.read`)."""
        return self.store.read(self.name)

    def rows(self) -> int:
        """Its rows, from the files' metadata."""
        return self.store.rows(self.name)


def _per_run(name: str, doc: str) -> Any:
    """A property holding a per-run table: a DataFrame, or read from the folder on first use."""

    def get(self: ExperimentResult) -> pd.DataFrame:
        value = self._tables[name]
        if isinstance(value, StoredTable):
            value = self._tables[name] = value()
        return value

    def put(self: ExperimentResult, value: pd.DataFrame) -> None:
        self._tables[name] = value

    return property(get, put, doc=doc)


class ExperimentResult:
    """The tidy tables of a finished ensemble or sweep (pandas DataFrames).

    The per-run tables (``timeseries``, ``open_speech``, ``summary``) of an experiment
    with a folder are read from it when first used: finishing or loading an experiment of
    many runs does not hold every run in memory. The others are small and read at once.

    Attributes:
        kind: ``ensemble`` or ``sweep``.
        design: one row per run: run, point, replicate, seed and the swept parameters.
        stats: per (point and) summary number: mean, sd, p05, median, p95, runs, missing.
        bands: per time-series column and day: mean, sd, p05, median, p95 (ensembles).
        open_speech_bands: per context and group size: the mean open-speech rate over
            runs, p05, p95 (ensembles of surveillance_state).
        path: the folder holding it all, or None when no folder was asked for.
        seconds: wall time of the whole experiment.
        model: the model's name (``surveillance_state``, ``civil_violence``).
        scenario: the scenario's name.
        keys: the swept parameters (a sweep), in the design's order.
    """

    timeseries = _per_run("timeseries", "One row per run and day.")
    open_speech = _per_run(
        "open_speech", "One row per run, context and group size (surveillance_state)."
    )
    summary = _per_run(
        "summary", "One row per run: its summary numbers (nested ones as ``national.x``)."
    )

    def __init__(
        self,
        kind: str,
        design: pd.DataFrame,
        timeseries: pd.DataFrame | StoredTable,
        open_speech: pd.DataFrame | StoredTable,
        summary: pd.DataFrame | StoredTable,
        stats: pd.DataFrame,
        bands: pd.DataFrame | None = None,
        path: Path | None = None,
        seconds: float = 0.0,
        model: str = "",
        scenario: str = "",
        keys: tuple[str, ...] = (),
        open_speech_bands: pd.DataFrame | None = None,
    ) -> None:
        self.kind = kind
        self.design = design
        self._tables = {"timeseries": timeseries, "open_speech": open_speech, "summary": summary}
        self.stats = stats
        self.bands = pd.DataFrame() if bands is None else bands
        self.open_speech_bands = pd.DataFrame() if open_speech_bands is None else open_speech_bands
        self.path = path
        self.seconds = seconds
        self.model = model
        self.scenario = scenario
        self.keys = tuple(keys)

    def _rows(self, name: str) -> int:
        """The rows of a per-run table, without reading it if it is still in the folder."""
        value = self._tables[name]
        return value.rows() if isinstance(value, StoredTable) else len(value)

    def read_all(self) -> None:
        """Read every per-run table into memory now (they are kept; the folder may then go)."""
        for name in self._tables:
            getattr(self, name)

    def figures(self) -> list[str]:
        """The figures :meth:`plot` draws: ``bands``, ``open_speech`` or ``sweep``."""
        if self.kind == "sweep":
            return ["sweep"]
        return ["bands", "open_speech"] if self._rows("open_speech") else ["bands"]

    def plot(self, figure: str | None = None, title: str = "") -> Any:
        """A matplotlib figure of the experiment (the same functions draw its PNGs).

        Args:
            figure: one of :meth:`figures` (default: the first).
            title: the figure's title (default: the figure's own).

        Raises:
            ValueError: ``figure`` is not one of :meth:`figures` (names those that are).
        """
        names = self.figures()
        name = names[0] if figure is None else figure
        if name not in names:
            raise ValueError(f"figure {name!r} is not one of: {', '.join(names)}")
        runs, keys = len(self.design), list(self.keys)
        if name == "sweep":
            headline = list(MODELS[self.model][0].headline) if self.model in MODELS else []
            title = title or f"{self.scenario}: sweep of {', '.join(keys)}"
            return figures.plot_sweep(self.summary, keys, headline, None, title)
        if name == "open_speech":
            title = title or f"{self.scenario}: open speech across {runs} runs"
            rates = self.open_speech_bands
            if rates.empty:
                rates = figures.open_speech_rates(self.open_speech)
            return figures.plot_open_speech_rates(rates, None, title)
        title = title or f"{self.scenario}: {runs} runs, mean and 90% band"
        return figures.plot_bands(self.bands, self.model, None, title)

    def _repr_html_(self) -> str:
        """The experiment in a notebook: kind, scenario, runs, folder and its statistics."""
        from html import escape

        where = escape(str(self.path)) if self.path is not None else "(not written)"
        head = (
            f"<p><b>{escape(self.kind)}</b> of <b>{escape(self.scenario or '?')}</b>: "
            f"{len(self.design):,} runs in {self.seconds:.1f} s; files in {where}</p>"
        )
        # The model's headline numbers first (a run's steps and size say little).
        headline = MODELS[self.model][0].headline if self.model in MODELS else ()
        shown = self.stats[self.stats["metric"].isin(headline)] if len(self.stats) else self.stats
        if shown.empty:
            shown = self.stats.head(12)
        table = shown.to_html(index=False, float_format=lambda x: f"{x:.4g}")
        more = len(self.stats) - len(shown)
        rest = f"<p>{more:,} more rows in <code>.stats</code></p>" if more > 0 else ""
        return head + table + rest

    def __repr__(self) -> str:
        where = f", path='{self.path}'" if self.path is not None else ""
        return (
            f"ExperimentResult(kind='{self.kind}', runs={len(self.design)}, "
            f"rows={self._rows('timeseries')}{where})"
        )


def _optional(path: Path) -> pd.DataFrame:
    """A small table of the folder, or an empty one where it was not written."""
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def load_experiment(root: str | Path) -> ExperimentResult:
    """A finished ensemble's or sweep's folder, read back as the result its run returned.

    The per-run tables are read when first used (see :class:`ExperimentResult`).

    Args:
        root: the folder given as ``out`` (``--out``).

    Raises:
        SurvsimError: the folder holds no experiment, or one that has not finished (its
            runs can be completed with ``--resume``), or cannot be read (one line).
    """
    root = Path(root)
    record, manifest = root / "experiment.json", root / "manifest.json"
    if not record.is_file():
        raise SurvsimError(f"{root} holds no experiment (no experiment.json)")
    if not manifest.is_file():
        raise SurvsimError(
            f"{root}: the experiment has not finished (no manifest.json); run the same "
            "command again with --resume to complete it"
        )
    try:
        design = Design.from_dict(json.loads(record.read_text(encoding="utf-8"))["design"])
        seconds = float(json.loads(manifest.read_text(encoding="utf-8"))["seconds"])
        if design.kind not in ("ensemble", "sweep"):
            raise ValueError(f"a {design.kind} is not an ensemble or a sweep")
        store = ExperimentStore(root, design)
        tables = {name: StoredTable(store, name) for name in RUN_TABLES}
        for table in tables.values():
            table.rows()  # every file's footer is there and readable
        return ExperimentResult(
            design.kind,
            pd.read_parquet(root / "design.parquet"),
            tables["timeseries"],
            tables["open_speech"],
            tables["summary"],
            pd.read_parquet(root / "stats.parquet"),
            _optional(root / "bands.parquet"),
            root,
            seconds,
            model=design.scenario["model"],
            scenario=design.scenario["name"],
            keys=tuple(design.keys),
            open_speech_bands=_optional(root / "open_speech_bands.parquet"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SurvsimError(f"{root}: the experiment cannot be read ({message})") from None
