"""The whole surveillance-state model: the oracles of MODEL.md section 5 that need the
apparatus, determinism and the golden baseline (the "three or more" criterion of MODEL.md
8.5 is in tests/test_learning.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from survsim.apparatus.agencies import AGENCIES
from survsim.apparatus.punishment import expected_days_served
from survsim.models.surveillance_state import SurveillanceState, SurveillanceStateParams
from survsim.scenario import load_scenario

GOLDEN = Path(__file__).parent / "data" / "golden_dprk.csv"


def dprk(agents: int, steps: int, seed: int = 0, overrides: tuple[str, ...] = ()):
    """The dprk scenario at another size (overrides as ``--set`` strings)."""
    scenario = load_scenario("dprk", [f"params.agents={agents}", *overrides], steps=steps)
    return SurveillanceState(scenario.params, seed=seed, steps=steps)


def busy(agents=4000, steps=100, seed=1, **groups):
    """A talkative society under a fast apparatus: many cases every day."""
    data = {
        "agents": agents,
        "conversations": {
            "topic": dict.fromkeys(
                ("household", "work", "neighbourhood", "friends", "phone", "letters", "public"), 0.2
            )
        },
        "punishment": {"initial_prisoners": 0, "detention_days": 3},
        **groups,
    }
    return SurveillanceState(SurveillanceStateParams.model_validate(data), seed=seed, steps=steps)


def check_books(df):
    """free + detained + imprisoned = population; the flows of detention and prison."""
    np.testing.assert_array_equal(df.free + df.detained + df.imprisoned, df.population)
    np.testing.assert_array_equal(
        np.diff(df.imprisoned), (df.admissions - df.releases - df.deaths_in_prison)[1:]
    )
    into = df.detentions + df.prison_sentences + df.convictions_family
    np.testing.assert_array_equal(
        np.diff(df.detained), (into - df.admissions - df.labour_releases)[1:]
    )
    np.testing.assert_array_equal(df.dead_in_prison_total, df.deaths_in_prison.cumsum())


def test_books_balance_every_day_with_deaths_births_and_family_punishment():
    sim = busy(
        steps=120,
        agencies={"cases_per_day": 0.5, "capacity_scale": 50},
        punishment={
            "p_family": 0.5,
            "camp_mortality": 0.5,
            "detention_days": 2,
            "labour_days": 5,
            "term_median_years": 0.1,
            "initial_prisoners": 20000,
        },
        demography={"natural_mortality": 0.05, "replacement": 0.7},
    )
    df = sim.run().timeseries().to_pandas()
    check_books(df)
    assert df.releases.sum() > 0 and df.deaths_in_prison.sum() > 0 and df.admissions.sum() > 0
    assert df.convictions_family.sum() > 0 and df.births.sum() > 0
    assert df.detentions.sum() > 0 and df.labour_releases.sum() > 0
    # The census agrees with the status field too.
    status = sim.pop.people.status
    assert (status != 3).sum() == df.population.iloc[-1]


def test_checks_run_at_capacity_and_no_file_is_dropped():
    # Everything goes to the SSD, which checks 2.5 files a day and investigates none;
    # the check heap grows by the files opened minus the files checked: none expires.
    personnel = 2.5 / (0.15 * 20_000 / 25_700_000)
    sim = busy(
        agents=20_000,
        steps=40,
        agencies={
            "ssd": {"personnel": personnel, "political_share": 1.0},
            "checks_per_day": 0.15,
            "cases_per_day": 0.0001,
            "jurisdiction": {
                "soldier": "ssd",
                "officer": "ssd",
                "senior": "ssd",
                "recordings": "ssd",
            },
        },
        punishment={"p_family": 0.0, "initial_prisoners": 0},
        demography={"natural_mortality": 0.0},
        beliefs={"learning": False},
    )
    df = sim.run().timeseries().to_pandas()
    assert (df.cases_opened[1:] > 3).all()  # arrivals above capacity every day
    np.testing.assert_array_equal(
        np.diff(df.queue_checks_ssd), (df.cases_opened - df.checks_ssd)[1:]
    )
    days = np.arange(len(df))
    np.testing.assert_array_equal(df.checks_ssd.cumsum(), np.floor(2.5 * days + 1e-9))
    assert df.investigations.sum() == 0 and df.files_moot.sum() == 0
    # A checked file is escalated or rests (a year) after a warning or nothing.
    np.testing.assert_array_equal(df.resting_files, (df.checks - df.escalations).cumsum())
    np.testing.assert_array_equal(df.queue_investigations, df.escalations.cumsum())
    others = [f"queue_{stage}_{a}" for stage in ("checks", "investigations")
              for a in ("mps", "msc", "ogd")]  # fmt: skip
    assert (df[others] == 0).all().all()


def test_littles_law_on_short_terms_after_burn_in():
    burn_in, steps = 200, 600
    sim = busy(
        agents=5000,
        steps=steps,
        agencies={"cases_per_day": 0.2},
        punishment={
            "life_share": 0.0,
            "term_median_years": 0.1,
            "term_sigma": 0.5,
            "detention_days": 0,
            "camp_mortality": 0.2,
            "initial_prisoners": 0,
            "prison_score": 0.0,
        },
    )
    df = sim.run().timeseries().to_pandas()[burn_in + 1 :]
    served = expected_days_served(sim.params.punishment)
    stock = df.imprisoned.to_numpy(float)
    implied = df.admissions.to_numpy(float) * served
    # Tolerance from batch means (8 batches of 50 days, longer than a mean stay of ~40).
    batches = (stock - implied).reshape(8, -1).mean(axis=1)
    se = batches.std(ddof=1) / math.sqrt(8)
    assert stock.mean() > 30
    assert abs(stock.mean() - implied.mean()) < 4 * se + 0.01 * stock.mean()


def test_same_seed_same_series_other_seed_other_series():
    a = dprk(3000, 60, seed=4).run().timeseries()
    b = dprk(3000, 60, seed=4).run().timeseries()
    c = dprk(3000, 60, seed=5).run().timeseries()
    assert a.equals(b)
    assert not a.equals(c)


def golden_run(overrides=()):
    return dprk(5000, 150, seed=3, overrides=overrides).run().timeseries()


def test_golden_baseline_and_its_negative_control():
    """A fixed run must reproduce tests/data/golden_dprk.csv (scripts/update_golden.py)."""
    stored = pacsv.read_csv(GOLDEN).to_pandas()
    now = golden_run().to_pandas()
    assert list(stored.columns) == list(now.columns)
    for name in now.columns:
        np.testing.assert_allclose(now[name], stored[name], rtol=1e-9, atol=1e-12, err_msg=name)
    # Negative control: a slightly different parameter must not match the baseline.
    perturbed = golden_run(("params.speech.delta=0.32",)).to_pandas()
    assert not np.allclose(perturbed.statements, stored.statements)


@pytest.mark.slow
def test_default_scenario_stays_bounded_over_three_years_and_balances_its_books():
    sim = dprk(100_000, 3 * 365).run()
    df = sim.timeseries().to_pandas()
    check_books(df)
    steady = sim.summary()["prisoners_steady_state_simulated"]
    assert df.imprisoned.max() < 1.5 * max(steady, df.imprisoned[0])
    # The heaps hold only files opened and escalated; the investigations run at capacity
    # whenever escalated files wait (a day that ends with none waiting may fall short by
    # its whole capacity, at most one investigation here).
    assert (df.queue_checks <= df.cases_opened.cumsum()).all()
    assert (df.queue_investigations <= df.escalations.cumsum()).all()
    last_year = df.iloc[-365:]
    for a, name in enumerate(AGENCIES):
        capacity = sim.capacity[1, a]
        assert capacity <= 1
        idle = int((last_year[f"queue_investigations_{name}"] == 0).sum())
        done = last_year[f"investigations_{name}"].sum()
        assert done >= np.floor(365 * capacity) - 1 - idle, (name, done, capacity, idle)


@pytest.mark.slow
def test_per_capita_outputs_do_not_depend_on_population_size():
    def per_capita(sim):
        df = sim.timeseries().to_pandas()[1:]
        n = sim.params.agents
        return np.array(
            [
                df.statements.mean() / n,
                df.convictions_true.sum() / n * 1e3,
                df.imprisoned.iloc[-1] / n * 1e3,
                df.dissenters.iloc[-1] / n,
            ]
        )

    small = np.array([per_capita(dprk(20_000, 365, seed=s).run()) for s in range(4)])
    large = per_capita(dprk(80_000, 365, seed=11).run())
    sd = small.std(axis=0, ddof=1)
    # The large run's noise is about half the small runs' (four times the people).
    tolerance = 4 * np.sqrt(sd**2 / 4 + (sd / 2) ** 2)
    assert (np.abs(small.mean(axis=0) - large) < tolerance).all(), (small.mean(0), large, sd)
