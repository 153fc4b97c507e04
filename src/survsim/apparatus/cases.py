"""Files and evidence: one file per person, scored by decayed, weighted evidence (4.8).

Every report, recording, camera flag or computer finding about a free person is a piece
of evidence. The first one opens the person's file (a camera flag alone opens none) and
routes it to an agency (:mod:`survsim.apparatus.agencies`); each piece adds its weight to
the file's score, which decays by ``rho`` a day (MODEL.md 8.1):

    S_i(t) = sum_e w_kind(e) * rho^(t - t_e)

(a witness report weighs 1, a fabricated report looks like one, a recording
``recording_weight``, a computer finding ``computer_weight``, a camera flag
``flag_weight``; with ``corroboration`` off only one witness report per file counts).
The score is stored as the time-free key ``ln S_i(t) - t ln rho``: every file decays by
the same factor, so the key orders files as their scores do on any day, and a file's key
changes only when evidence arrives. Nothing expires: a file leaves only when an
investigation closes it, or with its holder.

A file remembers what kind of evidence it holds (bits of ``case_bits``): whether any of
it is true (the person spoke openly or used banned media), fabricated, a failure-to-report
charge, or a recording. A sanction is *true* if the file holds true evidence, else
*failure to report* if it holds that charge, else *false*. The two high bits say where
the file waits (:data:`PLACE`): nowhere, in its agency's check heap, in its investigation
heap, or resting after a check.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import ClassVar

import numba as nb
import numpy as np
from pydantic import Field

from survsim.apparatus.heaps import grown, push, rekey, remove
from survsim.engine.events import EVENT_KIND
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.engine.params import StrictModel
from survsim.engine.rng import uniform
from survsim.engine.state import Attribute
from survsim.society.names import (
    CCTV,
    COMPUTER,
    CROSSING,
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
    "CasesMechanism",
    "Files",
    "add_evidence",
    "chunk_cases",
    "conviction_probability",
    "file_key",
    "file_score",
    "leave_heaps",
    "said_class",
    "take_events",
]

CODE = {name: i for i, name in enumerate(EVIDENCE)}
#: Kinds of evidence that come from witnesses (the first five codes).
WITNESS_KINDS = ("informant", "ordinary", "defensive", "fabricated", "failure_to_report")

#: Bits of ``case_bits``: the kinds of evidence held, and a file not yet in a heap.
TRUE, FALSE_REPORT, FTR, RECORDED, WITNESS, NEW = 1, 2, 4, 8, 16, 32
#: The two high bits: where the file waits.
PLACE, NOWHERE, CHECKQ, INVQ, RESTING = 192, 0, 64, 128, 192
#: The stages, in the order of the heaps (heap ``stage * agencies + agency``).
CHECK, INVESTIGATION = 0, 1
#: ``case_agency`` holds the agency in its low bits and, above them, the classes of the
#: groups the file's statements were made in (MODEL.md 8.2: every evidence event carries
#: the size of the group it came from): a pair, three or more.
AGENCY, SAID_PAIR, SAID_GROUP = 15, 16, 32
NO_FILE = np.float32(-np.inf)

#: The per-person file arrays, the heaps and today's counters the kernels write
#: (``counts`` has a row per chunk of :mod:`survsim.engine.parallel`; :func:`chunk_cases`
#: gives one row). ``hkey``/``hwho`` are tuples of one array per heap, ``hsize`` their
#: sizes; ``ranked`` is False under random triage (the heap keys are then random).
Files = namedtuple(
    "Files",
    "status role key bits agency pos weights opens corroboration routing_role routing_kind "
    "log_rho ranked salt hkey hwho hsize counts",
)


class CaseParams(StrictModel):
    """Evidence weights and the file decay; sources in docs/odd.md 4.8."""

    c1: float = Field(0.3, ge=0, le=1, description="assumption: one uncorroborated report")
    c_max: float = Field(0.95, ge=0, le=1, description="assumption: the cap below 1")
    recording_weight: float = Field(3.0, ge=0, le=10, description="assumption")
    computer_weight: float = Field(3.0, ge=0, le=10, description="assumption: as a recording")
    flag_weight: float = Field(0.5, ge=0, le=10, description="assumption")
    crossing_weight: float = Field(
        10.0,
        ge=0,
        le=100,
        description="assumption: a detected crossing attempt is the gravest evidence "
        "(UN COI 2014 on the treatment of returnees)",
    )
    file_half_life_years: float = Field(
        10.0, gt=0, le=1000, description="assumption: files were kept for decades"
    )
    failure_to_report: float = Field(
        0.1, ge=0, le=1, description="assumption: chance a silent witness is charged"
    )
    corroboration: bool = Field(True, description="several witnesses count more than one")

    @property
    def rho(self) -> float:
        """The daily decay of a file's score."""
        return 0.5 ** (1.0 / (self.file_half_life_years * 365.25))


def evidence_weights(p: CaseParams) -> np.ndarray:
    """Score units per kind, in :data:`EVIDENCE` order."""
    w = np.ones(len(EVIDENCE))
    for name in ("microphone", "wiretap", "correspondence", "border"):
        w[CODE[name]] = p.recording_weight
    w[COMPUTER] = p.computer_weight
    w[CCTV] = p.flag_weight
    w[CODE["crossing"]] = p.crossing_weight
    return w


def conviction_probability(score, c1: float, c_max: float):
    """``c(S) = min(c_max, 1 - (1 - c1)^S)`` (numpy; the kernels inline the same)."""
    return np.minimum(c_max, 1.0 - (1.0 - c1) ** np.asarray(score, dtype=np.float64))


@nb.njit(cache=True)
def file_score(key, day, log_rho):
    """The score on ``day`` of a file with key ``key`` (0 for no file)."""
    if key == -np.inf:
        return 0.0
    return math.exp(np.float64(key) + day * log_rho)


@nb.njit(cache=True)
def file_key(score, day, log_rho):
    """The stored key of a file whose score is ``score`` on ``day`` (float32)."""
    if score <= 0.0:
        return NO_FILE
    return np.float32(math.log(score) - day * log_rho)


@nb.njit(cache=True)
def chunk_cases(C, chunk):
    """The files with chunk ``chunk``'s row of counters (for :func:`add_evidence`)."""
    return Files(C.status, C.role, C.key, C.bits, C.agency, C.pos, C.weights, C.opens,
                 C.corroboration, C.routing_role, C.routing_kind, C.log_rho, C.ranked, C.salt,
                 C.hkey, C.hwho, C.hsize, C.counts[chunk])  # fmt: skip


@nb.njit(cache=True)
def add_evidence(C, person, kind, day, said=0):
    """One piece of evidence of ``kind`` about ``person``; opens and routes a file if none.

    Nothing happens if the person is not free, or if it has no file and the evidence's
    kind may not open one (``C.opens``: a camera flag). ``C.counts`` is one chunk's row
    (:func:`chunk_cases`): ``counts[kind]`` counts the evidence received, ``counts[-1]``
    the files opened. A file in no heap is marked new and joins its agency's check heap
    at the end of the day's evidence (``CasesMechanism.queue``); under ranked triage a
    file already in a heap moves up with its new key.

    ``said`` is the class bits of the statement it came from (:data:`SAID_PAIR`,
    :data:`SAID_GROUP`, or 0), kept with the file's agency.

    Returns:
        True if the evidence was taken.
    """
    if C.status[person] != FREE:
        return False
    key = C.key[person]
    bits = C.bits[person]
    if key == -np.inf:
        if not C.opens[kind]:
            return False
        bits &= PLACE  # a new file keeps only where a lingering entry waits
        if bits == NOWHERE:
            agency = C.routing_role[C.role[person]]
            if agency < 0:
                agency = C.routing_kind[kind]
            C.agency[person] = agency
        else:
            C.agency[person] &= AGENCY  # a new file: no statement yet
        C.counts[C.counts.shape[0] - 1] += 1
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
        bits |= TRUE if kind in (COMPUTER, CROSSING) else TRUE | RECORDED
    C.counts[kind] += 1
    C.agency[person] |= said
    score = file_score(key, day, C.log_rho) + weight
    if score <= 0.0:  # zero weights: the file stays empty
        C.bits[person] = bits
        return True
    key = file_key(score, day, C.log_rho)
    C.key[person] = key
    place = bits & PLACE
    if place == NOWHERE:
        bits |= NEW
    elif C.ranked and place != RESTING:
        # The key rises with evidence; it can fall only where a newborn took the slot of
        # a dead holder whose entry still waits.
        h = _heap(C, person, place)
        rekey(C.hkey[h], C.hwho[h], C.pos, C.hsize[h], C.pos[person], np.float64(key), C.salt)
    C.bits[person] = bits
    return True


@nb.njit(cache=True)
def said_class(agency_bits):
    """The class of a file's decisive statements (MODEL.md 8.2).

    2 if any came from a group of three or more, else 1 if any from a pair, else 0 (no
    statement: fabrications, computer findings, crossings).
    """
    if agency_bits & SAID_GROUP:
        return np.uint8(2)
    if agency_bits & SAID_PAIR:
        return np.uint8(1)
    return np.uint8(0)


@nb.njit(cache=True)
def _heap(C, person, place):
    """The heap a file waiting at ``place`` is in (its agency's check or investigation)."""
    stage = CHECK if place == CHECKQ else INVESTIGATION
    return stage * C.hsize.shape[0] // 2 + (C.agency[person] & AGENCY)


@nb.njit(cache=True)
def leave_heaps(C, i):
    """Take person ``i``'s file out of the heap it waits in (a resting file stays put)."""
    place = C.bits[i] & PLACE
    if place in (CHECKQ, INVQ):
        h = _heap(C, i, place)
        C.hsize[h] = remove(C.hkey[h], C.hwho[h], C.pos, C.hsize[h], C.pos[i], C.salt)
        C.bits[i] &= ~np.uint8(PLACE)


@nb.njit(cache=True)
def _is_new(i, bits):
    return bits[i] & NEW != 0


@nb.njit(cache=True, parallel=True)
def _new_files(bits):
    """Ids of the files marked new, in id order (parallel)."""
    n = bits.shape[0]
    found = np.zeros(CHUNKS + 1, dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(n, chunk)
        count = 0
        for i in range(lo, hi):
            if _is_new(i, bits):
                count += 1
        found[chunk + 1] = count
    offsets = np.cumsum(found)
    out = np.empty(offsets[-1], dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        lo, hi = chunk_bounds(n, chunk)
        m = offsets[chunk]
        for i in range(lo, hi):
            if _is_new(i, bits):
                out[m] = i
                m += 1
    return out


@nb.njit(cache=True)
def heap_key(C, person, seed, stream, day):
    """A file's key in a heap: its score key (ranked), or a uniform draw (random)."""
    if C.ranked:
        return np.float64(C.key[person])
    return uniform(seed, stream, day, person)


@nb.njit(cache=True)
def _push_new(C, ids, seed, stream, day):
    for x in range(ids.shape[0]):
        i = ids[x]
        C.bits[i] = (C.bits[i] & ~np.uint8(NEW | PLACE)) | CHECKQ
        h = CHECK * C.hsize.shape[0] // 2 + (C.agency[i] & AGENCY)
        k = heap_key(C, i, seed, stream, day)
        C.hsize[h] = push(C.hkey[h], C.hwho[h], C.pos, C.hsize[h], i, k, C.salt)


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
            raw = np.int64(kind[x])
            add_evidence(cases, person[x], raw & EVENT_KIND, np.int64(day[x]), (raw >> 2) & 48)


def evidence_opening(cannot: set[int]) -> np.ndarray:
    """Per kind: may evidence of it open a file (all but ``cannot``)."""
    opens = np.ones(len(EVIDENCE), dtype=np.bool_)
    opens[sorted(cannot)] = False
    return opens


class CasesMechanism(Mechanism):
    """Files: evidence about a person opens and feeds one scored file (docs/odd.md 4.8).

    It reads every evidence event the people and the watchers write, and each evening
    puts the day's new files in their agencies' check heaps. The heaps (two per agency)
    live here; the agencies take files out of them.
    """

    name = "cases"
    group = "cases"
    params_class = CaseParams
    arrays = (
        Attribute("file_key", np.float32, NO_FILE, "people", "ln S - t ln rho; -inf: none"),
        Attribute("case_bits", np.uint8, 0, "people", "evidence held; where the file waits"),
        Attribute("case_agency", np.uint8, 0, "people", "agency of the file"),
        Attribute("file_pos", np.int32, -1, "people", "place in a heap, or next resting file"),
    )
    streams = ("triage",)
    reads = EVIDENCE
    columns: ClassVar[dict[str, type]] = {
        **{f"reports_{kind}": np.int64 for kind in EVIDENCE},
        "cases_opened": np.int64,
    }
    checkpoint_skip = ("_consts", "_files")

    def init(self) -> None:
        """Empty heaps; evidence events come to :meth:`take`."""
        sim = self.sim
        n_heaps = 2 * len(sim.params.agencies.capacity(1.0)[0])
        self.heap_key = [np.empty(64) for _ in range(n_heaps)]
        self.heap_who = [np.empty(64, dtype=np.int32) for _ in range(n_heaps)]
        self.heap_size = np.zeros(n_heaps, dtype=np.int64)
        self.routing_role = np.zeros(5, dtype=np.int64)
        self.routing_kind = np.zeros(len(EVIDENCE), np.int64)
        self.weights = np.zeros(len(EVIDENCE))
        self.opens = np.ones(len(EVIDENCE), dtype=np.bool_)
        self.counts = np.zeros((CHUNKS, len(EVIDENCE) + 1), dtype=np.int64)
        self._files: Files | None = None
        sim.talk.subscribe(self.take)
        self._previous = np.zeros(len(EVIDENCE), dtype=np.int64)

    def derive(self) -> None:
        """Weights, routing, the kinds that may open a file, the silent witnesses' charge."""
        sim, p = self.sim, self.sim.params
        self.weights[:] = evidence_weights(self.pars)
        by_role, by_kind = p.agencies.routing(len(WITNESS_KINDS), len(EVIDENCE))
        self.routing_role[:] = by_role
        self.routing_kind[:] = by_kind
        self.opens[:] = evidence_opening(sim.talk.watchers.kinds_opening_no_case())
        sim.talk.ftr[0] = self.pars.failure_to_report if p.apparatus else 0.0
        self._files = None  # the decay, triage or corroboration may have changed

    @property
    def C(self) -> Files:  # noqa: N802 (the kernels' name for the files)
        """The files, heaps and counters as one bundle for the kernels.

        Built again only when a heap's arrays were replaced (grown, or restored from a
        checkpoint) or the parameters were derived again.
        """
        cached = self._files
        if cached is not None and all(
            a is b
            for a, b in zip(cached.hkey + cached.hwho, self.heap_key + self.heap_who, strict=True)
        ):
            return cached
        sim, s = self.sim, self.sim.pop.people
        # With the apparatus off nobody can be charged: files read an all-"not free" status.
        status = s.status if sim.params.apparatus else self._nobody()
        self._files = Files(
            status, s.role, s.file_key, s.case_bits, s.case_agency, s.file_pos, self.weights,
            self.opens, self.pars.corroboration, self.routing_role, self.routing_kind,
            math.log(self.pars.rho), sim.params.agencies.triage == "ranked",
            np.uint64(int(sim.seed64) ^ 0x5DEECE66D), tuple(self.heap_key),
            tuple(self.heap_who), self.heap_size, self.counts,
        )  # fmt: skip
        return self._files

    def _nobody(self) -> np.ndarray:
        if getattr(self, "_consts", None) is None:
            self._consts = np.ones(self.sim.params.agents, np.uint8)
        return self._consts

    def make_room(self, h: int, extra: int) -> None:
        """Let heap ``h`` take ``extra`` more files."""
        needed = int(self.heap_size[h]) + int(extra)
        self.heap_key[h] = grown(self.heap_key[h], needed)
        self.heap_who[h] = grown(self.heap_who[h], needed)

    def make_room_all(self, extra: np.ndarray) -> None:
        """Let every heap ``h`` take ``extra[h]`` more files (one test for all of them)."""
        needed = self.heap_size + extra
        room = np.fromiter((len(k) for k in self.heap_key), np.int64, len(self.heap_key))
        for h in np.flatnonzero(needed > room):
            self.make_room(int(h), int(extra[h]))

    def take(self, table) -> None:
        """Read a table of evidence events."""
        take_events(self.C, table.person, table.kind, table.day, table.n, table.start)

    def evidence(self, person: int, kind: str) -> bool:
        """One piece of evidence of ``kind`` about ``person`` today (a check's finding)."""
        cases = self.C._replace(counts=self.counts[0])
        return bool(add_evidence(cases, np.int32(person), np.int64(CODE[kind]),
                                 np.int64(self.sim.t)))  # fmt: skip

    def score(self, day: int | None = None) -> np.ndarray:
        """Every person's file score on ``day`` (today by default; 0: no file)."""
        day = self.sim.t if day is None else day
        key = self.sim.pop.people.file_key.astype(np.float64)
        with np.errstate(over="ignore"):
            return np.where(np.isfinite(key), np.exp(key + day * math.log(self.pars.rho)), 0.0)

    def steps(self):
        """The day's new files join their check heaps, with the apparatus."""
        if self.sim.params.apparatus:
            yield Step("queue", self.queue, "today's new files join their agencies' check heaps",
                       "cases")  # fmt: skip

    def queue(self) -> None:
        """Today's new files join their agencies' check heaps."""
        s = self.sim.pop.people
        ids = _new_files(s.case_bits)
        if not ids.size:
            return
        # The check heaps come first (heap ``CHECK * agencies + agency``).
        agencies = s.case_agency[ids] & AGENCY
        self.make_room_all(np.bincount(agencies, minlength=self.heap_size.shape[0]))
        _push_new(self.C, ids, self.sim.seed64, self.stream("triage"), np.int64(self.sim.t))

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """The day's evidence by kind and the files opened (then zero the day's counts)."""
        evidence = self.counts.sum(axis=0)
        for k, kind in enumerate(EVIDENCE):
            columns[f"reports_{kind}"][t] = evidence[k]
        if not self.sim.params.apparatus:  # no files: count the listeners' reports
            reports = self.sim.talk.tally.reports
            for k in range(reports.shape[0]):
                columns[f"reports_{EVIDENCE[k]}"][t] = reports[k] - self._previous[k]
                self._previous[k] = reports[k]
        columns["cases_opened"][t] = evidence[-1]
        self.counts[:] = 0
