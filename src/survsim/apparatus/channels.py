"""Parameters of the channels: microphones, wiretaps, the post, cameras, computer checks.

The channels are mechanisms of their own (docs/odd.md 4.7), sharing this parameter group
(``channels.*``). A microphone records a conversation of its context and region with probability
``mic[context][region]``; a wiretap records a phone call with probability ``wiretap``; the
post reads a letter with probability ``post``. A recording carries every open statement
of the conversation. Cameras flag public gatherings of ``k_cctv`` or more people with
probability ``cctv_coverage * cameras(t) / cameras_reference``: a flag strengthens an
open case and never opens one. Computer checks inspect registered computers and find
banned media.
"""

from __future__ import annotations

from pydantic import Field

from survsim.engine.params import StrictModel
from survsim.society.population import RegionalShares

__all__ = ["ChannelParams", "MicrophoneCoverage"]


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
