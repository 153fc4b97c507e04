"""Speech: who says what they think when a sensitive topic comes up (docs/odd.md 4.2).

Person i in a group of k people in context c speaks openly with probability

    P = sigmoid((g_i - r_i * R_i(k, c) * L_i / L_ref + lambda * O_i - T_i) / tau)

(MODEL.md 8.2). ``R_i`` is the perceived chance that the statement is reported and
punished, learned from what i has seen (:mod:`survsim.society.beliefs`):

    R_i(k, c) = 1 - (1 - mhat_ic) * (1 - w_c * a_i,s(k))^(k - 1),
    a_i,s = 1 - (1 - phat_i,s)^(1 / (kbar_i,s - 1)),
    phat_i,s = (n0 * p0_i,s + A_i,s) / (n0 + H_i,s + A_i,s),

with s(k) the class of the group (pairs, three or more), ``H`` the open statements i
heard and ``A`` the sanctions it saw in that class (both decayed), and the prior
``p0_i,s = 1 - (1 - a0)^(kbar_i,s - 1)`` that makes the per-listener risk ``a0`` in both
classes before anything is seen: the prior assumes no break at k = 3. ``L_i`` is the
loss i believes a sanction brings (prison-years), against the fixed reference
``L_REF``; ``O_i`` the share of open speakers among the people it heard (Kuran's
cascades; ``conformity`` = 0 turns them off). With ``anticipate_defensive`` on (version
1's assumption, off by default) a speaker also expects the defensive reporting
``D = delta * (1 - (1 - a)^(k - 2) * (1 - mhat))`` of its listeners, so the break at
k = 3 is assumed rather than learned.
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
from survsim.society.names import CONTEXTS, PUBLIC

__all__ = [
    "CONTEXTS",
    "GROUP_EIGHTHS",
    "L_REF",
    "ContextValues",
    "Speech",
    "SpeechParams",
    "class_prior",
    "defensive_fear",
    "effective_listener_risk",
    "group_priors",
    "learned_chance",
    "listener_risk",
    "perceived_risk",
    "speak_probability",
]

#: The loss a sanction brings that people weigh against, in prison-years: one fixed
#: reference for every scenario (MODEL.md 8.2), so halving a scenario's severity halves
#: what its people come to fear. Also the believed loss before anything is seen.
L_REF = 10.0
#: ``group_size`` (the mean size of a person's groups of three or more) is kept in eighths
#: of a person (uint8): 3.0 is 24.
GROUP_EIGHTHS = 8.0


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
    threshold_sd: float = Field(
        0.0, ge=0, le=0.5, description="spread of T across people (Granovetter 1978); 0: one T"
    )
    tau: float = Field(0.02, ge=0.001, le=0.2, description="assumption: smoothness")
    delta: float = Field(0.5, ge=0, le=1, description="assumption: defensive reporting")
    anticipate_defensive: bool = Field(
        False, description="version 1: speakers assume listeners' defensive reporting"
    )
    prior_strength: float = Field(
        0.5, ge=0.01, le=1e6, description="n0: statements the prior is worth (assumption)"
    )
    warning_weight: float = Field(
        20.0, ge=0, le=1000, description="n_warn: sanctions a warning received counts as"
    )
    loss_learning: float = Field(
        0.2, ge=0, le=1, description="weight of each sanction seen in the believed loss"
    )
    conformity: float = Field(
        0.1, ge=0, le=1, description="lambda: pull of others' open speech (Kuran 1995)"
    )
    camera_visibility: float = Field(
        0.1,
        ge=0,
        le=1,
        description="v: believed bugging of public places per cameras_reference (assumption)",
    )
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


@nb.njit(cache=True, inline="always")
def learned_chance(n0, p0, seen, heard):
    """``(n0 p0 + A) / (n0 + H + A)``: the Beta-Bernoulli chance, in [0, 1] by construction."""
    return (n0 * p0 + seen) / (n0 + heard + seen)


@nb.njit(cache=True, inline="always")
def listener_risk(p, kbar):
    """``1 - (1 - p)^(1 / (kbar - 1))``: the per-listener risk behind a per-statement p."""
    if kbar <= 2.0:
        return p
    return 1.0 - (1.0 - p) ** (1.0 / (kbar - 1.0))


@nb.njit(cache=True)
def class_prior(a0, kbar):
    """``1 - (1 - a0)^(kbar - 1)``: the per-statement prior of a class of mean size kbar."""
    return 1.0 - (1.0 - a0) ** (kbar - 1.0)


@nb.njit(cache=True)
def group_priors(a0, eighths):
    """``class_prior(a0, e / eighths)`` for every stored mean group size ``e`` (0-255).

    The mean size of a person's groups of three or more is stored in eighths (a uint8),
    so its class prior takes at most 256 values: looked up, not recomputed per speaker.
    """
    table = np.empty(256)
    for e in range(256):
        table[e] = class_prior(a0, e / eighths)
    return table


@nb.njit(cache=True, inline="always")
def defensive_fear(k, a, mhat, delta):
    """``delta * (1 - (1 - a)^(k - 2) * (1 - mhat))``: fear that others pass it on."""
    if k < 2:
        return 0.0
    return delta * (1.0 - (1.0 - a) ** (k - 2) * (1.0 - mhat))


@nb.njit(cache=True, inline="always")
def perceived_risk(k, w, a, mhat, delta, anticipate):
    """``R(k, c)`` from the per-listener risk ``a`` (and ``D`` if ``anticipate``)."""
    d = defensive_fear(k, a, mhat, delta) if anticipate else 0.0
    x = min(1.0, w * (a + d))
    return 1.0 - (1.0 - mhat) * (1.0 - x) ** (k - 1)


@nb.njit(cache=True, inline="always")
def speak_probability(g, r, risk, threshold, tau, loss=1.0, pull=0.0):
    """``sigmoid((g - r * risk * loss + pull - T) / tau)``, computed without overflow.

    ``loss`` is the believed loss over ``L_REF``; ``pull`` is ``lambda * O``.
    """
    x = (g - r * risk * loss + pull - threshold) / tau
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def effective_listener_risk(k: int, w: float, a: float, delta: float, anticipate: bool) -> float:
    """The per-listener risk implied by ``R(k)`` with no microphone: ``1 - (1 - R)^(1/(k-1))``.

    Constant in k without anticipated defensive reporting; with it, it jumps at k = 3
    (docs/odd.md 4.2, "the break at k = 3").
    """
    risk = perceived_risk(k, w, a, 0.0, delta, anticipate)
    return 1.0 - (1.0 - risk) ** (1.0 / (k - 1))


class Speech(Mechanism):
    """Who speaks openly: the rule above, applied in every group where the topic comes up.

    It holds what the conversations of all contexts share (:class:`Talk`: the bundles,
    the tally of what was said, the evidence events) and records the day's speech.
    """

    name = "speech"
    group = "speech"
    params_class = SpeechParams
    streams = ("threshold",)
    arrays = (
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
            a0=p.population.pi_hat0,
            group_prior=group_priors(p.population.pi_hat0, GROUP_EIGHTHS),
            s_threshold=np.uint64(self.stream("threshold")),
        )

    def see_cameras(self, cameras: float, reference: float) -> None:
        """Believed bugging of public places rises with the cameras people can see.

        ``mhat_public = m0_public + camera_visibility * cameras / reference`` (at most 1).
        """
        sp = self.pars
        seen = sp.camera_visibility * cameras / reference if reference > 0 else 0.0
        self.sim.talk.R.bugging[PUBLIC] = min(1.0, sp.believed_bugging.public + seen)

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
