"""Demography: deaths, births into the slots of the dead, coming of age (odd.md 4.10).

The population keeps its arrays: a person who dies (in prison or of natural causes)
leaves the population, and with probability ``replacement`` a newborn child takes the
same slot, a new free member of the same household (MODEL.md 3.6: "births and entrants,
as free members of existing households"). Free people die of natural causes at
``natural_mortality`` a year; the deaths of a day are drawn per block of 4096 people, so
the cost is the number of deaths, not of people. Children come of age at
``age_of_majority`` (a population parameter) and join the work unit they were listed
in at the start.
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
from survsim.society.names import CHILD, DEAD, FREE, HAS_COMPUTER
from survsim.society.speech import L_REF

__all__ = ["Demography", "DemographyParams", "Newborn", "daily_mortality", "demography_day"]

_BLOCK = 4096

#: The person arrays a newborn resets (and the case arrays it clears).
Newborn = namedtuple(
    "Newborn",
    "role status release adult_day work_unit unit_role grievance grievance0 risk_aversion "
    "suspicion belief_day heard_pair heard_group seen_pair seen_group present loss_hat "
    "group_size banned_media informant zeal said phone devices file_key case_bits warned",
)


class DemographyParams(StrictModel):
    """Deaths, births and coming of age; sources in docs/odd.md 4.10."""

    natural_mortality: float = Field(
        0.009, ge=0, le=0.1, description="UN WPP: crude death rate about 9 per 1,000 a year"
    )
    replacement: float = Field(1.0, ge=0, le=1, description="assumption: newborns per death")


@nb.njit(cache=True, parallel=True)
def demography_day(
    day,
    seed,
    streams,
    daily_death,
    replacement,
    majority_days,
    grievance_a,
    grievance_b,
    suspicion0,
    B,
    K,
    k_births,
    k_natural,
    k_age,
):
    """Natural deaths, newborns in today's dead slots, coming of age (in that order)."""
    s_death, s_pick, s_birth = streams[0], streams[1], streams[2]
    # (numba loses writes made through a named tuple inside a prange body: the bodies
    # call plain kernels.)
    dead = np.zeros(CHUNKS, dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        dead[chunk] = _deaths_chunk(np.int64(chunk), day, seed, s_death, s_pick, daily_death,
                                    B.status, B.release)  # fmt: skip
    natural = dead.sum()
    found = np.zeros((CHUNKS, 2), dtype=np.int64)  # births, came of age, by chunk
    for chunk in nb.prange(CHUNKS):
        _births_and_majority(np.int64(chunk), day, seed, s_birth, replacement, majority_days,
                             grievance_a, grievance_b, suspicion0, B, found)  # fmt: skip
    births, came_of_age = found[:, 0].sum(), found[:, 1].sum()
    K[k_natural] += natural
    K[k_births] += births
    K[k_age] += came_of_age


@nb.njit(cache=True)
def _deaths_chunk(chunk, day, seed, s_death, s_pick, daily_death, status, release):
    """Natural deaths among the free in one chunk's blocks of people (Poisson per block)."""
    n = status.shape[0]
    width = block_size(daily_death, _BLOCK)
    first, last = chunk_bounds((n + width - 1) // width, chunk)
    natural = 0
    for block in range(first, last):
        lo = block * width
        size = min(width, n - lo)
        for d in range(block_count(seed, s_death, day, block, daily_death * size)):
            i = lo + u32_below(random_block(seed, s_pick, day, block, d)[0], size)
            if status[i] == FREE:
                status[i] = DEAD
                release[i] = day
                natural += 1
    return natural


@nb.njit(cache=True)
def _births_and_majority(chunk, day, seed, s_birth, replacement, majority_days, grievance_a,
                         grievance_b, suspicion0, B, found):  # fmt: skip
    """Newborns in the slots of today's dead, and today's coming of age, in one chunk."""
    lo, hi = chunk_bounds(B.status.shape[0], chunk)
    for i in range(lo, hi):
        if B.status[i] == DEAD and B.release[i] == day:
            w0, w1, w2, w3 = random_block(seed, s_birth, day, i, 0)
            if uniform_from_words(w0, w1) < replacement:
                found[chunk, 0] += 1
                _newborn(i, day, w0, w1, w2, w3, majority_days, grievance_a, grievance_b,
                         suspicion0, B)  # fmt: skip
        elif B.role[i] == CHILD and B.adult_day[i] == day and B.status[i] != DEAD:
            B.role[i] = B.unit_role[B.work_unit[i]]
            found[chunk, 1] += 1


@nb.njit(cache=True)
def _newborn(i, day, w0, w1, w2, w3, majority_days, grievance_a, grievance_b, suspicion0, B):
    """A newborn takes slot i: a child with fresh traits, no ties of its own yet."""
    B.status[i] = FREE
    B.role[i] = CHILD
    B.adult_day[i] = day + majority_days
    B.release[i] = 0
    u = uniform_from_words(w2, w3)
    g0 = (1.0 - (1.0 - u) ** (1.0 / grievance_b)) ** (1.0 / grievance_a)
    B.grievance0[i] = g0
    B.grievance[i] = g0
    B.risk_aversion[i] = uniform_from_words(w1 ^ w3, w0 ^ w2)
    B.suspicion[i] = suspicion0
    B.heard_pair[i] = 0.0
    B.heard_group[i] = 0.0
    B.seen_pair[i] = 0.0
    B.seen_group[i] = 0.0
    B.present[i] = 0.0
    B.loss_hat[i] = L_REF
    B.group_size[i] = 24
    B.belief_day[i] = day
    B.banned_media[i] = False
    B.informant[i] = False
    B.zeal[i] = 0.0
    B.phone[i] = 0
    B.devices[i] &= np.uint8(HAS_COMPUTER)  # the household's computer stays
    B.said[i] = 0
    B.warned[i] = False
    B.file_key[i] = -np.inf
    B.case_bits[i] &= np.uint8(192)  # a lingering heap entry is dropped when reached


def daily_mortality(annual: float) -> float:
    """The daily death chance equivalent to an annual rate."""
    return 1.0 - (1.0 - annual) ** (1.0 / 365.0)


class Demography(Mechanism):
    """Natural deaths, births into the dead's slots, children coming of age (4.10)."""

    name = "demography"
    group = "demography"
    params_class = DemographyParams
    streams = ("natural_death", "natural_death/pick", "birth")
    counters = ("births", "deaths_natural", "came_of_age")

    def steps(self):
        """Once a day, after the apparatus (with it: otherwise the population is fixed)."""
        if self.sim.params.apparatus:
            yield Step("demography", self.day, "natural deaths, births, coming of age",
                       "demography")  # fmt: skip

    def day(self) -> None:
        """Today's deaths, births and comings of age."""
        sim, pp = self.sim, self.sim.params.population
        s = sim.pop.people
        newborn = bundle(Newborn, s, release=s.release_day, unit_role=sim.pop.unit_role)
        streams = np.array([self.stream(n) for n in self.streams], dtype=np.uint64)
        demography_day(sim.t, sim.seed64, streams, daily_mortality(self.pars.natural_mortality),
                       self.pars.replacement, pp.age_of_majority * 365, pp.grievance_a,
                       pp.grievance_b, pp.suspicion0, newborn, self.counts,
                       self.counter("births"), self.counter("deaths_natural"),
                       self.counter("came_of_age"))  # fmt: skip
