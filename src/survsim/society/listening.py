"""Listeners: who reports an open statement, and fabricated reports (docs/odd.md 4.4).

A listener j reports an open statement with probability ``q_j`` if it is an informant (or
the neighbourhood unit's head at a meeting), else ``q0 + d_j(k, c)`` with the defensive
term ``d_j = delta * (1 - (1 - a_j)^(k - 2) * (1 - mhat_jc))``, ``a_j`` the listener's
learned per-listener risk (:mod:`survsim.society.speech`). A draw below ``q0``
is an ordinary report, between ``q0`` and ``q0 + d_j`` a defensive one.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.events import emit, room
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.params import StrictModel
from survsim.engine.rng import block_count, block_size, random_block, u32_below
from survsim.society.bundles import chunk_views
from survsim.society.names import (
    CHILD,
    DEFENSIVE_REPORT,
    FABRICATED,
    FREE,
    INFORMANT_REPORT,
    NO_REPORT,
    ORDINARY_REPORT,
)
from survsim.society.speech import defensive_fear

__all__ = [
    "KINDS",
    "Listeners",
    "ListeningParams",
    "fabricate",
    "listener_report",
    "report_oracle",
]

#: Kinds of report a listener or an informant makes (evidence kinds of the same name).
KINDS = ("informant", "ordinary", "defensive", "fabricated")
_BLOCK = 1024
_CHUNK0 = np.int64(0)


class ListeningParams(StrictModel):
    """Parameters of listening and fabrication; sources in docs/odd.md 3.8 and 4.4."""

    q0: float = Field(0.02, ge=0, le=0.5, description="assumption: ordinary reporting")
    defensive: bool = Field(True, description="listeners report defensively (delta of speech)")
    head_zeal: float = Field(0.5, ge=0, le=1, description="assumption: inminban heads")
    fabrication_base: float = Field(0.0005, ge=0, le=0.01, description="assumption")
    fabrication_reward: float = Field(1.0, ge=0, le=10, description="assumption")
    reward: float = Field(1.0, ge=0, le=10, description="assumption (gifts, seed article)")

    @property
    def fabrication_rate(self) -> float:
        """``f = fabrication_base * (1 + fabrication_reward * reward)`` per informant-day."""
        return self.fabrication_base * (1 + self.fabrication_reward * self.reward)


@nb.njit(cache=True, inline="always")
def listener_report(u, zeal, is_informant, k, a, mhat, delta, q0, defensive):
    """The kind of report a listener makes from its uniform ``u``, or ``NO_REPORT``.

    ``a`` is the listener's own learned per-listener risk for a group of k: its fear
    that one of the others passes the statement on.
    """
    if is_informant:
        return INFORMANT_REPORT if u < zeal else NO_REPORT
    if u < q0:
        return ORDINARY_REPORT
    if defensive and u < q0 + defensive_fear(k, a, mhat, delta):
        return DEFENSIVE_REPORT
    return NO_REPORT


def report_oracle(k: int, p: float, q: float, q0: float) -> float:
    """MODEL.md section 5: ``1 - (1 - p q - (1 - p) q0)^(k - 1)``.

    The chance that an open statement in a group of k is reported by some listener when
    informants are placed independently with probability p and zeal q, with channels,
    learning, fabrication and defensive reporting off.
    """
    return 1.0 - (1.0 - p * q - (1.0 - p) * q0) ** (k - 1)


@nb.njit(cache=True)
def fabricate(day, seed, stream, rate, household_start, household, work_unit, work_start,
              work_members, friend_start, friends, P, T, W, E, cursor):  # fmt: skip
    """Informants fabricate reports about adults they know (docs/odd.md 4.4).

    An informant fabricates at ``rate`` a day: people are drawn per block of ids at that
    rate and the informants among them fabricate, so the cost is the draws, not the
    people. The target is drawn uniformly from the informant's household, its work unit
    and its friends together; a draw that lands on itself or a child makes no report.
    Runs in one chunk; stops when its event row is full and goes on from ``cursor[0]``
    (block, draw) when called again (:meth:`survsim.engine.events.EventTable.produce`).
    """
    tally, _, events = chunk_views(T, W, E, _CHUNK0)
    cur = cursor[0]
    n = P.role.shape[0]
    width = block_size(rate, _BLOCK)
    for block in range(cur[0], (n + width - 1) // width):
        lo = block * width
        size = min(width, n - lo)
        first = cur[1] if block == cur[0] else 0
        for c in range(first, block_count(seed, stream, day, block, rate * size)):
            if not room(events, 1):
                cur[0] = block
                cur[1] = c
                return
            w0, _, w2, _ = random_block(seed, stream, day, block, 1 + c)
            i = lo + u32_below(w0, size)
            if not P.informant[i] or P.status[i] != FREE:
                continue
            h = household[i]
            w = work_unit[i]
            n_h = household_start[h + 1] - household_start[h]
            n_w = work_start[w + 1] - work_start[w] if w >= 0 else 0
            n_f = friend_start[i + 1] - friend_start[i]
            pick = u32_below(w2, n_h + n_w + n_f)
            if pick < n_h:
                target = household_start[h] + pick
            elif pick < n_h + n_w:
                target = work_members[work_start[w] + pick - n_h]
            else:
                target = friends[friend_start[i] + pick - n_h - n_w]
            if target == i or P.role[target] == CHILD or P.status[target] != FREE:
                continue
            tally.reports[FABRICATED] += 1
            emit(events, target, FABRICATED, day)
    cur[2] = 1


class Listeners(Mechanism):
    """Listeners report open statements; informants also fabricate reports.

    The reports are made in :func:`~survsim.society.statements.converse` by the rule
    :func:`listener_report`; the fabrications in a step of their own.
    """

    name = "listeners"
    group = "listening"
    params_class = ListeningParams
    streams = ("fabricate",)
    produces = ("informant", "ordinary", "defensive", "fabricated")

    def steps(self):
        """The informants' fabrications, after the day's conversations."""
        yield Step("fabrication", self.fabricate, "informants fabricate reports", "talk")

    def fabricate(self) -> None:
        """Today's fabricated reports, written as evidence events."""
        sim, talk = self.sim, self.sim.talk
        pop = sim.pop
        args = (sim.t, sim.seed64, self.stream("fabricate"), self.pars.fabrication_rate,
                pop.household_start, pop.people.household, pop.people.work_unit,
                pop.work_start, pop.work_members, pop.friend_start, pop.friends, talk.P,
                talk.chunk_tally, talk.watch())  # fmt: skip
        talk.serial_events.produce(lambda E, cursor: fabricate(*args, E, cursor))
