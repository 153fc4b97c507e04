"""Channels that record conversations, cameras, computer checks (docs/odd.md 4.7).

A microphone records a conversation of its context and region with probability
``mic[context][region]``; a wiretap records a phone call with probability ``wiretap``; the
post reads a letter with probability ``post``. A recording carries every open statement
of the conversation. Cameras flag public gatherings of ``k_cctv`` or more people with
probability ``cctv_coverage * cameras(t) / cameras_reference``: a flag strengthens an
open case and never opens one. Computer checks inspect registered computers and find
banned media.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from pydantic import Field

from survsim.apparatus.cases import add_evidence
from survsim.engine.params import StrictModel
from survsim.engine.rng import (
    block_count,
    block_size,
    random_block,
    u32_below,
)
from survsim.society.population import RegionalShares
from survsim.society.speech import CONTEXTS

__all__ = [
    "NO_CHANNEL",
    "ChannelParams",
    "MicrophoneCoverage",
    "computer_checks",
    "recording_table",
]

#: Context -> the channel that can record it (an evidence kind of
#: :mod:`survsim.apparatus.cases`), or NO_CHANNEL.
NO_CHANNEL = -1


class MicrophoneCoverage(StrictModel):
    """Chance that a conversation of a context is recorded, per region (assumptions)."""

    household: RegionalShares = RegionalShares(capital=0.01, interior=0.002, border=0.005)
    work: RegionalShares = RegionalShares(capital=0.02, interior=0.01, border=0.01)
    neighbourhood: RegionalShares = RegionalShares(capital=0.05, interior=0.05, border=0.05)
    public: RegionalShares = RegionalShares(capital=0.02, interior=0.005, border=0.01)


class ChannelParams(StrictModel):
    """Recording channels; sources in docs/odd.md 4.7."""

    microphones: bool = Field(True, description="microphones record (off for oracle tests)")
    mic: MicrophoneCoverage = MicrophoneCoverage()
    wiretap: float = Field(0.05, ge=0, le=1, description="assumption: share of calls")
    post: float = Field(0.1, ge=0, le=1, description="assumption: share of letters read")
    cameras: float = Field(0, ge=0, le=10_000_000, description="cameras installed on day 0")
    cameras_reference: float = Field(
        100_000, gt=0, le=10_000_000, description="seed: about 100,000 cameras bought"
    )
    cctv_coverage: float = Field(
        0.2, ge=0, le=1, description="assumption: chance a gathering is seen at the reference"
    )
    k_cctv: int = Field(3, ge=2, le=20, description="assumption: smallest flagged gathering")
    check_rate: float = Field(0.002, ge=0, le=0.1, description="assumption: per computer-day")

    def camera_coverage(self, cameras: float) -> float:
        """Chance that a public gathering of ``k_cctv`` or more is seen by a camera."""
        return min(1.0, self.cctv_coverage * cameras / self.cameras_reference)


def recording_table(p: ChannelParams, kinds: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per context: the recording channel and its chance per region.

    Args:
        p: the channel parameters.
        kinds: evidence kind codes by name (``microphone``, ``wiretap``, ``correspondence``).

    Returns:
        ``(channel, chance)``: int64 (contexts,) and float64 (contexts, regions).
    """
    channel = np.full(len(CONTEXTS), NO_CHANNEL, dtype=np.int64)
    chance = np.zeros((len(CONTEXTS), 3))
    if p.microphones:
        for name in ("household", "work", "neighbourhood", "public"):
            c = CONTEXTS.index(name)
            channel[c] = kinds["microphone"]
            chance[c] = getattr(p.mic, name).array()
    channel[CONTEXTS.index("phone")] = kinds["wiretap"]
    chance[CONTEXTS.index("phone")] = p.wiretap
    channel[CONTEXTS.index("letters")] = kinds["correspondence"]
    chance[CONTEXTS.index("letters")] = p.post
    return channel, chance


@nb.njit(cache=True)
def computer_checks(
    day, seed, stream, rate, computer_households, household_start, banned_media, cases, kind
):
    """Check registered computers: each household with one is checked with ``rate`` a day.

    The number of checks is drawn per block of 1024 households (Poisson, by inversion),
    the households inside the block uniformly, so the cost is the number of checks, not
    of computers. Every free member of a checked household who uses banned media gets
    evidence of ``kind`` (a computer finding).

    Returns:
        How many people were found.
    """
    n = computer_households.shape[0]
    n_found = 0
    width = block_size(rate, 1024)
    for block in range((n + width - 1) // width):
        lo = block * width
        size = min(width, n - lo)
        checks = block_count(seed, stream, day, block, rate * size)
        for c in range(checks):
            word = random_block(seed, stream, day, block, 1 + c)[0]
            h = computer_households[lo + u32_below(word, size)]
            for i in range(household_start[h], household_start[h + 1]):
                if banned_media[i] and add_evidence(cases, i, kind, day):
                    n_found += 1
    return n_found
