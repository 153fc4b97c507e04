"""What is said when the sensitive topic comes up in a group (docs/odd.md 4.2-4.4, 4.7).

:func:`converse` lets every present adult speak or stay silent
(:mod:`survsim.society.speech`), every listener of an open statement report or not
(:mod:`survsim.society.listening`), and the context's channel record; every report,
recording and flag becomes evidence (:mod:`survsim.apparatus.cases`). The kernels read
arrays grouped in the named tuples :class:`People`, :class:`Rules`, :class:`Tally` and
:class:`Watch`.
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from survsim.apparatus.cases import add_evidence, chunk_cases
from survsim.engine.rng import random_block, uniform_from_words
from survsim.society.beliefs import current
from survsim.society.listening import listener_report
from survsim.society.speech import perceived_risk, speak_probability

__all__ = [
    "K_BINS",
    "NOBODY",
    "People",
    "Rules",
    "Tally",
    "Watch",
    "chunk_views",
    "converse",
    "fold",
    "new_tally",
]

#: Group sizes are counted in bins 1..15 and "16 or more" (index 16).
K_BINS = 17
HOUSEHOLD, WORK, NEIGHBOURHOOD, FRIENDS, PHONE, LETTERS, PUBLIC = range(7)
BORDER_REGION = 2
#: "No neighbourhood head present". Kernels pass numbers to :func:`converse` as numpy
#: integers: a Python integer constant would make numba compile it once per value.
NOBODY = np.int64(-1)
_SPOKE_TODAY = np.uint8(128)

People = namedtuple(
    "People",
    "role status informant zeal grievance grievance0 risk_aversion pi_hat suspicion "
    "belief_day ever_spoke busy_day busy phone",
)
Rules = namedtuple(
    "Rules",
    "threshold tau delta anticipate closeness bugging q0 defensive head_zeal pi0 "
    "belief_decay grievance_decay",
)
#: What watches a conversation: the region of each person, the recording channel and its
#: chance per (context, region), today's border-team and camera coverage (1-element
#: arrays, changed by the policy timeline), the failure-to-report chance, random streams,
#: and a scratch of who reported (a row per chunk). The case arrays of
#: :mod:`survsim.apparatus.cases` travel beside it (numba's parallel loops do not take a
#: named tuple inside a named tuple).
Watch = namedtuple(
    "Watch",
    "region channel chance border cctv k_cctv ftr s_record s_ftr heard border_kind cctv_kind "
    "ftr_kind",
)
Tally = namedtuple(
    "Tally",
    "present spoke expected variance statements reported reports silent speakers risk audit",
)
_FIELDS = Tally._fields[:-1]  # all but ``audit`` (one per person, shared by the chunks)


def new_tally(n_contexts: int, n_kinds: int, chunks: int | None = None) -> Tally:
    """Zeroed counters; with ``chunks``, a leading row per chunk (what the kernels write).

    The kernels write a chunked tally (:func:`chunk_views`); :func:`fold` adds its rows in
    chunk order into the run's tally, so float sums do not depend on the thread count.
    """
    lead = () if chunks is None else (chunks,)
    cells = (*lead, n_contexts, K_BINS)
    return Tally(
        np.zeros(cells, dtype=np.int64),
        np.zeros(cells, dtype=np.int64),
        np.zeros(cells),
        np.zeros(cells),
        np.zeros(cells, dtype=np.int64),
        np.zeros(cells, dtype=np.int64),
        np.zeros((*lead, n_kinds), dtype=np.int64),
        np.zeros((*lead, 1), dtype=np.int64),
        np.zeros((*lead, 1), dtype=np.int64),
        np.zeros((*lead, 2)),
        np.zeros((n_contexts, 0), dtype=np.int32),
    )


def fold(chunked: Tally, total: Tally) -> None:
    """Add a chunked tally's rows into ``total`` (in chunk order) and zero them."""
    for name in _FIELDS:
        rows = getattr(chunked, name)
        getattr(total, name)[...] += rows.sum(axis=0)
        rows[...] = 0


@nb.njit(cache=True)
def chunk_views(T, W, C, chunk):
    """Chunk ``chunk``'s rows of a chunked tally, watch and cases (counters, scratch).

    Built in a plain kernel called from the ``prange`` body: numba does not support
    building a named tuple inside the ``prange`` body itself.
    """
    tally = Tally(
        T.present[chunk],
        T.spoke[chunk],
        T.expected[chunk],
        T.variance[chunk],
        T.statements[chunk],
        T.reported[chunk],
        T.reports[chunk],
        T.silent[chunk],
        T.speakers[chunk],
        T.risk[chunk],
        T.audit,
    )
    watch = Watch(
        W.region,
        W.channel,
        W.chance,
        W.border,
        W.cctv,
        W.k_cctv,
        W.ftr,
        W.s_record,
        W.s_ftr,
        W.heard[chunk],
        W.border_kind,
        W.cctv_kind,
        W.ftr_kind,
    )
    return tally, watch, chunk_cases(C, chunk)


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
def converse(members, k, c, day, head, seed, s_speak, s_listen, P, R, T, W, C):
    """The sensitive topic came up among ``members[:k]`` in context ``c``.

    Each present adult who is not an informant speaks openly with the probability of the
    speech rule; each listener of an open statement reports or not; the context's channel
    (a microphone, a wiretap, the post, a border team) may record the conversation and a
    camera may flag a public gathering. Every report, recording and flag is evidence about
    the speaker (:func:`survsim.apparatus.cases.add_evidence`); when a statement reached
    the state, each silent witness may be charged with failure to report. ``head`` is the
    neighbourhood unit's head (reports like an informant at a meeting), or -1. Counts go
    to the tally ``T`` and evidence to the cases ``C`` (one chunk's row of counters).
    """
    kb = min(k, K_BINS - 1)
    auditing = T.audit.shape[1] > 0
    first = members[0]
    z = W.region[first]
    channel = W.channel[c]
    recorded = channel >= 0 and _uniform(seed, W.s_record, day, first, c) < W.chance[c, z]
    watched = (
        c == HOUSEHOLD
        and z == BORDER_REGION
        and _uniform(seed, W.s_record, day, first, 8 + c) < W.border[0]
    )
    flagged = (
        c == PUBLIC and k >= W.k_cctv and _uniform(seed, W.s_record, day, first, 16 + c) < W.cctv[0]
    )
    heard = W.heard
    for a in range(k):
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
            if kind >= 0:
                reports += 1
                T.reports[kind] += 1
                heard[b] = 1
                add_evidence(C, i, kind, day)
            elif P.informant[j] or is_head:
                heard[b] = 1  # agents of the state are never charged
        if reports > 0:
            T.reported[c, kb] += 1
            T.silent[0] += k - 1 - reports
        if recorded:
            add_evidence(C, i, channel, day)
        if watched:
            add_evidence(C, i, W.border_kind, day)
        if flagged:
            add_evidence(C, i, W.cctv_kind, day)
        if W.ftr > 0.0 and (reports > 0 or recorded or watched):
            for b in range(k):
                if b != a and heard[b] == 0:
                    j = members[b]
                    if _uniform(seed, W.s_ftr, day, j, c * 1024 + a) < W.ftr:
                        add_evidence(C, j, W.ftr_kind, day)
