"""The Python API of a single run: build, run, summarise, save.

Example:
    >>> import survsim
    >>> scenario = survsim.load_scenario("epstein_outbursts", ["width=20", "height=20"])
    >>> sim = survsim.run_scenario(scenario, steps=10)
    >>> sim.timeseries().num_rows
    11
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from survsim.engine import Sim, environment, write_json_atomic, write_parquet_atomic, write_run_dir
from survsim.engine.memory import check_fits
from survsim.engine.sim import Hook, Reporter
from survsim.errors import SurvsimError
from survsim.models import MEMORY_ESTIMATES, MODELS
from survsim.report.html import write_report
from survsim.report.plots import CAPTIONS, FIGURES
from survsim.scenario import Scenario

__all__ = [
    "build_sim",
    "check_memory",
    "load_run",
    "manifest",
    "run_scenario",
    "run_writers",
    "save_run",
    "summary",
]


def build_sim(
    scenario: Scenario,
    *,
    steps: int | None = None,
    seed: int | None = None,
    reporters: Mapping[str, Reporter] | None = None,
) -> Sim:
    """Build (but do not run) the simulation a scenario describes.

    Args:
        scenario: the scenario (:func:`survsim.load_scenario`).
        steps: steps to run (default: the scenario's).
        seed: the seed (default: the scenario's).
        reporters: ``{"name": fn}``, a time-series column ``fn(sim)`` per step (see
            :class:`~survsim.engine.sim.Sim`).

    Raises:
        InsufficientMemoryError: the run would not fit in the memory available now.
        ReporterError: a reporter is not valid.
    """
    sim_class = MODELS[scenario.model][0]
    n_steps = scenario.steps if steps is None else steps
    check_memory(scenario, steps=n_steps)
    return sim_class(
        scenario.params,
        seed=scenario.seed if seed is None else seed,
        steps=n_steps,
        reporters=reporters,
    )


def check_memory(scenario: Scenario, *, steps: int | None = None) -> int:
    """Refuse up front a run that would not fit in the memory available now.

    The CLI and the dashboard call this before building anything.

    Returns:
        The estimated peak bytes of the run.

    Raises:
        InsufficientMemoryError: "... needs about X GB, Y GB available".
    """
    n_steps = scenario.steps if steps is None else steps
    needed = MEMORY_ESTIMATES[scenario.model](scenario.params, n_steps)
    check_fits(needed, f"scenario '{scenario.name}'")
    return needed


def run_scenario(
    scenario: Scenario,
    *,
    steps: int | None = None,
    seed: int | None = None,
    progress: Hook | None = None,
    reporters: Mapping[str, Reporter] | None = None,
) -> Sim:
    """Build and run a scenario to its end; returns the finished simulation."""
    sim = build_sim(scenario, steps=steps, seed=seed, reporters=reporters)
    return sim.run(progress=progress)


def summary(sim: Sim) -> dict[str, Any]:
    """The headline numbers of a run, as plain data.

    Args:
        sim: a finished (or running) simulation.

    Returns:
        ``model, steps, seed`` and the model's own numbers, those of its ``summary()``
        method (surveillance_state puts its national estimates under ``national``).
    """
    return {"model": sim.model_name, "steps": sim.t, "seed": sim.seed, **sim.summary()}


def manifest(
    sim: Sim, scenario: Scenario, files: list[str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a run folder holds and how it was made (``extra``: more entries, at the end)."""
    return {
        "model": sim.model_name,
        "scenario": scenario.name,
        "scenario_path": scenario.path,
        "parameters": scenario.params.model_dump(),
        "sources": scenario.sources,
        "seed": sim.seed,
        "steps": sim.t,
        "planned_steps": sim.n_steps,
        "plan": [{"step": name, "does": doc} for name, doc in sim.plan.describe()],
        "timings": {
            "build_s": round(sim.timings["build_s"], 6),
            "jit_s": round(sim.timings["jit_s"], 6),
            "run_s": round(sim.timings["run_s"], 6),
            "plan_s": {k: round(v, 6) for k, v in sim.plan_timings().items()},
        },
        "summary": summary(sim),
        **({"reporters": list(sim.reporters)} if getattr(sim, "reporters", None) else {}),
        **({"spinup": sim.spinup} if getattr(sim, "spinup", None) else {}),
        "files": files,
        "environment": environment(),
        **(extra or {}),
    }


def load_run(out: str | Path, *, reporters: Mapping[str, Reporter] | None = None) -> Sim:
    """A finished run folder (``survsim run --out``, :func:`save_run`) back as a simulation.

    The folder holds the run's results and how it was made, not every person's state: the
    run is simulated again from its ``manifest.json`` (the model, every parameter, the
    seed and the number of steps; runs are deterministic) and must reproduce the folder's
    ``timeseries.parquet`` exactly, else it is refused. It takes as long as the run took
    (a spin-up is read from its cache).

    Args:
        out: the run folder.
        reporters: the user reporters the run was made with (the manifest lists their
            names; their columns must come out the same too).

    Raises:
        SurvsimError: the folder holds no finished run, cannot be read, was made with
            other reporters than ``reporters``, or the run simulated again differs from
            it (another survsim version or numba, or an edited file); one line that says
            which.
    """
    import pyarrow.parquet as pq

    out = Path(out)
    record = out / "manifest.json"
    if not record.is_file():
        raise SurvsimError(f"{out} holds no finished run (no manifest.json)")
    try:
        facts = json.loads(record.read_text(encoding="utf-8"))
        sim_class, params_class = MODELS[facts["model"]]
        params = params_class.model_validate(facts["parameters"])
        seed, steps, planned = int(facts["seed"]), int(facts["steps"]), int(facts["planned_steps"])
        stored = pq.read_table(out / "timeseries.parquet")
        made_with = list(facts.get("reporters", []))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SurvsimError(f"{out}: the run cannot be read ({message})") from None
    given = list(reporters or {})
    if sorted(given) != sorted(made_with):
        raise SurvsimError(
            f"{out}: the run was made with the reporters [{', '.join(made_with)}], "
            f"[{', '.join(given)}] given: pass reporters= with the same names to load it"
        )
    ordered = {name: reporters[name] for name in made_with} if reporters else None
    sim = sim_class(params, seed=seed, steps=planned, reporters=ordered)
    sim.run(steps)
    if not sim.timeseries().equals(stored):
        raise SurvsimError(
            f"{out}: simulated again from its manifest, the run does not reproduce its "
            "time series (made by another survsim or numba, or a file was edited)"
        )
    return sim


def save_run(sim: Sim, scenario: Scenario, out: str | Path) -> Path:
    """Write the run folder, which appears complete or not at all.

    It holds ``timeseries.parquet``, ``open_speech.parquet`` (models that tally open
    speech), ``summary.json``, the model's figures (PNG), ``report.html`` (one
    self-contained file embedding those figures) and ``manifest.json``.

    Args:
        sim: the finished simulation.
        scenario: the scenario it ran (name, description, parameters, sources).
        out: the folder to create; it must not exist or be empty.

    Returns:
        The created folder.

    Raises:
        OutputExistsError: ``out`` exists and is not empty.
    """
    return write_run_dir(out, run_writers(sim, scenario))


def run_writers(
    sim: Sim, scenario: Scenario, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """File name -> function writing that file of a run folder, in the order to call them.

    The figures come before ``report.html`` (which reads them from the same folder) and
    ``manifest.json`` is last: its presence marks a complete folder.
    """
    title = f"{scenario.name} (seed {sim.seed})"
    writers: dict[str, Any] = {
        "timeseries.parquet": lambda path: write_parquet_atomic(sim.timeseries(), path)
    }
    if callable(getattr(sim, "open_speech", None)):
        writers["open_speech.parquet"] = lambda path: write_parquet_atomic(sim.open_speech(), path)
    tables = sim.tables() if callable(getattr(sim, "tables", None)) else {}
    for name, table in tables.items():
        writers[f"{name}.parquet"] = lambda path, table=table: write_parquet_atomic(table, path)
    facts = summary(sim)
    writers["summary.json"] = lambda path: write_json_atomic(facts, path)
    figures = FIGURES.get(sim.model_name, [])
    for name, draw in figures:
        writers[name] = lambda path, draw=draw: draw(sim, path, title)
    writers["report.html"] = lambda path: write_report(
        path,
        title=f"survsim: {scenario.name}, seed {sim.seed}, {sim.t} steps",
        description=scenario.description,
        summary=facts,
        figures={name: (path.parent / name, CAPTIONS.get(name, "")) for name, _ in figures},
        sources=scenario.sources,
        parameters=scenario.params.model_dump(),
    )
    files = [*writers, "manifest.json"]
    writers["manifest.json"] = lambda path: write_json_atomic(
        manifest(sim, scenario, files, extra), path
    )
    return writers
