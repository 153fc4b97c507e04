"""Public places: strangers of a district meet in small groups (docs/odd.md 4.1).

A district is ``conversations.district_nunits`` neighbourhood units; its groups of
``min(12, 2 + Poisson(public_group_extra))`` free adults are drawn from its people.
Microphones and cameras watch them.
"""

from __future__ import annotations

import numpy as np

from survsim.society.contexts import ContextMechanism
from survsim.society.conversations import CAP_PUBLIC, groups_per_person

__all__ = ["PublicPlaces"]


class PublicPlaces(ContextMechanism):
    """Conversations among strangers in public places."""

    name = "public places"
    context = "public"
    doc = "strangers in public places (microphones, cameras)"

    def arguments(self) -> tuple:
        """Expected topic groups per free adult, the group-size law, the districts."""
        sim, talk, c = self.sim, self.sim.talk, self.pars
        lam = self.topic * c.public_rate * groups_per_person(c.public_group_extra, int(CAP_PUBLIC))
        none = np.empty(0, dtype=sim.pop.work_members.dtype)
        return (sim.t, self.code, sim.seed64, self.context_streams, lam,
                c.public_group_extra, 0.0, c.district_nunits, sim.pop.nunit_person_start,
                none, talk.order, talk.scratch)  # fmt: skip
