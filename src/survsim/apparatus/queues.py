"""Queues of cases: first in, first out, a linked list through the people (docs/odd.md 4.8).

A queue costs 4 bytes per person however long it grows (``next_in_queue``), and the
oldest case is always at its head. ``queue[a]`` holds agency ``a``'s head, tail and
length.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["HEAD", "LENGTH", "TAIL", "dequeue", "enqueue", "new_queues"]

HEAD, TAIL, LENGTH = 0, 1, 2


def new_queues(n_agencies: int) -> np.ndarray:
    """Empty queues: ``queue[a] = head, tail, length``.

    ``next_in_queue`` is a per-person array of -1, declared by the cases.
    """
    queue = np.full((n_agencies, 3), -1, dtype=np.int64)
    queue[:, LENGTH] = 0
    return queue


@nb.njit(cache=True)
def enqueue(queue, next_in_queue, agency, person):
    """Append ``person``'s case at the tail of ``agency``'s queue."""
    next_in_queue[person] = -1
    if queue[agency, LENGTH] == 0:
        queue[agency, HEAD] = person
    else:
        next_in_queue[queue[agency, TAIL]] = person
    queue[agency, TAIL] = person
    queue[agency, LENGTH] += 1


@nb.njit(cache=True)
def dequeue(queue, next_in_queue, agency):
    """Remove and return the oldest case of ``agency`` (-1 if the queue is empty)."""
    if queue[agency, LENGTH] == 0:
        return -1
    person = queue[agency, HEAD]
    queue[agency, HEAD] = next_in_queue[person]
    queue[agency, LENGTH] -= 1
    if queue[agency, LENGTH] == 0:
        queue[agency, TAIL] = -1
    next_in_queue[person] = -1
    return person
