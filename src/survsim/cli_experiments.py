"""The ``survsim ensemble`` and ``survsim sweep`` commands. Thin: parse, call, print.

The experiment machinery (and with it pandas and Dask) is imported only when one of these
commands runs, so ``survsim run`` starts as fast as before.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from survsim.cli_output import check_writable, default_out, shown
from survsim.errors import SurvsimError
from survsim.models import MODELS

if TYPE_CHECKING:
    from survsim.experiments import Design, ExperimentResult

__all__ = ["ensemble", "sweep"]

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
Resume = Annotated[
    bool, typer.Option("--resume", help="finish the experiment in --out: run what is missing")
]
Retries = Annotated[int, typer.Option(help="tries after the first for a run that fails")]
ShowProgress = Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar")]


#: The most rows of statistics printed (a sweep of many points has them all in stats.parquet).
MAX_ROWS = 40


class _RunsBar:
    """A rich progress bar over the runs of an experiment."""

    def __init__(self, console: Console, label: str) -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            TextColumn("runs {task.completed:,}/{task.total:,}"),
            TextColumn("{task.fields[failed]}"),
            TextColumn("time left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("runs", total=None, failed="")

    def __call__(self, finished: int, failed: int, total: int) -> None:
        note = f"[red]{failed} failed[/red]" if failed else ""
        self.progress.update(self.task, completed=finished, total=total, failed=note)


def _execute(
    design: Design,
    kind: str,
    *,
    out: Path | None,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    retries: int,
    progress: bool | None,
) -> ExperimentResult:
    from survsim.experiments import run_experiment
    from survsim.experiments.store import check_new

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
    bar = _RunsBar(err, name) if show_bar else None
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
        with bar.progress if bar is not None else nullcontext():
            return run_experiment(
                design,
                out,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                retries=retries,
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
    return f"{shown(float(row['p05']))} to {shown(float(row['p95']))}"


def _print_stats(result: ExperimentResult, model: str, keys: list[str]) -> None:
    from survsim.report.experiments import HEADLINE

    stats = result.stats
    wanted = [m for m in HEADLINE.get(model, []) if m in set(stats["metric"])]
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
    for _, row in rows.head(MAX_ROWS).iterrows():
        table.add_row(
            *(shown(row[k].item() if hasattr(row[k], "item") else row[k]) for k in keys),
            str(row["metric"]),
            shown(float(row["mean"])),
            _interval(row),
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
    resume: Resume = False,
    retries: Retries = 2,
    progress: ShowProgress = None,
) -> None:
    """Run a scenario many times with derived seeds: mean and 90% interval of every output."""
    from survsim.cli import default_scenario
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
    resume: Resume = False,
    retries: Retries = 2,
    progress: ShowProgress = None,
) -> None:
    """Run a scenario over a grid or Latin hypercube of parameter values."""
    from survsim.cli import default_scenario
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
        progress=progress,
    )
    result.seconds = time.perf_counter() - start
    _print_stats(result, design.scenario["model"], list(design.keys))
