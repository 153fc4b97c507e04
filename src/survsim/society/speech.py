"""Speech: who says what they think when a sensitive topic comes up (docs/odd.md 4.2).

Person i in a group of k people in context c speaks openly with probability

    P = sigmoid((g_i - r_i * R_i(k, c) - T) / tau)

where the perceived chance of being reported is

    R_i(k, c) = 1 - (1 - mhat) * (1 - a)^(k - 1),   a = min(1, w_c * (pihat + D)),
    D = delta * (1 - (1 - pihat)^(k - 2) * (1 - mhat))

``D`` is the defensive reporting i expects from a listener who fears that someone else (one
of the other k - 2 listeners, or a microphone) will pass the statement on.
"""

from __future__ import annotations

import math

import numba as nb
from pydantic import Field

from survsim.engine.params import StrictModel

__all__ = [
    "CONTEXTS",
    "ContextValues",
    "SpeechParams",
    "defensive_fear",
    "effective_listener_risk",
    "perceived_risk",
    "speak_probability",
]

#: The seven contexts of a conversation, in the order of a day (docs/odd.md 4.1).
CONTEXTS = ("household", "work", "neighbourhood", "friends", "phone", "letters", "public")


class ContextValues(StrictModel):
    """One number per context."""

    household: float = Field(ge=0, le=1)
    work: float = Field(ge=0, le=1)
    neighbourhood: float = Field(ge=0, le=1)
    friends: float = Field(ge=0, le=1)
    phone: float = Field(ge=0, le=1)
    letters: float = Field(ge=0, le=1)
    public: float = Field(ge=0, le=1)

    def array(self):
        """The values in context order."""
        import numpy as np

        return np.array([getattr(self, c) for c in CONTEXTS], dtype=np.float64)


class SpeechParams(StrictModel):
    """Parameters of the speech rule; sources in docs/odd.md 3.7 and 4.2."""

    threshold: float = Field(0.1, ge=0, le=0.5, description="T (Epstein 2002)")
    tau: float = Field(0.02, ge=0.001, le=0.2, description="assumption: smoothness")
    delta: float = Field(0.5, ge=0, le=1, description="assumption: defensive reporting")
    anticipate_defensive: bool = Field(True, description="speakers reckon with D")
    closeness: ContextValues = Field(
        ContextValues(
            household=0.3,
            work=1.0,
            neighbourhood=1.0,
            friends=0.5,
            phone=0.6,
            letters=0.6,
            public=1.0,
        ),
        description="w_c: assumption",
    )
    believed_bugging: ContextValues = Field(
        ContextValues(
            household=0.02,
            work=0.05,
            neighbourhood=0.1,
            friends=0.01,
            phone=0.2,
            letters=0.3,
            public=0.1,
        ),
        description="m0_c: assumption",
    )


@nb.njit(cache=True)
def defensive_fear(k, pihat, mhat, delta):
    """``delta * (1 - (1 - pihat)^(k - 2) * (1 - mhat))``: fear that others pass it on."""
    if k < 2:
        return 0.0
    return delta * (1.0 - (1.0 - pihat) ** (k - 2) * (1.0 - mhat))


@nb.njit(cache=True)
def perceived_risk(k, w, pihat, mhat, delta, anticipate):
    """``R(k, c)``: the perceived chance that an open statement in a group of k is reported."""
    d = defensive_fear(k, pihat, mhat, delta) if anticipate else 0.0
    a = min(1.0, w * (pihat + d))
    return 1.0 - (1.0 - mhat) * (1.0 - a) ** (k - 1)


@nb.njit(cache=True)
def speak_probability(g, r, risk, threshold, tau):
    """``sigmoid((g - r * risk - T) / tau)``, computed without overflow."""
    x = (g - r * risk - threshold) / tau
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def effective_listener_risk(
    k: int, w: float, pihat: float, delta: float, anticipate: bool
) -> float:
    """The per-listener risk implied by ``R(k)`` with no microphone: ``1 - (1 - R)^(1/(k-1))``.

    Constant in k without anticipated defensive reporting; with it, it jumps at k = 3
    (docs/odd.md 4.2, "the break at k = 3").
    """
    risk = perceived_risk(k, w, pihat, 0.0, delta, anticipate)
    return 1.0 - (1.0 - risk) ** (1.0 / (k - 1))
