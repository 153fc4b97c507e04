"""Who each person is: adult or child, role, age, phones, traits, informants.

Parallel numba passes over the people that write the person arrays in place. Every draw
is a pure function of (seed, stream, person or household, sub), taken inline: no array
of random numbers the size of the population is ever held, which keeps the build's peak
memory close to the arrays it fills (docs/performance.md).
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.rng import random_block, uniform_from_words
from survsim.society.names import (
    CHILD,
    CIVILIAN,
    HAS_COMPUTER,
    HAS_INTERNET,
    OFFICER,
    SENIOR,
    SOLDIER,
)

__all__ = [
    "Traits",
    "assign_adults",
    "assign_informants",
    "assign_roles_and_traits",
    "first_by_key",
    "shuffle",
]

#: The person arrays :func:`assign_roles_and_traits` writes.
Traits = namedtuple(
    "Traits",
    "role adult_day phone devices grievance0 grievance risk_aversion suspicion banned_media",
)

#: Roles (person attribute ``role``); survsim.society.population re-exports them.


@nb.njit(cache=True)
def _pair(seed, stream, index, sub):
    """Two uniforms from one Philox block."""
    w0, w1, w2, w3 = random_block(seed, stream, 0, index, sub)
    return uniform_from_words(w0, w1), uniform_from_words(w2, w3)


@nb.njit(cache=True, parallel=True)
def assign_adults(seed, stream, household_start, extra_adult_share, region, role):
    """The first two members of a household are adults, the others with a chance.

    Writes ``role`` (CIVILIAN for adults, CHILD) and returns adults per region.
    """
    found = np.zeros((CHUNKS, 3), dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        _adults_chunk(np.int64(chunk), seed, stream, household_start, extra_adult_share, region,
                      role, found)  # fmt: skip
    return found.sum(axis=0)


@nb.njit(cache=True)
def _adults_chunk(chunk, seed, stream, household_start, share, region, role, found):
    lo, hi = chunk_bounds(household_start.shape[0] - 1, chunk)
    for h in range(lo, hi):
        for i in range(household_start[h], household_start[h + 1]):
            adult = i - household_start[h] < 2 or _pair(seed, stream, i, 0)[0] < share
            role[i] = CIVILIAN if adult else CHILD
            if adult:
                found[chunk, region[i]] += 1


@nb.njit(cache=True, parallel=True)
def assign_roles_and_traits(seed, streams, shares, senior_p, household_start, household,
                            region, s):  # fmt: skip
    """Roles, ages, phones, computers, Internet, grievance, risk aversion, banned media.

    ``shares`` = (soldier, officer, majority days, fixed line, internet among seniors,
    banned media at start, Kumaraswamy a, b, suspicion0); ``senior_p``,
    ``mobile`` and ``computer`` shares by region are rows 0-2 of ``senior_p``. Returns
    the number of adult civilians (who may become informants).
    """
    found = np.zeros(CHUNKS, dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        found[chunk] = _traits_chunk(np.int64(chunk), seed, streams, shares, senior_p,
                                     household_start, household, region, s)  # fmt: skip
    return found.sum()


@nb.njit(cache=True)
def _traits_chunk(chunk, seed, streams, shares, by_region, household_start, household, region,
                  s):  # fmt: skip
    s_person, s_household = streams[0], streams[1]
    soldier, officer, majority = shares[0], shares[1], shares[2]
    fixed_share, internet_share, banned0 = shares[3], shares[4], shares[5]
    ga, gb = shares[6], shares[7]
    civilians = 0
    lo, hi = chunk_bounds(household.shape[0], chunk)
    for i in range(lo, hi):
        z = region[i]
        h = household[i]
        adult = s.role[i] != CHILD
        u_role, u_age = _pair(seed, s_person, i, 1)
        if adult:
            if u_role < soldier:
                s.role[i] = SOLDIER
            elif u_role < soldier + officer:
                s.role[i] = OFFICER
            elif u_role < soldier + officer + by_region[0, z]:
                s.role[i] = SENIOR
            else:
                civilians += 1
            s.adult_day[i] = -1
        else:
            s.adult_day[i] = int(majority) - int(u_age * majority)
        u_mobile, u_internet = _pair(seed, s_person, i, 2)
        u_fixed, u_computer = _pair(seed, s_household, h, 0)
        hz = region[household_start[h]]
        if adult and u_mobile < by_region[1, z]:
            s.phone[i] = 2
        elif adult and u_fixed < fixed_share:
            s.phone[i] = 1
        else:
            s.phone[i] = 0
        devices = HAS_COMPUTER if u_computer < by_region[2, hz] else 0
        if s.role[i] == SENIOR and u_internet < internet_share:
            devices |= HAS_INTERNET
        s.devices[i] = devices
        u_g, u_r = _pair(seed, s_person, i, 3)
        g0 = (1.0 - (1.0 - u_g) ** (1.0 / gb)) ** (1.0 / ga)  # Kumaraswamy inverse CDF
        s.grievance0[i] = g0
        s.grievance[i] = g0
        s.risk_aversion[i] = u_r
        s.suspicion[i] = shares[8]
        s.banned_media[i] = adult and _pair(seed, s_person, i, 4)[0] < banned0
    return civilians


@nb.njit(cache=True, parallel=True)
def assign_informants(seed, stream, chance, zeal_mean, zeal_spread, role, informant, zeal):
    """Adult civilians become informants independently with ``chance``; zeal uniform."""
    n = role.shape[0]
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(n, chunk)
        for i in range(lo, hi):
            u, v = _pair(seed, stream, i, 0)
            chosen = role[i] == CIVILIAN and u < chance
            informant[i] = chosen
            q = zeal_mean + zeal_spread * (2.0 * v - 1.0)
            zeal[i] = min(1.0, max(0.0, q)) if chosen else 0.0


@nb.njit(cache=True, parallel=True)
def first_by_key(seed, stream, groups_start, role, wanted):
    """A uniformly drawn person of role ``wanted`` in each range (-1 if none).

    The ranges are ``groups_start[g]:groups_start[g+1]``; the person with the least
    random key wins.
    """
    n_groups = groups_start.shape[0] - 1
    out = np.full(n_groups, -1, dtype=np.int32)
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(n_groups, chunk)
        for g in range(lo, hi):
            best = 2.0
            for i in range(groups_start[g], groups_start[g + 1]):
                if role[i] == wanted:
                    key = _pair(seed, stream, i, 0)[0]
                    if key < best:
                        best = key
                        out[g] = i
    return out


@nb.njit(cache=True)
def shuffle(seed, stream, ids):
    """Shuffle ``ids`` in place (Fisher-Yates on draws keyed by position)."""
    for i in range(ids.shape[0] - 1, 0, -1):
        w = random_block(seed, stream, 0, i, 0)[0]
        j = np.int64((np.uint64(w) * np.uint64(i + 1)) >> np.uint64(32))
        tmp = ids[i]
        ids[i] = ids[j]
        ids[j] = tmp
