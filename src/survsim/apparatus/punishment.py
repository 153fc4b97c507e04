"""Sanctions, detention, terms, family punishment, purges, deaths (docs/odd.md 4.8).

An investigation that ends in a sanction grades it by the file's score ``S``
(:func:`sentence`; MODEL.md 8.1, after the UN COI 2014 distinction between short-term
labour-training camps, *rodong danryeondae*, and political prison camps, *kwanliso*):

- ``S < prison_score``: a labour-training detention of ``labour_days``, then release;
- ``S >= prison_score``: a political-prison term, after ``detention_days`` of detention:
  life with probability ``life_share``, else drawn from a log-normal law (median
  ``term_median_years``, log-scale spread ``term_sigma``); with probability ``p_family``
  the whole household (children included) is imprisoned too.

Prisoners die at the annual rate ``camp_mortality``. The counters the agencies write are
:data:`FLOWS` (per agency); :func:`prison_day` counts into :data:`PRISON_COUNTS`.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import ClassVar, Literal

import numba as nb
import numpy as np
from pydantic import Field, model_validator

from survsim.apparatus.cases import FTR, RECORDED, TRUE, leave_heaps, said_class
from survsim.apparatus.prison_stock import stationary_mix, stationary_terms
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import random_block, uniform_from_words
from survsim.engine.state import Attribute
from survsim.society.demography import daily_mortality
from survsim.society.names import CHILD, DEAD, DETAINED, FREE, IMPRISONED, SENIOR

__all__ = [
    "FLOWS",
    "LIFE",
    "PRISON_COUNTS",
    "Punishment",
    "PunishmentParams",
    "Sentences",
    "expected_days_served",
    "prison_day",
    "prison_years",
    "sentence",
    "term_days",
]

#: What each agency counts a day (columns ``<flow>_<agency>``, and national ``<flow>``):
#: the two stages' flows, then the sanctions by the kind of evidence behind them, the
#: relatives punished with them, senior officials purged, and files whose holder had
#: left (detained, imprisoned or dead) when they reached the top of a heap.
FLOWS = (
    "checks",
    "warnings",
    "escalations",
    "investigations",
    "acquittals",
    "detentions",
    "prison_sentences",
    "convictions_true",
    "convictions_false",
    "convictions_failure_to_report",
    "convictions_family",
    "purges",
    "files_moot",
)
(CHECKS, WARNINGS, ESCALATIONS, INVESTIGATIONS, ACQUITTALS, DETENTIONS, PRISON_SENTENCES,
 _TRUE, _FALSE, _FTR, _FAMILY, _PURGED, MOOT) = range(13)  # fmt: skip
#: The counters of :func:`prison_day`, in the order it indexes them.
PRISON_COUNTS = ("admissions", "releases", "deaths_in_prison", "labour_releases")
_ADMITTED, _RELEASED, _DIED, _LABOUR_RELEASED = range(4)
LIFE = np.int32(2**31 - 1)  # release day of a life term
#: What a detained person is held for (``held_for``).
TO_PRISON, LABOUR = 0, 1

#: The sentencing rules and the arrays a sanction writes.
Sentences = namedtuple(
    "Sentences",
    "prison_score detention_days labour_days p_family household household_start release held_for "
    "labour_years prison_years",
)


class PunishmentParams(StrictModel):
    """Terms, family punishment and camp mortality; sources in docs/odd.md 4.8."""

    detention_days: int = Field(
        30, ge=0, le=365, description="assumption: detention before a prison term"
    )
    labour_days: int = Field(
        180, ge=0, le=3650, description="UN COI 2014: labour-training camps hold for months"
    )
    prison_score: float = Field(
        2.5, ge=0, le=1000, description="assumption: the file score of a prison term"
    )
    term_median_years: float = Field(5.0, ge=0.01, le=50, description="assumption")
    term_sigma: float = Field(1.0, ge=0, le=3, description="assumption: a long tail")
    life_share: float = Field(0.3, ge=0, le=1, description="UN COI 2014: most never released")
    p_family: float = Field(0.1, ge=0, le=1, description="UN COI 2014: families held")
    camp_mortality: float = Field(0.05, ge=0, le=0.9, description="assumption, per year")
    initial_prisoners: float = Field(
        100_000, ge=0, le=2_000_000, description="national; UN COI 2014 80,000-120,000"
    )
    initial_mix: Literal["stationary", "uniform"] = Field(
        "stationary",
        description="day 0's remaining terms: the stationary mix (docs/odd.md 4.8); "
        "uniform: a uniform part of a drawn term (version 1, the negative control)",
    )

    @model_validator(mode="after")
    def _a_stationary_stock_exists(self) -> PunishmentParams:
        if (self.initial_mix == "stationary" and self.initial_prisoners > 0
                and self.life_share > 0 and self.camp_mortality == 0):  # fmt: skip
            raise ValueError(
                "initial_mix 'stationary' needs camp_mortality > 0 when life_share > 0 "
                "(life prisoners who never die have no stationary mix); set "
                "initial_mix: uniform or initial_prisoners: 0"
            )
        return self


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


#: The most prison-years people read in one term (a life term with no camp deaths).
MAX_PRISON_YEARS = 50.0


def prison_years(p: PunishmentParams) -> float:
    """The severity people read in a prison term: mean years served (at most 50)."""
    return min(MAX_PRISON_YEARS, expected_days_served(p) / 365.25)


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
def _detain(i, until, held, S, status, L, rec):
    status[i] = DETAINED
    S.release[i] = until
    S.held_for[i] = held
    m = L.count[0]
    if m < L.arrested.shape[0]:
        L.arrested[m] = i
        L.recorded[m] = rec
        L.imprisoned[m] = held == TO_PRISON
        L.count[0] = m + 1


@nb.njit(cache=True)
def sentence(C, S, i, a, day, score, bits, u_family, K, L):
    """Sanction person ``i`` (agency ``a``), graded by the file's ``score``.

    A score below ``S.prison_score`` brings a labour-training detention of
    ``labour_days``; at or above it, detention until a prison term, and with chance
    ``p_family`` (``u_family`` is the draw) the free members of the household follow.
    Counts go to row ``a`` of ``K`` (:data:`FLOWS`); the sanctioned go to the log ``L``
    with the class of the file's statements and the severity people read in it:
    ``labour_years``, or ``prison_years`` for each prison term it brought (the
    family's counted).
    """
    if bits & TRUE:
        K[a, _TRUE] += 1
    elif bits & FTR:
        K[a, _FTR] += 1
    else:
        K[a, _FALSE] += 1
    if C.role[i] == SENIOR:
        K[a, _PURGED] += 1
    rec = (bits & RECORDED) != 0
    said_in = said_class(C.agency[i])
    first = L.count[0]
    if score < S.prison_score:
        K[a, DETENTIONS] += 1
        _detain(i, day + S.labour_days, LABOUR, S, C.status, L, rec)
        severity = S.labour_years
    else:
        K[a, PRISON_SENTENCES] += 1
        until = day + S.detention_days
        _detain(i, until, TO_PRISON, S, C.status, L, rec)
        terms = 1
        if u_family < S.p_family:
            h = S.household[i]
            for j in range(S.household_start[h], S.household_start[h + 1]):
                if C.status[j] == FREE:
                    leave_heaps(C, j)
                    K[a, _FAMILY] += 1
                    terms += 1
                    _detain(j, until, TO_PRISON, S, C.status, L, np.bool_(False))
        severity = S.prison_years * terms
    for m in range(first, L.count[0]):
        L.said_in[m] = said_in
        L.severity[m] = severity


@nb.njit(cache=True, parallel=True)
def prison_day(
    day,
    seed,
    s_term,
    s_death,
    status,
    release,
    admitted,
    held_for,
    median_days,
    sigma,
    life_share,
    mortality,
    K,
):
    """Deaths and releases in prison, then the detained whose detention ends today.

    A prisoner first may die (``mortality`` a day), else is released on its release day.
    A detained person whose detention ends today is released if it was held for labour
    training (``held_for``), else admitted to prison with a new term. The dead keep their
    day of death in ``release`` (read by the demography step).
    """
    found = np.zeros((CHUNKS, 4), dtype=np.int64)  # died, released, admitted, labour
    for chunk in nb.prange(CHUNKS):
        _prison_chunk(np.int64(chunk), day, seed, s_term, s_death, status, release, admitted,
                      held_for, median_days, sigma, life_share, mortality, found)  # fmt: skip
    K[_DIED] += found[:, 0].sum()
    K[_RELEASED] += found[:, 1].sum()
    K[_ADMITTED] += found[:, 2].sum()
    K[_LABOUR_RELEASED] += found[:, 3].sum()


@nb.njit(cache=True)
def _prison_chunk(chunk, day, seed, s_term, s_death, status, release, admitted, held_for,
                  median_days, sigma, life_share, mortality, found):  # fmt: skip
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
        elif s == DETAINED and day >= release[i] and held_for[i] == LABOUR:
            status[i] = FREE
            held_for[i] = TO_PRISON
            found[chunk, 3] += 1
        elif s == DETAINED and day >= release[i]:
            w0, w1, w2, w3 = random_block(seed, s_term, day, i, 0)
            term = term_days(w0, w1, w2, w3, median_days, sigma, life_share)
            status[i] = IMPRISONED
            admitted[i] = day
            release[i] = LIFE if term == LIFE else day + term
            found[chunk, 2] += 1


class Punishment(Mechanism):
    """Prison: day 0's stock, transfers from detention, releases and deaths (4.8).

    Day 0's stock is ``initial_prisoners`` (national, scaled) adults drawn uniformly, with
    remaining terms drawn from the stationary mix of the term law, life terms and camp
    mortality (:mod:`survsim.apparatus.prison_stock`; MODEL.md 8.4).
    """

    name = "punishment"
    group = "punishment"
    params_class = PunishmentParams
    arrays = (
        Attribute("release_day", np.int32, 0, "people", "end of detention or term; day of death"),
        Attribute("admitted_day", np.int32, -1, "people", "day of admission to prison"),
        Attribute("held_for", np.uint8, TO_PRISON, "people", "detained for: 0 prison, 1 labour"),
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
        median = pu.term_median_years * 365.25
        if pu.initial_mix == "uniform":
            initial_terms(seed, self.stream("initial_term"), picked, median, pu.term_sigma,
                          pu.life_share, s.status, s.release_day)  # fmt: skip
            return
        mix = stationary_mix(median, pu.term_sigma, pu.life_share,
                             daily_mortality(pu.camp_mortality))  # fmt: skip
        stationary_terms(seed, self.stream("initial_term"), picked, mix.days, mix.cdf,
                         mix.life_fraction, s.status, s.release_day)  # fmt: skip

    def sentences(self) -> Sentences:
        """The sentencing rules and the arrays a sanction writes (for the agencies)."""
        s, pu = self.sim.pop.people, self.pars
        return Sentences(pu.prison_score, pu.detention_days, pu.labour_days, pu.p_family,
                         s.household, self.sim.pop.household_start, s.release_day,
                         s.held_for, pu.labour_days / 365.25, prison_years(pu))  # fmt: skip

    def steps(self):
        """Deaths, releases and transfers, after the verdicts."""
        if self.sim.params.apparatus:
            yield Step("prison", self.day, "deaths, releases and transfers to prison", "prison")

    def day(self) -> None:
        """Today's deaths in prison, releases and transfers from detention."""
        pu, s = self.pars, self.sim.pop.people
        before = self.counts[_DIED]
        prison_day(self.sim.t, self.sim.seed64, self.stream("term"), self.stream("prison_death"),
                   s.status, s.release_day, s.admitted_day, s.held_for,
                   pu.term_median_years * 365.25,
                   pu.term_sigma, pu.life_share, daily_mortality(pu.camp_mortality),
                   self.counts)  # fmt: skip
        self.dead_total += int(self.counts[_DIED] - before)

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """Deaths in prison so far."""
        columns["dead_in_prison_total"][t] = self.dead_total
