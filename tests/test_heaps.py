"""The ranked heaps of files (apparatus/heaps.py) against a plain sort, under random use."""

from __future__ import annotations

import numpy as np

from survsim.apparatus.heaps import grown, pop, push, rekey, remove, tie

SALT = np.uint64(12345)


def expected_order(keys: dict[int, float]) -> list[int]:
    return sorted(keys, key=lambda p: (-keys[p], -int(tie(p, SALT))))


def test_heaps_give_the_sorted_order_under_pushes_rekeys_removals_and_pops():
    rng = np.random.default_rng(3)
    n = 300
    key = np.empty(n)
    who = np.empty(n, dtype=np.int32)
    pos = np.full(n, -1, dtype=np.int32)
    size = 0
    inside: dict[int, float] = {}
    for _ in range(3000):
        action = rng.integers(4)
        outside = [p for p in range(n) if p not in inside]
        if action == 0 and outside:  # a new file; keys repeat, so ties are common
            p = int(rng.choice(outside))
            k = float(rng.integers(0, 20))
            size = push(key, who, pos, size, p, k, SALT)
            inside[p] = k
        elif action == 1 and inside:  # a key rises or falls
            p = int(rng.choice(list(inside)))
            k = float(rng.integers(0, 20))
            rekey(key, who, pos, size, pos[p], k, SALT)
            inside[p] = k
        elif action == 2 and inside:  # someone leaves from the middle
            p = int(rng.choice(list(inside)))
            size = remove(key, who, pos, size, pos[p], SALT)
            assert pos[p] == -1
            del inside[p]
        elif inside:  # the top is taken
            assert who[0] == expected_order(inside)[0]
            p = int(who[0])
            size = pop(key, who, pos, size, SALT)
            del inside[p]
        assert size == len(inside)
        for p in inside:  # positions are right
            assert who[pos[p]] == p and key[pos[p]] == inside[p]
    # Emptying the heap gives the whole order.
    order = expected_order(inside)
    taken = []
    while size:
        taken.append(int(who[0]))
        size = pop(key, who, pos, size, SALT)
    assert taken == order


def test_ties_are_not_broken_by_id():
    # Among equal keys the order is a hash of the person: not ascending, not descending.
    order = expected_order(dict.fromkeys(range(50), 1.0))
    assert order != sorted(order) and order != sorted(order, reverse=True)


def test_grown_keeps_the_entries_and_at_least_doubles():
    a = np.arange(10.0)
    assert grown(a, 10) is a
    b = grown(a, 11)
    assert b.shape[0] >= 64 and (b[:10] == a).all()
