"""Day 0's prison stock: the stationary mix of remaining terms (apparatus/prison_stock.py).

The mix is checked against its closed form for fixed terms of one length, against the mean
days served of the punishment module, and against the stock that the model's own prison
kernel builds up from a constant flow of admissions; the old rule (a uniform fraction of
a fresh term) must fail that last comparison.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numba as nb
import numpy as np
import pytest

from survsim.apparatus import punishment
from survsim.apparatus.prison_stock import LIFE, stationary_mix, stationary_terms
from survsim.apparatus.punishment import (
    PunishmentParams,
    expected_days_served,
    initial_terms,
    prison_day,
)
from survsim.engine.rng import stream_id
from survsim.society.demography import daily_mortality
from survsim.society.names import DEAD, DETAINED, FREE, IMPRISONED

S_TERM, S_DEATH, S_DRAW = stream_id("term"), stream_id("prison_death"), stream_id("initial")
SD = 4.0  # tolerance of the statistical checks, in standard deviations
ALPHA = 1e-4  # false-alarm rate of the two-sample KS checks


class Law(NamedTuple):
    """Term law and mortality, as the kernels take them."""

    median_days: float
    sigma: float
    life_share: float
    mortality: float  # daily

    def mix(self):
        return stationary_mix(self.median_days, self.sigma, self.life_share, self.mortality)


def law_of(p: PunishmentParams) -> Law:
    return Law(
        p.term_median_years * 365.25,
        p.term_sigma,
        p.life_share,
        daily_mortality(p.camp_mortality),
    )


def prison_step(day, seed, status, release, admitted, law: Law, counts):
    """One day of the model's prison kernel (everyone here is detained for prison)."""
    held_for = np.full(status.shape[0], punishment.TO_PRISON, np.uint8)
    prison_day(day, seed, S_TERM, S_DEATH, status, release, admitted, held_for,
               law.median_days, law.sigma, law.life_share, law.mortality, counts)  # fmt: skip


def simulate_stock(law: Law, per_day: int, n_days: int, seed: int = 7):
    """The prison after ``n_days`` days of ``per_day`` admissions a day from an empty start.

    Each day ``per_day`` free (or dead) slots are detained with detention ending that day,
    so the kernel admits them with a fresh term. Returns the release days of the stock at
    the end of day ``n_days``.
    """
    expected = per_day * law.mix().mean_served
    pool = int(expected + 10 * math.sqrt(expected)) + 2 * per_day
    status = np.full(pool, FREE, dtype=np.uint8)
    release = np.zeros(pool, dtype=np.int32)
    admitted = np.full(pool, -1, dtype=np.int32)
    counts = np.zeros(len(punishment.PRISON_COUNTS), dtype=np.int64)
    threads = nb.get_num_threads()
    nb.set_num_threads(1)  # same numbers; thousands of tiny parallel calls crawl on a busy machine
    try:
        for day in range(1, n_days + 1):
            free = np.flatnonzero((status == FREE) | (status == DEAD))[:per_day]
            assert free.shape[0] == per_day, "the pool is too small"
            status[free] = DETAINED
            release[free] = day
            prison_step(day, seed, status, release, admitted, law, counts)
    finally:
        nb.set_num_threads(threads)
    admissions = counts[punishment.PRISON_COUNTS.index("admissions")]
    assert admissions == per_day * n_days  # every detainee was admitted
    return release[status == IMPRISONED]


def draw(rule: str, law: Law, n: int, seed: int = 11) -> np.ndarray:
    """Release days of ``n`` day-0 prisoners under ``rule`` (stationary or uniform)."""
    status = np.zeros(n, dtype=np.uint8)
    release = np.zeros(n, dtype=np.int32)
    picked = np.arange(n, dtype=np.int64)
    if rule == "stationary":
        m = law.mix()
        stationary_terms(seed, S_DRAW, picked, m.days, m.cdf, m.life_fraction, status, release)
    else:
        initial_terms(seed, S_DRAW, picked, law.median_days, law.sigma, law.life_share,
                      status, release)  # fmt: skip
    assert np.all(status == IMPRISONED)
    return release


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the empirical CDFs of two samples."""
    at = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), at, side="right") / a.shape[0]
    fb = np.searchsorted(np.sort(b), at, side="right") / b.shape[0]
    return float(np.max(np.abs(fa - fb)))


def mismatches(stock: np.ndarray, day: int, drawn: np.ndarray) -> dict[str, str]:
    """The checks in which day-0 draws (release days) disagree with a simulated stock.

    Life fraction: two binomial samples, within SD standard deviations. Remaining fixed
    days (release - day of the stock, release of the draws): two-sample KS at ALPHA.
    """
    failed = {}
    life_s, life_d = stock == LIFE, drawn == LIFE
    n_s, n_d = stock.shape[0], drawn.shape[0]
    pooled = (life_s.sum() + life_d.sum()) / (n_s + n_d)
    sd = math.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_d))
    gap = abs(life_s.mean() - life_d.mean())
    if gap > SD * sd:
        failed["life"] = f"life fraction {life_s.mean():.4f} vs {life_d.mean():.4f}"
    rest_s = stock[~life_s].astype(np.int64) - day
    rest_d = drawn[~life_d].astype(np.int64)
    m_s, m_d = rest_s.shape[0], rest_d.shape[0]
    d = ks_distance(rest_s, rest_d)
    crit = math.sqrt(-0.5 * math.log(ALPHA / 2)) * math.sqrt((m_s + m_d) / (m_s * m_d))
    if d > crit:
        failed["remaining"] = f"KS distance {d:.4f} > {crit:.4f}"
    return failed


# -- the mix itself ---------------------------------------------------------------------


def test_life_is_the_release_day_of_the_punishment_module():
    assert LIFE == punishment.LIFE
    assert LIFE.dtype == punishment.LIFE.dtype


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"camp_mortality": 0.2, "term_median_years": 1.0, "term_sigma": 0.8},
        {"camp_mortality": 0.9, "term_sigma": 3.0, "life_share": 0.9},
        {"term_median_years": 0.01, "term_sigma": 0.3, "camp_mortality": 0.01},
        {"camp_mortality": 0.0, "life_share": 0.0},
        {"life_share": 1.0},
    ],
)
def test_mean_served_is_expected_days_served(overrides):
    p = PunishmentParams(**overrides)
    mix = law_of(p).mix()
    assert mix.mean_served == pytest.approx(expected_days_served(p), rel=1e-9)
    assert mix.cdf[-1] == 1.0
    assert np.all(np.diff(mix.cdf) >= 0) and mix.cdf[0] > 0
    assert np.array_equal(mix.days, np.arange(1, mix.days.shape[0] + 1))
    if p.life_share == 1:
        assert mix.life_fraction == 1.0


@pytest.mark.parametrize(("term", "mu", "life_share"), [(731, 0.002, 0.3), (4, 0.3, 0.0)])
def test_fixed_terms_of_one_length_have_the_closed_form(term, mu, life_share):
    """sigma = 0: every term is D days; P(r) is proportional to (1 - mu)^(D - r), r = 1..D."""
    mix = stationary_mix(term - 0.25, 0.0, life_share, mu)  # rounds to D
    q = 1.0 - mu
    r = np.arange(1, term + 1)
    weight = q ** (term - r)
    assert np.array_equal(mix.days, r)
    np.testing.assert_allclose(mix.cdf, np.cumsum(weight) / weight.sum(), rtol=1e-12)
    fixed = (1 - q**term) / mu
    served = life_share / mu + (1 - life_share) * fixed
    assert mix.mean_served == pytest.approx(served, rel=1e-12)
    assert mix.life_fraction == pytest.approx(life_share / mu / served, rel=1e-12)
    assert mix.mean_remaining == pytest.approx(np.dot(r, weight) / weight.sum(), rel=1e-12)


def test_no_stationary_stock_without_deaths_unless_no_life_terms():
    with pytest.raises(ValueError, match="no stationary prison stock"):
        stationary_mix(1000.0, 1.0, 0.3, 0.0)
    mix = stationary_mix(1000.0, 0.0, 0.0, 0.0)  # only 1000-day terms: r uniform on 1..1000
    assert mix.life_fraction == 0.0
    np.testing.assert_allclose(mix.cdf, np.arange(1, 1001) / 1000, rtol=1e-12)
    with pytest.raises(ValueError, match="needs"):
        stationary_mix(1000.0, 1.0, 1.5, 0.001)


def test_the_defaults_stock_is_mostly_life_terms_and_the_mix_is_fast():
    law = law_of(PunishmentParams())
    law.mix()  # compiled or loaded
    start = time.perf_counter()
    mix = law.mix()
    assert time.perf_counter() - start < 0.25  # about 3 ms here; the brief's bound is 50 ms
    assert mix.life_fraction == pytest.approx(0.5998, abs=1e-4)
    assert mix.mean_remaining == pytest.approx(3405.0, abs=1.0)


# -- against the model's own prison kernel ----------------------------------------------


def test_one_term_length_stock_matches_the_closed_form_to_the_day():
    """Short terms, high mortality: the stock is stationary after a few days, so the day
    convention (death before release, the stock at the end of a day) shows in each bin."""
    law = Law(median_days=4.0, sigma=0.0, life_share=0.3, mortality=0.3)
    per_day, n_days = 3000, 60
    stock = simulate_stock(law, per_day, n_days)
    mix = law.mix()
    n = stock.shape[0]
    assert abs(n - per_day * mix.mean_served) < SD * math.sqrt(per_day * mix.mean_served)
    life = np.count_nonzero(stock == LIFE)
    sd = math.sqrt(n * mix.life_fraction * (1 - mix.life_fraction))
    assert abs(life - n * mix.life_fraction) < SD * sd
    rest = stock[stock != LIFE].astype(np.int64) - n_days
    assert rest.min() >= 1 and rest.max() <= 4
    counts = np.bincount(rest, minlength=5)[1:]
    p = np.diff(np.concatenate(([0.0], mix.cdf)))
    expected = rest.shape[0] * p
    assert np.all(np.abs(counts - expected) < SD * np.sqrt(expected * (1 - p))), counts


def test_stationary_draws_match_a_long_simulation_and_the_old_rule_does_not():
    # 40 years of admissions: life prisoners' survival 0.8^40 ~ 1e-4 of the way from empty.
    law = Law(365.25, 0.8, 0.3, daily_mortality(0.2))
    mix = law.mix()
    per_day, n_days = 6, 40 * 365
    stock = simulate_stock(law, per_day, n_days)
    n = stock.shape[0]
    assert abs(n - per_day * mix.mean_served) < SD * math.sqrt(per_day * mix.mean_served)
    sd = math.sqrt(mix.life_fraction * (1 - mix.life_fraction) / n)
    assert abs(np.mean(stock == LIFE) - mix.life_fraction) < SD * sd
    assert mix.life_fraction > law.life_share + 0.25  # long stays: far more life terms

    assert mismatches(stock, n_days, draw("stationary", law, 200_000)) == {}
    old = mismatches(stock, n_days, draw("uniform", law, 200_000))
    assert "life" in old, old  # the old rule keeps the admissions' life share
    assert "remaining" in old, old  # and gives fixed terms too little time to go


def test_same_seed_same_draws():
    law = law_of(PunishmentParams())
    a, b = draw("stationary", law, 5000, seed=3), draw("stationary", law, 5000, seed=3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, draw("stationary", law, 5000, seed=4))
    assert np.all(a >= 1)
