"""Day 0's prisoners drawn from the stationary mix of remaining terms (docs/odd.md 4.8).

Under a constant flow of admissions, the term law of
:func:`survsim.apparatus.punishment.term_days` and a daily death chance ``mu``, the prison
stock settles to a mix in which life prisoners and long terms are over-represented: they
stay longer. :func:`stationary_mix` computes that mix exactly (up to the z-grid of
:func:`~survsim.apparatus.punishment.expected_days_served`, which it shares), and
:func:`stationary_terms` draws day 0's prisoners from it.

Day convention (that of ``punishment._prison_chunk``). On day ``d`` a prisoner first
draws death (chance ``mu``) and, if alive, is released when ``d >= release``; a detainee
admitted on day ``d`` gets ``release = d + tau`` and draws no death that day. The stock
is counted at the end of a day; day 0 of a run is such an end (the first step is day 1).
A prisoner admitted ``a`` days ago with a fixed term ``tau`` is therefore still inside
with probability ``(1 - mu)^a`` when ``a <= tau - 1`` (``a`` death draws survived, not yet
released), with ``r = tau - a`` (1 to ``tau``) days to go; one with a life term with
probability ``(1 - mu)^a`` for every ``a >= 0``. Per daily admission the stock holds

- ``life_share / mu`` life prisoners, and
- ``(1 - life_share) * S(r)`` fixed-term prisoners with ``r`` days to go, where
  ``S(r) = sum over tau >= r of P(tau) (1 - mu)^(tau - r)``, i.e. ``S(r) = P(r) +
  (1 - mu) S(r + 1)``.

The stock per daily admission is the mean number of days served (Little's law):
``sum over r of S(r) = E[(1 - (1 - mu)^tau) / mu]``. A day-0 prisoner given
``release = r`` then draws death on days 1 to ``r`` and, if alive, leaves on day ``r``,
exactly as the stationary stock member it stands for. The derivation, with the numbers
for the default parameters, is in docs/odd.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from survsim.engine.rng import random_block, uniform_from_words
from survsim.society.names import IMPRISONED

__all__ = ["LIFE", "MAX_TERM_DAYS", "StationaryMix", "stationary_mix", "stationary_terms"]

#: Release day of a life term; must equal ``survsim.apparatus.punishment.LIFE`` (tested).
LIFE = np.int32(2**31 - 1)
#: The longest fixed term ``term_days`` draws, in days (its clip).
MAX_TERM_DAYS = 200 * 365


@dataclass(frozen=True, eq=False)
class StationaryMix:
    """The stationary prison stock: life share and the law of remaining fixed days.

    Attributes:
        days: Remaining days of a fixed term, 1 to the longest term (int64).
        cdf: ``P(remaining <= days)`` among fixed-term prisoners (float64, ends at 1.0).
        life_fraction: Share of life prisoners in the stock.
        mean_served: Mean days served per admission (the stock per daily admission).
        mean_remaining: Mean remaining days of the fixed-term prisoners.
    """

    days: np.ndarray
    cdf: np.ndarray
    life_fraction: float
    mean_served: float
    mean_remaining: float


def _term_law(median_days: float, sigma: float) -> np.ndarray:
    """``P(tau = k)`` at index ``k`` for the terms ``term_days`` draws (index 0 unused).

    The normal is integrated on the z-grid of ``expected_days_served`` (-9 to 9, step
    0.001) and each grid point's weight goes to its rounded, clipped term.
    """
    z = np.linspace(-9, 9, 18001)
    weight = np.exp(-0.5 * z * z)
    weight /= weight.sum()
    terms = np.clip(np.floor(median_days * np.exp(sigma * z) + 0.5), 1, MAX_TERM_DAYS)
    return np.bincount(terms.astype(np.int64), weights=weight)


@nb.njit(cache=True)
def _stock_by_remaining(p, q):
    """``S(r) = p[r] + q S(r + 1)`` for r = len(p) - 1 down to 0 (``S`` past the end: 0)."""
    s = np.zeros(p.shape[0])
    acc = 0.0
    for r in range(p.shape[0] - 1, -1, -1):
        acc = p[r] + q * acc
        s[r] = acc
    return s


def stationary_mix(
    median_days: float, sigma: float, life_share: float, mortality_daily: float
) -> StationaryMix:
    """The stationary mix of the prison stock under constant admissions.

    Args:
        median_days: Median fixed term in days (``term_median_years * 365.25``).
        sigma: Log-scale spread of the fixed terms.
        life_share: Share of admissions with a life term.
        mortality_daily: Daily death chance in prison (``daily_mortality(camp_mortality)``).

    Raises:
        ValueError: a parameter is out of range, or ``mortality_daily`` is 0 while
            ``life_share`` is above 0 (life prisoners then never leave: no stationary
            state).
    """
    mu, share = float(mortality_daily), float(life_share)
    if not (median_days > 0 and sigma >= 0 and 0 <= share <= 1 and 0 <= mu <= 1):
        raise ValueError(
            "stationary_mix needs median_days > 0, sigma >= 0, 0 <= life_share <= 1 and "
            f"0 <= mortality_daily <= 1; got {median_days}, {sigma}, {life_share}, "
            f"{mortality_daily}"
        )
    if mu == 0 and share > 0:
        raise ValueError(
            "no stationary prison stock: with no deaths in prison (mortality 0) life "
            f"prisoners (life_share {life_share}) never leave and the stock grows forever"
        )
    s = _stock_by_remaining(_term_law(median_days, sigma), 1.0 - mu)[1:]
    fixed = float(s.sum())  # = E[(1 - (1 - mu)^tau) / mu], days served per fixed term
    days = np.arange(1, s.shape[0] + 1, dtype=np.int64)
    cdf = np.cumsum(s) / fixed
    cdf[-1] = 1.0
    life = share / mu if share > 0 else 0.0
    served = life + (1.0 - share) * fixed
    return StationaryMix(
        days=days,
        cdf=cdf,
        life_fraction=life / served,
        mean_served=served,
        mean_remaining=float(np.dot(days, s)) / fixed,
    )


@nb.njit(cache=True)
def stationary_terms(seed, stream, picked, days, cdf, life_fraction, status, release):
    """Day 0's prisoners ``picked``, each drawn from the stationary mix.

    A prisoner gets a life term (``release = LIFE``) with chance ``life_fraction``, else
    ``release = r`` days from day 0, ``r`` drawn by inverse CDF (``days``, ``cdf`` of
    :func:`stationary_mix`). One random block per person: ``(seed, stream, 0, i, 0)``.
    """
    for n in range(picked.shape[0]):
        i = picked[n]
        w0, w1, w2, w3 = random_block(seed, stream, 0, i, 0)
        status[i] = IMPRISONED
        if uniform_from_words(w0, w1) < life_fraction:
            release[i] = LIFE
        else:
            k = np.searchsorted(cdf, uniform_from_words(w2, w3), side="right")
            release[i] = np.int32(days[min(k, days.shape[0] - 1)])
