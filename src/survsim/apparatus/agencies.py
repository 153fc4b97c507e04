"""The four agencies: jurisdiction, two stages with their capacities (docs/odd.md 4.8).

Jurisdiction goes by the target first (soldiers and officers: MSC; senior officials:
OGD), then by the kind of the evidence that opened the file (informant, inminban-head,
ordinary, defensive, fabricated and failure-to-report reports: SSD; microphones, wiretaps,
the post, border teams and computer checks: MPS). Each agency has two stages (MODEL.md
8.1), each with a daily capacity of ``personnel * political_share * rate *
capacity_scale``, the rate being ``checks_per_day`` or ``cases_per_day`` (investigations),
and personnel scaled from the national figure to the simulated population; the
fractional part carries over, so a small population keeps its per-capita capacity.
:mod:`survsim.apparatus.triage` runs the day; sanctions are in
:mod:`survsim.apparatus.punishment`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from survsim.apparatus.cases import CHECK, INVESTIGATION
from survsim.apparatus.punishment import CHECKS, FLOWS, INVESTIGATIONS
from survsim.apparatus.queues import LENGTH, new_queues
from survsim.apparatus.triage import RING, Desk, agency_day
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.params import StrictModel
from survsim.engine.state import Attribute
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
        0.05, ge=0.0001, le=1, description="assumption: investigations an officer ends a day"
    )
    checks_per_day: float = Field(
        0.15,
        ge=0,
        le=10,
        description="assumption: three checks per investigation, as the Stasi's "
        "8,000 OPK a year to 2,200-3,700 investigations (Joestel 2003)",
    )
    capacity_scale: float = Field(
        1.0, ge=0, le=1000, description="for experiments: multiplies every capacity"
    )
    triage: Literal["ranked", "random"] = Field(
        "ranked", description="ranked: highest scores first; random: the negative control"
    )
    check_score: float = Field(
        0.5, ge=0, le=1000, description="assumption: theta_check, half a fresh report"
    )
    warn_score: float = Field(
        0.75, ge=0, le=1000, description="assumption: a check warns from this score"
    )
    investigate_score: float = Field(
        1.5, ge=0, le=1000, description="assumption: theta_inv, more than one report"
    )
    recheck_days: int = Field(
        365, ge=1, le=RING - 1, description="assumption: a checked file rests this long"
    )
    jurisdiction: Jurisdiction = Jurisdiction()

    def capacity(self, scale: float) -> np.ndarray:
        """(stage, agency): checks and investigations a day (``scale``: simulated/national)."""
        officers = np.array(
            [getattr(self, a).personnel * getattr(self, a).political_share for a in AGENCIES]
        )
        rates = np.array([[self.checks_per_day], [self.cases_per_day]])
        return officers * rates * scale * self.capacity_scale

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


STAGES = ("checks", "investigations")


class Agencies(Mechanism):
    """Each agency checks the highest files, investigates the escalated, sanctions."""

    name = "agencies"
    group = "agencies"
    params_class = AgenciesParams
    arrays = (Attribute("warned", np.bool_, False, "people", "has had a warning (and knows it)"),)
    streams = ("verdict",)
    checkpoint_skip = ("_by_agency", "_rules", "_stage_capacity")
    columns: ClassVar[dict[str, type]] = {
        **{flow: np.int64 for flow in FLOWS},
        **{f"{flow}_{a}": np.int64 for flow in FLOWS[:7] for a in AGENCIES},
        **{f"queue_{stage}": np.int64 for stage in STAGES},
        **{f"queue_{stage}_{a}": np.int64 for stage in STAGES for a in AGENCIES},
        **{f"utilisation_{stage}": np.float64 for stage in STAGES},
        "resting_files": np.int64,
        "sanctioned_statements": np.int64,
        "sanctioned_score": np.float64,
    }

    def init(self) -> None:
        """Empty counters and resting queues; no capacity carried yet."""
        n = len(AGENCIES)
        self.flows = np.zeros((n, len(FLOWS)), dtype=np.int64)
        self.budget = np.zeros((2, n))  # capacity left (fractional carry)
        self.prior = np.zeros(2)  # today's sanctioned: open statements, file scores
        self.rest = new_queues(n)
        self.rest_days = np.zeros((n, RING), dtype=np.int64)
        self.rest_from = np.zeros(n, dtype=np.int64)
        self._by_agency = [  # (flow index, agency index, column), written every day
            (k, a, f"{flow}_{name}") for a, name in enumerate(AGENCIES)
            for k, flow in enumerate(FLOWS[:7])
        ]  # fmt: skip

    def derive(self) -> None:
        """Each stage's capacity at the simulated population's scale."""
        self.capacity = self.pars.capacity(self.sim.params.scale)
        self._stage_capacity = self.capacity.sum(axis=1).tolist()
        self._rules = None  # the thresholds or the sentencing rules may have changed

    def desk(self) -> Desk:
        """The rules of the day's checks and investigations, and the resting files."""
        q, c = self.pars, self.sim.params.cases
        return Desk(q.check_score, q.warn_score, q.investigate_score, q.recheck_days, c.c1,
                    c.c_max, self.rest, self.rest_days, self.rest_from)  # fmt: skip

    def steps(self):
        """The checks and investigations of the day, with the apparatus."""
        if self.sim.params.apparatus:
            yield Step("agencies", self.day, "checks and investigations, highest files first; "
                       "sanctions", "verdicts")  # fmt: skip

    def day(self) -> None:
        """Check, investigate and sanction up to today's capacities."""
        sim = self.sim
        self.flows[:] = 0
        self.prior[:] = 0
        files = sim.mechanism("cases")
        whole = np.floor(self.budget + self.capacity)
        # Escalations and woken files must fit in the heaps (investigation heaps first).
        files.make_room_all(np.concatenate((self.rest[:, LENGTH], whole[CHECK])))
        log = arrest_log(sim)
        # Every sanction can arrest a household: make room for the worst case.
        log.make_room(int(whole[INVESTIGATION].sum()) * 10 + 16, int(whole[CHECK].sum()) + 16)
        if self._rules is None:
            s = sim.pop.people
            self._rules = (self.desk(), sim.mechanism("punishment").sentences(), s.warned,
                           s.said, files.stream("triage"), self.stream("verdict"))  # fmt: skip
        desk, sentences, warned, said, s_triage, s_verdict = self._rules
        written = log.bundle()
        agency_day(sim.t, sim.seed64, s_triage, s_verdict, files.C, desk, sentences, self.budget,
                   self.capacity, self.flows, self.prior, warned, said, written)  # fmt: skip
        log.n, log.n_warned = (int(x) for x in written.count)

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """The day's flows by agency and in all, queue lengths and utilisation."""
        flows = self.flows.tolist()
        for k, flow in enumerate(FLOWS):
            columns[flow][t] = sum(row[k] for row in flows)
        size = self.sim.mechanism("cases").heap_size.reshape(2, -1).tolist()
        done = (sum(row[CHECKS] for row in flows), sum(row[INVESTIGATIONS] for row in flows))
        for st, stage in enumerate(STAGES):
            columns[f"queue_{stage}"][t] = sum(size[st])
            capacity = self._stage_capacity[st]
            columns[f"utilisation_{stage}"][t] = done[st] / capacity if capacity > 0 else 0.0
            for a, name in enumerate(AGENCIES):
                columns[f"queue_{stage}_{name}"][t] = size[st][a]
        for k, a, name in self._by_agency:
            columns[name][t] = flows[a][k]
        columns["resting_files"][t] = int(self.rest[:, LENGTH].sum())
        columns["sanctioned_statements"][t] = int(self.prior[0])
        columns["sanctioned_score"][t] = self.prior[1]
