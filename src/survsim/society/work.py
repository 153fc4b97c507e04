"""Work units: colleagues talk in small groups, six days in seven (docs/odd.md 4.1).

A work unit is cut into groups of ``min(8, 2 + Poisson(work_group_extra))`` people; only
the groups in which the topic comes up are formed.
"""

from __future__ import annotations

from survsim.society.contexts import ContextMechanism
from survsim.society.conversations import CAP_WORK, groups_per_person

__all__ = ["Work"]


class Work(ContextMechanism):
    """Work-unit conversations."""

    name = "work"
    context = "work"
    doc = "work-unit conversations in small groups, six days in seven"

    def arguments(self) -> tuple:
        """Expected topic groups per person listed in a unit, and the group-size law."""
        sim, talk, c = self.sim, self.sim.talk, self.pars
        lam = self.topic * groups_per_person(c.work_group_extra, int(CAP_WORK))
        return (sim.t, self.code, sim.seed64, self.context_streams, lam, c.work_group_extra,
                0.0, 0, sim.pop.work_start, sim.pop.work_members, talk.order,
                talk.scratch)  # fmt: skip
