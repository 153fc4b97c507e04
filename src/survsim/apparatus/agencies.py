"""The four agencies, their jurisdiction, capacity and queues (docs/odd.md 4.8).

Jurisdiction goes by the target first (soldiers and officers: MSC; senior officials:
OGD), then by the kind of the evidence that opened the case (informant, inminban-head,
ordinary, defensive, fabricated and failure-to-report reports: SSD; microphones, wiretaps,
the post, border teams and computer checks: MPS). An agency closes at most
``personnel * political_share * cases_per_day`` cases a day, with personnel scaled from
the national figure to the simulated population; the fractional part carries over, so a
small population keeps its per-capita capacity. Queues are first in, first out
(:mod:`survsim.apparatus.queues`). Verdicts and their punishment are in
:mod:`survsim.apparatus.punishment`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from survsim.apparatus.punishment import VERDICT_COUNTS, close_cases
from survsim.apparatus.queues import LENGTH
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.params import StrictModel
from survsim.society.beliefs import arrest_log

__all__ = [
    "AGENCIES",
    "Agencies",
    "AgenciesParams",
    "Agency",
    "Jurisdiction",
]

AGENCIES = ("ssd", "mps", "msc", "ogd")


class Agency(StrictModel):
    """One agency: national personnel and the share working political cases."""

    personnel: float = Field(ge=0, le=2_000_000, description="people, national")
    political_share: float = Field(ge=0, le=1, description="share on political cases")


class Jurisdiction(StrictModel):
    """Which agency takes a case: by the target's role first, then by the evidence."""

    soldier: str = Field("msc", pattern="^(ssd|mps|msc|ogd|channel)$")
    officer: str = Field("msc", pattern="^(ssd|mps|msc|ogd|channel)$")
    senior: str = Field("ogd", pattern="^(ssd|mps|msc|ogd|channel)$")
    civilian: str = Field("channel", pattern="^(ssd|mps|msc|ogd|channel)$")
    witness_reports: str = Field("ssd", pattern="^(ssd|mps|msc|ogd)$")
    recordings: str = Field("mps", pattern="^(ssd|mps|msc|ogd)$")


class AgenciesParams(StrictModel):
    """Personnel, capacity and jurisdiction; sources in docs/odd.md 4.8."""

    ssd: Agency = Agency(personnel=50_000, political_share=0.5)
    mps: Agency = Agency(personnel=175_000, political_share=0.1)
    msc: Agency = Agency(personnel=10_000, political_share=0.3)
    ogd: Agency = Agency(personnel=2_000, political_share=0.3)
    cases_per_day: float = Field(
        0.05, ge=0.0001, le=1, description="assumption: cases one investigator closes a day"
    )
    case_expiry_days: int = Field(
        365, ge=0, le=36500, description="assumption: older cases are dropped; 0: never"
    )
    jurisdiction: Jurisdiction = Jurisdiction()

    def capacity(self, scale: float) -> np.ndarray:
        """Cases each agency can close per simulated day (``scale``: simulated/national)."""
        return np.array(
            [
                getattr(self, a).personnel
                * getattr(self, a).political_share
                * self.cases_per_day
                * scale
                for a in AGENCIES
            ]
        )

    def routing(self, witness_kinds: int, n_kinds: int) -> tuple[np.ndarray, np.ndarray]:
        """``(by_role, by_kind)``: agency codes by role (-1: by evidence) and by kind."""
        j = self.jurisdiction
        code = {name: i for i, name in enumerate(AGENCIES)} | {"channel": -1}
        by_role = np.array(
            [-1, code[j.civilian], code[j.soldier], code[j.officer], code[j.senior]], dtype=np.int64
        )
        by_kind = np.full(n_kinds, code[j.recordings], dtype=np.int64)
        by_kind[:witness_kinds] = code[j.witness_reports]
        return by_role, by_kind


class Agencies(Mechanism):
    """The agencies close cases at their capacity, oldest first, and give verdicts."""

    name = "agencies"
    group = "agencies"
    params_class = AgenciesParams
    streams = ("verdict",)
    counters = VERDICT_COUNTS
    columns: ClassVar[dict[str, type]] = {
        **{f"queue_{a}": np.int64 for a in AGENCIES},
        **{f"closed_{a}": np.int64 for a in AGENCIES},
    }

    def init(self) -> None:
        """Empty day counters; no capacity carried yet."""
        self.closed = np.zeros(len(AGENCIES), dtype=np.int64)  # today's closures
        self.budget = np.zeros(len(AGENCIES))  # capacity left (fractional carry)

    def derive(self) -> None:
        """Each agency's cases a day at the simulated population's scale."""
        self.capacity = self.pars.capacity(self.sim.params.scale)

    def steps(self):
        """The verdicts of the day, with the apparatus."""
        if self.sim.params.apparatus:
            yield Step("agencies", self.day, "agencies close cases oldest first; verdicts",
                       "verdicts")  # fmt: skip

    def day(self) -> None:
        """Close up to today's capacity; the convicted are detained (the arrest log)."""
        sim, p = self.sim, self.sim.params
        self.closed[:] = 0
        self.budget += self.capacity
        log = arrest_log(sim)
        # Every closure can arrest a household: make room for the worst case.
        log.make_room(int(np.floor(self.budget).sum()) * 10 + 16)
        s, pu = sim.pop.people, p.punishment
        cases = sim.mechanism("cases").C
        log.n = close_cases(sim.t, sim.seed64, self.stream("verdict"), self.budget, cases,
                            p.cases.c1, p.cases.c_max, self.pars.case_expiry_days,
                            pu.detention_days, pu.p_family, s.household,
                            sim.pop.household_start, s.release_day, log.arrested,
                            log.recorded, self.counts, self.closed)  # fmt: skip

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """Queue lengths and the day's closures by agency."""
        queue = self.sim.mechanism("cases").C.queue
        for a, name in enumerate(AGENCIES):
            columns[f"queue_{name}"][t] = queue[a, LENGTH]
            columns[f"closed_{name}"][t] = self.closed[a]
