"""Event tables: one side of a model writes events, another reads them.

In the surveillance model the people's conversations write evidence events (a person, a
kind of evidence, a day) and the apparatus reads them: neither imports the other. The
table has a row of fixed capacity per chunk of :mod:`survsim.engine.parallel`, so
parallel kernels write without locks; an event's number is its chunk and its position
in the chunk's row, whatever the thread count.

A kernel that writes events checks for room before each unit of work (a household, a
group) with :func:`room`, using a bound on the events that unit can write; if the row is
full it stops, leaving in its cursor where to go on (:class:`EventTable.produce`). The
readers then take the events, in chunk order, and the kernel is called again: it goes on
from its cursor, with the same random draws (they are pure functions of their indices),
so the result is the same whatever the capacity. A row that needed a second round
doubles its capacity; the rows lie one after another in flat arrays, so a chunk with one
large neighbourhood unit does not make all 64 rows large.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

import numba as nb
import numpy as np

from survsim.engine.parallel import CHUNKS

__all__ = [
    "EVENT_GROUP",
    "EVENT_KIND",
    "EVENT_PAIR",
    "EventTable",
    "Events",
    "chunk_events",
    "emit",
    "event_kind",
    "room",
]

#: An event's ``kind`` carries, in its two high bits, the class of the group the
#: statement behind it was made in (MODEL.md 8.2): a pair, or three or more. Events with
#: no statement behind them (fabrications, computer findings, crossings) carry neither.
EVENT_PAIR, EVENT_GROUP, EVENT_KIND = 64, 128, 63

#: An event table, or one chunk's row of it (:func:`chunk_events`): ``person``, ``kind``,
#: ``day`` of each event (the rows one after another), ``n`` the events each row holds,
#: and ``start`` where each row begins (a row's capacity is ``start[c + 1] - start[c]``).
Events = namedtuple("Events", "person kind day n start")

#: Columns of a cursor row: units of the chunk done, the next sub-unit, finished (1).
DONE, SUB, FINISHED = 0, 1, 2


class EventTable:
    """Per-chunk rows of events, the readers that take them, and the writers' cursors.

    Args:
        capacity: events each chunk's row holds at first; a row that needed more on a
            day doubles (the others stay as they are).
        chunks: rows (one per chunk of a parallel kernel).
    """

    def __init__(self, capacity: int = 1024, chunks: int = CHUNKS) -> None:
        self.chunks = chunks
        self.cursor = np.zeros((chunks, 3), dtype=np.int64)
        self.readers: list[Callable[[Events], None]] = []
        self.rounds = 0  # calls that stopped early for want of room (a statistic)
        self._allocate(np.full(chunks, int(capacity), dtype=np.int64))

    def _allocate(self, capacities: np.ndarray) -> None:
        self.capacities = capacities
        start = np.zeros(self.chunks + 1, dtype=np.int64)
        np.cumsum(capacities, out=start[1:])
        total = int(start[-1])
        self.table = Events(
            np.empty(total, dtype=np.int32),
            np.empty(total, dtype=np.uint8),
            np.empty(total, dtype=np.int32),
            np.zeros(self.chunks, dtype=np.int64),
            start,
        )

    @property
    def capacity(self) -> int:
        """The largest row's capacity."""
        return int(self.capacities.max())

    def resize(self, capacity: int) -> None:
        """Hold ``capacity`` events in every row from now on (the table must be empty)."""
        if self.table.n.any():
            raise RuntimeError("resize an event table only when it is empty")
        self._allocate(np.full(self.chunks, int(capacity), dtype=np.int64))

    def subscribe(self, reader: Callable[[Events], None]) -> None:
        """Call ``reader(table)`` whenever events are taken (in subscription order)."""
        self.readers.append(reader)

    def flush(self) -> None:
        """Hand the events held to every reader, then empty the table."""
        if self.table.n.any():
            for reader in self.readers:
                reader(self.table)
            self.table.n[:] = 0

    def produce(self, write: Callable[[Events, np.ndarray], None]) -> None:
        """Run ``write(table, cursor)`` until every chunk has finished; flush after each call.

        Args:
            write: calls the kernel; it starts each chunk at its cursor row and sets the
                row's ``FINISHED`` column when the chunk is done.
        """
        self.cursor[:] = 0
        while True:
            write(self.table, self.cursor)
            self.flush()
            stopped = self.cursor[:, FINISHED] == 0
            if not stopped.any():
                return
            self.rounds += 1
            capacities = self.capacities.copy()
            capacities[stopped] *= 2
            self._allocate(capacities)


@nb.njit(cache=True)
def chunk_events(E, chunk):
    """Chunk ``chunk``'s row of an event table."""
    lo, hi = E.start[chunk], E.start[chunk + 1]
    return Events(
        E.person[lo:hi], E.kind[lo:hi], E.day[lo:hi], E.n[chunk : chunk + 1], E.start[chunk:]
    )


@nb.njit(cache=True)
def room(E, need):
    """True if a chunk's row ``E`` holds ``need`` more events."""
    return E.n[0] + need <= E.person.shape[0]


@nb.njit(cache=True)
def emit(E, person, kind, day):
    """Write one event into a chunk's row (the caller checked :func:`room`)."""
    m = E.n[0]
    E.person[m] = person
    E.kind[m] = kind
    E.day[m] = day
    E.n[0] = m + 1


@nb.njit(cache=True)
def event_kind(kind, k):
    """The ``kind`` of an event about a statement made in a group of ``k`` people."""
    return kind | (EVENT_GROUP if k >= 3 else EVENT_PAIR)
