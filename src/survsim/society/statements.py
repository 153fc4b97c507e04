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

import numba as nb
import numpy as np

from survsim.engine.events import emit, room
from survsim.engine.rng import random_block, uniform_from_words
from survsim.society.beliefs import current
from survsim.society.bundles import K_BINS
from survsim.society.listening import listener_report
from survsim.society.names import NO_REPORT
from survsim.society.speech import perceived_risk, speak_probability

__all__ = ["NOBODY", "START", "converse", "group_bound", "speaker_bound"]

#: "No neighbourhood head present". Kernels pass numbers to :func:`converse` as numpy
#: integers: a Python integer constant would make numba compile it once per value.
NOBODY = np.int64(-1)
#: The first member's turn (a typed zero: see NOBODY).
START = np.int64(0)
_SPOKE_TODAY = np.uint8(128)


@nb.njit(cache=True)
def _uniform(seed, stream, day, index, sub):
    w0, w1, _, _ = random_block(seed, stream, day, index, sub)
    return uniform_from_words(w0, w1)


@nb.njit(cache=True)
def _flags(P, i, day):
    """Person i's busy flags for ``day`` (reset lazily when the day changes)."""
    if P.busy_day[i] != day:
        P.busy_day[i] = day
        P.busy[i] = 0
    return P.busy[i]


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
    for a in range(start, k):
        if not room(E, need):
            return a
        i = members[a]
        T.present[c, kb] += 1
        if auditing:
            T.audit[c, i] += 1
        if P.informant[i]:
            continue  # informants listen; they never speak openly
        since = day - P.belief_day[i]
        pi = current(P.pi_hat[i], R.pi0, since, R.belief_decay)
        g = current(P.grievance[i], P.grievance0[i], since, R.grievance_decay)
        m = min(1.0, P.suspicion[i] * R.bugging[c])
        risk = perceived_risk(k, R.closeness[c], pi, m, R.delta, R.anticipate)
        prob = speak_probability(g, P.risk_aversion[i], risk, R.threshold, R.tau)
        T.expected[c, kb] += prob
        T.variance[c, kb] += prob * (1.0 - prob)
        T.risk[0] += risk
        T.risk[1] += 1.0
        if _uniform(seed, s_speak, day, i, c) >= prob:
            continue
        T.spoke[c, kb] += 1
        T.statements[c, kb] += 1
        P.ever_spoke[i] = True
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
            zeal = P.zeal[j] if P.informant[j] else R.head_zeal
            since_j = day - P.belief_day[j]
            pi_j = current(P.pi_hat[j], R.pi0, since_j, R.belief_decay)
            m_j = min(1.0, P.suspicion[j] * R.bugging[c])
            u = _uniform(seed, s_listen, day, j, c * 1024 + a)
            kind = listener_report(
                u, zeal, P.informant[j] or is_head, k, pi_j, m_j, R.delta, R.q0, R.defensive
            )
            if kind != NO_REPORT:
                reports += 1
                T.reports[kind] += 1
                heard[b] = 1
                emit(E, i, kind, day)
            elif P.informant[j] or is_head:
                heard[b] = 1  # agents of the state are never charged
        if reports > 0:
            T.reported[c, kb] += 1
            T.silent[0] += k - 1 - reports
        if seen:
            for w in range(W.context.shape[0]):
                if seen >> w & 1:
                    emit(E, i, W.kind[w], day)
        if W.ftr[0] > 0.0 and (reports > 0 or opened):
            for b in range(k):
                if b != a and heard[b] == 0:
                    j = members[b]
                    if _uniform(seed, W.s_ftr, day, j, c * 1024 + a) < W.ftr[0]:
                        emit(E, j, W.ftr_kind, day)
    return NOBODY
