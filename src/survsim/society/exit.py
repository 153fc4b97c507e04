"""Exit: border residents attempt to cross the border (docs/odd.md 4.7b; MODEL.md 8.3).

A free adult who lives in the border region and is not an informant attempts to cross at
the daily hazard

    h_i = base_rate * g_i * (1 - d_hat_i),    d_hat_i = min(1, suspicion_i * believed_detection)

with ``g_i`` its grievance today (read with its lazy decay, not written back) and
``d_hat_i`` the chance it believes an attempt is seen (its suspicion of being watched,
the multiplier its beliefs keep for bugging, times ``believed_detection``). Attempts are
drawn per block of border residents at the rate ``base_rate`` (a Poisson count, uniform
picks) and kept with probability ``g_i (1 - d_hat_i)``, so each resident attempts at the
Poisson rate ``h_i`` and the draws cost the candidates, not the people.

Border teams see an attempt with the chance ``min(1, detection_scale * coverage)``,
``coverage`` being today's chance that a border household is watched by a team (MODEL.md
3.8, :mod:`survsim.apparatus.border`). A detected attempt is evidence of kind
``crossing`` about the person, who stays free (the files and triage deal with it). An
undetected attempt succeeds: the person leaves the population like the dead (status
dead), and demography may give the slot to a newborn of the same household (4.10). The
crossings are counted apart from the deaths. Without the apparatus the step is left out,
as demography is: the population then stays fixed.
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.events import chunk_events, emit, room
from survsim.engine.mechanism import Mechanism, Step, bundle
from survsim.engine.params import StrictModel
from survsim.engine.rng import (
    block_count,
    block_size,
    random_block,
    u32_below,
    uniform_from_words,
)
from survsim.society.beliefs import current
from survsim.society.names import BORDER, CHILD, CROSSING, DEAD, FREE

__all__ = ["Exit", "ExitParams", "Leavers", "attempt_crossings", "attempt_hazard"]

_BLOCK = 1024
_CHUNK0 = np.int64(0)
_TWO_M32 = 1.0 / 4294967296.0

#: The per-person arrays an attempt reads and writes (``release`` is ``release_day``).
Leavers = namedtuple(
    "Leavers", "role status informant grievance grievance0 belief_day suspicion release"
)


class ExitParams(StrictModel):
    """Attempts to cross the border; sources in docs/odd.md 4.7b."""

    base_rate: float = Field(
        0.00006,
        ge=0,
        le=1,
        description="per border resident and day at g = 1 and d_hat = 0; fitted so that the "
        "dprk scenario at national scale gives about 2,000 crossings a year, the order of "
        "the 1,047-2,914 North Koreans a year who reached South Korea in 2009-2019 (South "
        "Korean Ministry of Unification arrival statistics; most attempts fail or are "
        "never counted)",
    )
    believed_detection: float = Field(
        0.3,
        ge=0,
        le=1,
        description="assumption (range 0-1): believed chance that an attempt is seen, "
        "per unit of suspicion",
    )
    detection_scale: float = Field(
        1.0,
        ge=0,
        le=20,
        description="assumption: an attempt is seen with the border teams' household "
        "coverage times this (1: exactly the coverage, MODEL.md 3.8)",
    )


@nb.njit(cache=True)
def attempt_hazard(rate, g, suspicion, believed):
    """``h = rate * g * (1 - min(1, suspicion * believed))``: the daily attempt hazard."""
    return rate * g * (1.0 - min(1.0, suspicion * believed))


@nb.njit(cache=True)
def attempt_crossings(day, seed, stream, rate, border, X, g_decay, believed, detect, K,
                      k_attempts, k_crossings, k_detected, E, cursor):  # fmt: skip
    """Today's attempts to cross among the residents listed in ``border``.

    Candidates are drawn per block of ``border`` at ``rate`` (Poisson count, uniform
    picks, each from sub ``1 + c`` of the block); a candidate who is a free adult and no
    informant attempts with probability ``g (1 - d_hat)`` (words 1-2) and is seen with
    probability ``detect`` (word 3). A seen attempt writes an evidence event of kind
    ``crossing``; an unseen one marks the person dead on ``day`` (it left). Counts go to
    ``K``. Runs in one chunk; stops when its event row is full and goes on from
    ``cursor[0]`` (block, draw) when called again
    (:meth:`survsim.engine.events.EventTable.produce`).
    """
    events = chunk_events(E, _CHUNK0)
    cur = cursor[0]
    n = border.shape[0]
    width = block_size(rate, _BLOCK)
    for block in range(cur[0], (n + width - 1) // width):
        lo = block * width
        size = min(width, n - lo)
        first = cur[1] if block == cur[0] else 0
        for c in range(first, block_count(seed, stream, day, block, rate * size)):
            if not room(events, 1):
                cur[0] = block
                cur[1] = c
                return
            w0, w1, w2, w3 = random_block(seed, stream, day, block, 1 + c)
            i = np.int64(border[lo + u32_below(w0, size)])
            if X.role[i] == CHILD or X.status[i] != FREE or X.informant[i]:
                continue
            g = current(X.grievance[i], X.grievance0[i], day - X.belief_day[i], g_decay)
            if uniform_from_words(w1, w2) >= attempt_hazard(1.0, g, X.suspicion[i], believed):
                continue
            K[k_attempts] += 1
            if np.float64(w3) * _TWO_M32 < detect:
                K[k_detected] += 1
                emit(events, i, CROSSING, day)
            else:
                X.status[i] = DEAD
                X.release[i] = day
                K[k_crossings] += 1
    cur[2] = 1


class Exit(Mechanism):
    """Border residents attempt to cross; border teams see some attempts (MODEL.md 8.3)."""

    name = "exit"
    group = "exit"
    params_class = ExitParams
    streams = ("exit",)
    counters = ("crossing_attempts", "crossings", "crossings_detected")
    produces = ("crossing",)

    def init(self) -> None:
        """The residents of the border region (regions never change); the teams' row."""
        sim = self.sim
        self.border = np.flatnonzero(sim.pop.people.region == BORDER).astype(np.int32)
        try:
            self.row = int(sim.mechanism("border teams").row)
        except KeyError:  # a model without border teams: nobody is seen
            self.row = -1

    def steps(self):
        """The day's attempts, with the apparatus (as demography: otherwise nobody leaves)."""
        if self.sim.params.apparatus:
            yield Step("exit", self.cross, "border residents attempt to cross the border",
                       "checks")  # fmt: skip

    def detection(self) -> float:
        """Today's chance that a border team sees an attempt."""
        if self.row < 0:
            return 0.0
        coverage = float(self.sim.talk.watchers.coverage[self.row, BORDER])
        return min(1.0, self.pars.detection_scale * coverage)

    def cross(self) -> None:
        """Today's attempts: the seen ones are evidence, the others leave."""
        sim, p, talk = self.sim, self.pars, self.sim.talk
        if p.base_rate <= 0.0 or self.border.size == 0:
            return
        s = sim.pop.people
        leavers = bundle(Leavers, s, release=s.release_day)
        args = (sim.t, sim.seed64, self.stream("exit"), p.base_rate, self.border, leavers,
                sim.params.beliefs.grievance_decay, p.believed_detection, self.detection(),
                self.counts, self.counter("crossing_attempts"), self.counter("crossings"),
                self.counter("crossings_detected"))  # fmt: skip
        talk.serial_events.produce(lambda E, cursor: attempt_crossings(*args, E, cursor))
