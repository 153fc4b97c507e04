"""The ``survsim ensemble`` and ``survsim sweep`` commands. Thin: parse, call, print.

The experiment machinery (and with it pandas and Dask) is imported only when one of these
commands runs, so ``survsim run`` starts as fast as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from survsim.cli_output import check_writable, default_out, default_scenario, shown
from survsim.errors import SurvsimError
from survsim.experiments.progress import RunsBar
from survsim.models import MODELS

if TYPE_CHECKING:
    from survsim.experiments import Design, ExperimentResult

__all__ = ["calibrate", "ensemble", "sensitivity", "sweep"]

Runs = Annotated[int, typer.Option(help="runs (ensemble), or runs per point (sweep)")]
Steps = Annotated[int | None, typer.Option(help="steps of each run")]
Agents = Annotated[int | None, typer.Option(help="simulated people (surveillance_state)")]
Seed = Annotated[
    int | None, typer.Option(help="base seed; each run's seed is derived from it and its index")
]
Set = Annotated[
    list[str] | None, typer.Option("--set", help="override a value: key=value (repeatable)")
]
Out = Annotated[Path | None, typer.Option(help="output folder (default: a new folder under runs/)")]
Workers = Annotated[
    int | None,
    typer.Option(help="worker processes of the local Dask cluster (default: one per core)"),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="address of an existing Dask scheduler (tcp://HOST:PORT) to run on"),
]
SchedulerFile = Annotated[
    Path | None,
    typer.Option(
        "--scheduler-file",
        help="the scheduler file of an existing Dask scheduler (dask scheduler "
        "--scheduler-file PATH) to run on, instead of --scheduler",
    ),
]
Resume = Annotated[
    bool, typer.Option("--resume", help="finish the experiment in --out: run what is missing")
]
Retries = Annotated[int, typer.Option(help="tries after the first for a run that fails")]
Heartbeat = Annotated[
    float,
    typer.Option(
        help="seconds the Dask scheduler, or a worker holding a run, may stay silent before "
        "it counts as hung: a hung scheduler ends the command (--resume finishes it), a hung "
        "worker's runs go to the others"
    ),
]
ShowProgress = Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar")]


def _scheduler(scheduler: str | None, scheduler_file: Path | None) -> str | None:
    """The scheduler address from ``--scheduler`` or ``--scheduler-file`` (checked first)."""
    from survsim.experiments.cluster import scheduler_address

    return scheduler_address(scheduler, scheduler_file)


#: The most rows of statistics printed (a sweep of many points has them all in stats.parquet).
MAX_ROWS = 40


def _execute(
    design: Design,
    kind: str,
    *,
    run: Callable[..., Any] | None = None,
    out: Path | None,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    retries: int,
    heartbeat: float,
    progress: bool | None,
) -> ExperimentResult:
    from survsim.experiments import run_experiment
    from survsim.experiments.execute import check_heartbeat
    from survsim.experiments.store import check_new

    check_heartbeat(heartbeat)
    run = run or run_experiment
    name = design.scenario["name"]
    if resume and out is None:
        raise SurvsimError(f"--resume needs --out, the folder of the {kind} to finish")
    if out is None:
        out = default_out(name, design.seed, kind)
    elif not resume:
        check_new(out)
    check_writable(out)
    err = Console(stderr=True)
    show_bar = err.is_terminal if progress is None else progress
    bar = RunsBar(err, name) if show_bar else None
    where = f"scheduler {scheduler}" if scheduler else "a local Dask cluster"
    announced = []
    unit = MODELS[design.scenario["model"]][0].step_name

    def report(finished: int, failed: int, total: int) -> None:
        if not announced:  # once the cluster is up: bad input stays a single line
            announced.append(True)
            err.print(
                f"{kind} of {name}: {total:,} runs of {design.scenario['steps']:,} {unit}s on "
                f"{where}; results in {out}",
                highlight=False,
                soft_wrap=True,
            )
        if bar is not None:
            bar(finished, failed, total)

    try:
        with bar if bar is not None else nullcontext():
            return run(
                design,
                out,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                retries=retries,
                heartbeat=heartbeat,
                progress=report,
            )
    except KeyboardInterrupt:
        error = SurvsimError(
            f"interrupted: the finished runs are kept in {out}; run the same command with "
            "--resume to finish"
        )
        error.exit_code = 130
        raise error from None


def _interval(row: Any) -> str:
    if row["runs"] == 0:
        return "n/a"
    return f"{shown(float(row['p05']))} to {shown(float(row['p95']))}"


def _missing(row: Any) -> str:
    """Runs that lacked the output ("" when none), as the stats table counts them."""
    gaps = int(row.get("missing", 0))
    return f"{gaps:,} of {gaps + int(row['runs']):,}" if gaps else ""


def _print_stats(result: ExperimentResult, model: str, keys: list[str]) -> None:
    stats = result.stats
    wanted = [m for m in MODELS[model][0].headline if m in set(stats["metric"])]
    table = Table(
        title=f"survsim {result.kind}: {result.design.shape[0]:,} runs in "
        f"{result.seconds:,.1f} s (mean, and 90% of runs between)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for key in keys:
        table.add_column(key, justify="right")
    table.add_column("output")
    table.add_column("mean", justify="right")
    table.add_column("90% interval", justify="right")
    rows = stats[stats["metric"].isin(wanted)]
    order = {m: i for i, m in enumerate(wanted)}
    rows = rows.assign(_o=rows["metric"].map(order)).sort_values([*keys, "_o"], kind="stable")
    hidden = max(0, len(rows) - MAX_ROWS)
    # Runs that could not estimate an output are left out of its statistics; say how many.
    gaps = "missing" in rows and bool((rows["missing"].head(MAX_ROWS) > 0).any())
    if gaps:
        table.add_column("runs missing it", justify="right")
    for _, row in rows.head(MAX_ROWS).iterrows():
        table.add_row(
            *(shown(row[k].item() if hasattr(row[k], "item") else row[k]) for k in keys),
            str(row["metric"]),
            shown(float(row["mean"])) if row["runs"] else "n/a",
            _interval(row),
            *([_missing(row)] if gaps else []),
        )
    console = Console()
    console.print(table)
    if hidden:
        console.print(f"... and {hidden:,} more rows (one per point and output) in stats.parquet")
    console.print(
        "every output, with sd and median: stats.parquet; per run and day: timeseries/",
        highlight=False,
    )
    console.print(f"results in {result.path}", soft_wrap=True, highlight=False)


def ensemble(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="a built-in scenario name or a YAML file (default: dprk)", show_default=False
        ),
    ] = None,
    runs: Runs = 10,
    steps: Steps = None,
    agents: Agents = None,
    seed: Seed = None,
    set_: Set = None,
    out: Out = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    resume: Resume = False,
    retries: Retries = 2,
    heartbeat: Heartbeat = 30.0,
    progress: ShowProgress = None,
) -> None:
    """Run a scenario many times with derived seeds: mean and 90% interval of every output."""
    scheduler = _scheduler(scheduler, scheduler_file)
    from survsim.experiments import prepare_ensemble

    source = scenario or default_scenario()
    design = prepare_ensemble(
        source, runs, overrides=set_ or [], agents=agents, steps=steps, seed=seed
    )
    start = time.perf_counter()
    result = _execute(
        design,
        "ensemble",
        out=out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        retries=retries,
        heartbeat=heartbeat,
        progress=progress,
    )
    result.seconds = time.perf_counter() - start
    _print_stats(result, design.scenario["model"], [])


def sweep(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="a built-in scenario name or a YAML file (default: dprk)", show_default=False
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="a swept parameter: key=lo:hi:n (grid), key=a,b,c (values), or key=lo:hi "
            "with --samples (Latin hypercube); repeatable",
        ),
    ] = None,
    samples: Annotated[
        int | None, typer.Option(help="Latin hypercube points instead of a grid")
    ] = None,
    runs: Runs = 1,
    steps: Steps = None,
    agents: Agents = None,
    seed: Seed = None,
    set_: Set = None,
    out: Out = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    resume: Resume = False,
    retries: Retries = 2,
    heartbeat: Heartbeat = 30.0,
    progress: ShowProgress = None,
) -> None:
    """Run a scenario over a grid or Latin hypercube of parameter values."""
    scheduler = _scheduler(scheduler, scheduler_file)
    from survsim.experiments import prepare_sweep

    source = scenario or default_scenario()
    design = prepare_sweep(
        source,
        param or [],
        runs,
        samples=samples,
        overrides=set_ or [],
        agents=agents,
        steps=steps,
        seed=seed,
    )
    start = time.perf_counter()
    result = _execute(
        design,
        "sweep",
        out=out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        retries=retries,
        heartbeat=heartbeat,
        progress=progress,
    )
    result.seconds = time.perf_counter() - start
    _print_stats(result, design.scenario["model"], list(design.keys))


def sensitivity(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="a built-in scenario name or a YAML file (default: dprk)", show_default=False
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="morris (screening) or sobol (variances)")] = "morris",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="an uncertain parameter: key=lo:hi (repeatable)"),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(help="the summary number to explain (default: the model's first headline)"),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option(help="Morris trajectories (default 10) or Sobol's N, a power of two (64)"),
    ] = None,
    runs: Runs = 1,
    steps: Steps = None,
    agents: Agents = None,
    seed: Seed = None,
    set_: Set = None,
    out: Out = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    resume: Resume = False,
    retries: Retries = 2,
    heartbeat: Heartbeat = 30.0,
    progress: ShowProgress = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="state the cost (runs) and stop")
    ] = False,
) -> None:
    """Morris or Sobol sensitivity indices of one output, with the cost stated first."""
    scheduler = _scheduler(scheduler, scheduler_file)
    from survsim.experiments.analysis import (
        check_metric,
        describe_cost,
        prepare_sensitivity,
        run_sensitivity,
    )

    source = scenario or default_scenario()
    size = size if size is not None else (64 if method == "sobol" else 10)
    params = param or []
    design = prepare_sensitivity(
        source,
        method,
        params,
        size,
        runs,
        overrides=set_ or [],
        agents=agents,
        steps=steps,
        seed=seed,
    )
    metric = metric or MODELS[design.scenario["model"]][0].headline[0]
    check_metric(design.scenario["model"], metric)
    err = Console(stderr=True)
    err.print(f"cost: {describe_cost(method, size, len(design.keys), runs)}", highlight=False)
    if dry_run:
        return
    start = time.perf_counter()
    found = _execute(
        design,
        "sensitivity",
        out=out,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        retries=retries,
        heartbeat=heartbeat,
        progress=progress,
        run=lambda design, out, **kw: run_sensitivity(design, params, metric, size, out=out, **kw),
    )
    table = Table(
        title=f"survsim sensitivity: {method} indices of {metric} "
        f"({design.n_runs:,} runs in {time.perf_counter() - start:,.1f} s)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in found.indices.columns:
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for row in found.indices.itertuples(index=False):
        table.add_row(*(v if isinstance(v, str) else shown(float(v)) for v in row))
    console = Console()
    console.print(table)
    if found.missing or found.points_dropped:
        console.print(
            f"{metric} missing in {found.missing:,} of {design.n_runs:,} runs; "
            f"{found.points_dropped:,} points left out of the analysis (with their "
            f"{'trajectories' if method == 'morris' else 'blocks'})",
            highlight=False,
        )
    console.print(f"results in {found.experiment.path}", soft_wrap=True, highlight=False)


def calibrate(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="a built-in scenario name or a YAML file (default: dprk)", show_default=False
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="an interval for a summary number: name=lo:hi"),
    ] = None,
    free: Annotated[
        list[str] | None,
        typer.Option("--free", help="an assumption that may move: key=lo:hi (repeatable)"),
    ] = None,
    fit: Annotated[int, typer.Option(help="fit this many of the most influential")] = 3,
    waves: Annotated[int, typer.Option(help="history-matching waves")] = 2,
    points: Annotated[int, typer.Option(help="points per wave (a Latin hypercube)")] = 40,
    screen_size: Annotated[int, typer.Option(help="Morris trajectories of the screening")] = 6,
    runs: Annotated[int, typer.Option(help="runs (seeds) averaged per point")] = 2,
    steps: Steps = None,
    agents: Agents = None,
    seed: Seed = None,
    set_: Set = None,
    out: Out = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    scheduler_file: SchedulerFile = None,
    resume: Resume = False,
    retries: Retries = 2,
    heartbeat: Heartbeat = 30.0,
    progress: ShowProgress = None,
) -> None:
    """Fit assumptions to target intervals: Morris screening, then history matching."""
    scheduler = _scheduler(scheduler, scheduler_file)
    from survsim.experiments.execute import check_heartbeat

    check_heartbeat(heartbeat)
    from survsim.experiments.analysis import _bounds
    from survsim.experiments.calibrate import calibrate as run_calibration
    from survsim.experiments.calibrate import check_resumable
    from survsim.experiments.calibration import parse_target
    from survsim.experiments.store import check_new

    source = scenario or default_scenario()
    name = load_name(source)
    for text in target or []:  # checked before anything is announced or written
        parse_target(text)
    _bounds(free or [])
    if resume and out is None:
        raise SurvsimError("--resume needs --out, the folder of the calibration to finish")
    folder = out if out is not None else default_out(name, seed or 0, "calibration")
    if resume:  # checked before anything is announced
        check_resumable(
            folder, source, target or [], free or [], fit=fit, runs=runs, waves=waves,
            points=points, screen_size=screen_size, overrides=set_ or [], agents=agents,
            steps=steps, seed=seed,
        )  # fmt: skip
    else:
        check_new(folder)
    check_writable(folder)
    err = Console(stderr=True)
    err.print(f"calibration of {name}; results in {folder}", highlight=False, soft_wrap=True)
    bar = RunsBar(err, name) if (err.is_terminal if progress is None else progress) else None
    with bar if bar is not None else nullcontext():
        found = run_calibration(
            source,
            target or [],
            free or [],
            fit=fit,
            runs=runs,
            waves=waves,
            points=points,
            screen_size=screen_size,
            overrides=set_ or [],
            agents=agents,
            steps=steps,
            seed=seed,
            out=folder,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            retries=retries,
            heartbeat=heartbeat,
            progress=bar,
        )
    console = Console()
    console.print(found.report, highlight=False, soft_wrap=True)
    console.print(f"results in {folder}", soft_wrap=True, highlight=False)


def load_name(source: str) -> str:
    """The name of a scenario (for its default output folder)."""
    from survsim.scenario import load_scenario

    return load_scenario(source).name
