"""What the conversation kernels read and write, bundled by name.

:func:`survsim.society.statements.converse` and the context kernels take five bundles:

- ``P`` (:data:`People`): the per-person arrays people speak and listen with;
- ``R`` (:data:`Rules`): the speech, listening and belief parameters;
- ``T`` (:data:`Tally`): what was said, by context and group size (a row per chunk);
- ``W`` (:data:`Watch`): the watchers of each context (:class:`Watchers`) and the chance
  that a silent witness is charged;
- ``E``: the evidence events they write (:mod:`survsim.engine.events`).

Each is built with :func:`survsim.engine.mechanism.bundle` from field names, so a kernel
reads ``P.heard_group`` whatever the order of the fields. :class:`Talk` holds what every
context mechanism shares.
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from survsim.engine.events import EventTable, chunk_events
from survsim.engine.mechanism import bundle
from survsim.engine.parallel import CHUNKS
from survsim.society.names import CONTEXTS, EVIDENCE, REGIONS

__all__ = [
    "K_BINS",
    "People",
    "Rules",
    "Talk",
    "Tally",
    "Watch",
    "Watchers",
    "chunk_views",
    "fold",
    "new_tally",
]

#: Group sizes are counted in bins 1..15 and "16 or more" (index 16).
K_BINS = 17

People = namedtuple(
    "People",
    "role status informant zeal grievance grievance0 risk_aversion suspicion belief_day "
    "heard_pair heard_group seen_pair seen_group present loss_hat group_size said busy_day "
    "busy phone",
)
#: ``bugging`` is changed in place by the cameras people see (:mod:`survsim.apparatus.cameras`);
#: ``group_prior[e]`` is the class prior of a mean group size of ``e`` eighths
#: (:func:`survsim.society.speech.group_priors`).
Rules = namedtuple(
    "Rules",
    "threshold threshold_sd s_threshold tau delta anticipate closeness bugging q0 defensive "
    "head_zeal a0 group_prior prior_strength conformity belief_decay grievance_decay",
)
#: The watchers' table (:class:`Watchers`), the region of each person, the chance that a
#: silent witness of a statement that reached the state is charged (a 1-element array),
#: the random streams of the watchers and of the charges, the kind of such a charge, and
#: a scratch of who reported (a row per chunk).
Watch = namedtuple(
    "Watch",
    "context kind sub min_group opens coverage region ftr s_record s_ftr ftr_kind heard",
)
Tally = namedtuple(
    "Tally",
    "present spoke expected variance null_expected null_variance statements reported reports "
    "silent speakers risk audit",
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
def chunk_views(T, W, E, chunk):
    """Chunk ``chunk``'s rows of a chunked tally, watch scratch and event table.

    Built in a plain kernel called from the ``prange`` body: numba does not support
    building a named tuple inside the ``prange`` body itself.
    """
    tally = Tally(
        T.present[chunk],
        T.spoke[chunk],
        T.expected[chunk],
        T.variance[chunk],
        T.null_expected[chunk],
        T.null_variance[chunk],
        T.statements[chunk],
        T.reported[chunk],
        T.reports[chunk],
        T.silent[chunk],
        T.speakers[chunk],
        T.risk[chunk],
        T.audit,
    )
    watch = Watch(
        W.context,
        W.kind,
        W.sub,
        W.min_group,
        W.opens,
        W.coverage,
        W.region,
        W.ftr,
        W.s_record,
        W.s_ftr,
        W.ftr_kind,
        W.heard[chunk],
    )
    return tally, watch, chunk_events(E, chunk)


class Watchers:
    """The table of watchers: who may record or see a conversation of each context.

    A watcher is a row: the context it watches, the kind of evidence it yields, the
    smallest group it notices, whether its evidence may open a case, and its chance per
    region (changed in place by its mechanism, for instance by the policy timeline). It
    draws one uniform per group with sub-index ``8 * slot + context``: watchers of
    different slots draw independent numbers, and a watcher of the same slot as another
    never watches the same context.
    """

    def __init__(self) -> None:
        self.rows: list[list] = []  # [context, kind, sub, min_group, opens]
        self.coverage = np.zeros((0, len(REGIONS)))

    def add(self, context: str, kind: str, slot: int, min_group: int = 2, opens: bool = True):
        """Add a watcher; returns its row (for :attr:`coverage`).

        Raises:
            ValueError: an unknown context or kind, or the slot is taken for the context.
        """
        if context not in CONTEXTS or kind not in EVIDENCE:
            raise ValueError(f"watcher of {context!r} yielding {kind!r}: unknown context or kind")
        c = CONTEXTS.index(context)
        if any(row[0] == c and row[2] == 8 * slot + c for row in self.rows):
            raise ValueError(f"slot {slot} of context {context!r} has a watcher already")
        self.rows.append([c, EVIDENCE.index(kind), 8 * slot + c, int(min_group), bool(opens)])
        self.coverage = np.concatenate([self.coverage, np.zeros((1, len(REGIONS)))])
        return len(self.rows) - 1

    def set_min_group(self, row: int, k: int) -> None:
        """The smallest group watcher ``row`` notices."""
        self.rows[row][3] = int(k)

    def kinds_opening_no_case(self) -> set[int]:
        """Evidence kinds whose watchers may not open a case."""
        return {row[1] for row in self.rows if not row[4]}

    def arrays(self) -> dict[str, np.ndarray]:
        """The table as the arrays of :data:`Watch`."""
        rows = self.rows or [[-1, 0, 0, 0, False]]
        columns = list(zip(*rows, strict=True))
        return {
            "context": np.array(columns[0], dtype=np.int64),
            "kind": np.array(columns[1], dtype=np.int64),
            "sub": np.array(columns[2], dtype=np.int64),
            "min_group": np.array(columns[3], dtype=np.int64),
            "opens": np.array(columns[4], dtype=np.bool_),
            "coverage": self.coverage if self.rows else np.zeros((1, len(REGIONS))),
        }


class Talk:
    """What the conversations of every context share: bundles, scratch and the events.

    A checkpoint leaves out the event table (empty between days) and the watchers'
    table (the mechanisms build it again).

    Args:
        people: the per-person state.
        widest: the largest unit a context kernel shuffles (scratch rows are this wide).
        streams: the run's random streams (for the watchers' and charges' streams).
    """

    checkpoint_skip = frozenset({"events", "serial_events", "watchers"})

    def __init__(self, people, widest: int, streams) -> None:
        self.people = people
        self.P = bundle(People, people)
        self.tally = new_tally(len(CONTEXTS), len(EVIDENCE))
        self.chunk_tally = new_tally(len(CONTEXTS), len(EVIDENCE), CHUNKS)
        self.order = np.empty((CHUNKS, widest), dtype=np.int32)
        self.scratch = np.empty((CHUNKS, 2 * widest + 64), dtype=np.int32)
        self.starters = np.empty(0, dtype=np.int32)
        self.heard = np.zeros((CHUNKS, widest + 64), dtype=np.int8)
        self.ftr = np.zeros(1)
        self.s_record = np.uint64(streams.id("record"))
        self.s_ftr = np.uint64(streams.id("failure_to_report"))
        self.watchers = Watchers()
        #: Evidence events of the contexts run in parallel (a row per chunk), and of those
        #: run in one chunk (friends, calls, letters, fabrication: one row, so that their
        #: room does not cost 64 rows).
        self.events = EventTable()
        self.serial_events = EventTable(chunks=1)
        self.R: Rules | None = None

    def subscribe(self, reader) -> None:
        """Call ``reader(table)`` with every table of evidence events (both kinds)."""
        self.events.subscribe(reader)
        self.serial_events.subscribe(reader)

    def resize_events(self, capacity: int) -> None:
        """Hold ``capacity`` events per chunk in both tables from now on (for tests)."""
        self.events.resize(capacity)
        self.serial_events.resize(capacity)

    def watch(self) -> Watch:
        """The watch bundle as the table stands now."""
        return bundle(
            Watch,
            self.watchers.arrays(),
            region=self.people.region,
            ftr=self.ftr,
            s_record=self.s_record,
            s_ftr=self.s_ftr,
            ftr_kind=np.int64(EVIDENCE.index("failure_to_report")),
            heard=self.heard,
        )

    def room_for_starters(self, most: float) -> None:
        """Make the starters' buffer hold about ``most`` starters and 8 deviations more."""
        if self.starters.size < most + 8 * most**0.5 + 64:
            self.starters = np.empty(int(most + 8 * most**0.5) + 64, dtype=np.int32)
