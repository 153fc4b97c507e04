"""Running an experiment: its runs on Dask, then the tidy tables, aggregates and figures.

:func:`ensemble` and :func:`sweep` prepare a design (:mod:`survsim.experiments.prepare`)
and run it with :func:`run_experiment`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypedDict, Unpack

import pandas as pd

from survsim.engine import write_json_atomic, write_parquet_atomic
from survsim.engine.memory import check_fits
from survsim.engine.sim import Reporter, check_reporters
from survsim.errors import SurvsimError
from survsim.experiments.cluster import dask_client, local_workers
from survsim.experiments.design import Design, scenario_for
from survsim.experiments.execute import Progress, RunFailure, Runner, run_pending
from survsim.experiments.prepare import prepare_ensemble, prepare_sweep
from survsim.experiments.stats import daily_bands, metric_stats
from survsim.experiments.store import ExperimentStore, check_new
from survsim.experiments.worker import run_task
from survsim.models import MEMORY_ESTIMATES, MODELS
from survsim.report import experiments as figures
from survsim.scenario import Scenario

__all__ = [
    "ExperimentFailedError",
    "ExperimentResult",
    "RunOptions",
    "ensemble",
    "load_experiment",
    "run_experiment",
    "sweep",
    "tiny_sim",
]


class ExperimentFailedError(SurvsimError):
    """Some runs failed on every try; the others are kept and ``resume`` retries these.

    The CLI exits with code 1: the input was fine, the experiment did not complete.
    """

    exit_code = 1

    def __init__(self, message: str, failures: list[RunFailure], path: Path | None) -> None:
        super().__init__(message)
        self.failures = failures
        self.path = path


@dataclass
class ExperimentResult:
    """The tidy tables of a finished ensemble or sweep (pandas DataFrames).

    Attributes:
        kind: ``ensemble`` or ``sweep``.
        design: one row per run: run, point, replicate, seed and the swept parameters.
        timeseries: one row per run and day.
        open_speech: one row per run, context and group size (surveillance_state).
        summary: one row per run: its summary numbers (nested ones as ``national.x``).
        stats: per (point and) summary number: mean, sd, p05, median, p95, runs.
        bands: per time-series column and day: mean, sd, p05, median, p95 (ensembles).
        path: the folder holding it all, or None when no folder was asked for.
        seconds: wall time of the whole experiment.
        model: the model's name (``surveillance_state``, ``civil_violence``).
        scenario: the scenario's name.
        keys: the swept parameters (a sweep), in the design's order.
    """

    kind: str
    design: pd.DataFrame
    timeseries: pd.DataFrame
    open_speech: pd.DataFrame
    summary: pd.DataFrame
    stats: pd.DataFrame
    bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    path: Path | None = None
    seconds: float = 0.0
    model: str = ""
    scenario: str = ""
    keys: tuple[str, ...] = ()

    def figures(self) -> list[str]:
        """The figures :meth:`plot` draws: ``bands``, ``open_speech`` or ``sweep``."""
        if self.kind == "sweep":
            return ["sweep"]
        return ["bands", "open_speech"] if len(self.open_speech) else ["bands"]

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
            return figures.plot_open_speech_bands(self.open_speech, None, title)
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
        stats = self.stats.head(12).to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return head + stats

    def __repr__(self) -> str:
        where = f", path='{self.path}'" if self.path is not None else ""
        return (
            f"ExperimentResult(kind='{self.kind}', runs={len(self.design)}, "
            f"rows={len(self.timeseries)}{where})"
        )


def load_experiment(root: str | Path) -> ExperimentResult:
    """A finished ensemble's or sweep's folder, read back as the result its run returned.

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
        bands = root / "bands.parquet"
        return ExperimentResult(
            design.kind,
            pd.read_parquet(root / "design.parquet"),
            store.read("timeseries"),
            store.read("open_speech"),
            store.read("summary"),
            pd.read_parquet(root / "stats.parquet"),
            pd.read_parquet(bands) if bands.is_file() else pd.DataFrame(),
            root,
            seconds,
            model=design.scenario["model"],
            scenario=design.scenario["name"],
            keys=tuple(design.keys),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SurvsimError(f"{root}: the experiment cannot be read ({message})") from None


def tiny_sim(model: str, steps: int = 1) -> Any:
    """A tiny run of ``model`` (300 people where it has people), built but not run.

    Building it compiles the model's kernels or loads them from numba's cache.
    """
    sim_class, params_class = MODELS[model]
    small = {"agents": 300} if "agents" in params_class.model_fields else {}
    return sim_class(params_class(**small), seed=0, steps=steps)


def _checked_reporters(model: str, reporters: Mapping[str, Reporter]) -> dict[str, Reporter]:
    """``reporters`` checked in this process (names free among ``model``'s columns)."""
    columns = set(tiny_sim(model, 0).timeseries().column_names)
    return check_reporters(reporters, columns)


def _warm(design: Design) -> None:
    """Compile (or load) the model's kernels once here, before workers start.

    Workers on this machine then load them from numba's cache instead of each compiling
    them at the same time (a cold cache compiles in parallel processes,
    :func:`survsim.warm.warm`).
    """
    from survsim.warm import warm

    warm([design.scenario["model"]])


def _check_local_memory(design: Design, workers: int) -> None:
    """Refuse up front an experiment whose concurrent runs would not fit in memory.

    The largest run of the design (a sweep may vary the population) counts for each worker.
    """
    runs = design.runs()[:: design.replicates]  # one run per point
    largest = max(
        MEMORY_ESTIMATES[design.scenario["model"]](scenario.params, scenario.steps)
        for scenario in (scenario_for(design.scenario, spec) for spec in runs)
    )
    check_fits(
        largest * min(workers, design.n_runs),
        f"{min(workers, design.n_runs)} runs at once of scenario '{design.scenario['name']}'",
    )


def _finish(store: ExperimentStore, seconds: float, where: str) -> ExperimentResult:
    """Read the finished experiment back, write its aggregates and figures."""
    design = store.design
    model = design.scenario["model"]
    root = store.root
    design_table = pd.read_parquet(root / "design.parquet")
    summary = store.read("summary")
    timeseries = store.read("timeseries")
    open_speech = store.read("open_speech")
    keys = list(design.keys)
    stats = metric_stats(summary, by=keys)
    write_parquet_atomic(_arrow(stats), root / "stats.parquet")
    name = design.scenario["name"]
    if design.kind == "ensemble":
        step = "day" if "day" in timeseries.columns else "step"
        bands = daily_bands(timeseries, step=step)
        write_parquet_atomic(_arrow(bands), root / "bands.parquet")
        title = f"{name}: {design.n_runs} runs, mean and 90% band"
        figures.plot_bands(bands, model, root / "bands.png", title)
        if len(open_speech):
            figures.plot_open_speech_bands(
                open_speech,
                root / "open_speech_bands.png",
                f"{name}: open speech across {design.n_runs} runs",
            )
    else:
        bands = pd.DataFrame()
        figures.plot_sweep(
            summary,
            keys,
            list(MODELS[model][0].headline),
            root / "sweep.png",
            f"{name}: sweep of {', '.join(keys)}",
        )
    write_json_atomic(
        {
            "kind": design.kind,
            "scenario": name,
            "runs": design.n_runs,
            "where": where,
            "seconds": round(seconds, 3),
            "files": sorted(p.name for p in root.iterdir() if not p.name.startswith(".")),
        },
        root / "manifest.json",
    )
    return ExperimentResult(
        design.kind,
        design_table,
        timeseries,
        open_speech,
        summary,
        stats,
        bands,
        root,
        seconds,
        model=model,
        scenario=name,
        keys=tuple(keys),
    )


def _arrow(frame: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def run_experiment(
    design: Design,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retries: int = 2,
    progress: Progress | bool | None = None,
    runner: Runner = run_task,
    reporters: Mapping[str, Reporter] | None = None,
) -> ExperimentResult:
    """Run every run of ``design`` on Dask and return the tidy tables.

    Args:
        design: from :func:`prepare_ensemble` or :func:`prepare_sweep`.
        out: the folder to write; None keeps nothing on disk (a temporary folder).
        workers: worker processes of the LocalCluster (default: one per core).
        scheduler: address of an existing Dask scheduler, instead of a LocalCluster.
        resume: finish the experiment already in ``out`` (its design must be the same).
        retries: how many more times a failed run is tried before it is reported.
        progress: ``progress(finished, failed, total)`` after every run, or True for a
            progress bar on stderr.
        runner: the function a worker calls per run (tests replace it).
        reporters: user reporters ``{"name": fn}``: every run's time series gains a
            column ``fn(sim)`` per step, with its daily band (see
            :class:`~survsim.engine.sim.Sim`); the functions travel to the workers. The
            names are part of the design: ``resume`` needs the same ones.

    Raises:
        ReporterError: a reporter's name is taken by the model's columns or is not an
            identifier, or a reporter is not callable.
        ExperimentFailedError: some runs failed on every try (the others are kept).
        SchedulerLostError: the connection to ``scheduler`` broke (the finished runs are
            kept; ``resume`` runs the rest).
    """
    if retries < 0:
        raise SurvsimError(f"--retries {retries}: must be 0 or more")
    if reporters:
        reporters = _checked_reporters(design.scenario["model"], reporters)
        design = replace(design, reporters=tuple(reporters))
    if progress is True:
        from rich.console import Console

        from survsim.experiments.progress import RunsBar

        with RunsBar(Console(stderr=True), design.scenario["name"]) as bar:
            return run_experiment(
                design, out, workers=workers, scheduler=scheduler, resume=resume,
                retries=retries, progress=bar, runner=runner, reporters=reporters,
            )  # fmt: skip
    progress = progress or None
    if out is None:
        if resume:
            raise SurvsimError("--resume needs --out, the folder of the experiment to finish")
        with TemporaryDirectory(prefix="survsim-") as tmp:
            result = run_experiment(
                design,
                Path(tmp) / "experiment",
                workers=workers,
                scheduler=scheduler,
                retries=retries,
                progress=progress,
                runner=runner,
                reporters=reporters,
            )
            result.path = None
            return result
    start = time.perf_counter()
    if scheduler is None:
        n = local_workers(workers, design.n_runs)
        _check_local_memory(design, n)
        where = f"LocalCluster, {n} workers"
    else:
        where = f"scheduler {scheduler}"
    # Nothing is written before the cluster is up and its workers checked: a bad address,
    # or a worker that runs another survsim, leaves no folder behind.
    store = ExperimentStore.open(out, design, resume=True) if resume else None
    if store is None:
        check_new(out)
    if store is None or len(store.done()) < design.n_runs:
        if scheduler is None:
            _warm(design)
        model = design.scenario["model"]
        with dask_client(
            workers=workers, scheduler=scheduler, runs=design.n_runs, warm=[model]
        ) as client:
            if store is None:
                store = ExperimentStore.open(out, design, resume=False)
            failures = run_pending(
                client, design, store, retries=retries, progress=progress, runner=runner,
                reporters=reporters,
            )  # fmt: skip
        store.write_failures([f.as_dict() for f in failures])
        if failures:
            first = failures[0]
            raise ExperimentFailedError(
                f"{len(failures)} of {design.n_runs} runs failed after {first.tries} "
                f"{'try' if first.tries == 1 else 'tries'} "
                f"(run {first.run}: {first.error}); the {design.n_runs - len(failures)} others "
                f"are kept in {store.root} (failures.json lists them; --resume tries them again)",
                failures,
                store.root,
            )
    return _finish(store, time.perf_counter() - start, where)


class RunOptions(TypedDict, total=False):
    """Where and how an experiment runs: the keyword arguments of :func:`run_experiment`."""

    out: str | Path | None
    workers: int | None
    scheduler: str | None
    resume: bool
    retries: int
    progress: Progress | bool | None
    reporters: Mapping[str, Reporter] | None


def ensemble(
    scenario: str | Scenario,
    runs: int = 10,
    *,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    **options: Unpack[RunOptions],
) -> ExperimentResult:
    """Run a scenario ``runs`` times with seeds derived from ``seed`` and the run index.

    Args:
        scenario: a built-in name, a YAML file, or a :class:`~survsim.Scenario`.
        runs: how many runs.
        overrides: ``key=value`` overrides, as ``--set``.
        agents: simulated people, as ``--agents`` (surveillance_state).
        steps: steps of each run (default: the scenario's).
        seed: the base seed (default: the scenario's); each run's seed derives from it.
        **options: ``out``, ``workers``, ``scheduler``, ``resume``, ``retries``,
            ``progress`` and ``reporters``, as for :func:`run_experiment` (without
            ``out``, nothing is kept on disk).

    Returns:
        The tidy tables; ``stats`` holds the mean and 90% interval of every output.
    """
    design = prepare_ensemble(
        scenario, runs, overrides=overrides, agents=agents, steps=steps, seed=seed
    )
    return run_experiment(design, **options)


def sweep(
    scenario: str | Scenario,
    params: Sequence[str] | Mapping[str, Sequence[Any]],
    runs: int = 1,
    *,
    samples: int | None = None,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    **options: Unpack[RunOptions],
) -> ExperimentResult:
    """Run a scenario at every point of a parameter design, ``runs`` times each.

    Args:
        scenario: a built-in name, a YAML file, or a :class:`~survsim.Scenario`.
        params: ``key=lo:hi:n`` (grid of n values), ``key=a,b,c`` (listed values) or, with
            ``samples``, ``key=lo:hi`` (a Latin hypercube); or a mapping key -> values.
        runs: runs per point; replicate r of every point has the same seed (common
            random numbers).
        samples: Latin hypercube points instead of a grid.
        overrides: ``key=value`` overrides, as ``--set``.
        agents: simulated people, as ``--agents`` (surveillance_state).
        steps: steps of each run (default: the scenario's).
        seed: the base seed (default: the scenario's); replicate r's seed derives from it.
        **options: ``out``, ``workers``, ``scheduler``, ``resume``, ``retries``,
            ``progress`` and ``reporters``, as for :func:`run_experiment`.

    Returns:
        The tidy tables, with one column per swept parameter; ``stats`` per point.
    """
    design = prepare_sweep(
        scenario,
        params,
        runs,
        samples=samples,
        overrides=overrides,
        agents=agents,
        steps=steps,
        seed=seed,
    )
    return run_experiment(design, **options)
