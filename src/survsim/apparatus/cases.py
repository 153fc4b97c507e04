"""Cases and evidence: one open case per person (docs/odd.md 4.8).

Every report, recording, camera flag or computer finding about a free person is a piece
of evidence. The first one opens the person's case and routes it to an agency; at the end
of the day's evidence, :func:`queue_new_cases` puts the day's new cases at the tail of
their agency's queue (:mod:`survsim.apparatus.agencies`) in a random order, and later
evidence adds to a case until an investigator closes it. (Queueing once a day, rather
than as each case opens, lets the conversations run in parallel with the same result
whatever the number of threads.)

The evidence of a case is the number of independent witness reports (at most one
counts when ``corroboration`` is off) plus ``recording_weight`` per recording or computer
finding plus ``flag_weight`` per camera flag, and the case convicts with probability
``c(e) = min(c_max, 1 - (1 - c1)^e)``.

A case remembers what kind of evidence it holds (bits of ``case_bits``): whether any of it
is true (the person spoke openly or used banned media), fabricated, a failure-to-report
charge, or a recording. A conviction is *true* if the case holds true evidence, else
*failure to report* if it holds that charge, else *false*.
"""

from __future__ import annotations

from collections import namedtuple
from typing import ClassVar

import numba as nb
import numpy as np
from pydantic import Field

from survsim.apparatus.queues import enqueue, new_queues
from survsim.engine.mechanism import Mechanism, Step, bundle
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import uniform
from survsim.engine.state import Attribute
from survsim.society.names import (
    CCTV,
    COMPUTER,
    EVIDENCE,
    FABRICATED,
    FAILURE_TO_REPORT,
    FREE,
)

__all__ = [
    "CODE",
    "EVIDENCE",
    "WITNESS_KINDS",
    "CaseParams",
    "Cases",
    "CasesMechanism",
    "add_evidence",
    "chunk_cases",
    "conviction_probability",
    "queue_new_cases",
    "take_events",
]

CODE = {name: i for i, name in enumerate(EVIDENCE)}
#: Kinds of evidence that come from witnesses (the first five codes).
WITNESS_KINDS = ("informant", "ordinary", "defensive", "fabricated", "failure_to_report")

#: Bits of ``case_bits``.
TRUE, FALSE_REPORT, FTR, RECORDED, WITNESS, IN_QUEUE = 1, 2, 4, 8, 16, 32

#: The per-person case arrays and today's counters the kernels write (``counts`` has a
#: row per chunk of :mod:`survsim.engine.parallel`; :func:`chunk_cases` gives one row).
Cases = namedtuple(
    "Cases",
    "status role day evidence bits agency next_in_queue queue routing_role routing_kind "
    "weights opens corroboration counts",
)


class CaseParams(StrictModel):
    """Evidence and conviction; sources in docs/odd.md 4.8."""

    c1: float = Field(0.3, ge=0, le=1, description="assumption: one uncorroborated report")
    c_max: float = Field(0.95, ge=0, le=1, description="assumption: the cap below 1")
    recording_weight: float = Field(3.0, ge=0, le=10, description="assumption")
    flag_weight: float = Field(0.5, ge=0, le=10, description="assumption")
    failure_to_report: float = Field(
        0.1, ge=0, le=1, description="assumption: chance a silent witness is charged"
    )
    corroboration: bool = Field(True, description="several witnesses count more than one")


def evidence_weights(p: CaseParams) -> np.ndarray:
    """Evidence units per kind, in :data:`EVIDENCE` order."""
    w = np.ones(len(EVIDENCE))
    for name in ("microphone", "wiretap", "correspondence", "border", "computer"):
        w[CODE[name]] = p.recording_weight
    w[CCTV] = p.flag_weight
    return w


def conviction_probability(evidence, c1: float, c_max: float):
    """``c(e) = min(c_max, 1 - (1 - c1)^e)`` (numpy; the kernels inline the same)."""
    return np.minimum(c_max, 1.0 - (1.0 - c1) ** np.asarray(evidence, dtype=np.float64))


@nb.njit(cache=True)
def chunk_cases(C, chunk):
    """The cases with chunk ``chunk``'s row of counters (for :func:`add_evidence`)."""
    return Cases(
        C.status,
        C.role,
        C.day,
        C.evidence,
        C.bits,
        C.agency,
        C.next_in_queue,
        C.queue,
        C.routing_role,
        C.routing_kind,
        C.weights,
        C.opens,
        C.corroboration,
        C.counts[chunk],
    )


@nb.njit(cache=True)
def add_evidence(C, person, kind, day):
    """One piece of evidence of ``kind`` about ``person``; opens and routes a case if none.

    Nothing happens if the person is not free (cases against prisoners are closed), or if
    no case is open and the evidence's kind may not open one (``C.opens``: a camera
    flag). ``C.counts`` is one chunk's row
    (:func:`chunk_cases`): ``counts[kind]`` counts the evidence received, ``counts[-1]``
    the cases opened. A new case joins its agency's queue at the end of the day's
    evidence (:func:`queue_new_cases`).

    Returns:
        True if the evidence was taken.
    """
    if C.status[person] != FREE:
        return False
    if C.day[person] < 0:
        if not C.opens[kind]:
            return False
        C.day[person] = day
        C.evidence[person] = 0.0
        bits = C.bits[person] & IN_QUEUE
        if bits == 0:  # a closed case may still wait in a queue: it is reopened in place
            agency = C.routing_role[C.role[person]]
            if agency < 0:
                agency = C.routing_kind[kind]
            C.agency[person] = agency
        C.bits[person] = bits
        C.counts[C.counts.shape[0] - 1] += 1
    bits = C.bits[person]
    weight = C.weights[kind]
    if kind <= FAILURE_TO_REPORT:  # a witness
        if not C.corroboration and bits & WITNESS:
            weight = 0.0
        bits |= WITNESS
        if kind == FABRICATED:
            bits |= FALSE_REPORT
        elif kind == FAILURE_TO_REPORT:
            bits |= FTR
        else:
            bits |= TRUE
    elif kind != CCTV:
        bits |= TRUE if kind == COMPUTER else TRUE | RECORDED
    C.bits[person] = bits
    C.evidence[person] += weight
    C.counts[kind] += 1
    return True


@nb.njit(cache=True)
def _waiting(i, day, case_day, bits):
    return case_day[i] == day and bits[i] & IN_QUEUE == 0


@nb.njit(cache=True, parallel=True)
def _new_cases(day, case_day, bits):
    """Ids of the cases opened on ``day`` and not yet queued, in id order (parallel)."""
    n = case_day.shape[0]
    found = np.zeros(CHUNKS + 1, dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(n, chunk)
        count = 0
        for i in range(lo, hi):
            if _waiting(i, day, case_day, bits):
                count += 1
        found[chunk + 1] = count
    offsets = np.cumsum(found)
    out = np.empty(offsets[-1], dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(n, chunk)
        m = offsets[chunk]
        for i in range(lo, hi):
            if _waiting(i, day, case_day, bits):
                out[m] = i
                m += 1
    return out


@nb.njit(cache=True)
def _enqueue_all(C, ids, key):
    for x in np.argsort(key, kind="mergesort"):
        person = ids[x]
        enqueue(C.queue, C.next_in_queue, C.agency[person], person)
        C.bits[person] |= IN_QUEUE


@nb.njit(cache=True)
def _keys(seed, stream, day, ids):
    key = np.empty(ids.shape[0])
    for x in range(ids.shape[0]):
        key[x] = uniform(seed, stream, day, ids[x])
    return key


def queue_new_cases(day: int, seed, stream, C: Cases) -> int:
    """Put the cases opened on ``day`` at the tail of their agencies' queues.

    The day's new cases join in a random order (a key drawn per person and day), so no
    context, region or id range is examined first.

    Returns:
        How many cases joined a queue.
    """
    ids = _new_cases(day, C.day, C.bits)
    if ids.size:
        _enqueue_all(C, ids, _keys(seed, stream, day, ids))
    return int(ids.size)


@nb.njit(cache=True)
def take_events(C, person, kind, day, n, start):
    """Every evidence event of a table (:mod:`survsim.engine.events`), chunk after chunk.

    A chunk's events are taken in the order they were written; a person's events of a
    context all come from one chunk, so each person's evidence arrives in the order it was
    produced, whatever the thread count.
    """
    for chunk in range(n.shape[0]):
        cases = chunk_cases(C, chunk)
        for x in range(start[chunk], start[chunk] + n[chunk]):
            add_evidence(cases, person[x], np.int64(kind[x]), np.int64(day[x]))


def evidence_opening(cannot: set[int]) -> np.ndarray:
    """Per kind: may evidence of it open a case (all but ``cannot``)."""
    opens = np.ones(len(EVIDENCE), dtype=np.bool_)
    opens[sorted(cannot)] = False
    return opens


class CasesMechanism(Mechanism):
    """Cases: evidence about a person opens and feeds one case (docs/odd.md 4.8).

    It reads every evidence event the people and the watchers write, and each evening
    puts the day's new cases in their agencies' queues.
    """

    name = "cases"
    group = "cases"
    params_class = CaseParams
    arrays = (
        Attribute("case_day", np.int32, -1, "people", "day the open case was opened, -1 none"),
        Attribute("case_evidence", np.float32, 0, "people", "evidence of the open case"),
        Attribute("case_bits", np.uint8, 0, "people", "kinds of evidence held (cases.py)"),
        Attribute("case_agency", np.uint8, 0, "people", "agency of the case"),
        Attribute("next_in_queue", np.int32, -1, "people", "next case in the agency's queue"),
    )
    streams = ("queue",)
    reads = EVIDENCE
    columns: ClassVar[dict[str, type]] = {
        **{f"reports_{kind}": np.int64 for kind in EVIDENCE},
        "cases_opened": np.int64,
    }

    def init(self) -> None:
        """The case bundle; evidence events come to :meth:`take`."""
        sim = self.sim
        s = sim.pop.people
        n_agencies = len(sim.params.agencies.capacity(1.0))
        queue = new_queues(n_agencies)
        # With the apparatus off nobody can be charged: cases read an all-"not free" status.
        status = s.status if sim.params.apparatus else np.ones(sim.params.agents, np.uint8)
        self.C = bundle(
            Cases,
            status=status,
            role=s.role,
            day=s.case_day,
            evidence=s.case_evidence,
            bits=s.case_bits,
            agency=s.case_agency,
            next_in_queue=s.next_in_queue,
            queue=queue,
            routing_role=np.zeros(5, dtype=np.int64),
            routing_kind=np.zeros(len(EVIDENCE), np.int64),
            weights=np.zeros(len(EVIDENCE)),
            opens=np.ones(len(EVIDENCE), dtype=np.bool_),
            corroboration=self.pars.corroboration,
            counts=np.zeros((CHUNKS, len(EVIDENCE) + 1), dtype=np.int64),
        )
        sim.talk.subscribe(self.take)
        self._previous = np.zeros(len(EVIDENCE), dtype=np.int64)

    def derive(self) -> None:
        """Weights, routing, which kinds may open a case, and the silent witnesses' charge."""
        sim, p = self.sim, self.sim.params
        C = self.C
        C.weights[:] = evidence_weights(self.pars)
        by_role, by_kind = p.agencies.routing(len(WITNESS_KINDS), len(EVIDENCE))
        C.routing_role[:] = by_role
        C.routing_kind[:] = by_kind
        C.opens[:] = evidence_opening(sim.talk.watchers.kinds_opening_no_case())
        self.C = C._replace(corroboration=self.pars.corroboration)
        sim.talk.ftr[0] = self.pars.failure_to_report if p.apparatus else 0.0

    def take(self, table) -> None:
        """Read a table of evidence events."""
        take_events(self.C, table.person, table.kind, table.day, table.n, table.start)

    def evidence(self, person: int, kind: str) -> bool:
        """One piece of evidence of ``kind`` about ``person`` today (a check's finding)."""
        cases = self.C._replace(counts=self.C.counts[0])
        return bool(add_evidence(cases, np.int32(person), np.int64(CODE[kind]),
                                 np.int64(self.sim.t)))  # fmt: skip

    def steps(self):
        """The day's new cases join their queues, with the apparatus."""
        if self.sim.params.apparatus:
            yield Step("queue", self.queue, "today's new cases join their queues, in random order",
                       "cases")  # fmt: skip

    def queue(self) -> None:
        """Today's new cases join the tail of their agencies' queues."""
        queue_new_cases(self.sim.t, self.sim.seed64, self.stream("queue"), self.C)

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """The day's evidence by kind and the cases opened (then zero the day's counts)."""
        evidence = self.C.counts.sum(axis=0)
        for k, kind in enumerate(EVIDENCE):
            columns[f"reports_{kind}"][t] = evidence[k]
        if not self.sim.params.apparatus:  # no cases: count the listeners' reports
            reports = self.sim.talk.tally.reports
            for k in range(reports.shape[0]):
                columns[f"reports_{EVIDENCE[k]}"][t] = reports[k] - self._previous[k]
                self._previous[k] = reports[k]
        columns["cases_opened"][t] = evidence[-1]
        self.C.counts[:] = 0
