"""Kernels of the self-censorship model: each individual's optimal action, and phase shares.

An individual with desired dissent ``d`` in [0, 1] and boldness ``b`` >= 0 chooses how
much to express, ``a`` in [0, d], to maximise its expected utility under an authority
with tolerance ``tau``, severity ``psi`` > 0 and surveillance ``nu`` (Daymude, Axelrod &
Forrest 2025)::

    U(a) = b (1 - d + a) - P(a),  P(a) = 0 where a <= tau, else
    P(a) = psi (nu + (1 - nu) a)            (uniform punishment)
    P(a) = psi (nu + (1 - nu) a) (a - tau)  (proportional punishment)

The closed form (derived in docs/self_censorship.md) is evaluated here without a
division per individual: the uniform threshold ``d > (b tau + nu psi) / (b - (1 - nu)
psi)`` is tested as ``d (b - (1 - nu) psi) >= b tau + nu psi``, and the proportional
vertex multiplies by ``1 / ((1 - nu) psi)``, the same for everyone. Where two actions are
equally good the larger is taken (an individual says what it wants when saying it costs
nothing more).
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Phases, as stored in ``agents.parquet``'s ``phase`` column.
COMPLIANT, SELF_CENSORING, DEFIANT = 0, 1, 2
PHASES = ("compliant", "self_censoring", "defiant")


@nb.njit(cache=True, inline="always")
def optimum(d, b, tau, psi, nu, proportional):
    """The optimal action of one individual (see the module's text).

    Written without branches on the individual (selects only), so that a loop over
    individuals under one setting compiles to vector instructions; the branches on the
    setting (``proportional``, ``nu >= 1``) are the same for the whole loop.
    """
    if proportional:
        if nu >= 1.0:
            free = b >= psi  # linear utility above the tolerance: all or nothing
            above = d if free else tau
        else:
            # The vertex of the concave quadratic on (tau, d], clamped to [tau, d].
            vertex = 0.5 * (tau + (b - nu * psi) * (1.0 / ((1.0 - nu) * psi)))
            above = min(max(vertex, tau), d)
    else:
        slope = b - (1.0 - nu) * psi  # of U on (tau, d]
        bar = b * tau + nu * psi
        defy = ((slope > 0.0) & (d * slope >= bar)) | ((slope == 0.0) & (bar == 0.0))
        above = d if defy else tau
    return d if d <= tau else above


@nb.njit(cache=True, inline="always")
def phase_of(d, a, tau):
    """Compliant (``d <= tau``), self-censoring (``a < d``) or defiant."""
    if d <= tau:
        return COMPLIANT
    return SELF_CENSORING if a < d else DEFIANT


@nb.njit(cache=True, parallel=True)
def optimal_actions(delta, beta, tau, psi, nu, proportional, action, phase):
    """Every individual's optimal action and phase, into ``action`` and ``phase``."""
    for i in nb.prange(delta.size):
        a = optimum(delta[i], beta[i], tau, psi, nu, proportional)
        action[i] = a
        phase[i] = phase_of(delta[i], a, tau)


@nb.njit(cache=True, parallel=True, fastmath={"reassoc", "nsz"})
def phase_shares(delta, beta, proportional, taus, psis, nus, counts, expressed):
    """For each setting ``g`` (``taus[g], psis[g], nus[g]``): the population's phases.

    ``counts[g, p]`` is the number of individuals in phase ``p`` and ``expressed[g]`` the
    sum of their actions (summed in vector lanes: its last bits depend on that order,
    which is fixed). The settings run in parallel, each over the whole population by one
    thread, so nothing depends on the number of threads. (Tiling the population so that
    a tile serves several settings from cache was tried: twice as slow; the loop is bound
    by arithmetic, not memory.)
    """
    n = delta.size
    for g in nb.prange(taus.size):
        tau, psi, nu = taus[g], psis[g], nus[g]
        compliant = 0
        censoring = 0
        total = 0.0
        for i in range(n):
            d = delta[i]
            a = optimum(d, beta[i], tau, psi, nu, proportional)
            total += a
            compliant += d <= tau
            censoring += (d > tau) & (a < d)
        counts[g, COMPLIANT] = compliant
        counts[g, SELF_CENSORING] = censoring
        counts[g, DEFIANT] = n - compliant - censoring
        expressed[g] = total


def warm_up() -> None:
    """Compile (or load from numba's cache) both kernels on a tiny problem."""
    d = np.array([0.1, 0.5, 0.9])
    b = np.array([1.0, 0.2, 3.0])
    optimal_actions(d, b, 0.25, 0.6, 0.5, False, np.empty(3), np.empty(3, np.uint8))
    grid = np.array([0.25])
    phase_shares(d, b, True, grid, grid, grid, np.empty((1, 3), np.int64), np.empty(1))
