"""Counter-based random numbers: Philox4x32-10 in numba.

A draw is a pure function of ``(seed, stream, step, index, sub)``: there is no generator
state to carry, so results do not depend on thread count, on chunking, on the order in
which parallel workers finish, or on whether a run was resumed from a checkpoint.

Layout of one Philox call (Salmon, Moraes, Dror and Shaw 2011, "Parallel random numbers:
as easy as 1, 2, 3", SC'11; the Random123 library's Philox4x32 with 10 rounds):

- key   = the run's 64-bit seed, as two 32-bit words (low, high);
- counter word 0 = index (an agent, a cell or an event number, below 2**32),
- counter word 1 = sub (the how-many-th block for the same index; 0 for most draws),
- counter word 2 = step,
- counter word 3 = stream: a stable 32-bit hash of the stream's name (never Python's
  salted ``hash()``), so two mechanisms never share numbers.

One call yields four independent 32-bit words. Kernels that need a few numbers per index
take them from one block; :func:`uniform` joins two words into a 53-bit double.
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

__all__ = [
    "Streams",
    "block_count",
    "block_size",
    "philox4x32",
    "poisson_from_uniform",
    "random_block",
    "random_block_inline",
    "stream_id",
    "u32_below",
    "uniform",
    "uniform_from_words",
]

_MASK32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(0xD2511F53)  # Philox4x32 multipliers (Random123)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)  # Weyl key increments: golden ratio and sqrt(3) - 1
_W1 = np.uint64(0xBB67AE85)
_SHIFT32 = np.uint64(32)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


def _philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 block function on 32-bit words held in uint64 values.

    One straight line of ten rounds with the key bumped between them: numba does not
    unroll a loop, and a helper per round would multiply its front end's work at every
    draw site (LLVM inlines this function where it pays).

    Returns:
        A tuple of four uint64 values, each below 2**32.
    """
    c0, c1, c2, c3 = np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3)
    k0, k1 = np.uint64(k0), np.uint64(k1)
    p0 = _M0 * c0  # round 1
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 2
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 3
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 4
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 5
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 6
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 7
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 8
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 9
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    p0 = _M0 * c0  # round 10
    p1 = _M1 * c2
    c0, c1, c2, c3 = (
        ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32,
        p1 & _MASK32,
        ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32,
        p0 & _MASK32,
    )
    return c0, c1, c2, c3


philox4x32 = nb.njit(cache=True)(_philox4x32)
# The same rounds copied by numba into the caller (random_block_inline), for a model whose
# hot loop does little besides drawing (civil violence): a call per draw costs it a fifth.
_philox4x32_inline = nb.njit(inline="always")(_philox4x32)


@nb.njit(cache=True)
def random_block(seed, stream, step, index, sub):
    """Four 32-bit random words for ``(seed, stream, step, index, sub)``."""
    s = np.uint64(seed)
    return philox4x32(
        np.uint64(index) & _MASK32,
        np.uint64(sub) & _MASK32,
        np.uint64(step) & _MASK32,
        np.uint64(stream) & _MASK32,
        s & _MASK32,
        s >> _SHIFT32,
    )


@nb.njit(inline="always")
def random_block_inline(seed, stream, step, index, sub):
    """:func:`random_block` with Philox copied into the caller by numba (same numbers).

    For loops that do little besides drawing: there a call per draw costs about a fifth
    of the time. Elsewhere use :func:`random_block`: each copy costs compile time.
    """
    s = np.uint64(seed)
    return _philox4x32_inline(
        np.uint64(index) & _MASK32,
        np.uint64(sub) & _MASK32,
        np.uint64(step) & _MASK32,
        np.uint64(stream) & _MASK32,
        s & _MASK32,
        s >> _SHIFT32,
    )


@nb.njit(cache=True, inline="always")
def uniform_from_words(a, b):
    """A double in [0, 1) with 53 random bits from two 32-bit words."""
    hi = np.int64(np.uint64(a) >> np.uint64(5))  # 27 bits (int64: converts to float fast)
    lo = np.int64(np.uint64(b) >> np.uint64(6))  # 26 bits
    return (hi * 67108864 + lo) * _TWO_M53


@nb.njit(cache=True)
def uniform(seed, stream, step, index):
    """One uniform double in [0, 1) for ``(seed, stream, step, index)``."""
    w0, w1, _, _ = random_block(seed, stream, step, index, 0)
    return uniform_from_words(w0, w1)


@nb.njit(cache=True, inline="always")
def u32_below(word, n):
    """Map a 32-bit random word to an integer in ``[0, n)`` (multiply-shift).

    The bias is below ``n / 2**32``: for the small ``n`` used here (neighbourhood sizes,
    sentences, agent counts in the millions) it is far below any statistical resolution.
    """
    return np.int64((np.uint64(word) * np.uint64(n)) >> _SHIFT32)


@nb.njit(cache=True)
def poisson_from_uniform(u, lam):
    """The Poisson(``lam``) quantile of ``u`` (inverse CDF, for small ``lam``).

    A pure function of its uniform, so Poisson draws keep the streams' purity. Cost grows
    with ``lam``; meant for means up to a few tens.
    """
    k = 0
    p = np.exp(-lam)
    cdf = p
    while u >= cdf and k < 1000:
        k += 1
        p *= lam / k
        cdf += p
    return k


@nb.njit(cache=True)
def block_size(rate, largest):
    """Ids per block when events at ``rate`` per id are drawn as a Poisson count per block.

    ``largest``, or fewer so that a block's mean stays at most 64 (inversion stays exact).
    """
    if rate * largest <= 64.0:
        return largest
    return max(1, int(64.0 / rate))


@nb.njit(cache=True)
def block_count(seed, stream, step, block, lam):
    """How many events fall in a block of ids: Poisson(``lam``) from the block's sub-0 draw.

    The shared first half of the "events per block" draws (see :func:`block_size`); the
    events themselves are then picked with the block's later subs.
    """
    w0, w1, _, _ = random_block(seed, stream, step, block, 0)
    return poisson_from_uniform(uniform_from_words(w0, w1), lam)


@nb.njit(cache=True)
def _poisson_array(u, lam, out):
    for i in range(u.shape[0]):
        out[i] = poisson_from_uniform(u[i], lam)


def stream_id(name: str) -> int:
    """Stable 32-bit identifier of a stream name (BLAKE2b, identical in every process)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little")


@nb.njit(cache=True)
def _fill_uniform(seed, stream, step, out):
    for i in range(out.shape[0]):
        out[i] = uniform(seed, stream, step, i)


class Streams:
    """The named random streams of one run.

    Args:
        seed: the run's seed, an integer in ``[0, 2**64)``.

    Example:
        >>> streams = Streams(42)
        >>> u = streams.uniform("hardship", step=0, n=3)
        >>> bool(((0 <= u) & (u < 1)).all())
        True
    """

    def __init__(self, seed: int) -> None:
        if not 0 <= int(seed) < 2**64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        self.seed = int(seed)
        self._ids: dict[str, int] = {}

    def id(self, name: str) -> int:
        """The 32-bit identifier of stream ``name`` (cached)."""
        if name not in self._ids:
            self._ids[name] = stream_id(name)
        return self._ids[name]

    def uniform(self, name: str, step: int, n: int) -> np.ndarray:
        """``n`` uniform doubles in [0, 1), element ``i`` drawn with index ``i``."""
        out = np.empty(n, dtype=np.float64)
        _fill_uniform(np.uint64(self.seed), np.uint64(self.id(name)), np.uint64(step), out)
        return out

    def poisson(self, name: str, step: int, lam: float, n: int) -> np.ndarray:
        """``n`` Poisson(``lam``) integers, element ``i`` from the uniform with index ``i``."""
        out = np.empty(n, dtype=np.int64)
        _poisson_array(self.uniform(name, step, n), float(lam), out)
        return out

    def integers(self, name: str, step: int, low: int, high: int, n: int) -> np.ndarray:
        """``n`` integers uniform on ``low..high`` (inclusive), element ``i`` with index ``i``."""
        u = self.uniform(name, step, n)
        return low + np.minimum((u * (high - low + 1)).astype(np.int64), high - low)
