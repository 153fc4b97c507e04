"""What is said when the sensitive topic comes up in a group (docs/odd.md 4.2-4.4, 4.7).

:func:`converse` lets every present adult speak or stay silent
(:mod:`survsim.society.speech`), every listener of an open statement report or not
(:mod:`survsim.society.listening`), and the context's watchers (microphones, wiretaps,
the post, border teams, cameras: :class:`survsim.society.bundles.Watchers`) record or
see the group. Every report, recording and flag is written as an evidence event (a
person, a kind, the day: :mod:`survsim.engine.events`) for the apparatus to read; the
people never call the apparatus. The kernels read the bundles of
:mod:`survsim.society.bundles`.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from survsim.engine.events import emit, event_kind, room
from survsim.engine.rng import random_block, uniform_from_words
from survsim.society.beliefs import GROUP_EIGHTHS, refresh
from survsim.society.bundles import K_BINS
from survsim.society.listening import listener_report
from survsim.society.names import NO_REPORT
from survsim.society.speech import (
    L_REF,
    defensive_fear,
    learned_chance,
    listener_risk,
    perceived_risk,
    speak_probability,
)

__all__ = ["NOBODY", "START", "converse", "group_bound", "speaker_bound"]

#: "No neighbourhood head present". Kernels pass numbers to :func:`converse` as numpy
#: integers: a Python integer constant would make numba compile it once per value.
NOBODY = np.int64(-1)
#: The first member's turn (a typed zero: see NOBODY).
START = np.int64(0)
_SPOKE_TODAY = np.uint8(128)

# What :func:`converse` does for each member (bring it up to date, decide, listen) is
# made of small helpers that numba copies into the caller (``inline="always"``): a call
# hands over every array of the bundles one by one, and the calls cost about a tenth of
# a run at 1 million people (benchmarks/scaling.py; the same numbers, compile time
# unchanged). The speech rule's formulas (:mod:`survsim.society.speech`), the listener's
# (:mod:`survsim.society.listening`) and :func:`survsim.society.beliefs.refresh` are
# copied in the same way.


@nb.njit(cache=True, inline="always")
def _uniform(seed, stream, day, index, sub):
    w0, w1, _, _ = random_block(seed, stream, day, index, sub)
    return uniform_from_words(w0, w1)


@nb.njit(cache=True, inline="always")
def _flags(P, i, day):
    """Person i's busy flags for ``day`` (reset lazily when the day changes)."""
    if P.busy_day[i] != day:
        P.busy_day[i] = day
        P.busy[i] = 0
    return P.busy[i]


@nb.njit(cache=True, inline="always")
def _mean_size(eighths, k):
    """The decayed mean size of one's groups of three or more, in eighths (uint8).

    Each group moves it a quarter of the way to its size (at most 31), rounded, and at
    least one eighth toward it, so that it settles on a size met again and again.
    """
    x = np.int64(eighths)
    target = np.int64(GROUP_EIGHTHS * min(k, 31))
    step = (target - x) / 4.0
    new = x + np.int64(math.floor(step + 0.5))
    if new == x and target != x:
        new = x + (1 if target > x else -1)
    return np.uint8(min(255, max(24, new)))


@nb.njit(cache=True, inline="always")
def pair_listener_risk(i, P, R):
    """``a_i,2``: person i's learned per-listener risk in a pair (up to date)."""
    return learned_chance(R.prior_strength, R.a0, P.seen_pair[i], P.heard_pair[i])


@nb.njit(cache=True, inline="always")
def class_chance(i, k, P, R):
    """``phat_i,s(k)``: i's learned chance that a statement in a group of k is punished.

    Up to date; in a pair it is the per-listener risk itself.
    """
    if k < 3:
        return pair_listener_risk(i, P, R)
    e = P.group_size[i]
    return learned_chance(R.prior_strength, R.group_prior[e], P.seen_group[i], P.heard_group[i])


@nb.njit(cache=True, inline="always")
def own_listener_risk(i, k, P, R):
    """``a_i,s(k)``: person i's learned per-listener risk in a group of k (up to date)."""
    p = class_chance(i, k, P, R)
    return p if k < 3 else listener_risk(p, P.group_size[i] / GROUP_EIGHTHS)


@nb.njit(cache=True, inline="always")
def believed_bugging(i, c, P, R):
    """``mhat_ic``: person i's believed chance that context c is bugged (at most 1)."""
    return min(1.0, P.suspicion[i] * R.bugging[c])


@nb.njit(cache=True, inline="always")
def _surely_silent(u, j, k, c, P, R):
    """Is listener j's report, from its draw ``u``, certainly none (before its risk)?

    Its defensive fear ``delta (1 - (1 - a_j)^(k - 2) (1 - mhat))`` is at most what it
    is with ``a_j`` replaced by the per-statement chance ``p >= a_j`` it is read from (no
    power to take), so a draw above ``q0`` plus that bound (and a margin far above
    rounding) makes no report whatever ``a_j`` is; :func:`listener_report` decides the
    rest. The same reports as computing ``a_j`` for every listener, at less cost.
    """
    if u < R.q0:
        return False
    if not R.defensive:
        return True
    p = class_chance(j, k, P, R)
    m = believed_bugging(j, c, P, R)
    return u >= R.q0 + defensive_fear(k, p, m, R.delta) + 1e-9


@nb.njit(cache=True, inline="always")
def open_share(i, P, R):
    """``O_i``: the share of open speakers among the people i heard (prior: none)."""
    return (P.heard_pair[i] + P.heard_group[i]) / (P.present[i] + R.prior_strength)


@nb.njit(cache=True, inline="always")
def _threshold(i, seed, R):
    """``T_i``: T, or drawn once per person from N(T, threshold_sd) when it has a spread."""
    if R.threshold_sd == 0.0:
        return R.threshold
    w0, w1, w2, w3 = random_block(seed, R.s_threshold, 0, i, 0)
    u1 = uniform_from_words(w0, w1)
    u2 = uniform_from_words(w2, w3)
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
    return R.threshold + R.threshold_sd * z


@nb.njit(cache=True, inline="always")
def _decide(i, k, c, kb, day, seed, s_speak, P, R, T, group):
    """Does person i (up to date) speak openly? Tallies its chance and the null's."""
    g = P.grievance[i]
    r = P.risk_aversion[i]
    m = believed_bugging(i, c, P, R)
    w = R.closeness[c]
    a_i = own_listener_risk(i, k, P, R)
    risk = perceived_risk(k, w, a_i, m, R.delta, R.anticipate)
    loss = P.loss_hat[i] / L_REF
    pull = R.conformity * open_share(i, P, R)
    t_i = _threshold(i, seed, R)
    prob = speak_probability(g, r, risk, t_i, R.tau, loss, pull)
    T.expected[c, kb] += prob
    T.variance[c, kb] += prob * (1.0 - prob)
    if group:  # the null: every listener as risky as in a pair (MODEL.md 8.5)
        risk0 = perceived_risk(k, w, pair_listener_risk(i, P, R), m, R.delta, False)
        null = speak_probability(g, r, risk0, t_i, R.tau, loss, pull)
    else:
        null = prob
    T.null_expected[c, kb] += null
    T.null_variance[c, kb] += null * (1.0 - null)
    T.risk[0] += risk
    T.risk[1] += 1.0
    return _uniform(seed, s_speak, day, i, c) < prob


@nb.njit(cache=True)
def speaker_bound(k, W):
    """The most evidence events one speaker in a group of ``k`` can yield.

    A report or a charge per other member (a listener who reported is never charged),
    and one event per watcher.
    """
    return k - 1 + W.context.shape[0]


@nb.njit(cache=True)
def group_bound(k, W):
    """The most evidence events a group of ``k`` can yield in :func:`converse`."""
    return k * speaker_bound(k, W)


@nb.njit(cache=True)
def converse(members, k, c, day, head, seed, s_speak, s_listen, P, R, T, W, E, start):
    """The sensitive topic came up among ``members[:k]`` in context ``c``.

    Each present adult who is not an informant speaks openly with the probability of the
    speech rule; each listener of an open statement reports or not; the context's channel
    (a microphone, a wiretap, the post, a border team) may record the conversation and a
    camera may flag a public gathering. Every report, recording and flag is evidence about
    the speaker (:func:`survsim.apparatus.cases.add_evidence`); when a statement reached
    the state, each silent witness may be charged with failure to report. ``head`` is the
    neighbourhood unit's head (reports like an informant at a meeting), or -1. Counts go
    to the tally ``T`` and evidence events to ``E`` (one chunk's row).

    The members from ``start`` on take their turn; before each, the row must have room
    for :func:`speaker_bound` events, else the conversation stops there.

    Returns:
        The member whose turn is next if the row ran out of room (call again with it as
        ``start`` once the row has been read: the draws are the same), else -1.
    """
    kb = min(k, K_BINS - 1)
    auditing = T.audit.shape[1] > 0
    first = members[0]
    z = W.region[first]
    seen = 0  # watchers that recorded or saw the group (bits by row)
    opened = False  # one of them may open a case
    for w in range(W.context.shape[0]):
        if (
            W.context[w] == c
            and k >= W.min_group[w]
            and _uniform(seed, W.s_record, day, first, W.sub[w]) < W.coverage[w, z]
        ):
            seen |= 1 << w
            opened = opened or W.opens[w]
    heard = W.heard
    need = speaker_bound(k, W)
    group = k >= 3
    if start == 0:
        if not room(E, need):
            return START  # called again from the start: nobody has learned anything yet
        # What each member learns from the group before anyone speaks: k - 1 others are
        # present (so the share of open speakers it has heard stays a share), and the size.
        for b in range(k):
            j = members[b]
            refresh(j, day, P, R.belief_decay, R.grievance_decay)
            P.present[j] += k - 1
            if group:
                P.group_size[j] = _mean_size(P.group_size[j], k)
    for a in range(start, k):
        if not room(E, need):
            return a
        i = members[a]
        T.present[c, kb] += 1
        if auditing:
            T.audit[c, i] += 1
        if P.informant[i]:  # informants listen; they never speak openly
            continue
        if not _decide(i, k, c, kb, day, seed, s_speak, P, R, T, group):
            continue
        T.spoke[c, kb] += 1
        T.statements[c, kb] += 1
        if P.said[i] < 65535:
            P.said[i] += 1
        flags = _flags(P, i, day)
        if flags & _SPOKE_TODAY == 0:
            P.busy[i] = flags | _SPOKE_TODAY
            T.speakers[0] += 1
        reports = 0
        for b in range(k):
            heard[b] = 0
            if b == a:
                continue
            j = members[b]
            is_head = j == head
            agent = P.informant[j] or is_head
            u = _uniform(seed, s_listen, day, j, c * 1024 + a)
            if not agent and _surely_silent(u, j, k, c, P, R):
                kind = NO_REPORT
            else:
                zeal = P.zeal[j] if P.informant[j] else R.head_zeal
                a_j = own_listener_risk(j, k, P, R)  # j was brought up to date above
                m_j = believed_bugging(j, c, P, R)
                kind = listener_report(u, zeal, agent, k, a_j, m_j, R.delta, R.q0, R.defensive)
            if group:
                P.heard_group[j] += 1.0
            else:
                P.heard_pair[j] += 1.0
            if kind != NO_REPORT:
                reports += 1
                T.reports[kind] += 1
                heard[b] = 1
                emit(E, i, event_kind(kind, k), day)
            elif agent:
                heard[b] = 1  # agents of the state are never charged
        if reports > 0:
            T.reported[c, kb] += 1
            T.silent[0] += k - 1 - reports
        if seen:
            for w in range(W.context.shape[0]):
                if seen >> w & 1:
                    emit(E, i, event_kind(W.kind[w], k), day)
        if W.ftr[0] > 0.0 and (reports > 0 or opened):
            for b in range(k):
                if b != a and heard[b] == 0:
                    j = members[b]
                    if _uniform(seed, W.s_ftr, day, j, c * 1024 + a) < W.ftr[0]:
                        emit(E, j, event_kind(W.ftr_kind, k), day)
    return NOBODY
