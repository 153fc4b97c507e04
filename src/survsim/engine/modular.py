"""A simulation assembled from mechanisms (:mod:`survsim.engine.mechanism`).

The model lists its mechanism classes in order and names the phases of its day; the
simulation then

1. creates the mechanisms (each gets its random streams),
2. allocates every declared per-person array in one state (:attr:`ModularSim.people`,
   via :meth:`ModularSim.allocate_people`, which the model calls in its build),
3. gives each mechanism a view of its daily counters in one array
   (:attr:`ModularSim.counts`, zeroed before every step),
4. builds the result columns (the model's own, then each mechanism's counters and
   columns; those the model pins in :attr:`ModularSim.column_order` first),
5. builds the plan: the steps of every mechanism sorted by phase, then by list order,
   and last the step ``record``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.plan import Plan
from survsim.engine.sim import Sim
from survsim.engine.state import Attribute, State

__all__ = ["ModularSim"]


class ModularSim(Sim):
    """Base class of a model made of :class:`~survsim.engine.mechanism.Mechanism` s.

    A subclass sets :attr:`mechanisms` and :attr:`phases`, builds its population in
    :meth:`build_people` and writes its own columns in :meth:`record_model`.
    """

    #: The model's mechanism classes, in order.
    mechanisms: ClassVar[tuple[type[Mechanism], ...]] = ()
    #: The phases of one step, in order; every mechanism step names one.
    phases: ClassVar[tuple[str, ...]] = ()
    #: The model's own per-person arrays (besides those of its mechanisms).
    base_arrays: ClassVar[tuple[Attribute, ...]] = ()
    #: The result columns the model writes itself in :meth:`record_model`.
    model_columns: ClassVar[dict[str, type]] = {}
    #: The order of the first result columns, where a test pins it; the others follow in
    #: declaration order (a mechanism added to the model adds its columns at the end).
    column_order: ClassVar[tuple[str, ...]] = ()

    # -- assembly ------------------------------------------------------------------------

    def build(self) -> None:
        """Create the mechanisms, their counters, the population, then run their init."""
        self.parts: dict[str, Mechanism] = {}
        for cls in self.mechanisms:
            if cls.name in self.parts:
                raise ValueError(f"two mechanisms are named {cls.name!r}")
            self.parts[cls.name] = cls(self)
        names = [c for m in self.parts.values() for c in m.counters]
        if len(set(names)) != len(names):
            raise ValueError(f"a counter is declared twice: {names}")
        self.counts = np.zeros(len(names), dtype=np.int64)
        start = 0
        for m in self.parts.values():
            m.counts = self.counts[start : start + len(m.counters)]
            start += len(m.counters)
        self.counter_slot = {name: i for i, name in enumerate(names)}
        self.build_people()
        for m in self.parts.values():
            m.init()
        self.derive()

    def person_attributes(self) -> list[Attribute]:
        """The model's and every mechanism's per-person arrays (names must be unique)."""
        found: dict[str, str] = {a.name: "the model" for a in self.base_arrays}
        attributes = list(self.base_arrays)
        for m in self.parts.values():
            for a in m.arrays:
                if a.name in found:
                    raise ValueError(
                        f"array {a.name!r} is declared by {found[a.name]} and by {m.name!r}"
                    )
                found[a.name] = repr(m.name)
                attributes.append(a)
        return attributes

    def allocate_people(self, n: int, only: set[str] | None = None) -> State:
        """One state holding every declared per-person array (or those in ``only``).

        The others can be added later with :meth:`allocate_rest`, so that a population
        builder's peak memory does not hold arrays it does not fill.
        """
        attributes = [
            Attribute(a.name, a.dtype, a.default, "people", a.doc)
            for a in self.person_attributes()
            if only is None or a.name in only
        ]
        return State.allocate(attributes, people=n)

    def allocate_rest(self, people: State) -> None:
        """Add to ``people`` every declared per-person array it does not hold yet."""
        people.extend(
            [
                Attribute(a.name, a.dtype, a.default, "people", a.doc)
                for a in self.person_attributes()
                if a.name not in people
            ]
        )

    def build_people(self) -> None:
        """Allocate :attr:`people` and draw the population (the model's part)."""
        raise NotImplementedError

    def derive(self) -> None:
        """Every mechanism derives what follows from the parameters (list order)."""
        for m in self.parts.values():
            m.derive()

    def restored(self) -> None:
        """After a checkpoint's parameters are back: derive what follows from them."""
        self.derive()

    def mechanism(self, name: str) -> Mechanism:
        """The mechanism called ``name``.

        Raises:
            KeyError: no mechanism has that name (names the ones there are).
        """
        try:
            return self.parts[name]
        except KeyError:
            raise KeyError(
                f"no mechanism {name!r} (the model has: {', '.join(self.parts)})"
            ) from None

    # -- results and plan ----------------------------------------------------------------

    def result_columns(self) -> dict[str, type]:
        """The model's columns, each mechanism's counters and columns (in column_order)."""
        columns: dict[str, type] = dict(self.model_columns)
        for m in self.parts.values():
            owned = {c: np.int64 for c in m.counters if not c.startswith("_")}
            owned.update(m.columns)
            for name, dtype in owned.items():
                if name in columns:
                    raise ValueError(f"result column {name!r} is declared twice")
                columns[name] = dtype
        if self.column_order:
            missing = [name for name in self.column_order if name not in columns]
            if missing:
                raise ValueError(f"column_order names undeclared columns: {missing}")
            pinned = {name: columns[name] for name in self.column_order}
            columns = pinned | {k: v for k, v in columns.items() if k not in pinned}
        return columns

    def make_plan(self) -> Plan:
        """Every mechanism's steps, by phase, then in the mechanisms' order."""
        order = {phase: i for i, phase in enumerate(self.phases)}
        steps: list[tuple[int, int, Step]] = []
        for rank, m in enumerate(self.parts.values()):
            for step in m.steps():
                if step.phase not in order:
                    raise ValueError(
                        f"step {step.name!r} of {m.name!r} names phase {step.phase!r} "
                        f"(allowed: {', '.join(self.phases)})"
                    )
                steps.append((order[step.phase], rank, step))
        steps.sort(key=lambda x: (x[0], x[1]))
        record = ("record", self.record, "the day's census and counts")
        return Plan.of([*((s.name, s.run, s.doc) for _, _, s in steps), record])

    def step(self) -> None:
        """Zero the day's counters, then advance one step (:meth:`Sim.step`)."""
        self.counts[:] = 0
        super().step()

    def record(self) -> None:
        """Row :attr:`t`: the model's columns, the counters, each mechanism's columns."""
        t, columns = self.t, self.results.columns
        self.record_model(t, columns)
        for name, slot in self.counter_slot.items():
            if not name.startswith("_"):
                columns[name][t] = self.counts[slot]
        for m in self.parts.values():
            m.record(t, columns)

    def record_model(self, t: int, columns: dict[str, Any]) -> None:
        """Write the model's own columns of row ``t``."""

    def describe_mechanisms(self) -> str:
        """One line per mechanism: its name, parameter group, arrays, streams, counters."""
        lines = []
        for m in self.parts.values():
            arrays = ", ".join(a.name for a in m.arrays) or "-"
            lines.append(
                f"{m.name} [{m.group or '-'}] arrays: {arrays}; streams: "
                f"{', '.join(m.streams) or '-'}; counters: {', '.join(m.counters) or '-'}"
            )
        return "\n".join(lines)
