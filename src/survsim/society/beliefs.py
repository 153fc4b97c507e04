"""Beliefs, grievance and banned media (docs/odd.md 4.3 and 4.5).

Beliefs (``pi_hat``) and grievance decay toward their baselines lazily: a value stored on
day ``belief_day`` is read on day t as ``x0 + (x - x0) * (1 - lambda)^(t - belief_day)``
and written back only when it changes, so days without news cost nothing.
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.mechanism import Mechanism, Step, bundle
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import (
    block_count,
    block_size,
    random_block,
    u32_below,
    uniform_from_words,
)
from survsim.engine.state import Attribute
from survsim.society.names import CHILD, FREE

__all__ = [
    "ArrestLog",
    "BeliefParams",
    "Beliefs",
    "Lessons",
    "Minds",
    "current",
    "foreign_media_event",
    "observe_arrests",
    "update_banned_media",
]


class BeliefParams(StrictModel):
    """Learning, decay, grievance and banned media; sources in docs/odd.md 4.3 and 4.5."""

    learning: bool = Field(True, description="beliefs respond to arrests seen nearby")
    eta: float = Field(0.2, ge=0, le=1, description="assumption")
    eta_m: float = Field(0.5, ge=0, le=5, description="assumption")
    suspicion_max: float = Field(5.0, ge=1, le=50, description="assumption")
    belief_decay: float = Field(0.005, ge=0, le=0.1, description="assumption, per day")
    grievance_decay: float = Field(0.002, ge=0, le=0.1, description="assumption, per day")
    grievance_kick: float = Field(0.3, ge=0, le=1, description="assumption")
    media_kick: float = Field(0.05, ge=0, le=1, description="assumption")
    media_start: float = Field(0.0005, ge=0, le=0.05, description="assumption")
    media_stop: float = Field(0.005, ge=0, le=0.1, description="assumption")
    media_event_boost: float = Field(10.0, ge=1, le=100, description="assumption")


@nb.njit(cache=True)
def current(stored, baseline, since, decay):
    """The value of a lazily decaying quantity ``since`` days after it was stored."""
    if since <= 0 or decay == 0.0:
        return stored
    return baseline + (stored - baseline) * (1.0 - decay) ** since


#: The arrays a learning witness reads and writes.
Minds = namedtuple("Minds", "status role pi_hat suspicion grievance grievance0 belief_day")
#: The constants of learning: pi0, belief decay, grievance decay, eta, eta_m, suspicion cap.
Lessons = namedtuple("Lessons", "pi0 belief_decay grievance_decay eta eta_m suspicion_max")


@nb.njit(cache=True)
def _bring_up_to_date(i, day, pi_hat, pi0, grievance, grievance0, belief_day, b_decay, g_decay):
    since = day - belief_day[i]
    if since > 0:
        pi_hat[i] = current(pi_hat[i], pi0, since, b_decay)
        grievance[i] = current(grievance[i], grievance0[i], since, g_decay)
        belief_day[i] = day


@nb.njit(cache=True)
def _learn(i, day, M, L, recorded, kick):
    """Witness i of an arrest: raise pi_hat (and suspicion, if recorded); grieve by kick."""
    if M.status[i] != FREE or M.role[i] == CHILD:
        return
    _bring_up_to_date(i, day, M.pi_hat, L.pi0, M.grievance, M.grievance0, M.belief_day,
                      L.belief_decay, L.grievance_decay)  # fmt: skip
    M.pi_hat[i] += L.eta * (1.0 - M.pi_hat[i])
    if recorded:
        M.suspicion[i] = min(L.suspicion_max, M.suspicion[i] + L.eta_m)
    if kick > 0.0:
        M.grievance[i] += kick * (1.0 - M.grievance[i])


@nb.njit(cache=True)
def _is_friend(i, friends, f0, f1):
    # A loop, not any(): numba does not compile generator expressions here.
    for j in range(f0, f1):  # noqa: SIM110
        if friends[j] == i:
            return True
    return False


@nb.njit(cache=True)
def observe_arrests(arrested, recorded, imprisoned, day, household_start, household, nunit,
                    nunit_person_start, work_unit, work_start, work_members, friend_start,
                    friends, M, L, grievance_kick):  # fmt: skip
    """Everyone who saw an arrest nearby learns; the family and friends of prisoners grieve.

    For each arrested person: the free adults of its household, work unit, neighbourhood
    unit and friends raise ``pi_hat`` by ``eta (1 - pi_hat)`` (and their suspicion of
    bugging by ``eta_m`` if ``recorded``); if ``imprisoned``, its household and friends
    gain ``grievance_kick (1 - g)``. A witness learns once per arrest, however many ties
    link it to the arrested person; a person who saw several arrests learns from each.
    """
    for n in range(arrested.shape[0]):
        a = arrested[n]
        rec = recorded[n]
        kick = grievance_kick if imprisoned[n] else 0.0
        h, u, w = household[a], nunit[a], work_unit[a]
        f0, f1 = friend_start[a], friend_start[a + 1]
        # Each witness learns once per arrest: household, then the rest of the
        # neighbourhood unit, then the rest of the work unit, then the remaining friends.
        for i in range(household_start[h], household_start[h + 1]):
            if i != a:
                _learn(i, day, M, L, rec, kick)
        for i in range(nunit_person_start[u], nunit_person_start[u + 1]):
            if household[i] != h:
                _learn(i, day, M, L, rec, kick if _is_friend(i, friends, f0, f1) else 0.0)
        if w >= 0:
            for j in range(work_start[w], work_start[w + 1]):
                i = np.int64(work_members[j])
                if i != a and household[i] != h and nunit[i] != u:
                    _learn(i, day, M, L, rec, kick if _is_friend(i, friends, f0, f1) else 0.0)
        for j in range(f0, f1):
            i = np.int64(friends[j])
            if household[i] != h and nunit[i] != u and (w < 0 or work_unit[i] != w):
                _learn(i, day, M, L, rec, kick)


@nb.njit(cache=True, parallel=True)
def update_banned_media(
    seed,
    stream,
    day,
    role,
    status,
    banned_media,
    grievance,
    grievance0,
    belief_day,
    g_decay,
    start,
    stop,
):
    """Free adults start banned media with probability ``start * g``, users stop with ``stop``.

    Users are found by a scan and draw whether they stop; candidates to start are drawn
    per block of people (1,024 or fewer) at the rate ``start`` (Poisson count, uniform picks) and
    start with probability g, so the random draws cost the users and the candidates,
    not the people.

    Returns:
        The number of users after the update.
    """
    users = np.zeros((2, CHUNKS), dtype=np.int64)
    for stage in range(2):  # users stop, then new users start: two passes, no overlap
        for chunk in nb.prange(CHUNKS):
            users[stage, chunk] = _media_chunk(
                stage, np.int64(chunk), seed, stream, day, role, status, banned_media, grievance,
                grievance0, belief_day, g_decay, start, stop,
            )  # fmt: skip
    return users.sum()


@nb.njit(cache=True)
def _media_chunk(stage, chunk, seed, stream, day, role, status, banned_media, grievance,
                 grievance0, belief_day, g_decay, start, stop):  # fmt: skip
    n = role.shape[0]
    users = 0
    if stage == 0:
        lo, hi = chunk_bounds(n, chunk)
        for i in range(lo, hi):
            if banned_media[i] and role[i] != CHILD and status[i] == FREE:
                w0, w1, _, _ = random_block(seed, stream, day, i, 0)
                if uniform_from_words(w0, w1) < stop:
                    banned_media[i] = False
                else:
                    users += 1
        return users
    width = block_size(start, 1024)
    first, last = chunk_bounds((n + width - 1) // width, chunk)
    for block in range(first, last):
        lo = block * width
        size = min(width, n - lo)
        count = block_count(seed, stream, day, n + block, start * size)
        for c in range(count):
            w0, w1, w2, _ = random_block(seed, stream, day, n + block, 1 + c)
            i = lo + u32_below(w0, size)
            if banned_media[i] or role[i] == CHILD or status[i] != FREE:
                continue
            g = current(grievance[i], grievance0[i], day - belief_day[i], g_decay)
            if uniform_from_words(w1, w2) < g:
                banned_media[i] = True
                users += 1
    return users


@nb.njit(cache=True)
def foreign_media_event(
    day,
    status,
    banned_media,
    grievance,
    grievance0,
    belief_day,
    b_decay,
    g_decay,
    pi_hat,
    pi0,
    kick,
):
    """A foreign-media event: every free user of banned media gains ``kick (1 - g)``.

    Returns:
        How many people it reached.
    """
    reached = 0
    for i in range(status.shape[0]):
        if banned_media[i] and status[i] == FREE:
            _bring_up_to_date(
                i, day, pi_hat, pi0, grievance, grievance0, belief_day, b_decay, g_decay
            )
            grievance[i] += kick * (1.0 - grievance[i])
            reached += 1
    return reached


class ArrestLog:
    """The day's arrests as people see them: who was arrested, and on a recording or not.

    The apparatus writes it (:func:`arrest_log` gives a run's log); the beliefs read it.
    """

    def __init__(self) -> None:
        self.arrested = np.empty(1024, dtype=np.int32)
        self.recorded = np.empty(1024, dtype=np.bool_)
        self.n = 0

    def make_room(self, worst: int) -> None:
        """Hold at least ``worst`` arrests."""
        if self.arrested.size < worst:
            self.arrested = np.empty(worst, dtype=np.int32)
            self.recorded = np.empty(worst, dtype=np.bool_)


def arrest_log(sim) -> ArrestLog:
    """The run's arrest log (made on first use)."""
    if getattr(sim, "arrests", None) is None:
        sim.arrests = ArrestLog()
    return sim.arrests


class Beliefs(Mechanism):
    """What people believe and feel (docs/odd.md 4.3, 4.5).

    The chance a listener reports, suspicion of bugging, grievance, and the banned media
    that feed it.
    """

    name = "beliefs"
    group = "beliefs"
    params_class = BeliefParams
    arrays = (
        Attribute("grievance0", np.float32, 0, "people", "baseline grievance g0"),
        Attribute("grievance", np.float32, 0, "people", "grievance g (lazy decay to g0)"),
        Attribute("risk_aversion", np.float32, 0, "people", "r ~ U(0,1)"),
        Attribute("pi_hat", np.float32, 0, "people", "belief: chance a listener reports"),
        Attribute("suspicion", np.float32, 1, "people", "belief multiplier for bugging"),
        Attribute("belief_day", np.int32, 0, "people", "day beliefs were last brought up to date"),
        Attribute("banned_media", np.bool_, False, "people", "uses banned media"),
    )
    streams = ("media",)

    def init(self) -> None:
        """No foreign-media event scheduled yet."""
        self.media_days: set[int] = set()
        arrest_log(self.sim)

    def steps(self):
        """Banned media in the morning; learning from the day's arrests."""
        yield Step("media", self.media, "free adults start or stop using banned media", "morning")
        if self.sim.params.apparatus:  # without it, nobody is arrested
            yield Step("learning", self.learn, "people near an arrest learn to fear", "learning")

    def schedule_foreign_media(self, day: int) -> None:
        """A foreign-media event on ``day``: users' grievance rises, more people start."""
        self.media_days.add(int(day))

    def media(self) -> None:
        """Free adults start or stop using banned media (more on a foreign-media day)."""
        sim, be, s = self.sim, self.pars, self.sim.pop.people
        start = be.media_start
        if sim.t in self.media_days:
            start *= be.media_event_boost
            foreign_media_event(sim.t, s.status, s.banned_media, s.grievance, s.grievance0,
                                s.belief_day, be.belief_decay, be.grievance_decay, s.pi_hat,
                                sim.params.population.pi_hat0, be.media_kick)  # fmt: skip
        update_banned_media(sim.seed64, self.stream("media"), sim.t, s.role, s.status,
                            s.banned_media, s.grievance, s.grievance0, s.belief_day,
                            be.grievance_decay, start, be.media_stop)  # fmt: skip

    def learn(self) -> None:
        """People near each of the day's arrests learn (:meth:`observe_arrests`)."""
        log = arrest_log(self.sim)
        n = log.n
        if n:
            self.observe_arrests(log.arrested[:n], log.recorded[:n], np.ones(n, np.bool_))
        log.n = 0

    def observe_arrests(self, arrested, recorded=None, imprisoned=None) -> None:
        """People near each arrested person learn; family and friends of prisoners grieve."""
        ids = np.asarray(arrested, dtype=np.int64)
        rec = np.zeros(ids.size, np.bool_) if recorded is None else np.asarray(recorded, bool)
        imp = np.ones(ids.size, np.bool_) if imprisoned is None else np.asarray(imprisoned, bool)
        sim, be = self.sim, self.pars
        if not be.learning:
            return
        pop, s = sim.pop, sim.pop.people
        minds = bundle(Minds, s)
        lessons = bundle(Lessons, be, pi0=sim.params.population.pi_hat0)
        observe_arrests(ids, rec, imp, sim.t, pop.household_start, s.household, s.nunit,
                        pop.nunit_person_start, s.work_unit, pop.work_start, pop.work_members,
                        pop.friend_start, pop.friends, minds, lessons,
                        be.grievance_kick)  # fmt: skip
