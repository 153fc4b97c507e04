"""Friendship ties: an undirected graph among adults, as CSR arrays, built in numba.

Each adult draws Poisson(``friend_mean`` / 2) ties (docs/odd.md 3): with
``friend_local_share`` / 2 in its neighbourhood unit, as much in its work unit, the rest
anywhere in its region. A tie is a pure function of (seed, adult, tie number), so a
counting pass and a filling pass draw the same ties and no list of pairs is ever held
or sorted: the build's memory is the graph itself plus one int32 per person.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from survsim.engine.rng import poisson_from_uniform, random_block, uniform_from_words
from survsim.society.traits import CHILD

__all__ = ["friendships"]


@nb.njit(cache=True)
def _tie_target(i, t, seed, stream, local_share, region_lo, region_hi, nunit_lo, nunit_hi,
                work_lo, work_hi, adults, work_members, role):  # fmt: skip
    """The partner of adult i's tie t: in its neighbourhood unit, its work unit or region."""
    w0, w1, w2, w3 = random_block(seed, stream, 0, i, t)
    u_kind = uniform_from_words(w0, w1)
    u_pick = uniform_from_words(w2, w3)
    anywhere = adults[region_lo + int(u_pick * (region_hi - region_lo))]
    if u_kind < local_share / 2:
        return adults[nunit_lo + int(u_pick * (nunit_hi - nunit_lo))]
    if u_kind < local_share and work_hi > work_lo:
        target = work_members[work_lo + int(u_pick * (work_hi - work_lo))]
        if role[target] != CHILD:  # work units list children too: tie them in the region
            return target
    return anywhere


@nb.njit(cache=True)
def _ties(seed, s_count, s_tie, mean_ties, local_share, adults, region_adults, nunit_adults,
          region, nunit, work_unit, work_start, work_members, role, friend_start,
          friends):  # fmt: skip
    """Draw every adult's ties; count degrees (``friends`` empty) or fill the lists.

    A tie is a pure function of (seed, adult, tie number), so the counting pass and the
    filling pass draw the same ties. Both ends of a tie list each other.
    """
    filling = friends.shape[0] > 0
    n = role.shape[0]
    fill = np.zeros(n if filling else 0, dtype=np.int32)
    for x in range(adults.shape[0]):
        i = adults[x]
        w0, w1, _, _ = random_block(seed, s_count, 0, i, 0)
        ties = poisson_from_uniform(uniform_from_words(w0, w1), mean_ties)
        z = region[i]
        u = nunit[i]
        w = work_unit[i]
        work_lo = work_start[w] if w >= 0 else 0
        work_hi = work_start[w + 1] if w >= 0 else 0
        for t in range(ties):
            j = _tie_target(i, t, seed, s_tie, local_share, region_adults[z],
                            region_adults[z + 1], nunit_adults[u], nunit_adults[u + 1],
                            work_lo, work_hi, adults, work_members, role)  # fmt: skip
            if j == i:
                continue
            if filling:
                friends[friend_start[i] + fill[i]] = j
                fill[i] += 1
                friends[friend_start[j] + fill[j]] = i
                fill[j] += 1
            else:
                friend_start[i + 1] += 1
                friend_start[j + 1] += 1


@nb.njit(cache=True, parallel=True)
def _sort_unique(friend_start, friends, degree):
    """Sort each list and drop repeated partners in place; ``degree`` gets the new sizes."""
    n = degree.shape[0]
    for i in nb.prange(n):
        lo, hi = friend_start[i], friend_start[i + 1]
        for a in range(lo + 1, hi):  # insertion sort: lists are short
            v = friends[a]
            b = a - 1
            while b >= lo and friends[b] > v:
                friends[b + 1] = friends[b]
                b -= 1
            friends[b + 1] = v
        m = 0
        for a in range(lo, hi):
            if m == 0 or friends[a] != friends[lo + m - 1]:
                friends[lo + m] = friends[a]
                m += 1
        degree[i] = m


@nb.njit(cache=True)
def _compact(friend_start, friends, degree):
    """Move the deduplicated lists together; return the new end."""
    out = 0
    for i in range(degree.shape[0]):
        lo = friend_start[i]
        friend_start[i] = out
        for a in range(degree[i]):
            friends[out + a] = friends[lo + a]
        out += degree[i]
    friend_start[degree.shape[0]] = out
    return out


def friendships(p, streams, region, role, nunit, work_unit, nunit_person_start, work_start,
                 work_members, region_start):  # fmt: skip
    """Undirected ties among adults of one region, as CSR arrays (numba, no big sort).

    Each adult draws Poisson(friend_mean / 2) ties: with ``friend_local_share / 2`` in its
    neighbourhood unit, as much in its work unit, the rest anywhere in its region.
    """
    n = region.size
    adults = np.flatnonzero(role != CHILD).astype(np.int32)
    region_adults = np.searchsorted(adults, region_start).astype(np.int64)
    nunit_adults = np.searchsorted(adults, nunit_person_start).astype(np.int64)
    seed = np.uint64(streams.seed)
    ids = np.uint64(streams.id("friend_count")), np.uint64(streams.id("friend_tie"))
    args = (p.friend_mean / 2, p.friend_local_share, adults, region_adults, nunit_adults,
            region, nunit, work_unit, work_start, work_members, role)  # fmt: skip
    friend_start = np.zeros(n + 1, dtype=np.int64)
    _ties(seed, *ids, *args, friend_start, np.zeros(0, dtype=np.int32))
    np.cumsum(friend_start, out=friend_start)
    friends = np.empty(int(friend_start[-1]), dtype=np.int32)
    _ties(seed, *ids, *args, friend_start, friends)
    del adults, region_adults, nunit_adults
    degree = np.empty(n, dtype=np.int32)
    _sort_unique(friend_start, friends, degree)
    end = _compact(friend_start, friends, degree)
    return friend_start, friends[:end]  # the few repeated ties leave a short tail unused
