"""The ``survsim`` command. Thin: it parses, calls the API and prints.

Bad input of any kind is one line on stderr and exit code 2, never a traceback, and
nothing is written.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from survsim import __version__, cli_experiments, run_folder
from survsim.api import build_sim, save_run, summary
from survsim.cli_output import (
    DEFAULT_SCENARIO,
    check_writable,
    default_out,
    default_scenario,
    shown,
)
from survsim.engine import OutputExistsError, Sim, check_output_dir, spinup
from survsim.engine.sim import Hook
from survsim.errors import SurvsimError
from survsim.scenario import Scenario, builtin_scenarios, load_scenario, with_agents

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="survsim: fast agent-based simulation of surveillance states and civil violence.",
)
scenario_app = typer.Typer(no_args_is_help=True, help="List and show built-in scenarios.")
app.add_typer(scenario_app, name="scenario")


class _ProgressBar:
    """A rich progress bar fed by the simulation's step hook (refreshes a few times/s)."""

    def __init__(self, sim: Sim, console: Console, label: str) -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            TextColumn(f"{sim.step_name} {{task.completed:,}}/{{task.total:,}}"),
            TextColumn(f"{{task.fields[rate]:.1f}} {sim.step_name}s/s"),
            TextColumn("time left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("run", total=sim.n_steps, rate=0.0)
        self.start = time.perf_counter()
        self.last = 0.0

    def __call__(self, sim: Sim) -> None:
        now = time.perf_counter()
        if now - self.last > 0.1 or sim.finished:
            self.last = now
            rate = sim.t / max(now - self.start, 1e-9)
            self.progress.update(self.task, completed=sim.t, rate=rate)


@app.command()
def run(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help=f"a built-in scenario name or a YAML file (default: {DEFAULT_SCENARIO})",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="steps to simulate")] = None,
    agents: Annotated[
        int | None,
        typer.Option(
            help="simulated people (surveillance_state, self_censorship; default 100,000)"
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed of all random streams")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a value: key=value (repeatable)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default: a new folder under runs/)")
    ] = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="progress bar")
    ] = None,
    checkpoint_every: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="write the run's state every N steps under OUT/checkpoints/ "
            "(continue a stopped run with 'survsim resume OUT')",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a scenario and write its time series, tables, plots, report and manifest."""
    if scenario is None:
        scenario = default_scenario()
    overrides = list(set_ or [])
    if agents is not None:
        overrides.append(with_agents(scenario, agents))
    loaded = load_scenario(scenario, overrides, steps=steps, seed=seed)
    out_dir = check_output_dir(out) if out is not None else default_out(loaded.name, loaded.seed)
    check_writable(out_dir)
    sim = _built(loaded, progress)
    if checkpoint_every is None:
        _run_sim(sim, loaded.name, progress)
        try:
            folder = save_run(sim, loaded, out_dir)
        except OSError as exc:
            raise SurvsimError(f"--out {out_dir}: cannot write results: {exc.strerror}") from None
    else:
        run_folder.start_checkpointed(sim, loaded, out_dir, checkpoint_every)
        Console(stderr=True).print(
            f"checkpoints every {checkpoint_every:,} {sim.step_name}s in "
            f"{out_dir / run_folder.CHECKPOINTS}; if the run stops, continue it with "
            f"'survsim resume {out_dir}'",
            highlight=False,
            soft_wrap=True,
        )
        folder = _run_checkpointed(sim, loaded, out_dir, progress)
    _print_summary(Console(), loaded.name, sim, folder)


@app.command()
def resume(
    out: Annotated[
        Path, typer.Argument(help="the --out folder of a run started with --checkpoint-every")
    ],
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="progress bar")
    ] = None,
) -> None:
    """Continue a checkpointed run from its newest checkpoint; results as if never stopped."""
    found = run_folder.prepare_resume(out, lambda model: _warmed([model], _show_bar(progress)))
    if found.finished:
        typer.echo(f"{out}: the run is finished ({found.steps:,} steps); nothing to resume")
        return
    sim, scenario = found.sim, found.scenario
    assert sim is not None and scenario is not None
    start = (
        f"{sim.step_name} {found.from_step:,}"
        if found.from_step
        else "the start (no checkpoint yet)"
    )
    Console(stderr=True).print(
        f"resuming {scenario.name} from {start} of {found.steps:,}", highlight=False
    )
    folder = _run_checkpointed(sim, scenario, found.out, progress)
    _print_summary(Console(), scenario.name, sim, folder)


def _show_bar(progress: bool | None) -> bool:
    return Console(stderr=True).is_terminal if progress is None else progress


def _built(loaded: Scenario, progress: bool | None) -> Sim:
    report = _warmed([loaded.model], _show_bar(progress))
    if not _show_bar(progress):
        sim = build_sim(loaded)
    else:
        status = Console(stderr=True).status("building the population")
        with status, spinup.reporting(status.update):
            sim = build_sim(loaded)
    sim.timings["jit_s"] += report.seconds if report.compiled else 0.0
    return sim


def _warmed(models: list[str] | None, show: bool, processes: int | None = None) -> Any:
    """Compile the models' kernels in parallel processes if numba's cache is cold.

    On a terminal a status line says ``compiling kernels k/N (first run only)``.
    """
    from survsim.warm import is_warm, warm

    cached = models is not None and all(is_warm(m) for m in models)
    if cached or not show:
        return warm(models, processes=processes)  # with a warm cache it only loads them
    why = "(first run only: numba caches them)"
    with Console(stderr=True).status(f"compiling kernels {why}") as status:
        return warm(models, processes=processes, say=lambda line: status.update(f"{line} {why}"))


def _run_sim(sim: Sim, name: str, progress: bool | None, out: Path | None = None) -> None:
    """Run to the end, with the progress bar if wanted; with ``out``, as a checkpointed run."""

    def to_end(bar: Hook | None = None) -> None:
        if out is None:
            sim.run(progress=bar)
        else:
            run_folder.run_to_end(sim, out, progress=bar)

    if _show_bar(progress):
        bar = _ProgressBar(sim, Console(stderr=True), name)
        with bar.progress:
            to_end(bar)
    else:
        to_end()


def _run_checkpointed(sim: Sim, scenario: Scenario, out: Path, progress: bool | None) -> Path:
    _run_sim(sim, scenario.name, progress, out)
    try:
        return run_folder.finish(sim, scenario, out)
    except OSError as exc:
        raise SurvsimError(
            f"{out}: cannot write results: {exc.strerror}; the newest checkpoint is kept, "
            f"'survsim resume {out}' writes them once there is room"
        ) from None


def _rows(facts: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """(label, shown value) for each fact; nested mappings become ``outer: inner`` labels.

    A number the run could not estimate (None or NaN) reads "n/a", followed by its note
    (``<key>_note``, which then has no row of its own; nor does an empty note).
    """
    from survsim.models.little import missing_shown

    missing, hidden = missing_shown(facts)
    rows = []
    for key, value in facts.items():
        label = f"{prefix}{key.replace('_', ' ')}"
        if isinstance(value, dict):
            rows += _rows(value, f"{label}: ")
        elif key in hidden:
            continue
        elif key in missing:
            rows.append((label, "n/a" + (f": {missing[key]}" if missing[key] else "")))
        else:
            rows.append((label, shown(value)))
    return rows


#: Titles of the summary's nested sections (others are titled by their key).
SECTION_TITLES = {"national": "national-scale estimates"}


def _summary_sections(facts: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The summary as titled sections: top-level facts first, then each nested mapping."""
    top = {k: v for k, v in facts.items() if not isinstance(v, dict)}
    sections = [("run", _rows(top))]
    for key, value in facts.items():
        if isinstance(value, dict):
            sections.append((SECTION_TITLES.get(key, key.replace("_", " ")), _rows(value)))
    return sections


def _print_summary(console: Console, name: str, sim: Sim, folder: Path) -> None:
    table = Table(
        title=f"survsim run {name}", title_justify="left", box=box.SIMPLE_HEAD, show_header=False
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    run_s = sim.timings["run_s"]
    rate = sim.agents * sim.t / max(run_s, 1e-9) if hasattr(sim, "agents") else 0.0
    spun = getattr(sim, "spinup", None) or {}
    build = f"{sim.timings['build_s']:.3f} s"
    if spun.get("days"):
        how = "read from the cache" if spun["cached"] else "computed, now cached"
        build += f" (spin-up of {spun['days']:,} days {how})"
    timings = [
        ("build", build),
        ("compile (numba, cached after the first run)", f"{sim.timings['jit_s']:.3f} s"),
        ("run", f"{run_s:.3f} s"),
    ]
    if sim.t > 0:
        timings.append(("speed", f"{rate / 1e6:.1f} M agent-{sim.step_name}s/s"))
    for title, rows in [*_summary_sections(summary(sim)), ("time", timings)]:
        table.add_row(f"[underline]{title}[/underline]", "")
        for label, value in rows:
            table.add_row(label, value)
        table.add_section()
    console.print(table)
    console.print(f"results in {folder}", soft_wrap=True, highlight=False)


app.command(name="ensemble")(cli_experiments.ensemble)
app.command(name="sweep")(cli_experiments.sweep)
app.command(name="sensitivity")(cli_experiments.sensitivity)
app.command(name="calibrate")(cli_experiments.calibrate)


@scenario_app.command("list")
def scenario_list() -> None:
    """List the built-in scenarios."""
    table = Table("scenario", "model", "description")
    for name, description in builtin_scenarios().items():
        table.add_row(name, load_scenario(name).model, description)
    Console().print(table)


@scenario_app.command("show")
def scenario_show(
    name: Annotated[str, typer.Argument(help="a built-in scenario name or a YAML file")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="override: key=value")] = None,
) -> None:
    """Print a scenario with every parameter resolved, and the sources of its figures."""
    resolved = load_scenario(name, set_ or []).resolved()
    typer.echo(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), nl=False)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="address to listen on (default: this machine only)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    prepare: Annotated[
        bool, typer.Option("--prepare", help="only fetch the web assets (once), then exit")
    ] = False,
    memory_budget: Annotated[
        float | None,
        typer.Option(
            help="GB that all runs together may hold; a run that does not fit what is left "
            "waits its turn (default: 80% of the memory available at start)"
        ),
    ] = None,
) -> None:
    """Explore a scenario in the browser: sliders, live charts, compare, download."""
    if prepare:
        from survsim.dashboard.assets import ensure

        typer.echo(f"dashboard assets in {ensure(say=typer.echo)}")
        return
    from survsim.dashboard.server import serve

    serve(host, port, say=typer.echo, memory_budget=memory_budget)


@app.command("warm")
def warm_command(
    model: Annotated[
        list[str] | None,
        typer.Option(help="a model to compile (repeatable; default: every model)"),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(min=1, help="compiling processes (default: one per core, as memory allows)"),
    ] = None,
) -> None:
    """Compile the kernels into numba's cache now, in parallel (later runs start at once)."""
    report = _warmed(list(model) if model else None, Console(stderr=True).is_terminal, processes)
    if report.compiled:
        typer.echo(
            f"compiled {report.compiled} kernel groups of {', '.join(report.models)} in "
            f"{report.processes} processes: {report.seconds:.1f} s"
        )
    else:
        typer.echo(f"kernels of {', '.join(report.models)} already compiled (numba's cache)")


def version_line() -> str:
    """One line: survsim's version and the numba, numpy and Python it runs with."""
    import platform

    import numba
    import numpy

    return (
        f"survsim {__version__} (numba {numba.__version__}, numpy {numpy.__version__}, "
        f"Python {platform.python_version()})"
    )


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="print the version, with the numba and numpy it runs with, and exit",
        ),
    ] = False,
) -> None:
    """survsim: fast agent-based simulation of surveillance states and civil violence."""


@app.command()
def version() -> None:
    """Print survsim's version, with the numba and numpy it runs with."""
    typer.echo(version_line())


#: The longest error line (longer ones, a pasted value or path, lose their middle).
_MAX_ERROR_CHARS = 1000


def _fail(message: str, code: int = 2) -> int:
    """Print ``message`` as one line on stderr and return ``code``.

    Whitespace runs become one space, other control characters are escaped (a key typed
    with a terminal escape sequence cannot recolour or clear the terminal) and a line
    longer than :data:`_MAX_ERROR_CHARS` loses its middle, keeping what is allowed.
    """
    text = " ".join(str(message).split())
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > _MAX_ERROR_CHARS:
        half = _MAX_ERROR_CHARS // 2 - 3
        text = f"{text[:half]} ... {text[-half:]}"
    print(f"survsim: error: {text}", file=sys.stderr)
    return code


#: The click command built from ``app``, by the commands registered when it was built:
#: building it reads every command's signature (a quarter of a second per call of main).
_click_commands: dict[tuple[int, int], Any] = {}


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turn every user error into one line and exit code 2."""
    built = (len(app.registered_commands), len(app.registered_groups))
    if built not in _click_commands:
        _click_commands[built] = typer.main.get_command(app)
    command = _click_commands[built]
    try:
        result = command.main(
            args=sys.argv[1:] if argv is None else argv, prog_name="survsim", standalone_mode=False
        )
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:
        # Typer ships its own copy of click, so its errors are recognised by shape.
        if type(exc).__name__ == "NoArgsIsHelpError" and getattr(exc, "ctx", None):
            typer.echo(exc.ctx.get_help())
            return 0
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            ctx = getattr(exc, "ctx", None)
            where = ""
            if ctx is not None:
                path = "" if ctx.info_name == "survsim" else f"{ctx.command_path} "
                where = f" (see '{path or 'survsim '}--help')"
            return _fail(f"{exc.format_message()}{where}")
        if type(exc).__name__ == "Abort":
            return _fail("interrupted", 130)
        return _handle(exc)
    return result if isinstance(result, int) else 0


def _handle(exc: Exception) -> int:
    if isinstance(exc, SurvsimError):
        return _fail(str(exc), exc.exit_code)
    if isinstance(exc, OutputExistsError):
        return _fail(str(exc))
    if os.environ.get("SURVSIM_DEBUG"):
        raise exc
    return _fail(
        f"internal error ({type(exc).__name__}: {exc}); "
        "rerun with SURVSIM_DEBUG=1 for the traceback and report it",
        1,
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
