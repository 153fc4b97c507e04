"""The synthetic population: regions, households, neighbourhood units, work units, ties.

Everything is built with flat arrays and vectorised or numba code, never a Python loop
over people (docs/odd.md section 3). People are laid out region by region, household by
household, so a household, a neighbourhood unit and a region are each a contiguous range
of person ids; work units are listed in ``work_members``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from pydantic import Field, model_validator

from survsim.engine import Attribute, State, Streams
from survsim.engine.params import StrictModel

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

REGIONS = ("capital", "interior", "border")
CAPITAL, INTERIOR, BORDER = 0, 1, 2
CHILD, CIVILIAN, SOLDIER, OFFICER, SENIOR = 0, 1, 2, 3, 4
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
    pi_hat0: float = Field(0.05, ge=0, le=1, description="assumption")
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


PERSON_ATTRIBUTES = [
    Attribute("region", np.uint8, 0, "people", "0 capital, 1 interior, 2 border"),
    Attribute("household", np.int32, -1, "people", "household id"),
    Attribute("nunit", np.int32, -1, "people", "neighbourhood unit (inminban) id"),
    Attribute("work_unit", np.int32, -1, "people", "work unit id (children: the one at 17)"),
    Attribute("adult_day", np.int32, -1, "people", "day a child comes of age, -1 for adults"),
    Attribute("role", np.uint8, 0, "people", "0 child, 1 civilian, 2 soldier, 3 officer, 4 senior"),
    Attribute("phone", np.uint8, 0, "people", "0 none, 1 fixed line, 2 mobile"),
    Attribute("computer", np.bool_, False, "people", "household has a registered computer"),
    Attribute("internet", np.bool_, False, "people", "Internet access (super-elite)"),
    Attribute("grievance0", np.float32, 0, "people", "baseline grievance g0"),
    Attribute("grievance", np.float32, 0, "people", "grievance g (lazy decay to g0)"),
    Attribute("risk_aversion", np.float32, 0, "people", "r ~ U(0,1)"),
    Attribute("pi_hat", np.float32, 0, "people", "belief: chance a listener reports"),
    Attribute("suspicion", np.float32, 1, "people", "belief multiplier for bugging"),
    Attribute("belief_day", np.int32, 0, "people", "day beliefs were last brought up to date"),
    Attribute("banned_media", np.bool_, False, "people", "uses banned media"),
    Attribute("informant", np.bool_, False, "people", "recruited informant"),
    Attribute("zeal", np.float32, 0, "people", "q: chance an informant reports"),
    Attribute("status", np.uint8, 0, "people", "0 free, 1 detained, 2 imprisoned, 3 dead"),
    Attribute("ever_spoke", np.bool_, False, "people", "spoke openly at least once"),
    Attribute("busy_day", np.int32, -1, "people", "day of the busy flags"),
    Attribute("busy", np.uint8, 0, "people", "contexts taken part in on busy_day (bits)"),
]


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


@nb.njit(cache=True)
def _first_by_key(groups_start, key, eligible):
    """For each range ``groups_start[g]:groups_start[g+1]``, the eligible index of least key."""
    n_groups = groups_start.shape[0] - 1
    out = np.full(n_groups, -1, dtype=np.int32)
    for g in range(n_groups):
        best = np.inf
        for i in range(groups_start[g], groups_start[g + 1]):
            if eligible[i] and key[i] < best:
                best = key[i]
                out[g] = i
    return out


def _work_units(p, streams, region, role, region_start):
    """Assign everyone a work unit of its region and kind; return unit ids, lists, roles.

    Children are listed in a civilian work unit of their region, which they join when
    they come of age; until then they take no part in its conversations.
    """
    n = region.size
    work_unit = np.full(n, -1, dtype=np.int32)
    key = streams.uniform("work_order", 0, n)
    kinds = [
        ((CIVILIAN, CHILD), p.work_min, p.work_max),
        ((SOLDIER, OFFICER), p.military_min, p.military_max),
        ((SENIOR,), p.office_min, p.office_max),
    ]
    members, starts, next_id, unit_role = [], [0], 0, []
    for z in range(len(REGIONS)):
        lo, hi = region_start[z], region_start[z + 1]
        for k, (roles, low, high) in enumerate(kinds):
            ids = lo + np.flatnonzero(np.isin(role[lo:hi], roles))
            if ids.size == 0:
                continue
            ids = ids[np.argsort(key[ids], kind="stable")]
            sizes = _unit_sizes(streams, f"work_size/{REGIONS[z]}/{k}", ids.size, low, high)
            unit = next_id + np.repeat(np.arange(sizes.size), sizes)
            work_unit[ids] = unit
            members.append(ids)
            starts.extend((starts[-1] + np.cumsum(sizes)).tolist())
            unit_role.extend([roles[0]] * sizes.size)
            next_id += sizes.size
    work_members = np.concatenate(members).astype(np.int32) if members else np.zeros(0, np.int32)
    return (
        work_unit,
        work_members,
        np.array(starts, dtype=np.int64),
        np.array(unit_role, dtype=np.uint8),
    )


def _friendships(
    p,
    streams,
    region,
    role,
    nunit,
    work_unit,
    nunit_person_start,
    work_start,
    work_members,
    region_start,
):
    """Undirected ties among adults of one region, as CSR arrays."""
    n = region.size
    adults = np.flatnonzero(role != CHILD)
    ties = streams.poisson("friend_count", 0, p.friend_mean / 2, n)[adults]
    source = np.repeat(adults, ties)
    m = source.size
    u_kind = streams.uniform("friend_kind", 0, m)
    u_pick = streams.uniform("friend_pick", 0, m)
    target = np.empty(m, dtype=np.int64)
    # Partners are drawn among adults: ``adults`` is sorted, and regions and
    # neighbourhood units are contiguous ranges of person ids, so their adults are
    # contiguous ranges of ``adults`` too.
    region_adults = np.searchsorted(adults, region_start)
    z = region[source]
    lo, hi = region_adults[z], region_adults[z + 1]
    target[:] = adults[lo + (u_pick * (hi - lo)).astype(np.int64)]
    anywhere = target.copy()
    local = u_kind < p.friend_local_share
    in_nunit = local & (u_kind < p.friend_local_share / 2)
    nunit_adults = np.searchsorted(adults, nunit_person_start)
    u = nunit[source[in_nunit]]
    lo, hi = nunit_adults[u], nunit_adults[u + 1]
    target[in_nunit] = adults[lo + (u_pick[in_nunit] * (hi - lo)).astype(np.int64)]
    in_work = local & ~in_nunit
    w = work_unit[source[in_work]]
    lo, hi = work_start[w], work_start[w + 1]
    target[in_work] = work_members[lo + (u_pick[in_work] * (hi - lo)).astype(np.int64)]
    child = role[target] == CHILD  # work units list children too: tie them in the region
    target[child] = anywhere[child]
    keep = target != source
    a, b = source[keep], target[keep]
    pairs = np.unique(np.concatenate([a * n + b, b * n + a]))
    left, right = np.divmod(pairs, n)
    friend_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(left, minlength=n), out=friend_start[1:])
    return friend_start, right.astype(np.int32)


def build_population(p: PopulationParams, n: int, streams: Streams) -> Population:
    """Build ``n`` synthetic people (docs/odd.md section 3).

    Raises:
        ValueError: ``n`` is below 2.
    """
    if n < 2:
        raise ValueError(f"a population needs at least 2 people, got {n}")
    counts = np.array([round(n * p.capital_share), 0, round(n * p.border_share)])
    counts[INTERIOR] = n - counts[CAPITAL] - counts[BORDER]
    region_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    people = State.allocate(PERSON_ATTRIBUTES, people=n)
    s = people
    region = np.repeat(np.arange(3, dtype=np.uint8), counts)
    s.region[:] = region

    # Households and who in them is an adult.
    sizes = _households(p, streams, counts)
    household_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    household = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    s.household[:] = household
    member = np.arange(n) - household_start[household]
    adult = (member < 2) | (streams.uniform("extra_adult", 0, n) < p.extra_adult_share)

    # Roles: senior officials concentrated in the capital, national share kept.
    u = streams.uniform("role", 0, n)
    adult_share = np.array(
        [max(np.mean(adult[region == z]), 1e-9) if counts[z] else 1.0 for z in range(3)]
    )
    seniors = p.senior_share * adult.sum()
    capital_adults = max(counts[CAPITAL] * adult_share[CAPITAL], 1e-9)
    other_adults = max(adult.sum() - capital_adults, 1e-9)
    senior_p = np.array(
        [
            seniors * p.senior_capital_share / capital_adults,
            seniors * (1 - p.senior_capital_share) / other_adults,
            seniors * (1 - p.senior_capital_share) / other_adults,
        ]
    )
    senior_p = np.minimum(senior_p, 1 - p.soldier_share - p.officer_share)[region]
    role = np.full(n, CIVILIAN, dtype=np.uint8)
    role[u < p.soldier_share + p.officer_share + senior_p] = SENIOR
    role[u < p.soldier_share + p.officer_share] = OFFICER
    role[u < p.soldier_share] = SOLDIER
    role[~adult] = CHILD
    s.role[:] = role
    # Children's ages are uniform on [0, age_of_majority) years: each comes of age on a
    # day of the coming years (the demography step reads this).
    majority = p.age_of_majority * 365
    ages = (streams.uniform("age", 0, n) * majority).astype(np.int64)
    s.adult_day[:] = np.where(role == CHILD, majority - ages, -1)

    # Neighbourhood units: consecutive households of one region.
    unit_sizes = []
    first_household = np.searchsorted(household_start, region_start[:-1])
    for z in range(3):
        n_households = int(np.sum(region[household_start[:-1]] == z)) if counts[z] else 0
        unit_sizes.append(
            _unit_sizes(streams, f"nunit_size/{REGIONS[z]}", n_households, p.nunit_min, p.nunit_max)
        )
    del first_household
    unit_sizes = np.concatenate(unit_sizes)
    nunit_start = np.concatenate([[0], np.cumsum(unit_sizes)]).astype(np.int64)
    nunit_of_household = np.repeat(np.arange(unit_sizes.size, dtype=np.int32), unit_sizes)
    s.nunit[:] = nunit_of_household[household]
    nunit_person_start = household_start[nunit_start]
    eligible = role == CIVILIAN
    nunit_head = _first_by_key(nunit_person_start, streams.uniform("nunit_head", 0, n), eligible)

    # Work units.
    work_unit, work_members, work_start, unit_role = _work_units(
        p, streams, region, role, region_start
    )
    s.work_unit[:] = work_unit

    # Friendship ties.
    friend_start, friends = _friendships(
        p,
        streams,
        region,
        role,
        s.nunit,
        work_unit,
        nunit_person_start,
        work_start,
        work_members,
        region_start,
    )

    # Phones, computers, Internet.
    household_fixed = streams.uniform("fixed_line", 0, sizes.size) < p.fixed_line_share
    mobile = adult & (streams.uniform("mobile", 0, n) < p.mobile_share.array()[region])
    s.phone[:] = np.where(mobile, 2, np.where(adult & household_fixed[household], 1, 0))
    household_region = region[household_start[:-1]]
    has_computer = (
        streams.uniform("computer", 0, sizes.size) < (p.computer_share.array()[household_region])
    )
    s.computer[:] = has_computer[household]
    s.internet[:] = (role == SENIOR) & (streams.uniform("internet", 0, n) < p.internet_senior_share)

    # Traits: grievance from a Kumaraswamy law (closed-form inverse), r ~ U(0,1).
    ug = streams.uniform("grievance0", 0, n)
    g0 = (1 - (1 - ug) ** (1 / p.grievance_b)) ** (1 / p.grievance_a)
    s.grievance0[:] = g0
    s.grievance[:] = g0
    s.risk_aversion[:] = streams.uniform("risk_aversion", 0, n)
    s.pi_hat[:] = p.pi_hat0
    s.suspicion[:] = p.suspicion0
    s.banned_media[:] = adult & (streams.uniform("banned_media0", 0, n) < p.banned_media0)

    # Informants among adult civilians, placed independently with one probability.
    civilians = int(eligible.sum())
    p_inf = min(1.0, p.informant_density * n / civilians) if civilians else 0.0
    s.informant[:] = eligible & (streams.uniform("informant", 0, n) < p_inf)
    zeal = p.zeal_mean + p.zeal_spread * (2 * streams.uniform("zeal", 0, n) - 1)
    s.zeal[:] = np.where(s.informant, np.clip(zeal, 0, 1), 0)

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
