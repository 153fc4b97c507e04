"""Meetings along friendship ties: friends, calls and letters.

Ties cross units, so these contexts run in one chunk (:mod:`survsim.engine.parallel`):
their starters are drawn per block of people at the meeting rate times the topic's
chance (only meetings on the topic are formed, docs/odd.md 4.1), so the cost is the
meetings, not the people.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from survsim.engine.events import room
from survsim.engine.rng import block_count, block_size, random_block, u32_below, uniform_from_words
from survsim.society.bundles import chunk_views
from survsim.society.names import CHILD, FREE, FRIENDS
from survsim.society.statements import NOBODY, START, _flags, converse, group_bound

__all__ = ["friends_day", "pairs_day"]


_BLOCK = 1024
# Typed constants (a Python integer constant would make numba compile a callee per value).
_FRIENDS, _TWO, _CHUNK0 = np.int64(FRIENDS), np.int64(2), np.int64(0)


@nb.njit(cache=True)
def _starters(day, seed, s_start, rate, n, out):
    """Today's starters of a context: each person with probability about ``rate``.

    People are taken in blocks of 1,024 ids (fewer at high rates): a block's number of
    starters is drawn from Poisson(``rate * block``) and each starter uniformly inside the
    block, so the cost is the number of starters, not of people (a person drawn twice
    starts once: the busy flag refuses the second). Writes ids to ``out`` in a fixed order.

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


@nb.njit(cache=True)
def _can_start(i, day, friend_start, bit, P):
    """I's number of friends if free adult i can start a meeting of ``bit`` today, else 0."""
    if P.role[i] == CHILD or P.status[i] != FREE:
        return 0
    degree = friend_start[i + 1] - friend_start[i]
    if degree == 0 or _flags(P, i, day) & bit:
        return 0
    return degree


@nb.njit(cache=True)
def friends_day(
    day, seed, streams, rate, friend_start, friends, scratch, starters, P, R, T, W, E, cursor
):
    """Friends meet on the topic: a starter and 1-3 friends not yet in such a group today.

    ``rate`` is the meeting rate times the topic's chance: only meetings on the topic are
    drawn. Runs in one chunk; stops when its event row is full and goes on from
    ``cursor[0]`` (the starter) when called again.
    """
    s_start, s_pick, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    tally, watch, events = chunk_views(T, W, E, _CHUNK0)
    cur = cursor[0]
    members = scratch[0]
    bit = np.uint8(1 << FRIENDS)
    for x in range(cur[0], _starters(day, seed, s_start, rate, P.role.shape[0], starters)):
        i = starters[x]
        degree = _can_start(i, day, friend_start, bit, P)
        if degree == 0:
            continue
        w0, w1, _, _ = random_block(seed, s_pick, day, i, 4)
        u = uniform_from_words(w0, w1)
        wanted = 1 if u < 0.6 else (2 if u < 0.9 else 3)
        members[0] = i
        k = np.int64(1)
        for t in range(wanted):
            f = friends[
                friend_start[i] + u32_below(random_block(seed, s_pick, day, i, t)[0], degree)
            ]
            if P.status[f] != FREE or _flags(P, f, day) & bit:
                continue
            dup = False
            for y in range(k):
                dup = dup or members[y] == f
            if not dup:
                members[k] = f
                k += 1
        if k < 2:
            continue
        if not room(events, group_bound(k, watch)):
            cur[0] = x
            return
        for y in range(k):
            P.busy[members[y]] = _flags(P, members[y], day) | bit
        converse(members, k, _FRIENDS, day, NOBODY, seed, s_speak, s_listen, P, R,
                 tally, watch, events, START)  # fmt: skip
    cur[2] = 1


@nb.njit(cache=True)
def pairs_day(
    day,
    c,
    seed,
    streams,
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
    E,
    cursor,
):
    """Calls or letters on the topic: a starter and one friend not yet in such a pair today.

    ``rate`` is the call (letter) rate times the topic's chance. Runs in one chunk and
    goes on from ``cursor[0]`` (the starter) as :func:`friends_day` does.
    """
    s_start, s_pick, s_speak, s_listen = streams[0], streams[1], streams[2], streams[3]
    tally, watch, events = chunk_views(T, W, E, _CHUNK0)
    cur = cursor[0]
    members = scratch[0]
    bit = np.uint8(1 << c)
    for x in range(cur[0], _starters(day, seed, s_start, rate, P.role.shape[0], starters)):
        i = starters[x]
        if need_phone and P.phone[i] == 0:
            continue
        degree = _can_start(i, day, friend_start, bit, P)
        if degree == 0:
            continue
        w0 = random_block(seed, s_pick, day, i, 0)[0]
        f = friends[friend_start[i] + u32_below(w0, degree)]
        if P.status[f] != FREE or (need_phone and P.phone[f] == 0) or _flags(P, f, day) & bit:
            continue
        if not room(events, group_bound(_TWO, watch)):
            cur[0] = x
            return
        P.busy[i] = _flags(P, i, day) | bit
        P.busy[f] = _flags(P, f, day) | bit
        members[0] = i
        members[1] = f
        converse(members, _TWO, c, day, NOBODY, seed, s_speak, s_listen, P, R,
                 tally, watch, events, START)  # fmt: skip
    cur[2] = 1
