"""Conversations: the day's groups in seven contexts.

Groups are formed inside their units (households, work units, neighbourhood units,
friendship ties, districts of neighbourhood units), never by a global sort or shuffle,
and a person is in at most one group of a context per day (docs/odd.md 4.1). When the
sensitive topic comes up in a group, :func:`survsim.society.statements.converse` decides
what is said and who reports it.

Every draw is a pure function of (seed, stream, day, unit or person, sub).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from pydantic import Field

from survsim.apparatus.cases import add_evidence
from survsim.engine.params import StrictModel
from survsim.engine.rng import (
    block_count,
    block_size,
    poisson_from_uniform,
    random_block,
    u32_below,
    uniform_from_words,
)
from survsim.society.listening import FABRICATED
from survsim.society.speech import ContextValues
from survsim.society.statements import (
    FRIENDS,
    HOUSEHOLD,
    K_BINS,
    NEIGHBOURHOOD,
    PUBLIC,
    WORK,
    People,
    Rules,
    Tally,
    Watch,
    _flags,
    _uniform,
    converse,
)

__all__ = [
    "K_BINS",
    "ConversationParams",
    "People",
    "Rules",
    "Tally",
    "Watch",
    "converse",
    "fabricate",
    "friends_day",
    "households_day",
    "neighbourhood_day",
    "pairs_day",
    "public_day",
    "work_day",
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


@nb.njit(cache=True)
def households_day(day, seed, streams, topic, military_home, household_start, scratch, P, R, T, W):
    """Household conversations: the free adults at home, if two or more (docs/odd.md 4.1)."""
    s_topic, s_home, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    for h in range(household_start.shape[0] - 1):
        if _uniform(seed, s_topic, day, h, HOUSEHOLD) >= topic:
            continue
        k = 0
        for i in range(household_start[h], household_start[h + 1]):
            role = P.role[i]
            if role == 0 or P.status[i] != 0:
                continue
            if (role == 2 or role == 3) and _uniform(seed, s_home, day, i, 0) >= military_home:
                continue
            scratch[k] = i
            k += 1
        if k >= 2:
            converse(scratch, k, HOUSEHOLD, day, -1, seed, s_speak, s_listen, P, R, T, W)


@nb.njit(cache=True)
def _group_size(word, extra, cap):
    u = (np.uint64(word) >> np.uint64(11)) * (1.0 / 2097152.0)  # 21 bits is plenty here
    return min(cap, 2 + poisson_from_uniform(u, extra))


@nb.njit(cache=True)
def _cut_and_converse(
    roster, n, c, unit, day, seed, streams, topic, extra, cap, order, scratch, P, R, T, W
):
    """Cut ``roster[:n]`` in a per-day random order into groups and converse in some.

    Group sizes and topics are drawn per (unit, group); the random order (a Fisher-Yates
    shuffle on the unit's own draws) is drawn only as far as the last group with the topic.
    Members not free are absent from their group.
    """
    s_group, s_order, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    pos = 0
    g = 0
    last = 0
    n_groups = 0
    while pos < n:
        w0, w1, _, _ = random_block(seed, s_group, day, unit, g)
        size = min(_group_size(w0, extra, cap), n - pos)
        u = uniform_from_words(w1, w0)
        if u < topic:
            scratch[2 * n_groups] = pos
            scratch[2 * n_groups + 1] = size
            n_groups += 1
            last = pos + size
        pos += size
        g += 1
    if n_groups == 0:
        return
    for i in range(n):
        order[i] = roster[i]
    for i in range(min(last, n - 1)):  # partial Fisher-Yates: positions 0..last-1
        w = random_block(seed, s_order, day, unit, i)[0]
        j = i + u32_below(w, n - i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    members = scratch[2 * n_groups :]
    for q in range(n_groups):
        start, size = scratch[2 * q], scratch[2 * q + 1]
        k = 0
        for i in range(start, start + size):
            person = order[i]
            if P.status[person] == 0 and P.role[person] != 0:
                members[k] = person
                k += 1
        if k >= 2:
            converse(members, k, c, day, -1, seed, s_speak, s_listen, P, R, T, W)


@nb.njit(cache=True)
def work_day(
    day, seed, streams, topic, extra, work_start, work_members, order, scratch, P, R, T, W
):
    """Work conversations, six days in seven: each unit cut into small groups."""
    if day % 7 == 6:
        return
    for w in range(work_start.shape[0] - 1):
        lo, hi = work_start[w], work_start[w + 1]
        _cut_and_converse(
            work_members[lo:hi],
            hi - lo,
            WORK,
            w,
            day,
            seed,
            streams,
            topic,
            extra,
            8,
            order,
            scratch,
            P,
            R,
            T,
            W,
        )


@nb.njit(cache=True)
def neighbourhood_day(
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
):
    """Neighbourhood-unit meetings: one group of the free adults who attend."""
    s_meet, s_attend, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    for u in range(nunit_person_start.shape[0] - 1):
        w0, w1, w2, w3 = random_block(seed, s_meet, day, u, 0)
        if uniform_from_words(w0, w1) >= meeting_rate or uniform_from_words(w2, w3) >= topic:
            continue
        k = 0
        for i in range(nunit_person_start[u], nunit_person_start[u + 1]):
            free_adult = P.role[i] != 0 and P.status[i] == 0
            if free_adult and _uniform(seed, s_attend, day, i, 0) < attendance:
                scratch[k] = i
                k += 1
        if k >= 2:
            converse(
                scratch, k, NEIGHBOURHOOD, day, nunit_head[u], seed, s_speak, s_listen, P, R, T, W
            )


_BLOCK = 1024


@nb.njit(cache=True)
def _starters(day, seed, s_start, rate, n, out):
    """Today's starters of a context: each person with probability about ``rate``.

    People are taken in blocks of 1,024 ids (fewer at high rates): a block's number of
    starters is drawn from Poisson(``rate * block``) and each starter uniformly inside the
    block, so the cost is
    the number of starters, not of people (a person drawn twice starts once: the busy
    flag refuses the second). Writes ids to ``out`` in a fixed order.

    Returns:
        How many starters were written.
    """
    m = 0
    width = block_size(rate, _BLOCK)
    for block in range((n + width - 1) // width):
        lo = block * width
        size = min(width, n - lo)
        count = block_count(seed, s_start, day, block, rate * size)
        for c in range(count):
            if m < out.shape[0]:
                out[m] = lo + u32_below(random_block(seed, s_start, day, block, 1 + c)[0], size)
                m += 1
    return m


@nb.njit(cache=True, inline="always")
def _can_start(i, day, friend_start, bit, P):
    """I's number of friends if free adult i can start a meeting of ``bit`` today, else 0."""
    if P.role[i] == 0 or P.status[i] != 0:
        return 0
    degree = friend_start[i + 1] - friend_start[i]
    if degree == 0 or _flags(P, i, day) & bit:
        return 0
    return degree


@nb.njit(cache=True)
def friends_day(
    day, seed, streams, topic, rate, friend_start, friends, scratch, starters, P, R, T, W
):
    """Friends meetings: a starter and 1-3 friends not yet in a friends group today."""
    s_start, s_pick, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    bit = np.uint8(1 << FRIENDS)
    for x in range(_starters(day, seed, s_start, rate, P.role.shape[0], starters)):
        i = starters[x]
        degree = _can_start(i, day, friend_start, bit, P)
        if degree == 0:
            continue
        w0, w1, w2, w3 = random_block(seed, s_pick, day, i, 4)
        u = uniform_from_words(w0, w1)
        wanted = 1 if u < 0.6 else (2 if u < 0.9 else 3)
        scratch[0] = i
        k = 1
        for t in range(wanted):
            f = friends[
                friend_start[i] + u32_below(random_block(seed, s_pick, day, i, t)[0], degree)
            ]
            if P.status[f] != 0 or _flags(P, f, day) & bit:
                continue
            dup = False
            for y in range(k):
                dup = dup or scratch[y] == f
            if not dup:
                scratch[k] = f
                k += 1
        if k < 2:
            continue
        for y in range(k):
            P.busy[scratch[y]] = _flags(P, scratch[y], day) | bit
        if uniform_from_words(w2, w3) < topic:
            converse(scratch, k, FRIENDS, day, -1, seed, s_speak, s_listen, P, R, T, W)


@nb.njit(cache=True)
def pairs_day(
    day,
    c,
    seed,
    streams,
    topic,
    rate,
    need_phone,
    friend_start,
    friends,
    scratch,
    starters,
    P,
    R,
    T,
    W,
):
    """Phone calls or letters: a starter and one friend not yet in a pair of ``c`` today."""
    s_start, s_pick, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    bit = np.uint8(1 << c)
    for x in range(_starters(day, seed, s_start, rate, P.role.shape[0], starters)):
        i = starters[x]
        if need_phone and P.phone[i] == 0:
            continue
        degree = _can_start(i, day, friend_start, bit, P)
        if degree == 0:
            continue
        w0, _, w2, w3 = random_block(seed, s_pick, day, i, 0)
        f = friends[friend_start[i] + u32_below(w0, degree)]
        if P.status[f] != 0 or (need_phone and P.phone[f] == 0) or _flags(P, f, day) & bit:
            continue
        P.busy[i] = _flags(P, i, day) | bit
        P.busy[f] = _flags(P, f, day) | bit
        if uniform_from_words(w2, w3) < topic:
            scratch[0] = i
            scratch[1] = f
            converse(scratch, 2, c, day, -1, seed, s_speak, s_listen, P, R, T, W)


@nb.njit(cache=True)
def public_day(
    day,
    seed,
    streams,
    group_streams,
    topic,
    rate,
    extra,
    district_nunits,
    nunit_person_start,
    attendees,
    order,
    scratch,
    P,
    R,
    T,
    W,
):
    """Public places: a district's attendees, cut into random groups of strangers."""
    s_attend = streams[0]
    n_units = nunit_person_start.shape[0] - 1
    for d in range((n_units + district_nunits - 1) // district_nunits):
        lo = nunit_person_start[d * district_nunits]
        hi = nunit_person_start[min((d + 1) * district_nunits, n_units)]
        n = 0
        for i in range(lo, hi):
            if P.role[i] != 0 and P.status[i] == 0 and _uniform(seed, s_attend, day, i, 0) < rate:
                attendees[n] = i
                n += 1
        _cut_and_converse(
            attendees,
            n,
            PUBLIC,
            d,
            day,
            seed,
            group_streams,
            topic,
            extra,
            12,
            order,
            scratch,
            P,
            R,
            T,
            W,
        )


@nb.njit(cache=True)
def fabricate(
    day,
    seed,
    stream,
    rate,
    household_start,
    household,
    work_unit,
    work_start,
    work_members,
    friend_start,
    friends,
    P,
    T,
    W,
):
    """Informants fabricate reports about adults they know (docs/odd.md 4.4).

    An informant fabricates with probability ``rate`` a day; the target is drawn uniformly
    from its household, its work unit and its friends together; a draw that lands on
    itself or a child makes no report.
    """
    for i in range(P.role.shape[0]):
        if not P.informant[i] or P.status[i] != 0:
            continue
        w0, w1, w2, _ = random_block(seed, stream, day, i, 0)
        if uniform_from_words(w0, w1) >= rate:
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
        if target == i or P.role[target] == 0 or P.status[target] != 0:
            continue
        T.reports[FABRICATED] += 1
        add_evidence(W.cases, target, FABRICATED, day)
