"""The step loop as an explicit, ordered plan.

A model's day (or step) is a list of named steps, each a callable with a one-line
description. The plan runs them in order and keeps the wall time spent in each, so a
user can print what a step does and where the time goes (``Sim.describe_plan()``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["Plan", "PlanStep"]


@dataclass
class PlanStep:
    """One named step of the loop.

    Attributes:
        name: short identifier (``"activate"``, ``"record"``).
        run: called with no argument once per simulated step.
        doc: one line on what the step does, in the model's words.
        seconds: wall time spent in this step so far.
        calls: how many times it ran.
    """

    name: str
    run: Callable[[], None]
    doc: str = ""
    seconds: float = 0.0
    calls: int = 0


@dataclass
class Plan:
    """An ordered list of steps, timed as they run."""

    steps: list[PlanStep] = field(default_factory=list)

    @classmethod
    def of(cls, steps: Iterable[tuple[str, Callable[[], None], str]]) -> Plan:
        """Build a plan from ``(name, callable, doc)`` triples.

        Raises:
            ValueError: two steps share a name.
        """
        built = [PlanStep(name, run, doc) for name, run, doc in steps]
        names = [s.name for s in built]
        if len(set(names)) != len(names):
            raise ValueError(f"plan step names must be unique, got {names}")
        return cls(built)

    def execute(self) -> None:
        """Run every step once, in order, adding its wall time to its total."""
        clock = time.perf_counter
        for step in self.steps:
            start = clock()
            step.run()
            step.seconds += clock() - start
            step.calls += 1

    def timings(self) -> dict[str, float]:
        """Seconds spent in each step, by name, in plan order."""
        return {s.name: s.seconds for s in self.steps}

    def describe(self) -> list[tuple[str, str]]:
        """``(name, doc)`` of each step, in order."""
        return [(s.name, s.doc) for s in self.steps]
