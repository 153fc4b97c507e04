"""Exit (docs/odd.md 4.7b, MODEL.md 8.3): who attempts to cross the border, at what
hazard, how often border teams see an attempt, and what becomes of those who cross.

Small runs (6,000 people, 30% of them in the border region) with a high attempt rate and
enough border personnel for a coverage near 0.5, so that about a thousand attempts give
the binomial checks their power (a detection chance 20% too low fails by 5 standard
errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from survsim.apparatus.cases import WITNESS_KINDS, CaseParams, evidence_weights
from survsim.models.surveillance_state import SurveillanceState, SurveillanceStateParams
from survsim.society.names import (
    BORDER,
    BORDER_TEAM,
    CHILD,
    CROSSING,
    DEAD,
    EVIDENCE,
    FREE,
)

STEPS = 120
COLUMNS = ["crossing_attempts", "crossings", "crossings_detected", "reports_crossing"]


def params(**groups) -> SurveillanceStateParams:
    """6,000 people, 30% at the border, attempts at 0.05 a day at g = 1, coverage ~0.5."""
    data: dict = {
        "agents": 6000,
        "population": {"border_share": 0.3},
        "punishment": {"initial_prisoners": 0},
        "exit": {"base_rate": 0.05},
        "border": {"personnel": 250_000},
    }
    for group, values in groups.items():
        data[group] = {**data.get(group, {}), **values}
    return SurveillanceStateParams.model_validate(data)


class Watch:
    """Who attempted on each day: seen (a crossing event) or gone (free -> dead in the step).

    Wraps the plan's ``exit`` step and reads the evidence events; also adds up the
    expected attempts ``sum_i h_i`` over the people eligible before each day's step.
    """

    def __init__(self, sim: SurveillanceState) -> None:
        self.sim = sim
        self.seen: list[int] = []
        self.gone: list[int] = []
        self.expected = 0.0
        self.ineligible = 0  # attempts by people who may not attempt (must stay 0)
        self.without_file = 0  # seen attempts by the free that left them without a file
        self.left_anyway = 0  # seen, then crossed on a second attempt the same day
        self.allowed = np.zeros(0, dtype=bool)  # who may attempt, before today's step
        self.free_drop: list[int] = []  # free people before the step minus after
        sim.talk.subscribe(self.read)
        step = next(s for s in sim.plan.steps if s.name == "exit")
        self.original = step.run
        step.run = self.run

    def eligible(self) -> np.ndarray:
        s = self.sim.pop.people
        return (s.region == BORDER) & (s.role != CHILD) & (s.status == FREE) & ~s.informant

    def hazard(self) -> np.ndarray:
        """``h_i = base_rate * g_i * (1 - min(1, suspicion_i * believed))`` (0: ineligible)."""
        sim = self.sim
        s, p = sim.pop.people, sim.params
        since = sim.t - s.belief_day.astype(np.float64)
        decay = p.beliefs.grievance_decay
        g = s.grievance0 + (s.grievance - s.grievance0.astype(np.float64)) * (1 - decay) ** since
        d_hat = np.minimum(1.0, s.suspicion * p.exit.believed_detection)
        return np.where(self.eligible(), p.exit.base_rate * g * (1 - d_hat), 0.0)

    def run(self) -> None:
        s = self.sim.pop.people
        before = s.status.copy()
        self.allowed = self.eligible()
        self.expected += float(self.hazard().sum())
        self.original()
        gone = np.flatnonzero((before == FREE) & (s.status == DEAD))
        self.gone.extend(gone.tolist())
        self.ineligible += int((~self.allowed[gone]).sum())
        self.free_drop.append(int((before == FREE).sum() - (s.status == FREE).sum()))

    def read(self, table) -> None:
        s = self.sim.pop.people
        for chunk in range(table.n.shape[0]):
            lo = table.start[chunk]
            rows = slice(lo, lo + table.n[chunk])
            people = table.person[rows][(table.kind[rows] & 63) == CROSSING]
            self.seen.extend(people.tolist())
            self.ineligible += int((~self.allowed[people]).sum())
            free = s.status[people] == FREE  # the others crossed after being seen
            self.left_anyway += int((~free).sum())
            self.without_file += int((~np.isfinite(s.file_key[people[free]])).sum())


def watched(seed=1, steps=STEPS, **groups):
    sim = SurveillanceState(params(**groups), seed=seed, steps=steps)
    watch = Watch(sim)
    sim.run()
    return sim, watch, sim.timeseries().to_pandas()


@pytest.fixture(scope="module")
def five():
    """The default teams of five."""
    return watched()


def binomial_z(successes: int, n: int, p: float) -> float:
    return (successes - n * p) / math.sqrt(n * p * (1 - p))


def test_attempts_come_only_from_free_adult_border_residents_at_their_hazard(five):
    sim, watch, df = five
    attempts = int(df.crossing_attempts.sum())
    assert attempts > 300  # enough for the Poisson check below to have power
    assert watch.ineligible == 0
    assert len(watch.seen) == df.crossings_detected.sum()
    assert len(watch.gone) == df.crossings.sum()
    assert attempts == df.crossings.sum() + df.crossings_detected.sum()
    # Attempts are a Poisson count with mean sum_i h_i (over the days).
    assert abs(attempts - watch.expected) < 4 * math.sqrt(watch.expected)
    # Interior and capital residents never attempt: everyone who did lives at the border.
    assert (sim.pop.people.region[watch.seen + watch.gone] == BORDER).all()


def test_nobody_attempts_without_a_base_rate_or_when_detection_is_believed_certain():
    for groups in ({"exit": {"base_rate": 0.0}}, {"exit": {"believed_detection": 1.0}}):
        _, watch, df = watched(steps=40, **groups)
        assert (df[COLUMNS].to_numpy() == 0).all(), groups
        assert watch.seen == watch.gone == []
    # Negative control of the control: the same short run with the defaults has attempts.
    _, _, df = watched(steps=40)
    assert df.crossing_attempts.sum() > 0


def test_the_detected_share_is_the_border_coverage(five):
    _, _, df = five
    coverage = df.border_coverage.iloc[1:]
    assert coverage.nunique() == 1 and 0.3 < coverage.iloc[0] < 0.6
    n, seen = int(df.crossing_attempts.sum()), int(df.crossings_detected.sum())
    assert abs(binomial_z(seen, n, coverage.iloc[0])) < 4


def test_teams_of_three_see_a_larger_share_of_attempts_than_teams_of_five(five):
    _, _, df5 = five
    _, _, df3 = watched(border={"team_size": 3})
    c5, c3 = df5.border_coverage.iloc[1], df3.border_coverage.iloc[1]
    assert c3 == pytest.approx(c5 * 5 / 3)  # same personnel, teams of 3: 5/3 the coverage
    n5, n3 = int(df5.crossing_attempts.sum()), int(df3.crossing_attempts.sum())
    s5, s3 = df5.crossings_detected.sum() / n5, df3.crossings_detected.sum() / n3
    se = math.sqrt(s5 * (1 - s5) / n5 + s3 * (1 - s3) / n3)
    assert s3 - s5 > 3 * se
    assert abs(binomial_z(int(df3.crossings_detected.sum()), n3, c3)) < 4


def test_a_detected_attempt_opens_a_file_as_the_gravest_evidence(five):
    sim, watch, df = five
    # Every seen attempt is evidence in the person's file, except where the person tried
    # again the same day and crossed (attempts are a Poisson process: rare, h_i^2 a day).
    assert watch.without_file == 0
    assert watch.left_anyway <= 0.01 * len(watch.seen)
    assert df.reports_crossing.sum() == df.crossings_detected.sum() - watch.left_anyway > 0
    weights = evidence_weights(CaseParams())
    assert weights[CROSSING] == 10.0 == weights.max()
    # Routed like the border teams' evidence (by the target's role first, then the kind).
    _, by_kind = sim.params.agencies.routing(len(WITNESS_KINDS), len(EVIDENCE))
    assert by_kind[CROSSING] == by_kind[BORDER_TEAM]
    assert EVIDENCE[CROSSING] == "crossing" == EVIDENCE[-1]


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    first = watched(seed=5, steps=40)[2]
    again = watched(seed=5, steps=40)[2]
    other = watched(seed=6, steps=40)[2]
    assert first.equals(again)
    assert not first[COLUMNS].equals(other[COLUMNS])


def test_those_who_cross_leave_the_free_population_and_the_books_balance(five):
    sim, watch, df = five
    assert df.crossings.sum() > 0
    # The step takes exactly the crossers out of the free population.
    assert watch.free_drop == df.crossings.iloc[1:].tolist()
    np.testing.assert_array_equal(df.free + df.detained + df.imprisoned, df.population)
    flows = df.births - df.deaths_natural - df.deaths_in_prison - df.crossings
    np.testing.assert_array_equal(np.diff(df.population), flows.iloc[1:])
    # Demography gives each slot a newborn (replacement 1 by default); without
    # replacement the slots of those who crossed stay empty, and the books still balance.
    assert (sim.pop.people.role[watch.gone] == CHILD).all()
    sim0, watch0, df0 = watched(steps=60, demography={"replacement": 0.0})
    assert watch0.gone and (sim0.pop.people.status[watch0.gone] == DEAD).all()
    assert df0.births.sum() == 0
    np.testing.assert_array_equal(df0.free + df0.detained + df0.imprisoned, df0.population)
