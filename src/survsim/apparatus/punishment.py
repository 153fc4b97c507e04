"""Verdicts, detention, terms, family punishment, purges, deaths (docs/odd.md 4.8).

Each day every agency closes up to its capacity of cases, oldest first. A case convicts
with probability ``c(e)``; the convicted person is detained for ``detention_days``, then
transferred to prison for a term drawn from a log-normal law (median
``term_median_years``, log-scale spread ``term_sigma``) or, with probability
``life_share``, for life. With probability ``p_family`` the whole household (children
included) goes too. Prisoners die at the annual rate ``camp_mortality``.

:func:`close_cases` counts into the agencies' counters (:data:`VERDICT_COUNTS`, in that
order); :func:`prison_day` into the punishment mechanism's (:data:`PRISON_COUNTS`).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numba as nb
import numpy as np
from pydantic import Field

from survsim.apparatus.cases import FTR, RECORDED, TRUE
from survsim.apparatus.queues import dequeue
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import random_block, uniform_from_words
from survsim.engine.state import Attribute
from survsim.society.demography import daily_mortality
from survsim.society.names import CHILD, DEAD, DETAINED, FREE, IMPRISONED, SENIOR

__all__ = [
    "LIFE",
    "PRISON_COUNTS",
    "VERDICT_COUNTS",
    "Punishment",
    "PunishmentParams",
    "close_cases",
    "expected_days_served",
    "initial_terms",
    "prison_day",
    "term_days",
]

#: The verdict counters of :func:`close_cases`, in the order it indexes them.
VERDICT_COUNTS = (
    "_closed",
    "acquittals",
    "convictions_true",
    "convictions_false",
    "convictions_failure_to_report",
    "convictions_family",
    "purges",
    "cases_moot",
    "cases_dropped",
)
#: The counters of :func:`prison_day`, in the order it indexes them.
PRISON_COUNTS = ("admissions", "releases", "deaths_in_prison")
_CLOSED, _ACQUITTED, _TRUE, _FALSE, _FTR, _FAMILY, _PURGED, _MOOT, _DROPPED = range(9)
_ADMITTED, _RELEASED, _DIED = range(3)
LIFE = np.int32(2**31 - 1)  # release day of a life term


class PunishmentParams(StrictModel):
    """Terms, family punishment and camp mortality; sources in docs/odd.md 4.8."""

    detention_days: int = Field(30, ge=0, le=365, description="assumption")
    term_median_years: float = Field(5.0, ge=0.01, le=50, description="assumption")
    term_sigma: float = Field(1.0, ge=0, le=3, description="assumption: a long tail")
    life_share: float = Field(0.3, ge=0, le=1, description="UN COI 2014: most never released")
    p_family: float = Field(0.1, ge=0, le=1, description="UN COI 2014: families held")
    camp_mortality: float = Field(0.05, ge=0, le=0.9, description="assumption, per year")
    initial_prisoners: float = Field(
        100_000, ge=0, le=2_000_000, description="national; UN COI 2014 80,000-120,000"
    )


@nb.njit(cache=True)
def term_days(w0, w1, w2, w3, median_days, sigma, life_share):
    """A prison term in days (at least 1) from four random words, or LIFE."""
    if uniform_from_words(w0, w1) < life_share:
        return LIFE
    u1 = uniform_from_words(w2, w3)
    u2 = uniform_from_words(w1 ^ w2, w0 ^ w3)
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
    days = median_days * math.exp(sigma * z)
    return np.int32(max(1.0, min(days + 0.5, 200.0 * 365.0)))


def expected_days_served(p: PunishmentParams) -> float:
    """Mean days in prison per admission, deaths included, as the kernels draw them.

    A term of T days with daily death chance mu is served for
    ``(1 - (1 - mu)^T) / mu`` days on average (``T`` if mu = 0); a life term for ``1 / mu``.
    The log-normal is integrated on a fine grid of z.
    """
    mu = daily_mortality(p.camp_mortality)
    z = np.linspace(-9, 9, 18001)
    weight = np.exp(-0.5 * z * z)
    weight /= weight.sum()
    terms = np.clip(
        np.floor(p.term_median_years * 365.25 * np.exp(p.term_sigma * z) + 0.5), 1, 200 * 365
    )
    served = terms if mu == 0 else (1 - (1 - mu) ** terms) / mu
    fixed = float(np.sum(weight * served))
    life = math.inf if mu == 0 else 1.0 / mu
    if p.life_share == 0:
        return fixed
    return p.life_share * life + (1 - p.life_share) * fixed


@nb.njit(cache=True)
def adults_drawn(seed, stream, role, chance):
    """Ids of the adults drawn independently with ``chance`` (day 0's prison stock)."""
    picked = np.empty(16, dtype=np.int64)
    m = 0
    for i in range(role.shape[0]):
        if role[i] == CHILD:
            continue
        w0, w1, _, _ = random_block(seed, stream, 0, i, 0)
        if uniform_from_words(w0, w1) < chance:
            if m == picked.shape[0]:
                picked = np.concatenate((picked, np.empty(m, dtype=np.int64)))
            picked[m] = i
            m += 1
    return picked[:m]


@nb.njit(cache=True)
def initial_terms(seed, stream, picked, median_days, sigma, life_share, status, release):
    """Day 0's prisoners: each is part way through a term drawn from the term law.

    The remaining term is a uniform fraction of a drawn term (at least a day); life
    stays life.
    """
    for n in range(picked.shape[0]):
        i = picked[n]
        w0, w1, w2, w3 = random_block(seed, stream, 0, i, 0)
        term = term_days(w0, w1, w2, w3, median_days, sigma, life_share)
        status[i] = IMPRISONED
        if term == LIFE:
            release[i] = LIFE
        else:
            v0, v1, _, _ = random_block(seed, stream, 0, i, 1)
            release[i] = max(1, int(term * uniform_from_words(v0, v1)))


@nb.njit(cache=True)
def _detain(i, day, release, status, n_arrests, arrested, recorded, rec):
    status[i] = DETAINED
    release[i] = day
    if n_arrests < arrested.shape[0]:
        arrested[n_arrests] = i
        recorded[n_arrests] = rec
        return n_arrests + 1
    return n_arrests


@nb.njit(cache=True)
def close_cases(
    day,
    seed,
    stream,
    budget,
    C,
    c1,
    c_max,
    expiry,
    detention_days,
    p_family,
    household,
    household_start,
    release,
    arrested,
    recorded,
    K,
    closed,
):
    """Each agency closes up to ``floor(budget[a])`` cases, oldest first (docs/odd.md 4.8).

    ``budget`` holds the capacity plus yesterday's fractional carry and keeps the new
    carry. Cases of people who are no longer free are closed without a verdict, and cases
    older than ``expiry`` days (if ``expiry > 0``) are dropped unexamined; neither uses
    capacity. Convicted people (and, with ``p_family``, their households) are detained
    until ``day + detention_days`` (``release``).

    Returns:
        The number of arrests written to ``arrested`` and ``recorded``.
    """
    n_arrests = np.int64(0)
    for a in range(budget.shape[0]):
        whole = math.floor(budget[a])
        budget[a] -= whole
        while C.queue[a, 2] > 0:
            head = C.queue[a, 0]
            stale = expiry > 0 and C.day[head] >= 0 and day - C.day[head] > expiry
            if not stale and whole == 0:
                break
            i = dequeue(C.queue, C.next_in_queue, a)
            if stale and C.status[i] == FREE:
                C.day[i] = -1
                C.bits[i] = 0
                C.evidence[i] = 0.0
                K[_DROPPED] += 1
                continue
            bits = C.bits[i]
            evidence = C.evidence[i]
            opened = C.day[i]
            C.day[i] = -1
            C.bits[i] = 0
            C.evidence[i] = 0.0
            if opened < 0 or C.status[i] != FREE:  # closed already, or no longer free
                K[_MOOT] += 1
                continue
            whole -= 1
            K[_CLOSED] += 1
            closed[a] += 1
            w0, w1, w2, _ = random_block(seed, stream, day, i, 0)
            if uniform_from_words(w0, w1) >= min(c_max, 1.0 - (1.0 - c1) ** evidence):
                K[_ACQUITTED] += 1
                continue
            if bits & TRUE:
                K[_TRUE] += 1
            elif bits & FTR:
                K[_FTR] += 1
            else:
                K[_FALSE] += 1
            if C.role[i] == SENIOR:
                K[_PURGED] += 1
            n_arrests = _detain(
                i,
                day + detention_days,
                release,
                C.status,
                n_arrests,
                arrested,
                recorded,
                (bits & RECORDED) != 0,
            )
            if uniform_from_words(w2, w0 ^ w1) < p_family:
                h = household[i]
                for j in range(household_start[h], household_start[h + 1]):
                    if C.status[j] == FREE:
                        K[_FAMILY] += 1
                        n_arrests = _detain(
                            j,
                            day + detention_days,
                            release,
                            C.status,
                            n_arrests,
                            arrested,
                            recorded,
                            np.bool_(False),
                        )
    return n_arrests


@nb.njit(cache=True, parallel=True)
def prison_day(
    day,
    seed,
    s_term,
    s_death,
    status,
    release,
    admitted,
    median_days,
    sigma,
    life_share,
    mortality,
    K,
):
    """Deaths and releases in prison, then transfers of the detained due today.

    A prisoner first may die (``mortality`` a day), else is released on its release day.
    A detained person whose detention ends today is admitted to prison with a new term.
    The dead keep their day of death in ``release`` (read by the demography step).
    """
    found = np.zeros((CHUNKS, 3), dtype=np.int64)  # died, released, admitted, by chunk
    for chunk in nb.prange(CHUNKS):
        _prison_chunk(np.int64(chunk), day, seed, s_term, s_death, status, release, admitted,
                      median_days, sigma, life_share, mortality, found)  # fmt: skip
    K[_DIED] += found[:, 0].sum()
    K[_RELEASED] += found[:, 1].sum()
    K[_ADMITTED] += found[:, 2].sum()


@nb.njit(cache=True)
def _prison_chunk(chunk, day, seed, s_term, s_death, status, release, admitted, median_days,
                  sigma, life_share, mortality, found):  # fmt: skip
    lo, hi = chunk_bounds(status.shape[0], chunk)
    for i in range(lo, hi):
        s = status[i]
        if s == IMPRISONED:
            w0, w1, _, _ = random_block(seed, s_death, day, i, 0)
            if uniform_from_words(w0, w1) < mortality:
                status[i] = DEAD
                release[i] = day
                found[chunk, 0] += 1
            elif day >= release[i]:
                status[i] = FREE
                found[chunk, 1] += 1
        elif s == DETAINED and day >= release[i]:
            w0, w1, w2, w3 = random_block(seed, s_term, day, i, 0)
            term = term_days(w0, w1, w2, w3, median_days, sigma, life_share)
            status[i] = IMPRISONED
            admitted[i] = day
            release[i] = LIFE if term == LIFE else day + term
            found[chunk, 2] += 1


class Punishment(Mechanism):
    """Prison: day 0's stock, transfers from detention, releases and deaths (4.8).

    Day 0's stock is ``initial_prisoners`` (national, scaled) adults drawn uniformly, each
    part way through a term drawn from the term law (life terms stay life).
    """

    name = "punishment"
    group = "punishment"
    params_class = PunishmentParams
    arrays = (
        Attribute("release_day", np.int32, 0, "people", "end of detention or term; day of death"),
        Attribute("admitted_day", np.int32, -1, "people", "day of admission to prison"),
    )
    streams = ("initial_prisoners", "initial_term", "term", "prison_death")
    counters = PRISON_COUNTS
    columns: ClassVar[dict[str, type]] = {"dead_in_prison_total": np.int64}

    def init(self) -> None:
        """Day 0's prisoners (with the apparatus)."""
        self.dead_total = 0
        if self.sim.params.apparatus:
            self._initial_prisoners()

    def _initial_prisoners(self) -> None:
        p, s, pu = self.sim.params, self.sim.pop.people, self.pars
        n_adults = p.agents - int(np.count_nonzero(s.role == CHILD))
        wanted = pu.initial_prisoners * p.scale
        if n_adults == 0 or wanted <= 0:
            return
        chance = min(1.0, wanted / n_adults)
        seed = self.sim.seed64
        picked = adults_drawn(seed, self.stream("initial_prisoners"), s.role, chance)
        initial_terms(seed, self.stream("initial_term"), picked, pu.term_median_years * 365.25,
                      pu.term_sigma, pu.life_share, s.status, s.release_day)  # fmt: skip

    def steps(self):
        """Deaths, releases and transfers, after the verdicts."""
        if self.sim.params.apparatus:
            yield Step("prison", self.day, "deaths, releases and transfers to prison", "prison")

    def day(self) -> None:
        """Today's deaths in prison, releases and transfers from detention."""
        pu, s = self.pars, self.sim.pop.people
        before = self.counts[_DIED]
        prison_day(self.sim.t, self.sim.seed64, self.stream("term"), self.stream("prison_death"),
                   s.status, s.release_day, s.admitted_day, pu.term_median_years * 365.25,
                   pu.term_sigma, pu.life_share, daily_mortality(pu.camp_mortality),
                   self.counts)  # fmt: skip
        self.dead_total += int(self.counts[_DIED] - before)

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """Deaths in prison so far."""
        columns["dead_in_prison_total"][t] = self.dead_total
