"""The four agencies, their jurisdiction, capacity and queues (docs/odd.md 4.8).

Jurisdiction goes by the target first (soldiers and officers: MSC; senior officials:
OGD), then by the kind of the evidence that opened the case (informant, inminban-head,
ordinary, defensive, fabricated and failure-to-report reports: SSD; microphones, wiretaps,
the post, border teams and computer checks: MPS). An agency closes at most
``personnel * political_share * cases_per_day`` cases a day, with personnel scaled from
the national figure to the simulated population; the fractional part carries over, so a
small population keeps its per-capita capacity. Queues are first in, first out: a linked
list through the people (``next_in_queue``), so they cost 4 bytes per person however long
they grow, and the oldest case is always at the head.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from pydantic import Field

from survsim.engine.params import StrictModel

__all__ = [
    "AGENCIES",
    "AgenciesParams",
    "Agency",
    "Jurisdiction",
    "enqueue",
    "queue_arrays",
]

AGENCIES = ("ssd", "mps", "msc", "ogd")
HEAD, TAIL, LENGTH = 0, 1, 2


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


def queue_arrays(n_people: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty queues: ``(queue, next_in_queue)``; ``queue[a] = head, tail, length``."""
    queue = np.full((len(AGENCIES), 3), -1, dtype=np.int64)
    queue[:, LENGTH] = 0
    return queue, np.full(n_people, -1, dtype=np.int32)


@nb.njit(cache=True)
def enqueue(queue, next_in_queue, agency, person):
    """Append ``person``'s case at the tail of ``agency``'s queue."""
    next_in_queue[person] = -1
    if queue[agency, LENGTH] == 0:
        queue[agency, HEAD] = person
    else:
        next_in_queue[queue[agency, TAIL]] = person
    queue[agency, TAIL] = person
    queue[agency, LENGTH] += 1


@nb.njit(cache=True)
def dequeue(queue, next_in_queue, agency):
    """Remove and return the oldest case of ``agency`` (-1 if the queue is empty)."""
    if queue[agency, LENGTH] == 0:
        return -1
    person = queue[agency, HEAD]
    queue[agency, HEAD] = next_in_queue[person]
    queue[agency, LENGTH] -= 1
    if queue[agency, LENGTH] == 0:
        queue[agency, TAIL] = -1
    next_in_queue[person] = -1
    return person
