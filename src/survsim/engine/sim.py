"""The simulation base class: build, an ordered plan per step, records, hooks.

Every model follows one lifecycle (after Starsim's modules):

1. ``__init__`` stores the validated parameters, calls :meth:`Sim.compile` (compile or
   load the kernels, after dropping a stale kernel cache; ``timings["jit_s"]``), then
   :meth:`Sim.build` (allocate the state and draw the initial conditions;
   ``timings["build_s"]``);
2. :meth:`Sim.make_plan` returns the ordered steps of one simulated step;
3. :meth:`Sim.record` writes row ``t`` of the time series (row 0 is the initial state);
4. :meth:`Sim.step` advances one step; :meth:`Sim.run` loops with optional progress and
   stop callbacks. Hooks registered with :meth:`Sim.add_hook` run after every step; the
   CLI's progress bar, checkpoints and the dashboard all use this one mechanism.

User reporters (Mesa's DataCollector idea): ``reporters={"name": fn}`` adds a column
``name`` to the time series, ``fn(sim)`` computed after every record (row 0 included)
from the state as it then is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from survsim.engine.jit_cache import refresh_stale_cache
from survsim.engine.plan import Plan
from survsim.engine.rng import Streams
from survsim.errors import SurvsimError

__all__ = ["FIGURES", "Hook", "Recorder", "Reporter", "ReporterError", "Sim", "check_reporters"]

Hook = Callable[["Sim"], None]
#: A user reporter: the state of a simulation to one number.
Reporter = Callable[["Sim"], float]

#: The figures of each model by ``model_name``: ``(file name, draw(sim, path, title))``,
#: where ``path=None`` returns the matplotlib figure. Filled by :mod:`survsim.report.plots`
#: (the engine imports nothing above it); :meth:`Sim.plot` reads it.
FIGURES: dict[str, list[tuple[str, Callable[..., Any]]]] = {}


class ReporterError(SurvsimError):
    """A user reporter is not valid, or failed while the run recorded it."""


def check_reporters(
    reporters: Mapping[str, Reporter] | None, taken: set[str]
) -> dict[str, Reporter]:
    """``reporters`` checked: names that are new columns (not in ``taken``), callables.

    Raises:
        ReporterError: one line naming the reporter and what is wrong.
    """
    if reporters is None:
        return {}
    if not isinstance(reporters, Mapping):
        raise ReporterError(
            f"reporters: a mapping of name to function is needed, not a {type(reporters).__name__}"
        )
    out = {}
    for name, fn in reporters.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ReporterError(f"reporter name {name!r}: a Python identifier is needed")
        if name in taken:
            raise ReporterError(
                f"reporter {name!r}: the time series already has a column of that name"
            )
        if not callable(fn):
            raise ReporterError(f"reporter {name!r}: {type(fn).__name__} is not callable")
        out[name] = fn
    return out


def _number(name: str, value: Any, where: str) -> float:
    """A reporter's value as a float, or one line saying why it is not a number."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating):
        return float(value)
    shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
    raise ReporterError(
        f"reporter {name!r} returned a {type(value).__name__}{shape} at {where}: "
        "one number is needed"
    )


class Recorder:
    """Preallocated integer or float columns, one row per step (row 0: initial state).

    Kernels write straight into :attr:`columns`; :meth:`table` returns the rows recorded
    so far as a tidy Arrow table with a leading ``step`` column.
    """

    def __init__(self, columns: dict[str, type], capacity: int, step_name: str = "step") -> None:
        self.columns = {name: np.zeros(capacity, dtype=dtype) for name, dtype in columns.items()}
        self.capacity = capacity
        self.step_name = step_name

    def table(self, rows: int) -> pa.Table:
        """The first ``rows`` rows as an Arrow table (the step column first)."""
        data: dict[str, Any] = {self.step_name: np.arange(rows, dtype=np.int32)}
        data.update({name: col[:rows] for name, col in self.columns.items()})
        return pa.table(data)


class Sim:
    """Base class of a model run.

    Args:
        params: the model's validated parameters (a pydantic model).
        seed: seed of all random streams, in ``[0, 2**64)``.
        steps: number of steps the run is planned for (the recorder's capacity).
        compile: compile the kernels before returning (see :meth:`compile`).
        reporters: ``{"name": fn}``: ``fn(sim)``, one number, is recorded with every row
            of the time series as column ``name`` (row 0 from the initial state). In an
            ensemble or a sweep the functions travel to the workers (Dask pickles them,
            lambdas and notebook functions included).

    Raises:
        ReporterError: a reporter's name is taken or not an identifier, or it is not
            callable; later, a reporter that raises or returns something other than one
            number stops the run with one line naming it.

    Attributes:
        t: the number of steps completed (0 before the first step).
        timings: ``build_s`` (state and initial conditions), ``jit_s`` (compiling or
            loading the kernels) and ``run_s`` in seconds; the plan's per-step seconds
            through :meth:`plan_timings`.
    """

    #: The model's name as scenario files spell it.
    model_name: ClassVar[str] = ""
    #: The name of the time series' step column (``day`` for daily models).
    step_name: ClassVar[str] = "step"
    #: Attributes a checkpoint leaves out because :meth:`restored` rebuilds them (see
    #: :mod:`survsim.engine.checkpoint`).
    checkpoint_skip: ClassVar[frozenset[str]] = frozenset()
    #: The model's parameter class (a pydantic model); scenario files are checked by it.
    params_class: ClassVar[type] = object
    #: Summary keys a sweep's figure and the CLI's experiment table show first.
    headline: ClassVar[tuple[str, ...]] = ()
    #: ``(time-series column, panel title)`` drawn with their band for an ensemble.
    band_panels: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(
        self,
        params: Any,
        *,
        seed: int = 0,
        steps: int = 100,
        compile: bool = True,
        reporters: Mapping[str, Reporter] | None = None,
    ) -> None:
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.params = params
        self.seed = int(seed)
        self.n_steps = int(steps)
        self.t = 0
        self.streams = Streams(self.seed)
        self._hooks: list[Hook] = []
        # Names and callables before the build (which may take a minute); the model's
        # columns, which the build makes known, after it.
        check_reporters(reporters, {self.step_name})
        start = time.perf_counter()
        if compile:  # first, so that the build's own kernels are not timed as build
            refresh_stale_cache()
            self.compile()
        compiled = time.perf_counter()
        self.build()
        self.results = Recorder(self.result_columns(), self.n_steps + 1, self.step_name)
        taken = {self.step_name, *self.results.columns}
        self.reporters = check_reporters(reporters, taken)
        self.reported = Recorder(dict.fromkeys(self.reporters, np.float64), self.n_steps + 1)
        self.plan: Plan = self.make_plan()
        self.record()
        self._report()
        self.timings: dict[str, float] = {
            "build_s": time.perf_counter() - compiled,
            "jit_s": compiled - start,
            "run_s": 0.0,
        }

    # -- what a model says about itself ------------------------------------------------

    @classmethod
    def estimate_bytes(cls, params: Any, steps: int) -> int:
        """Peak bytes a run of ``steps`` steps with ``params`` needs (0: unknown)."""
        return 0

    def summary(self) -> dict:
        """The run's headline numbers as plain data (the default: none)."""
        return {}

    # -- the lifecycle a model implements -------------------------------------------

    def build(self) -> None:
        """Allocate the state and draw the initial conditions."""
        raise NotImplementedError

    def result_columns(self) -> dict[str, type]:
        """Names and dtypes of the time-series columns (besides ``step``)."""
        raise NotImplementedError

    def compile(self) -> None:
        """Make sure the model's kernels are compiled (timed apart as ``jit_s``)."""
        type(self).compile_kernels()

    @classmethod
    def compile_groups(cls) -> tuple[str, ...]:
        """Names of groups of the model's kernels that compile independently.

        :func:`survsim.warm.warm` compiles the groups in parallel processes; a group is
        whatever :meth:`compile_kernels` compiles when given its name.
        """
        return ("all",)

    @classmethod
    def compile_kernels(cls, group: str | None = None) -> None:
        """Compile the model's kernels (of one group, or all), or load them from the cache.

        numba compiles a kernel at its first call, or loads it from its cache; a model
        does that here, on a tiny problem, so that ``run_s`` measures simulation only.
        The default does nothing.
        """

    def make_plan(self) -> Plan:
        """The ordered steps of one simulated step; the last one records row ``t``."""
        raise NotImplementedError

    def restored(self) -> None:
        """Derive what follows from the parameters while a checkpoint is restored.

        Called once :attr:`t` and :attr:`params` hold the saved values and before the
        saved arrays are copied in (the default does nothing).
        """

    def record(self) -> None:
        """Write row :attr:`t` of the time series."""
        raise NotImplementedError

    # -- stepping ----------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once all planned steps have run."""
        return self.t >= self.n_steps

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(sim)`` after every step, in the order hooks were added."""
        self._hooks.append(hook)

    def step(self) -> None:
        """Advance one step: run the plan for step ``t + 1``, then the hooks.

        Raises:
            RuntimeError: the run already has all its planned steps.
        """
        if self.t >= self.n_steps:
            raise RuntimeError(f"the run is finished: all {self.n_steps} steps done")
        start = time.perf_counter()
        self.t += 1
        self.plan.execute()
        self.timings["run_s"] += time.perf_counter() - start
        self._report()
        for hook in self._hooks:
            hook(self)

    def run(
        self,
        steps: int | None = None,
        *,
        progress: Hook | None = None,
        should_stop: Callable[[Sim], bool] | None = None,
    ) -> Sim:
        """Run until the planned end, ``steps`` more steps, or ``should_stop(sim)``.

        Args:
            steps: how many steps to run at most (default: to the planned end).
            progress: called after every step (after the hooks).
            should_stop: asked before every step; True stops the run early.

        Returns:
            The simulation itself, so ``sim.run().timeseries()`` reads naturally.
        """
        target = self.n_steps if steps is None else min(self.n_steps, self.t + int(steps))
        while self.t < target:
            if should_stop is not None and should_stop(self):
                break
            self.step()
            if progress is not None:
                progress(self)
        return self

    # -- results -----------------------------------------------------------------------

    def _report(self) -> None:
        """Row :attr:`t` of every user reporter."""
        where = f"{self.step_name} {self.t}"
        for name, fn in self.reporters.items():
            try:
                value = fn(self)
            except Exception as exc:
                first = str(exc).splitlines()[0] if str(exc) else ""
                raise ReporterError(
                    f"reporter {name!r} failed at {where}: {type(exc).__name__}: {first}"
                ) from exc
            self.reported.columns[name][self.t] = _number(name, value, where)

    def timeseries(self) -> pa.Table:
        """The time series recorded so far: rows ``0..t``, the reporters' columns last."""
        table = self.results.table(self.t + 1)
        for name, column in self.reported.columns.items():
            table = table.append_column(name, pa.array(column[: self.t + 1]))
        return table

    def tables(self) -> dict[str, pa.Table]:
        """Tables a run folder holds besides the time series (``name`` -> ``name.parquet``).

        The default is none; a model with one row per person returns them here.
        """
        return {}

    def to_df(self) -> Any:
        """The time series recorded so far as a pandas DataFrame (one row per step)."""
        return self.timeseries().to_pandas()

    def figures(self) -> list[str]:
        """The names of the figures :meth:`plot` draws for this model (the first is the default)."""
        return list(self._drawers())

    def _drawers(self) -> dict[str, Callable[..., Any]]:
        return {name.removesuffix(".png"): draw for name, draw in FIGURES.get(self.model_name, [])}

    def plot(self, figure: str | None = None, title: str = "") -> Any:
        """A matplotlib figure of the run so far (in a notebook it shows itself).

        The same functions draw the PNGs of ``survsim run``.

        Args:
            figure: one of :meth:`figures` (default: the first, e.g. ``daily_story``).
            title: the figure's title (default: the figure's own).

        Raises:
            ValueError: ``figure`` is not one of this model's (names those that are).
        """
        drawers = self._drawers()
        if not drawers:
            raise ValueError(f"{type(self).__name__} has no figures")
        name = next(iter(drawers)) if figure is None else figure
        if name not in drawers:
            raise ValueError(f"figure {name!r} is not one of: {', '.join(drawers)}")
        return drawers[name](self, None, title)

    def _repr_html_(self) -> str:
        """The run in a notebook: model, size, seed, steps done and its headline numbers."""
        from html import escape

        agents = getattr(self.params, "agents", None)
        rows = [
            ("model", self.model_name or type(self).__name__),
            ("people", f"{agents:,}" if isinstance(agents, int) else "-"),
            ("seed", str(self.seed)),
            (f"{self.step_name}s run", f"{self.t:,} of {self.n_steps:,}"),
        ]
        if self.t > 0:
            facts = self.summary()
            for key in self.headline:
                value: Any = facts
                for part in key.split("."):  # nested numbers: ``national.prisoners``
                    value = value.get(part) if isinstance(value, dict) else None
                rows.append((key, _shown(value)))
        cells = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>{escape(type(self).__name__)}</caption>{cells}</table>"

    def plan_timings(self) -> dict[str, float]:
        """Seconds spent in each step of the plan."""
        return self.plan.timings()

    def describe_plan(self) -> str:
        """The plan as numbered lines: what happens in one step, in order."""
        return "\n".join(
            f"{i}. {name}: {doc}" for i, (name, doc) in enumerate(self.plan.describe(), 1)
        )


def _shown(value: Any) -> str:
    """A headline number as a notebook shows it (``not estimated`` where it is missing)."""
    if value is None:
        return "not estimated"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)
