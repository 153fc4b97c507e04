"""Border teams (docs/odd.md 4.7; MODEL.md 3.8).

Border-region surveillance personnel ``P_b`` (national) work in teams of ``team_size``;
each team watches ``households_per_team`` households a day, so a border household's
conversation on a given day is watched with probability
``min(1, (P_b * scale / team_size) * households_per_team / border_households)``. A watched
household conversation is recorded like a microphone recording (evidence kind
``border``). Cutting teams from five people to three with the same personnel widens
coverage by 5/3: the seed article's policy question.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from survsim.engine.mechanism import Mechanism
from survsim.engine.params import StrictModel
from survsim.society.names import BORDER

__all__ = ["BorderParams", "BorderTeams", "border_coverage"]


class BorderParams(StrictModel):
    """Border surveillance teams; sources in docs/odd.md 4.7."""

    personnel: float = Field(10_000, ge=0, le=1_000_000, description="assumption, national")
    team_size: int = Field(5, ge=1, le=20, description="seed article: five, cut to three")
    households_per_team: float = Field(
        20, ge=0, le=1000, description="assumption: households one team watches a day"
    )


def border_coverage(p: BorderParams, scale: float, border_households: int) -> float:
    """Chance that a border household's conversation today is watched by a team.

    Args:
        p: the border parameters.
        scale: simulated population / national population.
        border_households: households in the border region of the simulated population.
    """
    if border_households <= 0:
        return 0.0
    teams = p.personnel * scale / p.team_size
    return min(1.0, teams * p.households_per_team / border_households)


class BorderTeams(Mechanism):
    """Border teams watch household conversations in the border region."""

    name = "border teams"
    group = "border"
    params_class = BorderParams
    produces = ("border",)
    columns: ClassVar[dict[str, type]] = {"border_coverage": np.float64}
    #: The watchers' draw slot (independent of the microphones', slot 0).
    slot = 1

    def init(self) -> None:
        """A watcher of household conversations; count the border households."""
        sim = self.sim
        self.row = sim.talk.watchers.add("household", "border", self.slot)
        region = sim.pop.people.region[sim.pop.household_start[:-1]]
        self.households = int((region == BORDER).sum())

    def derive(self) -> None:
        """Today's chance that a border household's conversation is watched."""
        sim = self.sim
        coverage = border_coverage(self.pars, sim.params.scale, self.households)
        sim.talk.watchers.coverage[self.row] = 0.0
        if sim.params.apparatus:
            sim.talk.watchers.coverage[self.row, BORDER] = coverage

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """The coverage of the day."""
        columns["border_coverage"][t] = self.sim.talk.watchers.coverage[self.row, BORDER]
