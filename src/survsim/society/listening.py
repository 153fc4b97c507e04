"""Listeners: who reports an open statement, and fabricated reports (docs/odd.md 4.4).

A listener j reports an open statement with probability ``q_j`` if it is an informant (or
the neighbourhood unit's head at a meeting), else ``q0 + d_j(k, c)`` with the defensive
term ``d_j = delta * (1 - (1 - pihat_j)^(k - 2) * (1 - mhat_jc))``. A draw below ``q0``
is an ordinary report, between ``q0`` and ``q0 + d_j`` a defensive one.
"""

from __future__ import annotations

import numba as nb
from pydantic import Field

from survsim.engine.params import StrictModel
from survsim.society.speech import defensive_fear

__all__ = [
    "DEFENSIVE",
    "FABRICATED",
    "INFORMANT",
    "KINDS",
    "NO_REPORT",
    "ORDINARY",
    "ListeningParams",
    "listener_report",
    "report_oracle",
]

#: Kinds of report, as stored in event buffers and counted per day.
INFORMANT, ORDINARY, DEFENSIVE, FABRICATED = 0, 1, 2, 3
KINDS = ("informant", "ordinary", "defensive", "fabricated")
NO_REPORT = -1


class ListeningParams(StrictModel):
    """Parameters of listening and fabrication; sources in docs/odd.md 3.8 and 4.4."""

    q0: float = Field(0.02, ge=0, le=0.5, description="assumption: ordinary reporting")
    defensive: bool = Field(True, description="listeners report defensively (delta of speech)")
    head_zeal: float = Field(0.5, ge=0, le=1, description="assumption: inminban heads")
    fabrication_base: float = Field(0.0005, ge=0, le=0.01, description="assumption")
    fabrication_reward: float = Field(1.0, ge=0, le=10, description="assumption")
    reward: float = Field(1.0, ge=0, le=10, description="assumption (gifts, seed article)")

    @property
    def fabrication_rate(self) -> float:
        """``f = fabrication_base * (1 + fabrication_reward * reward)`` per informant-day."""
        return self.fabrication_base * (1 + self.fabrication_reward * self.reward)


@nb.njit(cache=True)
def listener_report(u, zeal, is_informant, k, pihat, mhat, delta, q0, defensive):
    """The kind of report a listener makes from its uniform ``u``, or ``NO_REPORT``."""
    if is_informant:
        return INFORMANT if u < zeal else NO_REPORT
    if u < q0:
        return ORDINARY
    if defensive and u < q0 + defensive_fear(k, pihat, mhat, delta):
        return DEFENSIVE
    return NO_REPORT


def report_oracle(k: int, p: float, q: float, q0: float) -> float:
    """MODEL.md section 5: ``1 - (1 - p q - (1 - p) q0)^(k - 1)``.

    The chance that an open statement in a group of k is reported by some listener when
    informants are placed independently with probability p and zeal q, with channels,
    learning, fabrication and defensive reporting off.
    """
    return 1.0 - (1.0 - p * q - (1.0 - p) * q0) ** (k - 1)
