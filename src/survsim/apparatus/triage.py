"""A day at the agencies: checks, then investigations, each from a ranked heap (4.8).

For each agency, in order (docs/odd.md 4.8, MODEL.md 8.1):

1. Files whose rest after a check is over (``recheck_days``) go back to the check heap.
2. **Checks**: up to ``floor(budget)`` files, highest score first (``ranked``) or
   uniformly among the eligible (``random``), among those scoring at least
   ``check_score``. A check escalates a file scoring ``investigate_score`` or more to the
   investigation heap, warns its holder if it scores ``warn_score`` or more (the holder
   knows: ``warned``), else does nothing; a warned or cleared file rests.
3. **Investigations**: up to ``floor(budget)`` escalated files scoring at least
   ``investigate_score``, highest first. The holder is sanctioned with probability
   ``c(S) = min(c_max, 1 - (1 - c1)^S)``, else acquitted; the sanction is graded by the
   score (:func:`survsim.apparatus.punishment.sentence`). Either way the file is closed.

A file whose holder is no longer free (detained, imprisoned, dead) is taken out when it
reaches the top and uses no capacity. Under ranked triage a file below the threshold at
the top means no file is eligible; under random triage it leaves the heap (new evidence
brings it back). Capacities carry their fractional part to the next day.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba as nb
import numpy as np

from survsim.apparatus.cases import (
    CHECK,
    CHECKQ,
    INVESTIGATION,
    INVQ,
    NOWHERE,
    PLACE,
    RESTING,
    file_score,
    heap_key,
    said_class,
)
from survsim.apparatus.heaps import pop, push
from survsim.apparatus.punishment import (
    ACQUITTALS,
    CHECKS,
    ESCALATIONS,
    INVESTIGATIONS,
    MOOT,
    WARNINGS,
    sentence,
)
from survsim.apparatus.queues import dequeue, enqueue
from survsim.engine.rng import random_block, uniform_from_words
from survsim.society.names import FREE

__all__ = ["RING", "Desk", "agency_day"]

#: Days of check history kept for resting files: ``recheck_days`` is at most RING - 1.
RING = 3651

#: The agencies' rules and their resting files (``rest``: a first-in-first-out queue per
#: agency, linked through ``file_pos``; ``rest_days[a, d % RING]``: how many joined on
#: day d; ``rest_from[a]``: the first day whose files still rest).
Desk = namedtuple(
    "Desk",
    "check_score warn_score investigate_score recheck c1 c_max rest rest_days rest_from",
)


@nb.njit(cache=True)
def _rest(C, D, a, i, day):
    C.bits[i] = (C.bits[i] & ~np.uint8(PLACE)) | RESTING
    enqueue(D.rest, C.pos, a, i)
    D.rest_days[a, day % RING] += 1


@nb.njit(cache=True)
def _wake(C, D, a, day, seed, stream):
    """Files that rested ``recheck`` days go back to the check heap."""
    h = CHECK * (C.hsize.shape[0] // 2) + a
    while D.rest_from[a] <= day - D.recheck:
        d = D.rest_from[a]
        for _ in range(D.rest_days[a, d % RING]):
            i = dequeue(D.rest, C.pos, a)
            C.bits[i] &= ~np.uint8(PLACE)
            if C.status[i] == FREE and C.key[i] != -np.inf:
                C.bits[i] |= CHECKQ
                C.hsize[h] = push(C.hkey[h], C.hwho[h], C.pos, C.hsize[h], i,
                                  heap_key(C, i, seed, stream, day), C.salt)  # fmt: skip
        D.rest_days[a, d % RING] = 0
        D.rest_from[a] = d + 1


@nb.njit(cache=True)
def _next(C, h, day, threshold, K, a):
    """The next eligible file of heap ``h`` (taken out) and its score; -1 when none is left.

    Holders who are no longer free, and emptied files, leave on the way (``files_moot``).
    """
    while C.hsize[h] > 0:
        i = C.hwho[h][0]
        if C.status[i] != FREE or C.key[i] == -np.inf:
            C.hsize[h] = pop(C.hkey[h], C.hwho[h], C.pos, C.hsize[h], C.salt)
            C.bits[i] &= ~np.uint8(PLACE)
            K[a, MOOT] += 1
            continue
        score = file_score(C.key[i], day, C.log_rho)
        if score < threshold and C.ranked:
            return -1, 0.0  # the best file is below the threshold: none is eligible
        C.hsize[h] = pop(C.hkey[h], C.hwho[h], C.pos, C.hsize[h], C.salt)
        C.bits[i] &= ~np.uint8(PLACE)
        if score >= threshold:
            return i, score
    return -1, 0.0


@nb.njit(cache=True)
def _whole(budget, capacity, stage, a):
    """Today's whole capacity of a stage; the fractional part carries to tomorrow."""
    budget[stage, a] += capacity[stage, a]
    whole = math.floor(budget[stage, a])
    budget[stage, a] -= whole
    return whole


@nb.njit(cache=True)
def agency_day(day, seed, s_triage, s_verdict, C, D, S, budget, capacity, K, prior, warned,
               said, L):  # fmt: skip
    """One day of checks and investigations at every agency (see the module's text).

    ``budget`` (stage, agency) holds yesterday's fractional carry and keeps today's;
    ``K`` (agency, flow) gets the flows and outcomes of
    :data:`~survsim.apparatus.punishment.FLOWS`; ``prior`` the sums over today's
    sanctioned of their open statements and their file scores. The sanctioned and the
    warned are written to the log ``L`` (:class:`survsim.society.beliefs.Log`), which
    counts them.
    """
    n_agencies = C.hsize.shape[0] // 2
    for a in range(n_agencies):
        _wake(C, D, a, day, seed, s_triage)
        whole = _whole(budget, capacity, CHECK, a)
        h_check = CHECK * n_agencies + a
        h_inv = INVESTIGATION * n_agencies + a
        while whole > 0:
            i, score = _next(C, h_check, day, D.check_score, K, a)
            if i < 0:
                break
            whole -= 1
            K[a, CHECKS] += 1
            if score >= D.investigate_score:
                K[a, ESCALATIONS] += 1
                C.bits[i] |= INVQ
                C.hsize[h_inv] = push(C.hkey[h_inv], C.hwho[h_inv], C.pos, C.hsize[h_inv], i,
                                      heap_key(C, i, seed, s_triage, day), C.salt)  # fmt: skip
                continue
            if score >= D.warn_score:
                K[a, WARNINGS] += 1
                warned[i] = True
                w = L.count[1]
                if w < L.warned.shape[0]:
                    L.warned[w] = i
                    L.warned_in[w] = said_class(C.agency[i])
                    L.count[1] = w + 1
            _rest(C, D, a, i, day)
        whole = _whole(budget, capacity, INVESTIGATION, a)
        while whole > 0:
            i, score = _next(C, h_inv, day, D.investigate_score, K, a)
            if i < 0:
                break
            whole -= 1
            K[a, INVESTIGATIONS] += 1
            bits = C.bits[i]
            C.key[i] = -np.inf  # the file is closed, whatever the verdict
            C.bits[i] = NOWHERE
            w0, w1, w2, _ = random_block(seed, s_verdict, day, i, 0)
            if uniform_from_words(w0, w1) >= min(D.c_max, 1.0 - (1.0 - D.c1) ** score):
                K[a, ACQUITTALS] += 1
                continue
            prior[0] += said[i]
            prior[1] += score
            sentence(C, S, i, a, day, score, bits, uniform_from_words(w2, w0 ^ w1), K, L)
