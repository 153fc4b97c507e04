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
from typing import ClassVar

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.mechanism import Mechanism, bundle
from survsim.engine.params import StrictModel
from survsim.engine.state import Attribute
from survsim.society.bundles import Rules, Talk, fold
from survsim.society.names import CONTEXTS

__all__ = [
    "CONTEXTS",
    "ContextValues",
    "Speech",
    "SpeechParams",
    "defensive_fear",
    "effective_listener_risk",
    "perceived_risk",
    "speak_probability",
]


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


class Speech(Mechanism):
    """Who speaks openly: the rule above, applied in every group where the topic comes up.

    It holds what the conversations of all contexts share (:class:`Talk`: the bundles,
    the tally of what was said, the evidence events) and records the day's speech.
    """

    name = "speech"
    group = "speech"
    params_class = SpeechParams
    arrays = (
        Attribute("ever_spoke", np.bool_, False, "people", "spoke openly at least once"),
        Attribute("said", np.uint16, 0, "people", "open statements made (stops at 65,535)"),
        Attribute("busy_day", np.int32, -1, "people", "day of the busy flags"),
        Attribute("busy", np.uint8, 0, "people", "contexts taken part in on busy_day (bits)"),
    )
    columns: ClassVar[dict[str, type]] = {
        "spoke_openly": np.int64,
        "statements": np.int64,
        "silent_witnesses": np.int64,
        "mean_perceived_risk": np.float64,
    }

    def init(self) -> None:
        """The shared conversation state (scratch as wide as the widest unit)."""
        pop = self.sim.pop
        widest = max(
            int(np.diff(pop.work_start).max(initial=0)),
            int(np.diff(pop.nunit_person_start).max(initial=0)),
            16,
        )
        self.sim.talk = Talk(pop.people, widest, self.sim.streams)
        self._previous = {"speakers": 0, "statements": 0, "silent": 0}

    def derive(self) -> None:
        """The rules of speaking and listening as the parameters stand."""
        p = self.sim.params
        sp = self.pars
        self.sim.talk.R = bundle(
            Rules,
            sp,
            p.listening,
            p.beliefs,
            anticipate=sp.anticipate_defensive,
            closeness=sp.closeness.array(),
            bugging=sp.believed_bugging.array(),
            pi0=p.population.pi_hat0,
        )

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """The day's speakers, statements, silent witnesses and mean perceived risk."""
        talk = self.sim.talk
        fold(talk.chunk_tally, talk.tally)
        tally, before = talk.tally, self._previous
        statements = int(tally.statements.sum())
        columns["spoke_openly"][t] = tally.speakers[0] - before["speakers"]
        columns["statements"][t] = statements - before["statements"]
        columns["silent_witnesses"][t] = tally.silent[0] - before["silent"]
        before.update(
            speakers=int(tally.speakers[0]), statements=statements, silent=int(tally.silent[0])
        )
        columns["mean_perceived_risk"][t] = tally.risk[0] / tally.risk[1] if tally.risk[1] else 0.0
        tally.risk[:] = 0.0
