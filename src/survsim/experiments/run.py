"""Running an experiment: its runs on Dask, then the tidy tables, aggregates and figures.

:func:`ensemble` and :func:`sweep` prepare a design (:mod:`survsim.experiments.prepare`)
and run it with :func:`run_experiment`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypedDict, Unpack

import pandas as pd
import pyarrow.parquet as pq

from survsim.engine import write_json_atomic, write_parquet_atomic
from survsim.engine.memory import check_fits
from survsim.engine.sim import Reporter, check_reporters
from survsim.errors import SurvsimError
from survsim.experiments import aggregate
from survsim.experiments.cluster import dask_client, local_workers
from survsim.experiments.design import Design, scenario_for
from survsim.experiments.execute import (
    HEARTBEAT,
    Progress,
    RunFailure,
    Runner,
    check_heartbeat,
    run_pending,
)
from survsim.experiments.prepare import prepare_ensemble, prepare_sweep
from survsim.experiments.result import ExperimentResult, StoredTable, load_experiment
from survsim.experiments.store import ExperimentStore, check_new
from survsim.experiments.worker import run_task
from survsim.models import MEMORY_ESTIMATES, MODELS
from survsim.report import experiments as figures
from survsim.report.surveillance import MIN_PRESENT
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
    """Compact the finished experiment's files, then write its aggregates and figures.

    The statistics are computed by DuckDB over the compacted files
    (:mod:`survsim.experiments.aggregate`): no run is read into memory here, and the
    result reads its per-run tables when they are first used.
    """
    design = store.design
    model = design.scenario["model"]
    root = store.root
    keys = list(design.keys)
    name = design.scenario["name"]
    store.compact()
    summary_file = store.compacted("summary")
    bands = speech = pd.DataFrame()
    with aggregate.connect(root) as con:
        stats = aggregate.stats_of(con, summary_file, keys)
        write_parquet_atomic(_arrow(stats), root / "stats.parquet")
        if design.kind == "ensemble":
            timeseries = store.compacted("timeseries")
            step = "day" if "day" in pq.read_schema(timeseries).names else "step"
            bands = aggregate.bands_of(con, timeseries, step)
            write_parquet_atomic(_arrow(bands), root / "bands.parquet")
            open_speech = store.compacted("open_speech")
            if open_speech is not None and store.rows("open_speech"):
                speech = aggregate.rates_of(con, open_speech, MIN_PRESENT)
                write_parquet_atomic(_arrow(speech), root / "open_speech_bands.parquet")
    if design.kind == "ensemble":
        title = f"{name}: {design.n_runs} runs, mean and 90% band"
        figures.plot_bands(bands, model, root / "bands.png", title)
        if (root / "open_speech_bands.parquet").is_file():
            figures.plot_open_speech_rates(
                speech,
                root / "open_speech_bands.png",
                f"{name}: open speech across {design.n_runs} runs",
            )
    else:
        # Every run is a dot: read the swept parameters and the numbers drawn, nothing else.
        names = pq.read_schema(summary_file).names
        drawn = [m for m in MODELS[model][0].headline if m in names]
        others = [c for c in names if c not in {"run", "point", "replicate", "seed", *keys}]
        figures.plot_sweep(
            store.read("summary", columns=[*keys, *(drawn or others[:4])]),
            keys,
            drawn,
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
        pd.read_parquet(root / "design.parquet"),
        StoredTable(store, "timeseries"),
        StoredTable(store, "open_speech"),
        StoredTable(store, "summary"),
        stats,
        bands,
        root,
        seconds,
        model=model,
        scenario=name,
        keys=tuple(keys),
        open_speech_bands=speech,
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
    heartbeat: float = HEARTBEAT,
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
        heartbeat: seconds the scheduler, or a worker holding a run, may stay silent
            before it counts as hung (a hung scheduler raises
            :class:`~survsim.experiments.execute.SchedulerLostError`; a hung worker is
            removed and its runs go to the others). 1 to 3600; default 30.

    Raises:
        ReporterError: a reporter's name is taken by the model's columns or is not an
            identifier, or a reporter is not callable.
        ExperimentFailedError: some runs failed on every try (the others are kept).
        SchedulerLostError: the connection to ``scheduler`` broke, or the scheduler did
            not answer for ``heartbeat`` seconds (the finished runs are kept; ``resume``
            runs the rest).
    """
    if retries < 0:
        raise SurvsimError(f"--retries {retries}: must be 0 or more")
    heartbeat = check_heartbeat(heartbeat)
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
                heartbeat=heartbeat,
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
                heartbeat=heartbeat,
            )
            result.read_all()  # the folder goes at the end of this block
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
                reporters=reporters, heartbeat=heartbeat,
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
    heartbeat: float


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
            ``heartbeat``, ``progress`` and ``reporters``, as for :func:`run_experiment` (without
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
            ``heartbeat``, ``progress`` and ``reporters``, as for :func:`run_experiment`.

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
