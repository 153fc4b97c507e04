"""The apparatus: evidence, agencies, punishment, channels, border teams, the timeline,
recruitment and demography (docs/odd.md 4.7-4.10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from survsim.apparatus.border import BorderParams, border_coverage
from survsim.apparatus.cases import conviction_probability
from survsim.apparatus.policy import CameraPurchase, PolicyEvent
from survsim.apparatus.punishment import (
    LIFE,
    PunishmentParams,
    daily_mortality,
    expected_days_served,
    term_days,
)
from survsim.engine.rng import random_block
from survsim.models.surveillance_params import SurveillanceStateParams, apply_event
from survsim.models.surveillance_state import SurveillanceState


def make(agents=4000, steps=30, seed=1, **groups):
    params = SurveillanceStateParams.model_validate({"agents": agents, **groups})
    return SurveillanceState(params, seed=seed, steps=steps)


# -- evidence and verdicts ------------------------------------------------------------------


def test_conviction_probability_grows_with_evidence_and_is_capped():
    c = conviction_probability([0, 1, 2, 3, 50], 0.3, 0.95)
    np.testing.assert_allclose(c[:4], [0, 0.3, 0.51, 1 - 0.7**3])
    assert c[4] == 0.95


def test_terms_follow_the_log_normal_law_and_life_share():
    median, sigma, life = 5 * 365.25, 1.0, 0.3
    words = [random_block(np.uint64(3), np.uint64(11), 0, i, 0) for i in range(20000)]
    terms = np.array([term_days(*w, median, sigma, life) for w in words])
    is_life = terms == LIFE
    n = terms.size
    assert abs(is_life.mean() - life) < 4 * math.sqrt(life * (1 - life) / n)
    logs = np.log(terms[~is_life])
    m = logs.size
    assert abs(np.median(logs) - math.log(median)) < 4 * 1.2533 * sigma / math.sqrt(m)
    assert abs(logs.std() - sigma) < 4 * sigma / math.sqrt(2 * m)


def test_expected_days_served_matches_a_direct_simulation():
    p = PunishmentParams(term_median_years=0.2, term_sigma=0.7, life_share=0.2, camp_mortality=0.3)
    mu = daily_mortality(p.camp_mortality)
    rng = np.random.default_rng(0)
    n = 200_000
    terms = np.floor(0.2 * 365.25 * np.exp(0.7 * rng.standard_normal(n)) + 0.5).clip(1)
    terms[rng.random(n) < 0.2] = np.inf
    death = rng.geometric(mu, n)  # the day of death, counted from admission
    served = np.minimum(terms, death)
    se = served.std() / math.sqrt(n)
    assert abs(served.mean() - expected_days_served(p)) < 4 * se
    assert expected_days_served(
        PunishmentParams(life_share=0, camp_mortality=0, term_sigma=0, term_median_years=1)
    ) == pytest.approx(365)


# -- channels, border teams, the timeline ------------------------------------------------


def test_cutting_border_teams_from_five_to_three_widens_coverage_by_five_thirds():
    five = border_coverage(BorderParams(team_size=5), 0.004, 10_000)
    three = border_coverage(BorderParams(team_size=3), 0.004, 10_000)
    assert three / five == pytest.approx(5 / 3)
    assert border_coverage(BorderParams(personnel=1e6, team_size=1), 1.0, 10) == 1.0


def test_cameras_are_bought_along_a_straight_line():
    ramp = CameraPurchase(cameras=100_000, start_day=0, end_day=1460)
    assert ramp.bought(0) == 0 and ramp.bought(730) == 50_000 and ramp.bought(5000) == 100_000
    with pytest.raises(ValueError, match="end_day"):
        CameraPurchase(start_day=10, end_day=5)


def test_policy_events_change_parameters_on_their_day_and_bad_paths_fail():
    event = PolicyEvent(day=3, set={"border.team_size": 3, "agencies.ssd.personnel": 60000})
    changed = apply_event(SurveillanceStateParams(agents=1000), event)
    assert changed.border.team_size == 3 and changed.agencies.ssd.personnel == 60000.0
    with pytest.raises(ValueError, match="not allowed"):
        PolicyEvent(day=1, set={"agents": 5})
    with pytest.raises(ValueError, match="team_size"):
        SurveillanceStateParams.model_validate(
            {"policy": {"events": [{"day": 2, "set": {"border.team_size": 0}}]}}
        )
    with pytest.raises(ValueError, match="no parameter"):
        SurveillanceStateParams.model_validate(
            {"policy": {"events": [{"day": 2, "set": {"border.teams": 3}}]}}
        )


def test_the_timeline_applies_border_cut_cameras_and_amnesty():
    sim = make(
        agents=3000,
        steps=12,
        policy={
            "camera_purchase": {"cameras": 1000, "start_day": 0, "end_day": 10},
            "events": [
                {"day": 5, "set": {"border.team_size": 3}},
                {"day": 8, "amnesty": 1.0},
            ],
        },
    ).run()
    df = sim.timeseries().to_pandas()
    assert df.border_coverage[6] / df.border_coverage[4] == pytest.approx(5 / 3)
    assert df.cameras[5] == 500 and df.cameras[12] == 1000
    assert df.imprisoned[7] > 0 and df.imprisoned[8] == 0
    assert df.releases[8] == df.imprisoned[7] - df.deaths_in_prison[8] + df.admissions[8]


# -- cases, agencies, punishment in a run -------------------------------------------------


def busy_state(**extra):
    """A small, talkative society with a fast apparatus: many cases every day."""
    return {
        "conversations": {
            "topic": {
                "household": 0.2,
                "work": 0.2,
                "neighbourhood": 0.1,
                "friends": 0.2,
                "phone": 0.2,
                "letters": 0.2,
                "public": 0.2,
            }
        },
        "agencies": {"cases_per_day": 0.5},
        "punishment": {"initial_prisoners": 0, "detention_days": 3},
        **extra,
    }


def test_corroboration_off_counts_one_witness_at_most():
    # No computer checks: a computer finding weighs like a recording but sets no bit.
    checks_off = {"check_rate": 0.0}
    on = make(agents=3000, steps=20, **busy_state(channels=checks_off)).run()
    off = make(
        agents=3000, steps=20, **busy_state(cases={"corroboration": False}, channels=checks_off)
    ).run()
    # Same reports until the first verdict differs; a file's score is lower without it
    # (its witness reports count once; a camera flag may add 0.5).
    score_on = on.mechanism("cases").score()
    score_off = off.mechanism("cases").score()
    assert score_on[score_on > 0].max() > 1.5
    witness_only = (off.pop.people.case_bits & 8) == 0  # no recording
    assert score_off[(score_off > 0) & witness_only].max() <= 1.0 + 0.5 + 1e-6


def test_convictions_split_by_kind_and_the_family_follows():
    sim = make(
        agents=6000,
        steps=60,
        **busy_state(
            punishment={"initial_prisoners": 0, "p_family": 0.5},
            listening={"fabrication_base": 0.01, "reward": 10.0},
            # Every file is investigated, one fabricated report is enough.
            agencies={
                "cases_per_day": 1.0,
                "investigate_score": 0.5,
                "ssd": {"personnel": 2e6, "political_share": 1.0},
            },
        ),
    )
    sim.run()
    df = sim.timeseries().to_pandas()[1:]
    assert df.convictions_true.sum() > 0 and df.convictions_false.sum() > 0
    assert df.convictions_failure_to_report.sum() > 0 and df.convictions_family.sum() > 0
    investigated = df[[f"investigations_{a}" for a in ("ssd", "mps", "msc", "ogd")]]
    assert (investigated.sum(axis=1) == df.investigations).all()
    sanctions = df.convictions_true + df.convictions_false + df.convictions_failure_to_report
    np.testing.assert_array_equal(df.detentions + df.prison_sentences, sanctions)
    np.testing.assert_array_equal(df.investigations, df.acquittals + sanctions)
    # Children are only ever taken with their families: never as defendants.
    s = sim.pop.people
    assert ((s.role == 0) & np.isfinite(s.file_key)).sum() == 0


def test_recruitment_keeps_the_informant_density():
    sim = make(agents=5000, steps=60, **busy_state(recruitment={"recruit_rate": 0.5})).run()
    df = sim.timeseries().to_pandas()
    target = 0.0097 * 5000
    assert df.recruited[1:].sum() > 0
    assert abs(df.informants.iloc[-1] - target) <= max(3, 0.1 * target)


def test_deaths_are_replaced_by_newborns_and_children_come_of_age():
    sim = make(agents=4000, steps=100, **busy_state(demography={"natural_mortality": 0.1}))
    adult_day = sim.pop.people.adult_day.copy()
    sim.run()
    df = sim.timeseries().to_pandas()
    assert (df.population == 4000).all()
    assert df.births[1:].sum() == df.deaths_natural[1:].sum() + df.deaths_in_prison[1:].sum()
    # Children due in days 1..100 come of age (unless they died first).
    due = ((adult_day >= 1) & (adult_day <= 100)).sum()
    assert 0.9 * due <= df.came_of_age[1:].sum() <= due
    assert df.deaths_natural[1:].sum() > 0


def test_without_replacement_the_dead_leave_the_population():
    sim = make(
        agents=3000,
        steps=40,
        **busy_state(demography={"natural_mortality": 0.1, "replacement": 0.0}),
    )
    df = sim.run().timeseries().to_pandas()
    deaths = df.deaths_natural.cumsum() + df.deaths_in_prison.cumsum()
    np.testing.assert_array_equal(df.population, 3000 - deaths)
    assert (sim.pop.people.status == 3).sum() == deaths.iloc[-1]


def test_computer_checks_find_only_banned_media_users():
    sim = make(
        agents=6000,
        steps=30,
        **busy_state(channels={"check_rate": 0.1}, population={"banned_media0": 0.3}),
    )
    sim.run()
    assert sim.timeseries().column("reports_computer").to_numpy().sum() > 0
    off = make(
        agents=6000,
        steps=30,
        **busy_state(
            channels={"check_rate": 0.1},
            population={"banned_media0": 0.0},
            beliefs={"media_start": 0.0},
        ),
    )
    assert off.run().timeseries().column("reports_computer").to_numpy().sum() == 0
