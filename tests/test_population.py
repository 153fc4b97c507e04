"""The synthetic population: structure, shares, units, ties, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from survsim.engine import Streams
from survsim.society.names import HAS_COMPUTER, HAS_INTERNET
from survsim.society.population import (
    CHILD,
    CIVILIAN,
    SENIOR,
    PopulationParams,
    build_population,
)

N = 60_000


@pytest.fixture(scope="module")
def pop():
    return build_population(PopulationParams(), N, Streams(11))


def test_everyone_is_in_exactly_one_household_in_contiguous_ranges(pop):
    s = pop.people
    assert pop.n == N and pop.household_start[0] == 0 and pop.household_start[-1] == N
    sizes = np.diff(pop.household_start)
    assert sizes.min() >= 1 and sizes.max() <= 9
    np.testing.assert_array_equal(s.household, np.repeat(np.arange(sizes.size), sizes))
    # Mean size 3.9 (2008 census), within the noise of ~15,000 households.
    assert abs(sizes[:-1].mean() - 3.9) < 0.05
    # Every household has an adult; households do not straddle regions.
    first = pop.household_start[:-1]
    assert (s.role[first] != CHILD).all()
    assert (s.region[first] == s.region[pop.household_start[1:] - 1]).all()


def test_shares_of_children_roles_regions_and_informants(pop):
    s = pop.people
    assert abs((s.role == CHILD).mean() - 0.25) < 0.01
    adults = s.role != CHILD
    assert abs((s.role[adults] == 2).mean() - 0.066) < 0.005  # soldiers (IISS)
    assert np.bincount(s.region, minlength=3)[0] == round(N * 0.13)
    # Informants: independent placement, expected 0.0097 N: within 4 binomial sd.
    expected = 0.0097 * N
    assert abs(s.informant.sum() - expected) < 4 * np.sqrt(expected)
    assert (s.role[s.informant] == CIVILIAN).all()
    zeal = s.zeal[s.informant]
    assert zeal.min() >= 0.2 - 1e-6 and zeal.max() <= 0.8 + 1e-6
    # Senior officials mostly in the capital.
    seniors = s.role == SENIOR
    assert seniors.sum() > 0 and (s.region[seniors] == 0).mean() > 0.7


def test_neighbourhood_units_have_20_to_50_households_and_a_civilian_head(pop):
    s = pop.people
    sizes = np.diff(pop.nunit_start)
    assert sizes[:-1].max() <= 50 and np.sort(sizes)[3:].min() >= 20  # trimmed last units
    assert pop.nunit_start[-1] == pop.household_start.size - 1
    heads = pop.nunit_head[pop.nunit_head >= 0]
    assert (s.role[heads] == CIVILIAN).all()
    np.testing.assert_array_equal(s.nunit[heads], np.flatnonzero(pop.nunit_head >= 0))
    # A unit's people are a contiguous range, all of one region.
    starts = pop.nunit_person_start
    assert (s.region[starts[:-1]] == s.region[starts[1:] - 1]).all()


def test_everyone_has_exactly_one_work_unit_of_its_region(pop):
    s = pop.people
    assert (s.work_unit >= 0).all()
    np.testing.assert_array_equal(np.sort(pop.work_members), np.arange(N))
    # Children are listed in civilian units, which they join at 17.
    assert (pop.unit_role[s.work_unit[s.role == CHILD]] == CIVILIAN).all()
    assert (s.adult_day[s.role == CHILD] > 0).all() and (s.adult_day[s.role != CHILD] == -1).all()
    assert s.adult_day.max() <= 17 * 365
    unit_of_member = np.repeat(np.arange(pop.work_start.size - 1), np.diff(pop.work_start))
    np.testing.assert_array_equal(s.work_unit[pop.work_members], unit_of_member)
    # One region per unit.
    regions = s.region[pop.work_members]
    first = regions[pop.work_start[:-1]]
    assert (regions == np.repeat(first, np.diff(pop.work_start))).all()


def test_friendships_are_undirected_adult_same_region_and_near_the_mean(pop):
    s = pop.people
    left = np.repeat(np.arange(N), np.diff(pop.friend_start))
    right = pop.friends
    assert (left != right).all()
    assert (s.role[right] != CHILD).all() and (s.role[left] != CHILD).all()
    assert (s.region[left] == s.region[right]).all()
    forward = set(zip(left.tolist(), right.tolist(), strict=True))
    assert all((b, a) in forward for a, b in list(forward)[:5000])
    assert len(forward) == right.size  # no duplicates
    degree = np.diff(pop.friend_start)[s.role != CHILD]
    assert 3.6 < degree.mean() < 4.2


def test_phones_computers_internet(pop):
    s = pop.people
    assert (s.phone[s.role == CHILD] == 0).all()
    capital_adults = (s.region == 0) & (s.role != CHILD)
    assert abs((s.phone[capital_adults] == 2).mean() - 0.5) < 0.03
    internet = (s.devices & HAS_INTERNET) != 0
    assert internet.any() and (internet <= (s.role == SENIOR)).all()
    # A computer belongs to the household: all members agree.
    computer = (s.devices & HAS_COMPUTER) != 0
    np.testing.assert_array_equal(computer, computer[pop.household_start[s.household]])
    assert 0 < computer.mean() < 0.5


def test_population_is_deterministic_and_seed_dependent():
    a = build_population(PopulationParams(), 5000, Streams(3))
    b = build_population(PopulationParams(), 5000, Streams(3))
    c = build_population(PopulationParams(), 5000, Streams(4))
    for name in a.people:
        np.testing.assert_array_equal(a.people[name], b.people[name])
    np.testing.assert_array_equal(a.friends, b.friends)
    assert not np.array_equal(a.people.household, c.people.household)


def test_memory_per_person_is_small(pop):
    assert pop.nbytes / N < 100


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"capital_share": 0.6}, "less than or equal to 0.5"),
        ({"nunit_min": 60}, "nunit_min = 60 is above nunit_max"),
        ({"soldier_share": 0.5}, "less than or equal to 0.3"),
    ],
)
def test_inconsistent_parameters_are_rejected(override, message):
    with pytest.raises(ValidationError, match=message):
        PopulationParams(**override)
