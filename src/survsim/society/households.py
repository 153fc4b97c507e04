"""Households: the free adults at home talk when the topic comes up (docs/odd.md 4.1).

Soldiers and officers are home with the chance ``conversations.military_home``; children
take no part.
"""

from __future__ import annotations

import numpy as np

from survsim.society.contexts import ContextMechanism

__all__ = ["Households"]


class Households(ContextMechanism):
    """Household conversations (microphones may record them; border teams watch them)."""

    name = "households"
    context = "household"
    doc = "household conversations among the free adults at home"

    def arguments(self) -> tuple:
        """The topic's chance and the chance that a soldier or officer is at home."""
        sim, talk = self.sim, self.sim.talk
        none = np.empty(0, dtype=sim.pop.work_members.dtype)
        return (sim.t, self.code, sim.seed64, self.context_streams, self.topic,
                self.pars.military_home, 0.0, 0, sim.pop.household_start, none, talk.order,
                talk.scratch)  # fmt: skip
