"""Mean-field oracles of the speech rule with learned risk (MODEL.md 8.5).

Two oracles of docs/odd.md 4.2-4.3, each computed here from the rule's own formula:

- Granovetter's critical spread: with no risk and no grievance, only the conformity pull
  ``O_i`` against thresholds ``T_i ~ N(0.25, sd)``; the map ``r -> Phi((r - 0.25) / sd)``
  stalls near its start below sd ~ 0.122 and cascades to nearly everyone above it.
- The fixed point of learned risk: with no sanctions (``A = 0``) the learned chance is
  ``phat = n0 p0 / (n0 + H)``, and ``H`` is the decayed count of statements heard, which
  depends on how much the others speak, which depends on their ``phat``.

Every person is synthetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit, ndtr

from survsim.models.surveillance_state import SurveillanceState, SurveillanceStateParams
from survsim.society.names import CHILD, CIVILIAN, FREE
from survsim.society.speech import CONTEXTS, L_REF

ONLY = dict.fromkeys(CONTEXTS, 0.0)
NO_BUGGING = dict.fromkeys(CONTEXTS, 0.0)


# -- Granovetter's critical spread ------------------------------------------------------

T_MEAN = 0.25
G_AGENTS, G_DAYS, G_WINDOW, G_DECAY = 12_000, 80, 20, 0.05


def norm_pdf(z):
    """The standard normal density."""
    return np.exp(-z * z / 2) / np.sqrt(2 * np.pi)


def granovetter_map(sd: float) -> float:
    """``r -> Phi((r - T) / sd)`` iterated from ``Phi(-T / sd)``, the rate when nobody has
    heard anyone yet (O = 0). Returns the point where it settles."""
    r = ndtr(-T_MEAN / sd)
    for _ in range(100_000):
        r, before = ndtr((r - T_MEAN) / sd), r
        if abs(r - before) < 1e-13:
            break
    return float(r)


def critical_spread() -> float:
    """The spread at which the map's stall point meets its unstable point and vanishes.

    There ``r = Phi(z)`` and the map's slope ``phi(z) / sd`` is 1, with ``z = (r - T) / sd``:
    so ``sd = phi(z)`` and ``Phi(z) - z phi(z) = T``, whose left side increases in z.
    """
    z = brentq(lambda z: ndtr(z) - z * norm_pdf(z) - T_MEAN, -6.0, 0.0)
    return float(norm_pdf(z))


def granovetter_run(sd: float) -> tuple[float, int]:
    """Open-speech rate over the last ``G_WINDOW`` days of a run, and the free adults.

    Surveillance off; no believed risk (a0 = 0, no believed bugging, no sanctions:
    R = 0); grievance ~ 0 (Kumaraswamy a = 0.05, b = 20 puts every g0 below 1e-8);
    nothing but ``O_i`` against ``T_i``. One context: public places with the topic in
    every group and every district the whole population (``district_nunits`` above the
    number of units), so everyone meets strangers drawn from everyone, about once a day
    in groups of 2 + Poisson(1). A fast belief decay (0.05 a day) makes ``O_i`` the
    share of open speakers among the others present over the last few weeks.
    """
    params = SurveillanceStateParams.model_validate({
        "agents": G_AGENTS,
        "apparatus": False,
        "population": {"pi_hat0": 0.0, "grievance_a": 0.05, "grievance_b": 20.0,
                       "informant_density": 0.0},
        "speech": {"conformity": 1.0, "threshold": T_MEAN, "threshold_sd": sd, "tau": 0.001,
                   "believed_bugging": NO_BUGGING},
        "beliefs": {"belief_decay": G_DECAY},
        "conversations": {"topic": {**ONLY, "public": 1.0}, "public_rate": 1.0,
                          "public_group_extra": 1.0, "district_nunits": 1000},
    })  # fmt: skip
    sim = SurveillanceState(params, seed=3, steps=G_DAYS)
    s = sim.pop.people
    adults = (s.role != CHILD) & (s.status == FREE)
    assert s.grievance[adults].max() < 1e-6
    sim.run(G_DAYS - G_WINDOW)
    present, spoke = int(sim.tally.present.sum()), int(sim.tally.spoke.sum())
    sim.run(G_WINDOW)
    present = int(sim.tally.present.sum()) - present
    spoke = int(sim.tally.spoke.sum()) - spoke
    assert present > 0.8 * G_WINDOW * adults.sum()  # nearly everyone talks every day
    return spoke / present, int(adults.sum())


def tolerance(r: float, adults: int) -> float:
    """Five standard errors of a share r among the run's adults.

    The thresholds are drawn once per person, so who is on which side of ``O`` is one
    binomial draw of the adults (the daily draws of the 20-day window add less). What the
    mean-field map leaves out is far below this: ``O = H / (N + n0)`` is shrunk by
    ``n0 / N`` (n0 = 0.5, N about 40 others present: 2 a day over 1/0.05 days), which moves
    the high point by 2e-5 and the stall point by less; ``O`` is a sample of a few weeks,
    so at the stall a person who just heard one of the ~0.1% open statements has
    O ~ 1/40, and only the ~0.3% with thresholds below that can follow.
    """
    return 5 * np.sqrt(r * (1 - r) / adults)


@pytest.mark.slow
def test_granovetter_critical_spread_separates_stall_and_cascade():
    """Oracle: Granovetter's threshold model (MODEL.md 8.5). The mean-field map
    ``r -> Phi((r - 0.25) / sd)``, iterated here from the rate when nobody has heard
    anyone (O = 0), stalls near its start for sd below ``critical_spread()`` (0.1222) and
    cascades to nearly everyone above it.

    With sd = 0.10, just below it, the model's open-speech rate over days 61-80 must equal
    the map's stall point (about 0.008: the people with T_i below ~0), with sd = 0.2 its
    high point (0.9999: all but the T_i > ~1); tolerance: five binomial standard errors
    of the adults (:func:`tolerance`).
    """
    sd_c = critical_spread()
    low, high = granovetter_map(0.10), granovetter_map(0.2)
    print(f"critical spread {sd_c:.4f}; mean field: sd 0.10 -> {low:.5f}, sd 0.2 -> {high:.5f}")
    assert 0.12 < sd_c < 0.125
    assert granovetter_map(sd_c - 1e-3) < 0.1 < 0.9 < granovetter_map(sd_c + 1e-3)
    assert low < 0.01 and high > 0.999

    rate_low, adults = granovetter_run(0.10)
    rate_high, _ = granovetter_run(0.2)
    print(f"model: sd 0.10 -> {rate_low:.5f}, sd 0.2 -> {rate_high:.5f} ({adults} adults)")
    assert rate_high - rate_low > 0.9
    assert abs(rate_low - low) < tolerance(low, adults), (rate_low, low)
    assert abs(rate_high - high) < tolerance(high, adults), (rate_high, high)


# -- the mean-field fixed point of learned risk ------------------------------------------

K = 9  # adults in every household measured: the largest household
LAMBDA, N0, A0 = 0.1, 40.0, 0.1
G, T, TAU, R_AVERSION, W = 0.242, 0.1, 0.2, 0.5, 1.0
F_AGENTS, F_DAYS, F_LAST = 8_000, 100, 25


def class_prior(a0: float, kbar: float) -> float:
    """``p0 = 1 - (1 - a0)^(kbar - 1)`` (docs/odd.md 4.2)."""
    return 1.0 - (1.0 - a0) ** (kbar - 1)


P0 = class_prior(A0, K)


def learned_chance(heard, seen=0.0):
    """``phat = (n0 p0 + A) / (n0 + H + A)``."""
    return (N0 * P0 + seen) / (N0 + heard + seen)


def speak(heard):
    """P(speak) of a member with ``heard`` statements heard, no sanctions seen.

    The rule of docs/odd.md 4.2 with g, r, T, tau the same for everyone, loss = L_ref
    (nobody saw a sanction), no believed bugging (mhat = 0), no conformity, kbar = k:
    ``a = 1 - (1 - phat)^(1/(k-1))``, ``R = 1 - (1 - w a)^(k-1)``.
    """
    a = 1.0 - (1.0 - learned_chance(heard)) ** (1.0 / (K - 1))
    risk = 1.0 - (1.0 - W * a) ** (K - 1)
    return expit((G - R_AVERSION * risk * L_REF / L_REF - T) / TAU)


def member_rates(heard):
    """Each member's chance to speak in the day's conversation, ``heard`` the counts
    each member holds before the day (k values).

    Members take their turn in household order, and a listener counts a statement when
    it is made (``converse``), so member a decides with ``(1 - lambda) H_a + m``, m the
    statements of the members before it that day: the chain over (turn, m) is exact.
    """
    dist = np.zeros(K + 1)
    dist[0] = 1.0
    rates = np.empty(K)
    for a in range(K):
        p = speak((1 - LAMBDA) * heard[a] + np.arange(K + 1))
        rates[a] = dist @ p
        dist = np.concatenate([[0.0], dist[:-1] * p[:-1]]) + dist * (1 - p)
    return rates


def mean_field_heard(start: float) -> np.ndarray:
    """Iterate ``H_a -> sum_{b != a} P_b(H) / lambda`` (the stationary decayed count of
    statements heard, stored after the day) from all H_a = ``start``."""
    heard = np.full(K, start)
    for _ in range(2000):
        rates = member_rates(heard)
        heard = (rates.sum() - rates) / LAMBDA
    return heard


@pytest.mark.slow
def test_learned_risk_reaches_the_mean_field_fixed_point_from_both_sides():
    """Oracle: the mean-field fixed point of learned risk (MODEL.md 8.5), from the formula.

    Apparatus off, so nobody is sanctioned (A = 0) and the realised rate at which a
    statement is followed by a sanction is 0: the learned ``phat = n0 p0 / (n0 + H)``
    keeps its prior only through the decay, with ``H* = (statements heard a day) /
    lambda``, and the statements heard depend on the others' ``phat``. One context
    (households, topic every day), one group size (households of exactly 9 adults, who
    meet every day: nothing about the group structure is measured), the same g, r and
    T for everyone. The map from the members' counts to their stationary counts is
    increasing, so iterating it from the lowest (H = 0) and the highest counts (H =
    (k - 1) / lambda) gives its least and greatest fixed points: here they coincide,
    one stable point.

    Three cohorts of households start from different beliefs with the same prior:
    prior only (H = A = 0, phat = p0 = 0.57), fearless (H = 160, phat = 0.12) and
    fearful (A = 40, phat = 0.78); households do not meet each other, so the cohorts are
    three independent runs. After 75 days (the slowest cohort's distance to the point
    shrinks by exp(-0.1 t) while its A decays, then by exp(-0.08 t)) each cohort's mean
    ``phat`` over the last 25 days must equal the fixed point within four standard
    errors of the households' spread (members of a household share what they hear, so
    the household is the unit), plus a bound on what the mean field leaves out: second
    order in the measured spread of H, the curvature of ``phat(H)`` and of ``P(H)``.
    """
    low, high = mean_field_heard(0.0), mean_field_heard((K - 1) / LAMBDA)
    np.testing.assert_allclose(low, high, rtol=1e-9)  # one fixed point
    star = learned_chance(low)
    print(f"fixed point: H* = {np.round(low, 2)}, phat* = {star.mean():.5f}")
    params = SurveillanceStateParams.model_validate({
        "agents": F_AGENTS,
        "apparatus": False,
        "population": {"pi_hat0": A0, "informant_density": 0.0, "soldier_share": 0.0,
                       "officer_share": 0.0, "senior_share": 0.0, "extra_adult_share": 1.0,
                       "household_extra": 6.0},
        "speech": {"conformity": 0.0, "threshold": T, "tau": TAU, "prior_strength": N0,
                   "believed_bugging": NO_BUGGING,
                   "closeness": dict.fromkeys(CONTEXTS, W)},
        "beliefs": {"belief_decay": LAMBDA},
        "conversations": {"topic": {**ONLY, "household": 1.0}},
    })  # fmt: skip
    sim = SurveillanceState(params, seed=2, steps=F_DAYS)
    s = sim.pop.people
    s.grievance[:] = G
    s.grievance0[:] = G
    s.risk_aversion[:] = R_AVERSION
    s.group_size[:] = 8 * K  # kbar = k from the start (kept in eighths)
    starts = sim.pop.household_start
    first = starts[:-1][np.diff(starts) == K]
    members = first[:, None] + np.arange(K)  # (households, turn)
    assert (s.role[members] == CIVILIAN).all() and not s.informant[members].any()
    cohort = np.arange(first.size) % 3
    initial = [(0.0, 0.0), (2 * (K - 1) / LAMBDA, 0.0), (0.0, 40.0)]
    for c, (heard, seen) in enumerate(initial):
        s.heard_group[members[cohort == c]] = heard
        s.seen_group[members[cohort == c]] = seen

    sim.run(F_DAYS - F_LAST)
    phat, heard = [], []
    for _ in range(F_LAST // 5):
        sim.run(5)
        assert (s.belief_day[members] == sim.t).all()  # all up to date: they met today
        h = s.heard_group[members].astype(np.float64)
        heard.append(h)
        phat.append(learned_chance(h, s.seen_group[members].astype(np.float64)))
    assert (s.status[members] == FREE).all()
    assert (s.group_size[members] == 8 * K).all()
    phat_t, heard_t = np.mean(phat, axis=0), np.stack(heard)

    # What the mean field leaves out, second order in the measured spread of H (for a
    # smooth f, |E f(H) - f(E H)| <= max|f''| Var H / 2, and |Cov| <= Var): the curvature
    # of phat(H); the curvature of P(H) and the members' shared history (each member's H
    # is correlated with those who spoke before it), which shift each rate by dp and so
    # H* by (k - 1) dp / (lambda (1 - slope)), slope that of the map.
    var = heard_t.var()
    spread = 4 * np.sqrt(var)
    grid = np.linspace((1 - LAMBDA) * (low.min() - spread), low.max() + spread + K, 801)
    step = grid[1] - grid[0]
    max_dp = np.diff(speak(grid)).max() / step
    curve_p = np.abs(np.diff(speak(grid), 2)).max() / step**2
    curve_phat = np.abs(np.diff(learned_chance(grid), 2)).max() / step**2
    slope_phat = np.abs(np.diff(learned_chance(grid))).max() / step
    slope_map = (K - 1) * (1 - LAMBDA) * max_dp / LAMBDA
    assert slope_map < 1
    dp = curve_p * var / 2 + (K - 1) * max_dp**2 * var
    shift_h = (K - 1) * dp / (LAMBDA * (1 - slope_map))
    bias = curve_phat * var / 2 + slope_phat * shift_h
    for c, name in enumerate(("prior only", "fearless", "fearful")):
        start = learned_chance(*initial[c])
        households = phat_t[cohort == c].mean(axis=1)
        se = households.std(ddof=1) / np.sqrt(households.size)
        tol = 4 * se + bias
        print(f"{name}: phat {start:.3f} -> {households.mean():.5f} "
              f"(fixed point {star.mean():.5f}, tolerance {tol:.5f}: se {se:.5f}, "
              f"mean-field bound {bias:.5f})")  # fmt: skip
        assert abs(start - star.mean()) > 10 * tol  # it had far to go
        assert abs(households.mean() - star.mean()) < tol
