"""Neighbourhood units (inminban): meetings where the head listens (docs/odd.md 4.1).

A unit meets with ``conversations.nunit_meeting_rate`` a day and each free adult attends
with ``nunit_attendance``; the head reports like an informant of zeal
``listening.head_zeal``.
"""

from __future__ import annotations

from survsim.society.contexts import ContextMechanism

__all__ = ["NeighbourhoodUnits"]


class NeighbourhoodUnits(ContextMechanism):
    """Neighbourhood-unit meetings."""

    name = "neighbourhood units"
    context = "neighbourhood"
    doc = "neighbourhood-unit meetings"

    def arguments(self) -> tuple:
        """The topic's chance, the meeting rate and the attendance."""
        sim, talk, c = self.sim, self.sim.talk, self.pars
        return (sim.t, self.code, sim.seed64, self.context_streams, self.topic,
                c.nunit_meeting_rate, c.nunit_attendance, 0, sim.pop.nunit_person_start,
                sim.pop.nunit_head, talk.order, talk.scratch)  # fmt: skip
