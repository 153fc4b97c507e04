"""Informant recruitment (docs/odd.md 4.8; MODEL.md 3.7).

The SSD keeps its informant network at a target density: each day it recruits
``recruit_rate`` of the shortfall (with the fractional part carried over) among free adult
civilians who are not informants yet, drawn uniformly by person id. Rewards for reports
raise the informants' fabrication rate (:class:`survsim.society.listening.ListeningParams`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import random_block, u32_below, uniform_from_words
from survsim.engine.state import Attribute
from survsim.society.names import CIVILIAN, FREE

__all__ = ["Informants", "RecruitmentParams", "recruit"]

_ATTEMPTS = 64


class RecruitmentParams(StrictModel):
    """How the SSD replaces lost informants; sources in docs/odd.md 4.8."""

    recruit_rate: float = Field(0.01, ge=0, le=1, description="assumption: shortfall per day")


@nb.njit(cache=True, parallel=True)
def _free_informants(status, informant):
    found = np.zeros(CHUNKS, dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(status.shape[0], chunk)
        for i in range(lo, hi):
            if informant[i] and status[i] == FREE:
                found[chunk] += 1
    return found.sum()


@nb.njit(cache=True)
def recruit(
    day, seed, stream, target, rate, carry, role, status, informant, zeal, zeal_mean, zeal_spread
):
    """Recruit toward ``target`` free informants; ``carry[0]`` keeps the fraction.

    Returns:
        ``(free informants before, recruited today)``.
    """
    count = _free_informants(status, informant)
    shortfall = target - count
    if shortfall <= 0:
        carry[0] = 0.0
        return count, 0
    wanted = carry[0] + rate * shortfall
    n_new = math.floor(wanted)
    carry[0] = wanted - n_new
    n = status.shape[0]
    done = 0
    for r in range(n_new):
        for attempt in range(_ATTEMPTS):
            w0, w1, w2, _ = random_block(seed, stream, day, r, attempt)
            i = u32_below(w0, n)
            if role[i] == CIVILIAN and status[i] == FREE and not informant[i]:
                informant[i] = True
                q = zeal_mean + zeal_spread * (2.0 * uniform_from_words(w1, w2) - 1.0)
                zeal[i] = min(1.0, max(0.0, q))
                done += 1
                break
    return count, done


class Informants(Mechanism):
    """Informants and their recruitment: the SSD replaces lost informants (4.4, 4.8).

    Informants are placed when the population is built (density
    ``population.informant_density``, zeal around ``population.zeal_mean``); each day the
    SSD recruits ``recruit_rate`` of the shortfall among free adult civilians.
    """

    name = "informants and recruitment"
    group = "recruitment"
    params_class = RecruitmentParams
    arrays = (
        Attribute("informant", np.bool_, False, "people", "recruited informant"),
        Attribute("zeal", np.float32, 0, "people", "q: chance an informant reports"),
    )
    streams = ("recruit",)
    counters = ("recruited",)

    def init(self) -> None:
        """No fraction of a recruit carried yet."""
        self.carry = np.zeros(1)

    def steps(self):
        """Recruitment at the end of the apparatus's day."""
        if self.sim.params.apparatus:
            yield Step("recruitment", self.day, "the SSD recruits informants", "recruitment")

    def day(self) -> None:
        """Recruit toward the target number of free informants."""
        p, s = self.sim.params, self.sim.pop.people
        target = p.population.informant_density * p.agents
        _, done = recruit(self.sim.t, self.sim.seed64, self.stream("recruit"), target,
                          self.pars.recruit_rate, self.carry, s.role, s.status, s.informant,
                          s.zeal, p.population.zeal_mean, p.population.zeal_spread)  # fmt: skip
        self.counts[0] += done
