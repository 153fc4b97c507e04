"""Fixed chunks of work for parallel kernels, so results never depend on the thread count.

A parallel kernel cuts its range (people, units, blocks) into :data:`CHUNKS` chunks with
:func:`chunk_bounds` and runs the chunks with ``numba.prange``. Each chunk writes its
counters and float sums into its own row; the rows are added up afterwards in chunk
order. The chunks are the same whatever the number of threads (``NUMBA_NUM_THREADS``),
and every random draw is a pure function of its indices, so one thread and sixteen give
the same numbers, bit for bit.

The body of a ``prange`` loop only calls a plain kernel with the chunk's number: numba
(0.6x) silently loses writes made through a named tuple's arrays inside a ``prange``
body, and cannot build a named tuple there.

Kernels keep what a chunk touches disjoint: a person belongs to one household, one work
unit and one district, and takes part in at most one group of a context per day. Work
whose targets cross chunks (friends, calls, letters, fabrication) runs in one chunk.
"""

from __future__ import annotations

import numba as nb

__all__ = ["CHUNKS", "chunk_bounds"]

#: Chunks per parallel kernel: enough to balance 16 threads, few enough that the
#: per-chunk counters stay small.
CHUNKS = 64


@nb.njit(cache=True)
def chunk_bounds(n, chunk):
    """The range ``[lo, hi)`` of chunk ``chunk`` when ``n`` items are cut into CHUNKS."""
    return n * chunk // CHUNKS, n * (chunk + 1) // CHUNKS
