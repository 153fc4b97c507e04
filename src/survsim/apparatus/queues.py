"""First-in-first-out queues linked through the people (docs/odd.md 4.8).

The agencies keep the files resting after a check in one such queue each, linked through
``file_pos`` (a resting file is in no heap, so its heap position is free): 4 bytes per
person however long the queue grows, and the earliest file is always at the head.
``queue[a]`` holds queue ``a``'s head, tail and length.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["HEAD", "LENGTH", "TAIL", "dequeue", "enqueue", "new_queues"]

HEAD, TAIL, LENGTH = 0, 1, 2


def new_queues(n_agencies: int) -> np.ndarray:
    """Empty queues: ``queue[a] = head, tail, length``.

    The links are a per-person int32 array (``file_pos``, declared by the cases).
    """
    queue = np.full((n_agencies, 3), -1, dtype=np.int64)
    queue[:, LENGTH] = 0
    return queue


@nb.njit(cache=True)
def enqueue(queue, next_in_queue, agency, person):
    """Append ``person`` at the tail of queue ``agency``."""
    next_in_queue[person] = -1
    if queue[agency, LENGTH] == 0:
        queue[agency, HEAD] = person
    else:
        next_in_queue[queue[agency, TAIL]] = person
    queue[agency, TAIL] = person
    queue[agency, LENGTH] += 1


@nb.njit(cache=True)
def dequeue(queue, next_in_queue, agency):
    """Remove and return the head of queue ``agency`` (-1 if the queue is empty)."""
    if queue[agency, LENGTH] == 0:
        return -1
    person = queue[agency, HEAD]
    queue[agency, HEAD] = next_in_queue[person]
    queue[agency, LENGTH] -= 1
    if queue[agency, LENGTH] == 0:
        queue[agency, TAIL] = -1
    next_in_queue[person] = -1
    return person
