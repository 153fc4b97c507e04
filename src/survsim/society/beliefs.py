"""Beliefs, grievance and banned media (docs/odd.md 4.3 and 4.5; MODEL.md 8.2).

What a person believes about the danger of speaking is learned from what happens around
it. Per class of group s (pairs; three or more) it keeps decayed counts: ``H_s``
(``heard_pair``, ``heard_group``), the open statements it heard, and ``A_s``
(``seen_pair``, ``seen_group``), the sanctions it saw of people it knows whose file held
a statement made in class s (a warning it received adds ``warning_weight`` to its own
``A``). With ``present`` (the others present when the topic came up) it also knows the
share of open speakers around it, and with ``group_size`` the mean size of its groups
of three or more. ``loss_hat`` is the loss (prison-years) it believes a sanction brings:
each sanction seen moves it by ``loss_learning`` toward that sanction's severity.

Every count decays at ``belief_decay`` a day (the believed loss toward ``L_REF``) and
grievance toward its baseline, lazily: the values stored on day ``belief_day`` are
brought up to date (:func:`refresh`) the next time the person is touched, so days
without news cost nothing.
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
from survsim.society.speech import GROUP_EIGHTHS, L_REF

__all__ = [
    "GROUP_EIGHTHS",
    "ArrestLog",
    "BeliefParams",
    "Beliefs",
    "Lessons",
    "Log",
    "Minds",
    "current",
    "foreign_media_event",
    "observe_arrests",
    "observe_warnings",
    "refresh",
    "refresh_all",
    "update_banned_media",
]

#: Statement classes of a file or an arrest: none (no statement), pair, three or more.
NO_CLASS, PAIR, GROUP = 0, 1, 2


class BeliefParams(StrictModel):
    """Learning, decay, grievance and banned media; sources in docs/odd.md 4.3 and 4.5."""

    learning: bool = Field(True, description="beliefs respond to sanctions seen nearby")
    eta_m: float = Field(0.5, ge=0, le=5, description="assumption")
    suspicion_max: float = Field(5.0, ge=1, le=50, description="assumption")
    belief_decay: float = Field(0.005, ge=0, le=0.1, description="lambda_b: assumption, per day")
    grievance_decay: float = Field(0.002, ge=0, le=0.1, description="assumption, per day")
    grievance_kick: float = Field(0.3, ge=0, le=1, description="assumption")
    media_kick: float = Field(0.05, ge=0, le=1, description="assumption")
    media_start: float = Field(0.0005, ge=0, le=0.05, description="assumption")
    media_stop: float = Field(0.005, ge=0, le=0.1, description="assumption")
    media_event_boost: float = Field(10.0, ge=1, le=100, description="assumption")
    spinup_days: int = Field(
        1461,
        ge=0,
        le=36525,
        description="days run before day 0 (once per parameter set, cached) so that the "
        "learned counts, grievance and banned media start stationary (MODEL.md 8.4); "
        "0: start from the prior",
    )


@nb.njit(cache=True)
def current(stored, baseline, since, decay):
    """The value of a lazily decaying quantity ``since`` days after it was stored."""
    if since <= 0 or decay == 0.0:
        return stored
    return baseline + (stored - baseline) * (1.0 - decay) ** since


@nb.njit(cache=True, inline="always")
def refresh(i, day, X, b_decay, g_decay):
    """Bring person i's counts, believed loss and grievance up to ``day`` (lazy decay).

    ``X`` is any bundle with the belief arrays (:data:`Minds`, or the conversations'
    ``People``).
    """
    since = day - X.belief_day[i]
    if since <= 0:
        return
    X.belief_day[i] = day
    X.grievance[i] = current(X.grievance[i], X.grievance0[i], since, g_decay)
    if b_decay == 0.0:
        return
    f = (1.0 - b_decay) ** since
    X.heard_pair[i] *= f
    X.heard_group[i] *= f
    X.seen_pair[i] *= f
    X.seen_group[i] *= f
    X.present[i] *= f
    X.loss_hat[i] = L_REF + (X.loss_hat[i] - L_REF) * f


@nb.njit(cache=True)
def refresh_all(day, X, b_decay, g_decay):
    """Bring everyone's counts, believed loss and grievance up to ``day``."""
    for i in range(X.belief_day.shape[0]):
        refresh(i, day, X, b_decay, g_decay)


#: The arrays a learning witness reads and writes.
Minds = namedtuple(
    "Minds",
    "status role suspicion grievance grievance0 belief_day heard_pair heard_group seen_pair "
    "seen_group present loss_hat",
)
#: The constants of learning.
Lessons = namedtuple(
    "Lessons", "belief_decay grievance_decay eta_m suspicion_max loss_learning warning_weight"
)


@nb.njit(cache=True)
def _learn(i, day, M, L, said_in, severity, recorded, kick):
    """Witness i of a sanction: count it in its class, learn its severity, grieve by kick."""
    if M.status[i] != FREE or M.role[i] == CHILD:
        return
    refresh(i, day, M, L.belief_decay, L.grievance_decay)
    if said_in == PAIR:
        M.seen_pair[i] += 1.0
    elif said_in == GROUP:
        M.seen_group[i] += 1.0
    M.loss_hat[i] += L.loss_learning * (severity - M.loss_hat[i])
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
def observe_arrests(arrested, said_in, severity, recorded, imprisoned, day, household_start,
                    household, nunit, nunit_person_start, work_unit, work_start, work_members,
                    friend_start, friends, M, L, grievance_kick):  # fmt: skip
    """Everyone who saw a sanction nearby learns; the family and friends of prisoners grieve.

    For each sanctioned person: the free adults of its household, work unit,
    neighbourhood unit and friends count it in the class ``said_in`` of its file (none,
    pairs, three or more), move their believed loss toward its ``severity`` and, if
    ``recorded``, raise their suspicion of bugging by ``eta_m``; if ``imprisoned``, its
    household and friends gain ``grievance_kick (1 - g)``. A witness learns once per
    sanction, however many ties link it to the sanctioned person.
    """
    for n in range(arrested.shape[0]):
        a = arrested[n]
        cls, sev, rec = said_in[n], severity[n], recorded[n]
        kick = grievance_kick if imprisoned[n] else 0.0
        h, u, w = household[a], nunit[a], work_unit[a]
        f0, f1 = friend_start[a], friend_start[a + 1]
        # Each witness learns once per arrest: household, then the rest of the
        # neighbourhood unit, then the rest of the work unit, then the remaining friends.
        for i in range(household_start[h], household_start[h + 1]):
            if i != a:
                _learn(i, day, M, L, cls, sev, rec, kick)
        for i in range(nunit_person_start[u], nunit_person_start[u + 1]):
            if household[i] != h:
                k = kick if _is_friend(i, friends, f0, f1) else 0.0
                _learn(i, day, M, L, cls, sev, rec, k)
        if w >= 0:
            for j in range(work_start[w], work_start[w + 1]):
                i = np.int64(work_members[j])
                if i != a and household[i] != h and nunit[i] != u:
                    k = kick if _is_friend(i, friends, f0, f1) else 0.0
                    _learn(i, day, M, L, cls, sev, rec, k)
        for j in range(f0, f1):
            i = np.int64(friends[j])
            if household[i] != h and nunit[i] != u and (w < 0 or work_unit[i] != w):
                _learn(i, day, M, L, cls, sev, rec, kick)


@nb.njit(cache=True)
def observe_warnings(warned, warned_in, day, M, L):
    """Each warned person counts its warning as ``warning_weight`` sanctions in its class."""
    for n in range(warned.shape[0]):
        i = warned[n]
        if M.status[i] != FREE:
            continue
        refresh(i, day, M, L.belief_decay, L.grievance_decay)
        if warned_in[n] == PAIR:
            M.seen_pair[i] += L.warning_weight
        elif warned_in[n] == GROUP:
            M.seen_group[i] += L.warning_weight


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
def foreign_media_event(day, banned_media, M, L, kick):
    """A foreign-media event: every free user of banned media gains ``kick (1 - g)``.

    Returns:
        How many people it reached.
    """
    reached = 0
    for i in range(M.status.shape[0]):
        if banned_media[i] and M.status[i] == FREE:
            refresh(i, day, M, L.belief_decay, L.grievance_decay)
            M.grievance[i] += kick * (1.0 - M.grievance[i])
            reached += 1
    return reached


#: The arrays the apparatus writes the day's sanctions and warnings into, and their
#: counts (``count``: sanctions, warnings).
Log = namedtuple("Log", "arrested said_in severity recorded imprisoned warned warned_in count")


class ArrestLog:
    """The day's sanctions and warnings as people see them.

    Per sanctioned person: its id, the class of the statements in its file (none, pair,
    three or more: a relative taken with a family carries the file's class), the
    severity people read in it (prison-years, the family's counted), whether a recording
    was in the file, and whether it goes to prison (else labour training). Per warned
    person: its id and its file's class. The apparatus writes it (:func:`arrest_log`
    gives a run's log); the beliefs read it.
    """

    def __init__(self) -> None:
        self.n = 0
        self.n_warned = 0
        self._allocate(1024, 1024)

    def _allocate(self, arrests: int, warnings: int) -> None:
        self.arrested = np.empty(arrests, dtype=np.int32)
        self.said_in = np.zeros(arrests, dtype=np.uint8)
        self.severity = np.zeros(arrests, dtype=np.float32)
        self.recorded = np.zeros(arrests, dtype=np.bool_)
        self.imprisoned = np.zeros(arrests, dtype=np.bool_)
        self.warned = np.empty(warnings, dtype=np.int32)
        self.warned_in = np.zeros(warnings, dtype=np.uint8)

    def bundle(self) -> Log:
        """The arrays as the apparatus writes them, with zeroed counts."""
        count = np.zeros(2, dtype=np.int64)
        return Log(self.arrested, self.said_in, self.severity, self.recorded,
                   self.imprisoned, self.warned, self.warned_in, count)  # fmt: skip

    def make_room(self, worst: int, warnings: int = 0) -> None:
        """Hold at least ``worst`` arrests and ``warnings`` warnings."""
        if self.arrested.size < worst or self.warned.size < warnings:
            self._allocate(max(worst, self.arrested.size), max(warnings, self.warned.size))


def arrest_log(sim) -> ArrestLog:
    """The run's arrest log (made on first use)."""
    if getattr(sim, "arrests", None) is None:
        sim.arrests = ArrestLog()
    return sim.arrests


class Beliefs(Mechanism):
    """What people believe and feel (docs/odd.md 4.3, 4.5; MODEL.md 8.2).

    The learned risk of speaking per class of group, the believed loss, suspicion of
    bugging, grievance, and the banned media that feed it.
    """

    name = "beliefs"
    group = "beliefs"
    params_class = BeliefParams
    arrays = (
        Attribute("grievance0", np.float32, 0, "people", "baseline grievance g0"),
        Attribute("grievance", np.float32, 0, "people", "grievance g (lazy decay to g0)"),
        Attribute("risk_aversion", np.float32, 0, "people", "r ~ U(0,1)"),
        Attribute("suspicion", np.float32, 1, "people", "belief multiplier for bugging"),
        Attribute("belief_day", np.int32, 0, "people", "day beliefs were last brought up to date"),
        Attribute("heard_pair", np.float32, 0, "people", "H_2: open statements heard in pairs"),
        Attribute("heard_group", np.float32, 0, "people", "H_3: heard in groups of 3 or more"),
        Attribute("seen_pair", np.float32, 0, "people", "A_2: sanctions seen, pair statements"),
        Attribute("seen_group", np.float32, 0, "people", "A_3: sanctions seen, group statements"),
        Attribute("present", np.float32, 0, "people", "others present when the topic came up"),
        Attribute("loss_hat", np.float32, L_REF, "people", "believed loss of a sanction, years"),
        Attribute("group_size", np.uint8, 24, "people", "mean size of its 3+ groups, eighths"),
        Attribute("banned_media", np.bool_, False, "people", "uses banned media"),
    )
    streams = ("media",)
    #: What a spin-up hands on (MODEL.md 8.4): grievance as its excess over the baseline.
    carried = ("grievance", "suspicion", "heard_pair", "heard_group", "seen_pair",
               "seen_group", "present", "loss_hat", "group_size", "banned_media")  # fmt: skip

    def init(self) -> None:
        """No foreign-media event scheduled yet."""
        self.media_days: set[int] = set()
        arrest_log(self.sim)

    def steps(self):
        """Banned media in the morning; learning from the day's sanctions and warnings."""
        yield Step("media", self.media, "free adults start or stop using banned media", "morning")
        if self.sim.params.apparatus:  # without it, nobody is arrested
            yield Step("learning", self.learn, "people near a sanction learn to fear", "learning")

    def schedule_foreign_media(self, day: int) -> None:
        """A foreign-media event on ``day``: users' grievance rises, more people start."""
        self.media_days.add(int(day))

    def stationary(self) -> dict[str, np.ndarray]:
        """Everyone's beliefs brought up to the spin-up's last day; grievance as excess.

        A slot whose person died and was replaced during the spin-up holds the newcomer's
        state; the run's person there takes it on over its own baseline grievance.
        """
        minds, lessons = self._minds()
        refresh_all(self.sim.t, minds, lessons.belief_decay, lessons.grievance_decay)
        out = super().stationary()
        s = self.sim.pop.people
        out["grievance"] = np.maximum(s.grievance - s.grievance0, 0).astype(np.float32)
        return out

    def settle(self, arrays: dict[str, np.ndarray]) -> None:
        """Take a spin-up's beliefs as day 0's; grievance is the baseline plus the excess."""
        super().settle(arrays)
        s = self.sim.pop.people
        s.grievance[:] = np.minimum(s.grievance0 + arrays["grievance"], 1.0)
        s.belief_day[:] = self.sim.t

    def _minds(self):
        s = self.sim.pop.people
        return bundle(Minds, s), bundle(Lessons, self.pars, self.sim.params.speech)

    def media(self) -> None:
        """Free adults start or stop using banned media (more on a foreign-media day)."""
        sim, be, s = self.sim, self.pars, self.sim.pop.people
        start = be.media_start
        if sim.t in self.media_days:
            start *= be.media_event_boost
            minds, lessons = self._minds()
            foreign_media_event(sim.t, s.banned_media, minds, lessons, be.media_kick)
        update_banned_media(sim.seed64, self.stream("media"), sim.t, s.role, s.status,
                            s.banned_media, s.grievance, s.grievance0, s.belief_day,
                            be.grievance_decay, start, be.media_stop)  # fmt: skip

    def learn(self) -> None:
        """People near each of the day's sanctions learn; the warned learn their warning."""
        log = arrest_log(self.sim)
        n, w = log.n, log.n_warned
        if n:
            self.observe_arrests(log.arrested[:n], log.recorded[:n], log.imprisoned[:n],
                                 log.said_in[:n], log.severity[:n])  # fmt: skip
        if w and self.pars.learning:
            minds, lessons = self._minds()
            observe_warnings(log.warned[:w], log.warned_in[:w], self.sim.t, minds, lessons)
        log.n = 0
        log.n_warned = 0

    def observe_arrests(self, arrested, recorded=None, imprisoned=None, said_in=None,
                        severity=None) -> None:  # fmt: skip
        """People near each sanctioned person learn; family and friends of prisoners grieve.

        By default the sanctions are prison terms of ``L_REF`` years after statements of
        no class, none of them recorded.
        """
        ids = np.asarray(arrested, dtype=np.int64)
        m = ids.size
        rec = np.zeros(m, np.bool_) if recorded is None else np.asarray(recorded, bool)
        imp = np.ones(m, np.bool_) if imprisoned is None else np.asarray(imprisoned, bool)
        cls = np.zeros(m, np.uint8) if said_in is None else np.asarray(said_in, np.uint8)
        sev = np.full(m, L_REF, np.float32) if severity is None else np.asarray(severity)
        sim, be = self.sim, self.pars
        if not be.learning:
            return
        pop = sim.pop
        s = pop.people
        minds, lessons = self._minds()
        observe_arrests(ids, cls, sev, rec, imp, sim.t, pop.household_start, s.household,
                        s.nunit, pop.nunit_person_start, s.work_unit, pop.work_start,
                        pop.work_members, pop.friend_start, pop.friends, minds, lessons,
                        be.grievance_kick)  # fmt: skip
