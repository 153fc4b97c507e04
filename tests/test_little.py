"""The Little's-law steady state: its value, its standard error and when it is missing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from survsim.models.little import is_missing, note_of, scaled, steady_state


def test_the_estimate_is_mean_admissions_times_days_served():
    admissions = np.array([3, 5, 4, 6, 2, 4, 5, 3, 4, 4] * 5)
    found = steady_state(admissions, served_days=100.0, living=10_000)
    assert found["value"] == pytest.approx(admissions.mean() * 100.0)
    assert found["note"] is None and found["se"] is not None


def test_the_standard_error_is_that_of_batch_means():
    rng = np.random.default_rng(5)
    admissions = rng.poisson(7, size=365)
    found = steady_state(admissions, served_days=50.0, living=1e6, batches=10)
    # 365 days in 10 batches of 36: the 5 oldest days are left out of the batches.
    means = [admissions[5 + 36 * i : 5 + 36 * (i + 1)].mean() for i in range(10)]
    by_hand = np.std(means, ddof=1) / math.sqrt(10) * 50.0
    assert found["se"] == pytest.approx(by_hand)
    assert found["value"] == pytest.approx(admissions.mean() * 50.0)  # every day counts


def test_a_short_window_uses_fewer_batches_of_two_days_or_more():
    admissions = np.array([4, 2, 6, 3, 5, 7, 1])  # 7 days: 3 batches of 2, oldest day out
    found = steady_state(admissions, served_days=10.0, living=1e6, batches=10)
    means = [admissions[1:3].mean(), admissions[3:5].mean(), admissions[5:7].mean()]
    assert found["se"] == pytest.approx(np.std(means, ddof=1) / math.sqrt(3) * 10.0)


def test_a_window_too_short_for_two_batches_keeps_the_value_without_an_se():
    found = steady_state(np.array([20, 30, 25]), served_days=2.0, living=1e6)
    assert found["value"] == pytest.approx(50.0)
    assert found["se"] is None and "standard error not estimated" in found["note"]


def test_too_few_admissions_give_no_estimate_and_say_why():
    admissions = np.zeros(365)
    admissions[[10, 100, 200]] = [3, 2, 2]
    found = steady_state(admissions, served_days=1000.0, living=1e6, min_admissions=10)
    assert found["value"] is None and found["se"] is None
    assert found["note"] == "too few admissions to estimate (7 in the last 365 days, 10 needed)"
    assert steady_state(np.array([]), 10.0, 100.0)["value"] is None  # an empty window


def test_unbounded_time_served_gives_no_estimate():
    found = steady_state(np.full(365, 5), served_days=math.inf, living=1e6)
    assert found["value"] is None and found["se"] is None and "unbounded" in found["note"]


def test_more_prisoners_than_people_is_not_an_equilibrium():
    found = steady_state(np.full(365, 10), served_days=3650.0, living=25_000)
    assert found["value"] is None and found["se"] is None
    assert found["note"] == (
        "not at equilibrium: the admissions of the last 365 days would hold 36,500 people, "
        "more than the 25,000 living"
    )


def test_the_estimate_never_exceeds_the_population_and_its_note_is_there_when_missing():
    rng = np.random.default_rng(11)
    for _ in range(500):
        days = int(rng.integers(0, 400))
        admissions = rng.poisson(rng.exponential(5.0), size=days)
        served = float(rng.choice([rng.exponential(2000.0), math.inf]))
        living = float(rng.integers(0, 100_000))
        found = steady_state(admissions, served, living, batches=int(rng.integers(2, 20)))
        if found["value"] is None:
            assert found["se"] is None and found["note"]
        else:
            assert 0 <= found["value"] <= living
            assert found["value"] == pytest.approx(admissions.mean() * served)
            assert (found["se"] is None) == (found["note"] is not None)
            assert found["se"] is None or found["se"] >= 0


def test_bad_series_are_refused():
    with pytest.raises(ValueError, match="finite and non-negative"):
        steady_state(np.array([1.0, np.nan]), 10.0, 100.0)
    with pytest.raises(ValueError, match="batches"):
        steady_state(np.ones(10), 10.0, 100.0, batches=1)


def test_scaling_multiplies_value_and_se_and_keeps_the_note():
    assert scaled({"value": 2.0, "se": 0.5, "note": None}, 1000.0) == {
        "value": 2000.0,
        "se": 500.0,
        "note": None,
    }
    missing = {"value": None, "se": None, "note": "too few admissions"}
    assert scaled(missing, 1000.0) == missing
    over = scaled({"value": 30.0, "se": 1.0, "note": None}, 1e6, population=25.7e6)
    assert over["value"] is None and over["se"] is None and "25,700,000" in over["note"]


def test_missing_values_and_their_notes_are_found():
    assert is_missing(None) and is_missing(float("nan")) and is_missing(np.float32("nan"))
    assert not is_missing(0) and not is_missing(1.5) and not is_missing("text")
    facts = {
        "prisoners_steady_state_simulated": None,
        "prisoners_steady_state_note": "too few admissions",
        "national": {"prisoners_steady_state": None, "prisoners_steady_state_note": "why"},
    }
    assert note_of(facts, "prisoners_steady_state_simulated") == "too few admissions"
    assert note_of(facts, "prisoners_steady_state_simulated_se") == "too few admissions"
    assert note_of(facts, "national.prisoners_steady_state") == "why"
    assert note_of(facts["national"], "prisoners_steady_state") == "why"
    assert note_of(facts, "prisoners") is None
