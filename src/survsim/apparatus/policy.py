"""The policy timeline: events that change parameters on given days (docs/odd.md 4.9).

Cameras are bought along a linear ramp (the seed article's 100,000 over four years).
Other events name a day and change parameters (``set``: dotted paths such as
``border.team_size``), raise grievance through a foreign-media event, or release a share of
the prisoners (an amnesty). Events apply at the start of their day, in file order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.params import StrictModel
from survsim.society.names import FREE, IMPRISONED

__all__ = ["CameraPurchase", "PolicyEvent", "PolicyParams", "PolicyTimeline", "apply_event"]

#: Parameter groups an event may change (the population is built once and stays).
CHANGEABLE = (
    "speech",
    "listening",
    "beliefs",
    "channels",
    "cases",
    "agencies",
    "punishment",
    "recruitment",
    "border",
    "conversations",
    "demography",
    "exit",
)


class CameraPurchase(StrictModel):
    """Cameras bought along a straight line from ``start_day`` to ``end_day`` (national)."""

    cameras: float = Field(100_000, ge=0, le=10_000_000, description="seed: about 100,000")
    start_day: int = Field(0, ge=0, description="assumption: the purchases start on day 0")
    end_day: int = Field(1460, ge=0, description="seed: over four years")

    @model_validator(mode="after")
    def _ordered(self) -> CameraPurchase:
        if self.end_day < self.start_day:
            raise ValueError(
                f"camera_purchase: end_day = {self.end_day} is before start_day = "
                f"{self.start_day} (allowed: end_day >= start_day)"
            )
        return self

    def bought(self, day: int) -> float:
        """Cameras bought by the start of ``day``."""
        if day <= self.start_day:
            return 0.0
        if day >= self.end_day:
            return self.cameras
        return self.cameras * (day - self.start_day) / (self.end_day - self.start_day)


class PolicyEvent(StrictModel):
    """One dated event of the timeline."""

    day: int = Field(ge=0, description="day the event applies (at its start)")
    set: dict[str, float | int | bool] = Field(
        default_factory=dict, description="parameters to change: dotted path -> value"
    )
    foreign_media: bool = Field(False, description="a foreign-media event (docs/odd.md 4.5)")
    amnesty: float = Field(0.0, ge=0, le=1, description="share of prisoners released")
    note: str = Field("", max_length=300, description="what the event stands for")

    @model_validator(mode="after")
    def _paths(self) -> PolicyEvent:
        for path in self.set:
            if path.split(".")[0] not in CHANGEABLE:
                raise ValueError(
                    f"policy event on day {self.day}: set '{path}' is not allowed "
                    f"(allowed: a path under {', '.join(CHANGEABLE)})"
                )
        return self


class PolicyParams(StrictModel):
    """The timeline of a scenario."""

    camera_purchase: CameraPurchase = CameraPurchase()
    events: list[PolicyEvent] = Field(default_factory=list)


def apply_event(params: Any, event: PolicyEvent) -> Any:
    """The parameters after ``event``'s ``set`` changes (validated again, events kept).

    Raises:
        ValueError: a path names no parameter, or the new value is not allowed.
    """
    if not event.set:
        return params
    data: dict[str, Any] = params.model_dump()
    for path, value in event.set.items():
        node = data
        keys = path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise ValueError(f"set '{path}': no parameter group '{key}'")
            node = node[key]
        if keys[-1] not in node or isinstance(node[keys[-1]], dict):
            raise ValueError(f"set '{path}': no parameter '{keys[-1]}' there")
        old = node[keys[-1]]
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        node[keys[-1]] = value
    data["policy"] = {"camera_purchase": data["policy"]["camera_purchase"], "events": []}
    changed = type(params).model_validate(data)
    return changed.model_copy(update={"policy": params.policy})


class PolicyTimeline(Mechanism):
    """The scenario's dated events: parameter changes, foreign media, amnesties."""

    name = "policy timeline"
    group = "policy"
    params_class = PolicyParams
    streams = ("amnesty",)

    def steps(self):
        """The events due today, first thing in the morning."""
        yield Step("policy", self.day, "the timeline's events due today", "morning")

    def day(self) -> None:
        """Apply today's events; the mechanisms derive again if a parameter changed."""
        sim = self.sim
        changed = False
        for event in sim.params.policy.events:
            if event.day != sim.t:
                continue
            if event.set:
                sim.params = apply_event(sim.params, event)
                changed = True
            if event.foreign_media:
                sim.mechanism("beliefs").schedule_foreign_media(sim.t)
            if event.amnesty > 0:
                self.amnesty(event.amnesty)
        if changed:
            sim.derive()

    def amnesty(self, share: float) -> None:
        """Release each prisoner with the chance ``share``."""
        sim = self.sim
        s = sim.pop.people
        prisoners = np.flatnonzero(s.status == IMPRISONED)
        u = sim.streams.uniform("amnesty", sim.t, sim.params.agents)[prisoners]
        freed = prisoners[u < share]
        s.status[freed] = FREE
        sim.counts[sim.counter_slot["releases"]] += freed.size
