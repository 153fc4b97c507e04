"""Conversations: the day's groups in seven contexts.

Groups are formed inside their units (households, work units, neighbourhood units,
friendship ties, districts of neighbourhood units), never by a global sort or shuffle,
and a person is in at most one group of a context per day (docs/odd.md 4.1). When the
sensitive topic comes up in a group, :func:`survsim.society.statements.converse` decides
what is said and who reports it.

Only the groups in which the topic comes up are formed (docs/odd.md 4.1): a conversation
about something else has no effect in the model, so work, public, friends, call and
letter groups are drawn already thinned by the topic's chance. The cost of a day is then
the number of people who can speak or listen on the topic, not the number of people.

Households, work units, neighbourhood meetings and public places run in parallel over
fixed chunks of units (:mod:`survsim.engine.parallel`); friends, calls and letters, whose
ties cross units, run in one chunk (:mod:`survsim.society.meetings`).
Every draw is a pure function of (seed, stream, day, unit or person, sub), so the results
do not depend on the thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.events import room
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import (
    poisson_from_uniform,
    random_block,
    u32_below,
    uniform_from_words,
)
from survsim.society.bundles import chunk_views
from survsim.society.names import (
    CHILD,
    FREE,
    HOUSEHOLD,
    NEIGHBOURHOOD,
    OFFICER,
    PUBLIC,
    SOLDIER,
    WORK,
)
from survsim.society.speech import ContextValues
from survsim.society.statements import NOBODY, START, _flags, _uniform, converse, group_bound

__all__ = [
    "CAP_PUBLIC",
    "CAP_WORK",
    "ConversationParams",
    "contexts_day",
    "groups_per_person",
]


class ConversationParams(StrictModel):
    """How often each context meets and how groups form; docs/odd.md 4.1."""

    topic: ContextValues = Field(
        ContextValues(
            household=0.05,
            work=0.02,
            neighbourhood=0.01,
            friends=0.05,
            phone=0.02,
            letters=0.02,
            public=0.01,
        ),
        description="s_c: chance the sensitive topic comes up in a conversation (assumption)",
    )
    military_home: float = Field(0.1, ge=0, le=1, description="assumption")
    work_group_extra: float = Field(1.5, ge=0, le=10, description="assumption")
    nunit_meeting_rate: float = Field(0.25, ge=0, le=1, description="assumption")
    nunit_attendance: float = Field(0.8, ge=0, le=1, description="assumption")
    friend_meeting_rate: float = Field(0.1, ge=0, le=1, description="assumption")
    call_rate: float = Field(0.2, ge=0, le=1, description="assumption")
    letter_rate: float = Field(0.01, ge=0, le=1, description="assumption")
    public_rate: float = Field(0.3, ge=0, le=1, description="assumption")
    public_group_extra: float = Field(1.0, ge=0, le=10, description="assumption")
    district_nunits: int = Field(10, ge=1, le=1000, description="assumption")


def groups_per_person(extra: float, cap: int) -> float:
    """1 / the mean size of a group of ``min(cap, 2 + Poisson(extra))`` people."""
    k = np.arange(cap - 1)
    pmf = np.exp(-extra + k * np.log(max(extra, 1e-300)) - np.cumsum(np.log(np.maximum(k, 1))))
    pmf[-1] += max(0.0, 1.0 - pmf.sum())  # the cap takes the tail
    return 1.0 / float(2 + (k * pmf).sum())


_SIZE_SUB = 1 << 24  # subs of the group-size draws (the count's pieces come first)
# Typed constants (a Python integer constant would make numba compile a callee per value).
_HOUSEHOLD, _WORK, _NEIGHBOURHOOD, _PUBLIC = (
    np.int64(c) for c in (HOUSEHOLD, WORK, NEIGHBOURHOOD, PUBLIC)
)
#: Typed group caps of the work and public contexts (used by their mechanisms too).
CAP_WORK, CAP_PUBLIC = np.int64(8), np.int64(12)


@nb.njit(cache=True)
def _poisson_count(seed, stream, day, index, lam):
    """Poisson(``lam``) as a sum of pieces of mean at most 32 (inversion stays exact)."""
    pieces = 1 + int(lam / 32.0)
    total = 0
    for piece in range(pieces):
        w0, w1, _, _ = random_block(seed, stream, day, index, piece)
        total += poisson_from_uniform(uniform_from_words(w0, w1), lam / pieces)
    return total


@nb.njit(cache=True)
def _households_chunk(
    chunk, day, seed, streams, topic, military_home, household_start, scratch, P, R, T, W, E,
    cur,
):  # fmt: skip
    s_topic, s_home, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    tally, watch, events = chunk_views(T, W, E, chunk)
    members = scratch[chunk]
    lo, hi = chunk_bounds(household_start.shape[0] - 1, chunk)
    for h in range(lo + cur[0], hi):
        if _uniform(seed, s_topic, day, h, HOUSEHOLD) >= topic:
            continue
        k = np.int64(0)  # typed: see _HOUSEHOLD
        for i in range(household_start[h], household_start[h + 1]):
            role = P.role[i]
            if role == CHILD or P.status[i] != FREE:
                continue
            if (role == SOLDIER or role == OFFICER) and _uniform(  # noqa: SIM109 (numba)
                seed, s_home, day, i, 0
            ) >= military_home:
                continue
            members[k] = i
            k += 1
        if k >= 2:
            if not room(events, group_bound(k, watch)):
                cur[0] = h - lo
                return
            converse(members, k, _HOUSEHOLD, day, NOBODY, seed, s_speak, s_listen, P, R,
                     tally, watch, events, START)  # fmt: skip
    cur[2] = 1


@nb.njit(cache=True)
def _group_size(word, extra, cap):
    u = (np.uint64(word) >> np.uint64(11)) * (1.0 / 2097152.0)  # 21 bits is plenty here
    return min(cap, 2 + poisson_from_uniform(u, extra))


@nb.njit(cache=True)
def _topic_groups(
    roster, n, c, unit, day, seed, streams, lam, extra, cap, order, scratch, P, R, T, W, E
):
    """The groups of ``roster[:n]`` in which the topic comes up today, and their talk.

    The unit is cut into groups of ``min(cap, 2 + Poisson(extra))`` people in a random
    order and the topic comes up in each group with its chance; only the groups with the
    topic are drawn: their number is Poisson(``lam`` = chance x expected groups), their
    sizes from the size law, their members by a partial Fisher-Yates shuffle of the unit's
    roster. Members not free, and children, are absent from their group.

    Returns:
        False if ``E`` had no room for the unit's groups (nothing was done), else True.
    """
    s_group, s_order, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    count = _poisson_count(seed, s_group, day, unit, lam)
    if count == 0 or n < 2:
        return True
    total = 0
    n_groups = 0
    bound = 0
    for q in range(count):
        if total >= n:
            break
        word = random_block(seed, s_group, day, unit, _SIZE_SUB + q)[0]
        size = min(_group_size(word, extra, cap), n - total)
        scratch[2 * n_groups] = total
        scratch[2 * n_groups + 1] = size
        n_groups += 1
        total += size
        bound += group_bound(size, W)
    if not room(E, bound):
        return False
    for i in range(n):
        order[i] = roster[i]
    for i in range(min(total, n - 1)):  # partial Fisher-Yates: positions 0..total-1
        w = random_block(seed, s_order, day, unit, i)[0]
        j = i + u32_below(w, n - i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    members = scratch[2 * n_groups :]
    for q in range(n_groups):
        start, size = scratch[2 * q], scratch[2 * q + 1]
        k = np.int64(0)
        for i in range(start, start + size):
            person = order[i]
            if P.status[person] == FREE and P.role[person] != CHILD:
                members[k] = person
                k += 1
        if k >= 2:
            converse(members, k, c, day, NOBODY, seed, s_speak, s_listen, P, R, T, W, E, START)
    return True


@nb.njit(cache=True)
def _work_chunk(
    chunk, day, seed, streams, lam, extra, work_start, work_members, order, scratch,
    P, R, T, W, E, cur,
):  # fmt: skip
    tally, watch, events = chunk_views(T, W, E, chunk)
    lo, hi = chunk_bounds(work_start.shape[0] - 1, chunk)
    for w in range(lo + cur[0], hi):
        a, b = work_start[w], work_start[w + 1]
        done = _topic_groups(
            work_members[a:b],
            b - a,
            _WORK,
            w,
            day,
            seed,
            streams,
            lam * (b - a),
            extra,
            CAP_WORK,
            order[chunk],
            scratch[chunk],
            P,
            R,
            tally,
            watch,
            events,
        )
        if not done:
            cur[0] = w - lo
            return
    cur[2] = 1


@nb.njit(cache=True)
def _neighbourhood_chunk(
    chunk,
    day,
    seed,
    streams,
    topic,
    meeting_rate,
    attendance,
    nunit_person_start,
    nunit_head,
    scratch,
    P,
    R,
    T,
    W,
    E,
    cur,
):
    s_meet, s_attend, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    tally, watch, events = chunk_views(T, W, E, chunk)
    members = scratch[chunk]
    lo, hi = chunk_bounds(nunit_person_start.shape[0] - 1, chunk)
    for u in range(lo + cur[0], hi):
        w0, w1, w2, w3 = random_block(seed, s_meet, day, u, 0)
        if uniform_from_words(w0, w1) >= meeting_rate or uniform_from_words(w2, w3) >= topic:
            continue
        k = np.int64(0)
        for i in range(nunit_person_start[u], nunit_person_start[u + 1]):
            free_adult = P.role[i] != CHILD and P.status[i] == FREE
            if free_adult and _uniform(seed, s_attend, day, i, 0) < attendance:
                members[k] = i
                k += 1
        if k >= 2:
            # A meeting can be large: it may stop between two speakers (the next one
            # kept in ``cur[1]``), so a row needs room for one speaker, not the meeting.
            start = cur[1] if u == lo + cur[0] else START
            head = np.int64(nunit_head[u])
            turn = converse(members, k, _NEIGHBOURHOOD, day, head, seed, s_speak, s_listen,
                            P, R, tally, watch, events, start)  # fmt: skip
            if turn >= 0:
                cur[0] = u - lo
                cur[1] = turn
                return
    cur[2] = 1


@nb.njit(cache=True)
def _public_chunk(
    chunk, day, seed, streams, lam, extra, district_nunits, nunit_person_start, scratch,
    P, R, T, W, E, cur,
):  # fmt: skip
    s_group, s_pick, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    tally, watch, events = chunk_views(T, W, E, chunk)
    members = scratch[chunk]
    bit = np.uint8(1 << PUBLIC)
    n_units = nunit_person_start.shape[0] - 1
    d_lo, d_hi = chunk_bounds((n_units + district_nunits - 1) // district_nunits, chunk)
    for d in range(d_lo + cur[0], d_hi):
        lo = nunit_person_start[d * district_nunits]
        hi = nunit_person_start[min((d + 1) * district_nunits, n_units)]
        free_adults = 0
        for i in range(lo, hi):
            if P.role[i] != CHILD and P.status[i] == FREE:
                free_adults += 1
        count = _poisson_count(seed, s_group, day, d, lam * free_adults)
        first = cur[1] if d == d_lo + cur[0] else 0
        for q in range(first, count):
            word = random_block(seed, s_group, day, d, _SIZE_SUB + q)[0]
            size = _group_size(word, extra, CAP_PUBLIC)
            if not room(events, group_bound(size, watch)):
                cur[0] = d - d_lo
                cur[1] = q
                return
            k = np.int64(0)
            for attempt in range(8 * size):
                if k == size:
                    break
                i = lo + u32_below(random_block(seed, s_pick, day, d, q * 4096 + attempt)[0],
                                   hi - lo)  # fmt: skip
                if P.role[i] == CHILD or P.status[i] != FREE or _flags(P, i, day) & bit:
                    continue
                P.busy[i] = _flags(P, i, day) | bit
                members[k] = i
                k += 1
            if k >= 2:
                converse(members, k, _PUBLIC, day, NOBODY, seed, s_speak, s_listen, P, R,
                         tally, watch, events, START)  # fmt: skip
    cur[2] = 1


@nb.njit(cache=True)
def _context_chunk(
    context, chunk, day, seed, streams, x, y, z, n, starts, members, order, scratch,
    P, R, T, W, E, cursor,
):  # fmt: skip
    cur = cursor[chunk]
    if cur[2] == 1:
        return
    if context == HOUSEHOLD:
        _households_chunk(chunk, day, seed, streams, x, y, starts, scratch, P, R, T, W, E, cur)
    elif context == WORK:
        _work_chunk(chunk, day, seed, streams, x, y, starts, members, order, scratch,
                    P, R, T, W, E, cur)  # fmt: skip
    elif context == NEIGHBOURHOOD:
        _neighbourhood_chunk(chunk, day, seed, streams, x, y, z, starts, members, scratch,
                             P, R, T, W, E, cur)  # fmt: skip
    else:
        _public_chunk(chunk, day, seed, streams, x, y, n, starts, scratch, P, R, T, W, E, cur)


@nb.njit(cache=True, parallel=True)
def contexts_day(
    day, context, seed, streams, x, y, z, n, starts, members, order, scratch, P, R, T, W, E,
    cursor,
):  # fmt: skip
    """The day's conversations of one unit-bound context, in parallel over chunks of units.

    One parallel kernel serves the four contexts whose groups form inside units (one
    compile instead of four: a parallel kernel re-optimises everything it calls). Its
    arguments by context (``members`` is empty where unused):

    - ``HOUSEHOLD``: ``x`` the topic's chance, ``y`` the chance a soldier or officer is
      home, ``starts`` the households' first members (:func:`_households_chunk`);
    - ``WORK`` (six days in seven): ``x`` the expected topic groups per person listed in
      a unit (the topic's chance / the mean group size), ``y`` the group-size law's
      Poisson mean, ``starts`` and ``members`` the work units (:func:`_work_chunk`);
    - ``NEIGHBOURHOOD``: ``x`` the topic's chance, ``y`` the meeting rate, ``z`` the
      attendance, ``starts`` the units' first members, ``members`` their heads
      (:func:`_neighbourhood_chunk`);
    - ``PUBLIC``: ``x`` the topic's chance x the public rate / the mean group size, ``y``
      the group-size law's Poisson mean, ``n`` neighbourhood units per district,
      ``starts`` the units' first members (:func:`_public_chunk`).

    Evidence goes to the event table ``E``; a chunk whose row fills stops before a unit
    (or a public group) and notes in its ``cursor`` row where to go on
    (:meth:`survsim.engine.events.EventTable.produce`).
    """
    if context == WORK and day % 7 == 6:
        cursor[:, 2] = 1
        return
    for chunk in nb.prange(CHUNKS):
        _context_chunk(np.int64(context), np.int64(chunk), day, seed, streams, x, y, z, n,
                       starts, members, order, scratch, P, R, T, W, E, cursor)  # fmt: skip
