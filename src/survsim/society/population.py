"""The synthetic population: regions, households, neighbourhood units, work units, ties.

Everything is built with flat arrays and vectorised or numba code, never a Python loop
over people (docs/odd.md section 3). People are laid out region by region, household by
household, so a household, a neighbourhood unit and a region are each a contiguous range
of person ids; work units are listed in ``work_members``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from survsim.engine import Attribute, State, Streams
from survsim.engine.params import StrictModel
from survsim.society.names import (
    BORDER,
    CAPITAL,
    CHILD,
    CIVILIAN,
    INTERIOR,
    OFFICER,
    REGIONS,
    SENIOR,
    SOLDIER,
)
from survsim.society.ties import friendships
from survsim.society.traits import (
    Traits,
    assign_adults,
    assign_informants,
    assign_roles_and_traits,
    first_by_key,
    shuffle,
)

__all__ = [
    "CAPITAL",
    "CHILD",
    "CIVILIAN",
    "OFFICER",
    "REGIONS",
    "SENIOR",
    "SOLDIER",
    "Population",
    "PopulationParams",
    "build_population",
]

_MAX_EXTRA_MEMBERS = 8  # households have at most 9 people


class RegionalShares(StrictModel):
    """A share per region."""

    capital: float = Field(ge=0, le=1)
    interior: float = Field(ge=0, le=1)
    border: float = Field(ge=0, le=1)

    def array(self) -> np.ndarray:
        """The shares in region order (capital, interior, border)."""
        return np.array([self.capital, self.interior, self.border])


class PopulationParams(StrictModel):
    """How the synthetic population is built; sources in docs/odd.md section 3."""

    capital_share: float = Field(0.13, ge=0.0, le=0.5, description="2008 census")
    border_share: float = Field(0.10, ge=0.0, le=0.5, description="assumption")
    household_extra: float = Field(2.9, ge=0.5, le=6, description="2008 census mean 3.9")
    extra_adult_share: float = Field(0.5, ge=0, le=1, description="assumption")
    soldier_share: float = Field(0.066, ge=0, le=0.3, description="IISS Military Balance")
    officer_share: float = Field(0.006, ge=0, le=0.1, description="assumption")
    senior_share: float = Field(0.001, ge=0, le=0.05, description="assumption")
    senior_capital_share: float = Field(0.9, ge=0, le=1, description="assumption")
    nunit_min: int = Field(20, ge=1, le=200, description="seed article: 20-50 households")
    nunit_max: int = Field(50, ge=1, le=200, description="seed article: 20-50 households")
    work_min: int = Field(10, ge=2, le=1000, description="assumption")
    work_max: int = Field(60, ge=2, le=1000, description="assumption")
    military_min: int = Field(80, ge=2, le=1000, description="assumption: a company")
    military_max: int = Field(150, ge=2, le=1000, description="assumption: a company")
    office_min: int = Field(5, ge=2, le=1000, description="assumption")
    office_max: int = Field(15, ge=2, le=1000, description="assumption")
    friend_mean: float = Field(4.0, ge=0, le=30, description="assumption: mean ties")
    friend_local_share: float = Field(0.7, ge=0, le=1, description="assumption")
    mobile_share: RegionalShares = RegionalShares(capital=0.5, interior=0.25, border=0.25)
    fixed_line_share: float = Field(0.1, ge=0, le=1, description="assumption")
    computer_share: RegionalShares = RegionalShares(capital=0.25, interior=0.08, border=0.08)
    internet_senior_share: float = Field(0.3, ge=0, le=1, description="assumption")
    grievance_a: float = Field(1.5, gt=0, le=20, description="assumption (Kumaraswamy a)")
    grievance_b: float = Field(5.0, gt=0, le=20, description="assumption (Kumaraswamy b)")
    pi_hat0: float = Field(0.05, ge=0, le=1, description="a0: prior per-listener risk (assumption)")
    suspicion0: float = Field(1.0, ge=0, le=50, description="assumption")
    banned_media0: float = Field(0.05, ge=0, le=1, description="assumption")
    informant_density: float = Field(0.0097, ge=0, le=0.2, description="seed: 200-300k")
    zeal_mean: float = Field(0.5, ge=0, le=1, description="assumption")
    zeal_spread: float = Field(0.3, ge=0, le=0.5, description="assumption; 0: fixed zeal")
    age_of_majority: int = Field(17, ge=10, le=25, description="DPRK: work and service at 17")

    @model_validator(mode="after")
    def _check_together(self) -> PopulationParams:
        if self.soldier_share + self.officer_share + self.senior_share > 1:
            raise ValueError("soldier, officer and senior shares add up to more than 1")
        pairs = [
            ("nunit_min", "nunit_max"),
            ("work_min", "work_max"),
            ("military_min", "military_max"),
            ("office_min", "office_max"),
        ]
        for low, high in pairs:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(
                    f"{low} = {getattr(self, low)} is above {high} = "
                    f"{getattr(self, high)} (allowed: {low} <= {high})"
                )
        return self


#: The per-person arrays of the population itself (the model's base arrays).
BASE_ATTRIBUTES = (
    Attribute("region", np.uint8, 0, "people", "0 capital, 1 interior, 2 border"),
    Attribute("household", np.int32, -1, "people", "household id"),
    Attribute("nunit", np.int32, -1, "people", "neighbourhood unit (inminban) id"),
    Attribute("work_unit", np.int32, -1, "people", "work unit id (children: the one at 17)"),
    Attribute("adult_day", np.int32, -1, "people", "day a child comes of age, -1 for adults"),
    Attribute("role", np.uint8, 0, "people", "0 child, 1 civilian, 2 soldier, 3 officer, 4 senior"),
    Attribute("phone", np.uint8, 0, "people", "0 none, 1 fixed line, 2 mobile"),
    Attribute("devices", np.uint8, 0, "people", "bits: 1 household computer, 2 Internet"),
    Attribute("status", np.uint8, 0, "people", "0 free, 1 detained, 2 imprisoned, 3 dead"),
)

#: Arrays of other mechanisms whose initial values the builder draws with the people
#: (beliefs and traits, banned media, informants), with their dtypes: the mechanisms
#: declare them (tests/test_population.py checks that the dtypes agree).
DRAWN = {
    "grievance0": np.float32,
    "grievance": np.float32,
    "risk_aversion": np.float32,
    "suspicion": np.float32,
    "belief_day": np.int32,
    "banned_media": np.bool_,
    "informant": np.bool_,
    "zeal": np.float32,
}


@dataclass
class Population:
    """The people and the units they belong to (ranges are ``start[i]:start[i + 1]``)."""

    people: State
    region_start: np.ndarray  # (4,) person ranges of the regions
    household_start: np.ndarray  # (H + 1,) person ranges of households
    nunit_start: np.ndarray  # (U + 1,) household ranges of neighbourhood units
    nunit_person_start: np.ndarray  # (U + 1,) person ranges of neighbourhood units
    nunit_head: np.ndarray  # (U,) the head, or -1
    work_start: np.ndarray  # (W + 1,) ranges of work_members
    work_members: np.ndarray  # everyone, grouped by work unit (children join at 17)
    unit_role: np.ndarray  # (W,) the role a child listed in the unit takes at 17
    friend_start: np.ndarray  # (N + 1,) ranges of friends (CSR)
    friends: np.ndarray  # person ids

    @property
    def n(self) -> int:
        """Number of people."""
        return int(self.people.sizes["people"])

    @property
    def nbytes(self) -> int:
        """Bytes held by all arrays."""
        extra = (
            self.region_start,
            self.household_start,
            self.nunit_start,
            self.nunit_person_start,
            self.nunit_head,
            self.work_start,
            self.work_members,
            self.unit_role,
            self.friend_start,
            self.friends,
        )
        return self.people.nbytes + sum(a.nbytes for a in extra)


def _cut(sizes_needed: int, sizes: np.ndarray) -> np.ndarray:
    """Leading ``sizes`` that sum to ``sizes_needed``, the last one trimmed."""
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, sizes_needed)) + 1
    out = sizes[:count].copy()
    out[-1] -= ends[count - 1] - sizes_needed
    return out


def _unit_sizes(streams: Streams, name: str, total: int, low: int, high: int) -> np.ndarray:
    """Sizes uniform on ``low..high`` that add up to ``total`` (the last one trimmed)."""
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    draws = streams.integers(name, 0, low, high, total // max(low, 1) + 2)
    return _cut(total, draws)


def _households(p: PopulationParams, streams: Streams, counts: np.ndarray) -> np.ndarray:
    """Household sizes, region after region, adding up to each region's count."""
    parts = []
    for z, count in enumerate(counts):
        if count == 0:
            continue
        n_draw = int(count / (1 + p.household_extra) * 1.3) + 20
        extra = streams.poisson(f"household_size/{REGIONS[z]}", 0, p.household_extra, n_draw)
        sizes = 1 + np.minimum(extra, _MAX_EXTRA_MEMBERS)
        while sizes.sum() < count:  # rare: draw more (deterministic: new indices)
            more = streams.poisson(
                f"household_size/{REGIONS[z]}/{sizes.size}", 0, p.household_extra, n_draw
            )
            sizes = np.concatenate([sizes, 1 + np.minimum(more, _MAX_EXTRA_MEMBERS)])
        parts.append(_cut(int(count), sizes))
    return np.concatenate(parts).astype(np.int64)


def _work_units(p, streams, role, region_start):
    """Assign everyone a work unit of its region and kind; return unit ids, lists, roles.

    Children are listed in a civilian work unit of their region, which they join when
    they come of age; until then they take no part in its conversations. The people of a
    region and kind are shuffled, then cut into units of drawn sizes.
    """
    n = role.size
    work_unit = np.full(n, -1, dtype=np.int32)
    work_members = np.empty(n, dtype=np.int32)
    kinds = [
        ((CIVILIAN, CHILD), p.work_min, p.work_max),
        ((SOLDIER, OFFICER), p.military_min, p.military_max),
        ((SENIOR,), p.office_min, p.office_max),
    ]
    starts, next_id, unit_role, filled = [np.zeros(1, np.int64)], 0, [], 0
    seed = np.uint64(streams.seed)
    for z in range(len(REGIONS)):
        lo, hi = int(region_start[z]), int(region_start[z + 1])
        for k, (roles, low, high) in enumerate(kinds):
            ids = (lo + np.flatnonzero(np.isin(role[lo:hi], roles))).astype(np.int32)
            if ids.size == 0:
                continue
            shuffle(seed, np.uint64(streams.id(f"work_order/{REGIONS[z]}/{k}")), ids)
            sizes = _unit_sizes(streams, f"work_size/{REGIONS[z]}/{k}", ids.size, low, high)
            work_unit[ids] = next_id + np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
            work_members[filled : filled + ids.size] = ids
            filled += ids.size
            starts.append(filled - ids.size + np.cumsum(sizes))
            unit_role.extend([roles[0]] * sizes.size)
            next_id += sizes.size
            del ids
    return (
        work_unit,
        work_members[:filled],
        np.concatenate(starts).astype(np.int64),
        np.array(unit_role, dtype=np.uint8),
    )


def build_population(
    p: PopulationParams, n: int, streams: Streams, people: State | None = None
) -> Population:
    """Build ``n`` synthetic people (docs/odd.md section 3).

    Args:
        p: the population's parameters.
        n: how many people.
        streams: the run's random streams.
        people: the state to fill (it must hold :data:`BASE_ATTRIBUTES` and
            :data:`DRAWN`, ``n`` long); by default, one holding just those.

    Raises:
        ValueError: ``n`` is below 2.
    """
    if n < 2:
        raise ValueError(f"a population needs at least 2 people, got {n}")
    counts = np.array([round(n * p.capital_share), 0, round(n * p.border_share)])
    counts[INTERIOR] = n - counts[CAPITAL] - counts[BORDER]
    region_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if people is None:
        drawn = [Attribute(name, dtype, 0, "people") for name, dtype in DRAWN.items()]
        people = State.allocate([*BASE_ATTRIBUTES, *drawn], people=n)
        people.suspicion[:] = 1
    s = people
    seed = np.uint64(streams.seed)
    for z in range(3):
        s.region[region_start[z] : region_start[z + 1]] = z
    region = s.region

    # Households, and who in them is an adult.
    sizes = _households(p, streams, counts)
    household_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    s.household[:] = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    adults = assign_adults(
        seed, np.uint64(streams.id("extra_adult")), household_start, p.extra_adult_share,
        region, s.role,
    )  # fmt: skip

    # Roles (senior officials concentrated in the capital, national share kept), ages,
    # phones, computers, Internet, traits.
    adult_share = np.maximum(adults / np.maximum(counts, 1), 1e-9)
    seniors = p.senior_share * adults.sum()
    capital_adults = max(counts[CAPITAL] * adult_share[CAPITAL], 1e-9)
    other_adults = max(adults.sum() - capital_adults, 1e-9)
    senior_p = np.array(
        [
            seniors * p.senior_capital_share / capital_adults,
            seniors * (1 - p.senior_capital_share) / other_adults,
            seniors * (1 - p.senior_capital_share) / other_adults,
        ]
    )
    by_region = np.stack(
        [
            np.minimum(senior_p, 1 - p.soldier_share - p.officer_share),
            p.mobile_share.array(),
            p.computer_share.array(),
        ]
    )
    shares = np.array(
        [
            p.soldier_share,
            p.officer_share,
            p.age_of_majority * 365,
            p.fixed_line_share,
            p.internet_senior_share,
            p.banned_media0,
            p.grievance_a,
            p.grievance_b,
            p.suspicion0,
        ]
    )
    traits = Traits(*(getattr(s, name) for name in Traits._fields))
    person_streams = np.array([streams.id("person"), streams.id("household")], dtype=np.uint64)
    civilians = assign_roles_and_traits(
        seed, person_streams, shares, by_region, household_start, s.household, region, traits
    )
    role = s.role

    # Neighbourhood units: consecutive households of one region.
    unit_sizes = []
    for z in range(3):
        n_households = int(np.sum(region[household_start[:-1]] == z)) if counts[z] else 0
        unit_sizes.append(
            _unit_sizes(streams, f"nunit_size/{REGIONS[z]}", n_households, p.nunit_min, p.nunit_max)
        )
    unit_sizes = np.concatenate(unit_sizes)
    nunit_start = np.concatenate([[0], np.cumsum(unit_sizes)]).astype(np.int64)
    nunit_of_household = np.repeat(np.arange(unit_sizes.size, dtype=np.int32), unit_sizes)
    s.nunit[:] = nunit_of_household[s.household]
    del nunit_of_household
    nunit_person_start = household_start[nunit_start]
    nunit_head = first_by_key(
        seed, np.uint64(streams.id("nunit_head")), nunit_person_start, role, CIVILIAN
    )

    # Work units.
    work_unit, work_members, work_start, unit_role = _work_units(p, streams, role, region_start)
    s.work_unit[:] = work_unit
    del work_unit

    # Friendship ties.
    friend_start, friends = friendships(
        p, streams, region, role, s.nunit, s.work_unit, nunit_person_start, work_start,
        work_members, region_start,
    )  # fmt: skip

    # Informants among adult civilians, placed independently with one probability.
    p_inf = min(1.0, p.informant_density * n / civilians) if civilians else 0.0
    assign_informants(
        seed, np.uint64(streams.id("informant")), p_inf, p.zeal_mean, p.zeal_spread, role,
        s.informant, s.zeal,
    )  # fmt: skip

    return Population(
        people=people,
        region_start=region_start,
        household_start=household_start,
        nunit_start=nunit_start,
        nunit_person_start=nunit_person_start,
        nunit_head=nunit_head,
        work_start=work_start,
        work_members=work_members,
        unit_role=unit_role,
        friend_start=friend_start,
        friends=friends,
    )
