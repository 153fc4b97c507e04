"""The counter-based random streams: published vectors, purity, distribution."""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from scipy import stats

from survsim.engine.rng import Streams, philox4x32, random_block, stream_id, u32_below, uniform

# Random123's known-answer vectors for Philox4x32-10 (tests/kat_vectors of the
# Random123 distribution, Salmon et al. 2011): counter, key, expected output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_matches_published_vectors(counter, key, expected):
    got = tuple(int(w) for w in philox4x32(*counter, *key))
    assert got == expected


def test_a_changed_counter_word_changes_the_block():
    base = [int(w) for w in philox4x32(1, 2, 3, 4, 5, 6)]
    for i in range(4):
        counter = [1, 2, 3, 4]
        counter[i] += 1
        assert [int(w) for w in philox4x32(*counter, 5, 6)] != base


def test_stream_ids_are_stable_and_distinct():
    # BLAKE2b-derived, so the same in every process (Python's hash() is salted).
    assert stream_id("order") == stream_id("order")
    names = ["order", "move", "arrest", "placement", "hardship", "risk_aversion"]
    assert len({stream_id(n) for n in names}) == len(names)
    assert all(0 <= stream_id(n) < 2**32 for n in names)


def test_a_draw_is_a_pure_function_of_its_coordinates():
    streams = Streams(12345)
    full = streams.uniform("x", step=7, n=1000)
    again = Streams(12345).uniform("x", step=7, n=1000)
    np.testing.assert_array_equal(full, again)
    sid = np.uint64(streams.id("x"))
    for i in (0, 17, 999):
        assert uniform(np.uint64(12345), sid, np.uint64(7), i) == full[i]
    assert not np.array_equal(full, streams.uniform("x", step=8, n=1000))
    assert not np.array_equal(full, streams.uniform("y", step=7, n=1000))
    assert not np.array_equal(full, Streams(12346).uniform("x", step=7, n=1000))


def test_uniforms_are_uniform():
    u = Streams(3).uniform("test", step=0, n=200_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    # Kolmogorov-Smirnov against U(0,1); a fixed seed, so the outcome is reproducible.
    assert stats.kstest(u, "uniform").pvalue > 1e-4


@nb.njit
def _bounded(seed, n, k):
    out = np.empty(k, dtype=np.int64)
    for i in range(k):
        out[i] = u32_below(random_block(seed, 9, 0, i, 0)[0], n)
    return out


def test_bounded_integers_cover_the_range_evenly():
    draws = _bounded(np.uint64(5), 7, 70_000)
    assert draws.min() == 0 and draws.max() == 6
    counts = np.bincount(draws, minlength=7)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_seed_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        Streams(-1)


def test_poisson_and_integers_have_the_right_law():
    streams = Streams(8)
    k = streams.poisson("p", 0, 2.9, 100_000)
    assert abs(k.mean() - 2.9) < 4 * np.sqrt(2.9 / 100_000)
    assert abs(k.var() - 2.9) < 0.1
    expected = stats.poisson(2.9).pmf(np.arange(12)) * k.size
    observed = np.bincount(k, minlength=12)[:12]
    assert (
        stats.chisquare(observed[:9], expected[:9] * observed[:9].sum() / expected[:9].sum()).pvalue
        > 1e-4
    )
    ints = streams.integers("i", 0, 20, 50, 60_000)
    assert ints.min() == 20 and ints.max() == 50
    assert stats.chisquare(np.bincount(ints - 20)).pvalue > 1e-4
    np.testing.assert_array_equal(ints, Streams(8).integers("i", 0, 20, 50, 60_000))
