"""Ranked queues of files: binary max-heaps with a position per person (docs/odd.md 4.8).

Each agency keeps two heaps, one per stage (checks, investigations). An entry is a key
and a person; ``pos[person]`` is the person's place in the one heap it is in, so a key
that rises (new evidence) moves up in ``O(log n)`` and a person who leaves (detained with
a relative) is taken out in ``O(log n)``. Nothing here sorts the population: a day costs
``O(log n)`` per file that arrives, moves or is examined.

Equal keys are ordered by a hash of the person and the run's seed (:func:`tie`), not by
id, so no region or household (ids are laid out by both) is examined first.

The caller makes room before pushing (:func:`grown`); the heaps only ever hold people
who have a file.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["grown", "pop", "push", "rekey", "remove", "sift_up", "tie"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@nb.njit(cache=True)
def tie(person, salt):
    """A 64-bit hash of ``person`` and ``salt`` (splitmix64's finaliser): the tie-break."""
    x = np.uint64(person) ^ salt
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@nb.njit(cache=True)
def _before(k1, p1, k2, p2, salt):
    """Does entry (k1, p1) come out before (k2, p2)? Higher key first, then the hash."""
    if k1 != k2:
        return k1 > k2
    return tie(p1, salt) > tie(p2, salt)


@nb.njit(cache=True)
def sift_up(key, who, pos, i, salt):
    """Move entry ``i`` up to its place (its key rose, or it was just added)."""
    k, p = key[i], who[i]
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(k, p, key[parent], who[parent], salt):
            break
        key[i] = key[parent]
        who[i] = who[parent]
        pos[who[i]] = i
        i = parent
    key[i] = k
    who[i] = p
    pos[p] = i


@nb.njit(cache=True)
def _sift_down(key, who, pos, i, size, salt):
    k, p = key[i], who[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(key[child + 1], who[child + 1], key[child],
                                        who[child], salt):  # fmt: skip
            child += 1
        if not _before(key[child], who[child], k, p, salt):
            break
        key[i] = key[child]
        who[i] = who[child]
        pos[who[i]] = i
        i = child
    key[i] = k
    who[i] = p
    pos[p] = i


@nb.njit(cache=True)
def rekey(key, who, pos, size, i, k, salt):
    """Give entry ``i`` the key ``k`` and move it up or down to its place."""
    old = key[i]
    key[i] = k
    if k > old:
        sift_up(key, who, pos, i, salt)
    elif k < old:
        _sift_down(key, who, pos, i, size, salt)


@nb.njit(cache=True)
def push(key, who, pos, size, person, k, salt):
    """Add ``person`` with key ``k`` to a heap of ``size`` entries; returns the new size."""
    key[size] = k
    who[size] = person
    sift_up(key, who, pos, size, salt)
    return size + 1


@nb.njit(cache=True)
def remove(key, who, pos, size, i, salt):
    """Take entry ``i`` out of a heap of ``size``; returns the new size (``pos`` is -1)."""
    gone = who[i]
    size -= 1
    if i < size:
        key[i] = key[size]
        who[i] = who[size]
        pos[who[i]] = i
        if i > 0 and _before(key[i], who[i], key[(i - 1) >> 1], who[(i - 1) >> 1], salt):
            sift_up(key, who, pos, i, salt)
        else:
            _sift_down(key, who, pos, i, size, salt)
    pos[gone] = -1
    return size


@nb.njit(cache=True)
def pop(key, who, pos, size, salt):
    """Take the top entry out; returns the new size."""
    return remove(key, who, pos, size, 0, salt)


def grown(array: np.ndarray, needed: int) -> np.ndarray:
    """``array`` if it holds ``needed`` entries, else a copy at least twice as long."""
    if array.shape[0] >= needed:
        return array
    out = np.empty(max(needed, 2 * array.shape[0], 64), dtype=array.dtype)
    out[: array.shape[0]] = array
    return out
