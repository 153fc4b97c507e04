"""The society half of the surveillance-state model: speech, listening, groups, beliefs.

Oracles from MODEL.md section 5 and docs/odd.md section 7.
"""

from __future__ import annotations

import numpy as np
import pytest

from survsim.models.surveillance_state import SurveillanceState, SurveillanceStateParams
from survsim.society.listening import report_oracle
from survsim.society.population import CHILD
from survsim.society.speech import (
    CONTEXTS,
    L_REF,
    effective_listener_risk,
    perceived_risk,
    speak_probability,
)

ALL_TOPICS = dict.fromkeys(CONTEXTS, 1.0)


#: These tests read groups, reports and the rule at a given state: day 0 holds the priors
#: (no spin-up, MODEL.md 8.4).
NO_SPINUP = {"spinup_days": 0}


def make(agents=6000, steps=10, seed=1, **groups):
    groups.setdefault("beliefs", NO_SPINUP)
    params = SurveillanceStateParams(agents=agents, **groups)
    return SurveillanceState(params, seed=seed, steps=steps)


# -- perceived risk and the break at k = 3 -------------------------------------------------


def test_effective_listener_risk_is_flat_without_defensive_reporting():
    values = [effective_listener_risk(k, 0.8, 0.1, 0.5, False) for k in range(2, 12)]
    np.testing.assert_allclose(values, 0.08, rtol=1e-12)


def test_anticipated_defensive_reporting_breaks_at_three():
    w, pi, delta = 0.8, 0.1, 0.5
    a = [effective_listener_risk(k, w, pi, delta, True) for k in range(2, 10)]
    steps = np.diff(a)
    assert a[0] == pytest.approx(w * pi)  # in a pair, nobody else could report
    assert a[1] == pytest.approx(w * (1 + delta) * pi)  # at three: fear of the third
    assert steps[0] == pytest.approx(w * delta * pi)
    assert (steps[0] > steps[1:]).all()  # the largest change is at k = 3
    assert (steps > 0).all()


def test_a_believed_microphone_makes_pairs_risky_too():
    no_mic = perceived_risk(2, 1.0, 0.1, 0.0, 0.5, True)
    mic = perceived_risk(2, 1.0, 0.1, 0.2, 0.5, True)
    assert no_mic == pytest.approx(0.1)
    # 1 - (1 - m)(1 - w (pi + delta m)) with m = 0.2
    assert mic == pytest.approx(1 - 0.8 * (1 - (0.1 + 0.5 * 0.2)))


# -- the two oracles ---------------------------------------------------------------------


def oracle_params(q=0.6, q0=0.05):
    return {
        "population": {
            "soldier_share": 0.0,
            "officer_share": 0.0,
            "senior_share": 0.0,
            "zeal_spread": 0.0,
            "zeal_mean": q,
            "informant_density": 0.05,
        },
        "listening": {"q0": q0, "defensive": False, "fabrication_base": 0.0},
        "speech": {"threshold": 0.0, "anticipate_defensive": False},
        "conversations": {"topic": {**ALL_TOPICS, "neighbourhood": 0.0}},
        "beliefs": {"learning": False, **NO_SPINUP},
        "apparatus": False,
    }


@pytest.fixture(scope="module")
def oracle_run():
    q, q0 = 0.6, 0.05
    params = SurveillanceStateParams.model_validate({"agents": 20000, **oracle_params(q, q0)})
    sim = SurveillanceState(params, seed=5, steps=6).run()
    s = sim.pop.people
    civilians = int((s.role != CHILD).sum())
    p = 0.05 * 20000 / civilians
    return sim, p, q, q0


@pytest.mark.slow
def test_listener_report_oracle(oracle_run):
    sim, p, q, q0 = oracle_run
    t = sim.tally
    checked = 0
    for c in range(len(CONTEXTS)):
        for k in range(2, 16):
            n = t.statements[c, k]
            if n < 200:
                continue
            expected = report_oracle(k, p, q, q0)
            observed = t.reported[c, k] / n
            # Statements in one group share listeners: a design effect of at most k.
            sd = np.sqrt(k * expected * (1 - expected) / n)
            assert abs(observed - expected) < 4 * sd, (CONTEXTS[c], k, observed, expected)
            checked += 1
    assert checked >= 10


@pytest.mark.slow
def test_exact_open_speech_oracle(oracle_run):
    sim = oracle_run[0]
    table = sim.open_speech().to_pandas()
    table = table[table.present >= 50]
    assert len(table) >= 15
    z = (table.spoke - table.expected_spoke) / np.sqrt(table.variance)
    assert (z.abs() < 4.5).all(), table.assign(z=z)
    # Per person present: the rate equals the mean of the exact probabilities.
    rate = table.spoke.sum() / table.present.sum()
    assert rate == pytest.approx(table.expected_spoke.sum() / table.present.sum(), abs=0.01)


# -- groups --------------------------------------------------------------------------------


def test_nobody_is_in_two_groups_of_a_context_on_a_day_and_children_never_take_part():
    params = SurveillanceStateParams.model_validate(
        {
            "agents": 5000,
            "beliefs": NO_SPINUP,
            "conversations": {
                "topic": ALL_TOPICS,
                "nunit_meeting_rate": 1.0,
                "friend_meeting_rate": 0.5,
                "call_rate": 0.5,
                "letter_rate": 0.5,
            },
        }
    )
    sim = SurveillanceState(params, seed=2, steps=4)
    audit = sim.start_audit()
    seen = np.zeros_like(audit)
    always_children = sim.pop.people.role == CHILD
    for _ in range(4):
        children = sim.pop.people.role == CHILD  # some come of age during the run
        audit[:] = 0
        sim.step()
        assert audit.max() <= 1, "someone was in two groups of one context"
        assert audit[:, children].sum() == 0
        always_children &= sim.pop.people.role == CHILD
        seen += audit
    assert (seen.sum(axis=1) > 0).all()  # every context held conversations
    assert not sim.pop.people.said[always_children].any()


def test_work_groups_stay_inside_work_units_and_households_inside_households():
    sim = make(agents=4000, steps=1, conversations={"topic": ALL_TOPICS})
    audit = sim.start_audit()
    sim.step()
    s = sim.pop.people
    at_home = np.flatnonzero(audit[0])
    # Everyone in a household conversation shares it with another adult of the household.
    _, counts = np.unique(s.household[at_home], return_counts=True)
    assert (counts >= 2).all()
    assert (audit[1][s.role == CHILD] == 0).all()


# -- determinism, measurement ----------------------------------------------------------


def test_same_seed_same_data_other_seed_different():
    a = make(steps=8, seed=3).run()
    b = make(steps=8, seed=3).run()
    c = make(steps=8, seed=4).run()
    assert a.timeseries().equals(b.timeseries())
    assert a.open_speech().equals(b.open_speech())
    assert not a.timeseries().equals(c.timeseries())


def test_daily_books_and_reports_by_kind():
    sim = make(agents=8000, steps=14, listening={"fabrication_base": 0.01}, apparatus=False)
    sim.run()
    df = sim.timeseries().to_pandas()
    assert (df.population == 8000).all() and (df.free == 8000).all()
    assert df.reports_fabricated[1:].sum() > 0 and df.reports_defensive[1:].sum() > 0
    assert df.statements[1:].sum() == sim.tally.statements.sum()
    kinds = ["reports_informant", "reports_ordinary", "reports_defensive", "reports_fabricated"]
    assert df[kinds].to_numpy()[1:].sum() == sim.tally.reports.sum()
    # The gap: the share of dissenters who never spoke, falling as people speak.
    gap = df.falsification_gap.to_numpy()
    assert gap[0] == 1.0 and (np.diff(gap) <= 1e-12).all() and gap[-1] < 1.0
    assert 0 < df.mean_perceived_risk[1:].mean() < 1


def test_within_a_class_more_listeners_mean_more_risk_and_less_speech():
    """For one person (one per-listener risk a) the perceived risk rises with every
    listener and the chance to speak falls. Between pairs and groups of three the risk a
    itself differs, as learned (tests/test_learning.py)."""
    for a in (0.01, 0.1, 0.4):
        for m in (0.0, 0.2):
            risks = [perceived_risk(k, 0.8, a, m, 0.5, False) for k in range(3, 12)]
            assert (np.diff(risks) > 0).all()
            speak = [speak_probability(0.4, 0.7, r, 0.1, 0.02) for r in risks]
            assert (np.diff(speak) < 0).all()


# -- beliefs -------------------------------------------------------------------------------


def test_lazy_decay_equals_daily_decay():
    from survsim.society.beliefs import current

    x, x0, lam = 0.6, 0.05, 0.01
    daily = x
    for _ in range(37):
        daily = x0 + (daily - x0) * (1 - lam)
    assert current(x, x0, 37, lam) == pytest.approx(daily, rel=1e-12)


def test_a_sanction_teaches_its_class_and_severity_to_neighbours_and_grieves_its_family():
    sim = make(agents=3000, steps=3)
    sim.run(2)
    s, pop = sim.pop.people, sim.pop
    target = int(pop.work_members[0])
    lam, beta = sim.params.beliefs.belief_decay, sim.params.speech.loss_learning
    since = sim.t - s.belief_day
    decay = (1 - lam) ** since
    before_group = s.seen_group * decay
    before_pair = s.seen_pair * decay
    before_loss = L_REF + (s.loss_hat - L_REF) * decay
    before_g = s.grievance.copy()
    sim.observe_arrests([target], recorded=[True], imprisoned=[True], said_in=[2],
                        severity=[30.0])  # fmt: skip
    changed = np.flatnonzero(s.seen_group > before_group + 0.5)
    household = np.arange(
        pop.household_start[s.household[target]], pop.household_start[s.household[target] + 1]
    )
    friends = pop.friends[pop.friend_start[target] : pop.friend_start[target + 1]]
    expected = {i for i in household if s.role[i] != CHILD and i != target}
    expected |= set(friends.tolist())
    assert expected <= set(changed.tolist())
    assert target not in changed and not (s.role[changed] == CHILD).any()
    for i in changed:  # one sanction seen in the class of the statement, whatever the ties
        assert s.seen_group[i] == pytest.approx(before_group[i] + 1, rel=1e-5)
        assert s.seen_pair[i] == pytest.approx(before_pair[i], rel=1e-5, abs=1e-6)
        expected_loss = before_loss[i] + beta * (30.0 - before_loss[i])
        assert s.loss_hat[i] == pytest.approx(expected_loss, rel=1e-5)
    i = next(iter(expected))
    assert s.suspicion[i] > sim.params.population.suspicion0
    assert s.grievance[i] > before_g[i]
    # Neighbours (same unit, other household) learn but do not grieve.
    neighbours = [
        j
        for j in range(
            pop.nunit_person_start[s.nunit[target]], pop.nunit_person_start[s.nunit[target] + 1]
        )
        if s.household[j] != s.household[target] and s.role[j] != CHILD and j not in expected
    ]
    assert neighbours
    assert all(j in set(changed.tolist()) for j in neighbours)
    assert all(s.grievance[j] <= before_g[j] for j in neighbours)


def test_a_foreign_media_event_raises_users_grievance_and_draws_new_users():
    base = make(agents=6000, steps=3, seed=9).run()
    event = make(agents=6000, steps=3, seed=9)
    event.schedule_foreign_media(2)
    users_before = None

    def watch(sim):
        nonlocal users_before
        if sim.t == 1:
            users_before = sim.pop.people.banned_media.copy()

    event.add_hook(watch)
    event.run()
    s0, s1 = base.pop.people, event.pop.people
    users = users_before & (s1.status == 0)
    assert users.sum() > 50
    assert (s1.grievance[users] > s0.grievance[users]).all()
    assert (s1.grievance[~users_before] == s0.grievance[~users_before]).all()
    started = lambda s: int((s.banned_media & ~users_before).sum())  # noqa: E731
    assert started(s1) > started(s0)
