"""The evidence scenarios: dprk_calibrated meets its target and a pattern it was not fitted
to; gdr1989 carries the Stasi Records Agency's figures."""

from __future__ import annotations

import numpy as np
import pytest

from survsim.models.surveillance_state import SurveillanceState
from survsim.report.html import flatten
from survsim.scenario import load_scenario

COI = (80_000, 120_000)  # UN Commission of Inquiry 2014: political prisoners


def test_gdr1989_carries_the_stasi_records_figures():
    gdr = load_scenario("gdr1989")
    p = gdr.params
    assert p.national_population == 16_400_000
    assert p.agencies.ssd.personnel == 91_015
    assert p.population.informant_density * p.national_population == pytest.approx(189_000, 1e-3)
    # The comparison changes the apparatus, not people: the behavioural assumptions and the
    # days a case takes are dprk_calibrated's.
    dprk = load_scenario("dprk_calibrated").params
    for group in ("conversations", "speech", "listening"):
        assert getattr(p, group) == getattr(dprk, group), group
    assert p.agencies.cases_per_day == dprk.agencies.cases_per_day
    assert p.population.grievance_b == dprk.population.grievance_b


def test_dprk_calibrated_moves_only_assumptions_and_says_how():
    base, fitted = load_scenario("dprk"), load_scenario("dprk_calibrated")
    flat = {}
    for name, scenario in (("dprk", base), ("fitted", fitted)):
        flat[name] = flatten(scenario.params.model_dump())
    moved = {k for k in flat["dprk"] if flat["dprk"][k] != flat["fitted"][k]}
    assert moved, "the calibrated scenario equals dprk"
    for key in moved:
        assert "assumption" in base.sources.get(key, ""), key
        assert "calibrated" in fitted.sources[key], key


def _runs(name: str, seeds: range, agents: int, overrides: tuple[str, ...] = ()) -> list[dict]:
    scenario = load_scenario(name, [f"params.agents={agents}", *overrides])
    return [
        SurveillanceState(scenario.params, seed=s, steps=scenario.steps).run().summary()
        for s in seeds
    ]


@pytest.mark.slow
def test_dprk_calibrated_meets_the_coi_range():
    """Three runs of 50,000 people over the default four years.

    Target (fitted): the steady-state prison stock falls in the COI's 80,000-120,000,
    within two standard errors of the runs' mean; the uncalibrated dprk (negative control)
    is far above it. (The "three or more" pattern is no longer a target here: its
    version-1 criterion is retired, MODEL.md 8.5; tests/test_learning.py has the new one.)
    """
    runs = _runs("dprk_calibrated", range(3), 50_000)
    steady = np.array([r["national"]["prisoners_steady_state"] for r in runs])
    se = steady.std(ddof=1) / np.sqrt(len(steady))
    assert COI[0] - 2 * se < steady.mean() < COI[1] + 2 * se, (steady, se)
    control = _runs("dprk", range(1), 20_000)[0]["national"]["prisoners_steady_state"]
    assert control > COI[1] + 4 * steady.std(ddof=1), control
