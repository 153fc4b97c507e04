"""The civil-violence model: oracles, invariants, determinism."""

from __future__ import annotations

import math
import random

import numba
import numpy as np
import pytest
from scipy import stats

from survsim.engine.rng import random_block
from survsim.models import civil_violence_kernels as k
from tests.conftest import diamond_counts, make_sim

OUTBURSTS = {"legitimacy": 0.7, "cop_density": 0.04, "max_jail_term": 30}


def test_neighbourhood_is_mesas_von_neumann_diamond():
    dy, dx = k.diamond_offsets(7)
    assert dy.size == 112  # Mesa's get_neighborhood(radius=7) on a von Neumann grid
    assert set(zip(dy.tolist(), dx.tolist(), strict=True)) == {
        (y, x) for y in range(-7, 8) for x in range(-7, 8) if 0 < abs(y) + abs(x) <= 7
    }


def test_estimate_rounds_half_to_even_like_python():
    for cops in range(0, 113):
        for actives in range(1, 114):
            assert k.estimate_index(cops, actives, False) == round(cops / actives)
            assert k.estimate_index(cops, actives, True) == math.floor(cops / actives)
    assert k.estimate_index(1, 2, False) == 0 and k.estimate_index(5, 2, False) == 2
    assert k.estimate_index(3, 2, False) == 2 and k.estimate_index(3, 2, True) == 1


def test_arrest_probability_table_matches_mesas_formula():
    table = k.arrest_probability_table(20, 21, 2.3, False)
    for c in range(21):
        for a in range(1, 22):
            assert table[c, a] == 1 - math.exp(-1 * 2.3 * round(c / a))


def test_random_order_is_a_uniform_permutation():
    order = np.empty(4, dtype=np.int32)
    scratch = np.empty((4, 4), dtype=np.uint32)
    counts: dict[tuple[int, ...], int] = {}
    for step in range(24_000):
        k.draw_order(np.uint64(11), np.uint64(99), step, order, scratch)
        key = tuple(order.tolist())
        counts[key] = counts.get(key, 0) + 1
    assert sorted(counts) == sorted(
        tuple(p) for p in __import__("itertools").permutations(range(4))
    )
    assert stats.chisquare(list(counts.values())).pvalue > 1e-4


def test_padded_grid_tables_are_consistent():
    pw, torus_of, grid = k.padded_grid(17, 15, 3)
    padded_of = grid[0]
    # 17 + 2 * 3 = 23 columns of cells and their halo, one more to align rows to 8 cells.
    assert pw == 24 and torus_of.size == 24 * 21
    assert (torus_of.reshape(21, 24)[:, 23] == -1).all()
    np.testing.assert_array_equal(torus_of[padded_of], np.arange(17 * 15))
    every = []
    for cell in range(17 * 15):
        mine = k.copies_of(grid, cell)
        assert mine[0] == padded_of[cell]
        assert (torus_of[mine] == cell).all()
        every.extend(mine)
    # Every padded cell but the alignment's is a copy of exactly one torus cell.
    assert sorted(every) == np.flatnonzero(torus_of >= 0).tolist()


@pytest.mark.parametrize("radius", [1, 7, 10, 11])
def test_word_wise_diamond_counts_equal_cell_by_cell_counts(radius):
    """Counts added eight (or four) cells at a time equal a diamond added cell by cell.

    Every cell of a full torus adds its diamond, so each count reaches its largest value,
    ``2 r (r + 1)``: 220 in one byte at radius 10, 264 in two bytes at radius 11. Then a
    random half take theirs away again.
    """
    width, height = 2 * radius + 3, 2 * radius + 1
    lanes = k.lane_dtype(radius)
    assert lanes.itemsize == (1 if radius <= 10 else 2)
    pw, torus_of, grid = k.padded_grid(width, height, radius)
    padded_of = grid[0]
    padded = torus_of.size
    masks, corner = k.diamond_masks(radius, pw, lanes.itemsize)
    row_words = pw * lanes.itemsize // 8
    dy, dx = k.diamond_offsets(radius)
    offsets = dy * pw + dx
    field = np.zeros(k.field_size(padded, radius, lanes.itemsize), dtype=lanes)
    everyone = np.arange(width * height, dtype=np.int32)
    k.count_to_field(field, everyone, padded_of, masks, corner, row_words)
    expected = np.zeros(field.size, dtype=np.int64)
    for cell in everyone:
        expected[padded_of[cell] + offsets] += 1
    np.testing.assert_array_equal(field, expected)
    out = np.empty(width * height, dtype=np.int64)
    k.fold_field(field, grid, out)
    assert (out == 2 * radius * (radius + 1)).all()
    leaving = np.random.default_rng(radius).permutation(everyone)[: everyone.size // 2]
    _take_away(field, leaving.astype(np.int64), padded_of, masks, corner, row_words)
    for cell in leaving:
        expected[padded_of[cell] + offsets] -= 1
    np.testing.assert_array_equal(field, expected)
    k.fold_field(field, grid, out)
    np.testing.assert_array_equal(
        out, diamond_counts(np.setdiff1d(everyone, leaving), width, height, radius)
    )


@numba.njit
def _take_away(field, cells, padded_of, masks, corner, row_words):
    words = field.view(np.uint64)
    for cell in cells:
        k.add_diamond(words, padded_of[cell], masks, corner, row_words, -1)


def test_empty_cell_choice_is_uniform_and_never_occupied():
    width = height = 15
    radius = 3
    dy, dx = k.diamond_offsets(radius)
    pw, torus_of, grid = k.padded_grid(width, height, radius)
    padded_of = grid[0]
    offsets = (dy * pw + dx).astype(np.int32)
    rng = random.Random(0)
    occupant = np.full(torus_of.size, -1, dtype=np.int32)

    def place(cell, value):
        for c in k.copies_of(grid, cell):
            occupant[c] = value

    for cell in rng.sample(range(width * height), 180):  # most cells taken
        place(cell, 1)
    centre = 1 * width + 14  # near a corner: the diamond wraps on both axes
    place(centre, 5)

    def choose(step):
        first = np.zeros((4, 1), np.uint32)
        first[:, 0] = random_block(np.uint64(3), np.uint64(4), step, 5, 0)
        t = np.uint64(65536 % offsets.size)
        cell = k._empty_cell_in_vision(
            np.uint64(3), np.uint64(4), step, 5, padded_of[centre], occupant, offsets, t, first, 0
        )
        return -1 if cell < 0 else int(torus_of[cell])

    draws = [choose(step) for step in range(6000)]
    ys, xs = divmod(centre, width)
    diamond = {
        ((ys + a) % height) * width + (xs + b) % width
        for a, b in zip(dy.tolist(), dx.tolist(), strict=True)
    }
    empties = {c for c in diamond if occupant[padded_of[c]] < 0}
    assert set(draws) == empties  # only empty cells, every one of them
    counts = np.array([draws.count(c) for c in sorted(empties)])
    assert stats.chisquare(counts).pvalue > 1e-4
    # One empty cell left: found (by counting, after the random tries miss).
    for c in diamond:
        place(c, 1)
    only = sorted(empties)[0]
    place(only, -1)
    assert choose(0) == only
    place(only, 1)
    assert choose(0) == -1


@numba.njit
def _probe_all_halves(n, t, out):
    """The cell each 16-bit value probes among ``n`` empty cells, or -1 when dropped."""
    occupant = np.full(n, -1, dtype=np.int32)
    offsets = np.arange(n, dtype=np.int32)
    for h in range(65536):
        v = np.uint64(h)
        out[h] = k._four_probes(0, occupant, offsets, np.uint64(n), t, v, v, v, v)


@pytest.mark.parametrize("n", [4, 7, 112, 1984, 20200])
def test_probes_are_exactly_uniform(n):
    """Over all 65,536 values of a 16-bit half, every cell of the diamond is probed equally
    often: the multiply-shift map with the dropped values left out is exact (2**16 is not
    a multiple of 7, 112, 1984 or 20,200). Negative control: keeping every value (``t = 0``)
    is not uniform, except where ``n`` divides 2**16."""
    out = np.empty(65536, dtype=np.int64)
    _probe_all_halves(n, np.uint64(65536 % n), out)
    kept = out[out >= 0]
    assert kept.size == 65536 - 65536 % n
    counts = np.bincount(kept, minlength=n)
    assert counts.min() == counts.max() == 65536 // n
    _probe_all_halves(n, np.uint64(0), out)
    counts = np.bincount(out, minlength=n)
    assert (counts.min() == counts.max()) == (65536 % n == 0)


def test_a_dropped_probe_passes_to_the_next_empty_one():
    """The first empty probe dropped (``h n`` mod 2**16 below ``t``), the next empty kept."""
    occupant = np.array([-1, 0, -1, -1], dtype=np.int32)
    offsets = np.arange(4, dtype=np.int32)
    n = np.uint64(112)  # cells 0..3 of a diamond of 112 need h < 4 * 2**16 / 112
    t = np.uint64(65536 % 112)  # 16
    h_cell = [np.uint64(-(-c * 65536 // 112) + 1) for c in range(4)]  # probes cell c, kept
    assert [int(h * n) >> 16 for h in h_cell] == [0, 1, 2, 3]
    assert all((int(h * n) & 0xFFFF) >= 16 for h in h_cell)
    dropped = np.uint64(0)  # probes cell 0, with h n mod 2**16 = 0 < t
    probe = k._four_probes.py_func
    assert probe(0, occupant, offsets, n, t, h_cell[0], h_cell[1], h_cell[2], h_cell[3]) == 0
    assert probe(0, occupant, offsets, n, t, dropped, h_cell[1], h_cell[2], h_cell[3]) == 2
    assert probe(0, occupant, offsets, n, t, dropped, h_cell[1], h_cell[1], h_cell[3]) == 3
    assert probe(0, occupant, offsets, n, t, dropped, h_cell[1], h_cell[1], h_cell[1]) == -1
    assert probe(0, occupant, offsets, n, np.uint64(0), dropped, h_cell[1], h_cell[2],
                 h_cell[3]) == 0  # fmt: skip


def _check_invariants(sim) -> None:
    p = sim.params
    s = sim.state
    n = sim.agents
    # One agent per cell, and the grid and the positions agree.
    cell_agent = sim.cell_agent()
    assert np.unique(s.pos).size == n
    np.testing.assert_array_equal(cell_agent[s.pos], np.arange(n))
    assert (cell_agent >= 0).sum() == n
    # Every padded copy of a cell shows the same occupant; the alignment's columns none.
    live = sim._torus_of >= 0
    np.testing.assert_array_equal(s.occupant[: live.size][live], cell_agent[sim._torus_of[live]])
    assert (s.occupant[: live.size][~live] == -1).all()
    # Conservation: every citizen is quiet, active or jailed.
    row = sim.timeseries().slice(sim.t, 1).to_pylist()[0]
    assert row["quiet"] + row["active"] + row["jailed"] == sim.n_citizens
    # Jailed citizens are the ones with a sentence left (or just released, not yet acted).
    assert ((s.jail > 0) <= (s.status == k.JAILED)).all()
    # The maintained neighbourhood counts equal a brute-force recount.
    cops = s.pos[sim.n_citizens :]
    actives = s.pos[: sim.n_citizens][s.status[: sim.n_citizens] == k.ACTIVE]
    np.testing.assert_array_equal(
        sim.seen("cops_seen"), diamond_counts(cops, p.width, p.height, p.citizen_vision)
    )
    np.testing.assert_array_equal(
        sim.seen("actives_seen"), diamond_counts(actives, p.width, p.height, p.citizen_vision)
    )
    np.testing.assert_array_equal(
        sim.seen("actives_seen_cop"), diamond_counts(actives, p.width, p.height, p.cop_vision)
    )


@pytest.mark.parametrize(
    "params",
    [
        {**OUTBURSTS, "width": 20, "height": 20},
        {**OUTBURSTS, "width": 23, "height": 17, "cop_vision": 5, "citizen_vision": 3},
        {"width": 16, "height": 16, "citizen_density": 0.9, "cop_density": 0.1},  # full grid
        {**OUTBURSTS, "width": 20, "height": 20, "movement": False},
        # Vision 11: up to 264 in a count, two bytes per count, five words per mask row.
        {**OUTBURSTS, "width": 25, "height": 23, "citizen_vision": 11, "cop_vision": 9},
    ],
)
def test_one_agent_per_cell_counts_conserved_and_fields_exact_every_step(params):
    sim = make_sim(steps=40, seed=2, **params)
    _check_invariants(sim)
    sim.add_hook(_check_invariants)
    sim.run()


def test_without_cops_the_actives_are_exactly_the_aggrieved():
    sim = make_sim(steps=5, seed=3, cop_density=0.0, legitimacy=0.6)
    s = sim.state
    expected = s.grievance[: sim.n_citizens] > sim.params.active_threshold
    for _ in range(5):
        sim.step()
        active = s.status[: sim.n_citizens] == k.ACTIVE
        np.testing.assert_array_equal(active, expected)
    assert 0 < expected.sum() < sim.n_citizens
    assert sim.timeseries().column("jailed").to_numpy().max() == 0


def test_first_step_decisions_follow_the_rule():
    # Before anyone is active, the rule is G - R * P(C, 1) > T for the cops in vision.
    sim = make_sim(steps=1, seed=8, **OUTBURSTS, movement=False)
    s = sim.state
    cops_before = sim.seen("cops_seen")
    sim.step()
    # Without movement cops_seen is unchanged. More actives in vision only lower P, so a
    # citizen with G - R * P(C, A=1) > T must have turned active (and may since be jailed).
    c = sim.n_citizens
    g, r = s.grievance[:c], s.risk_aversion[:c]
    p_alone = 1 - np.exp(-2.3 * np.round(cops_before[s.pos[:c]] / 1.0))
    must_be_active = g - r * p_alone > 0.1  # more actives only lower P: still active
    active_or_jailed = s.status[:c] != k.QUIET
    assert must_be_active.sum() > 50
    assert active_or_jailed[must_be_active].all()


def test_same_seed_same_data_other_seed_different():
    a = make_sim(steps=60, seed=5, **OUTBURSTS).run().timeseries()
    b = make_sim(steps=60, seed=5, **OUTBURSTS).run().timeseries()
    c = make_sim(steps=60, seed=6, **OUTBURSTS).run().timeseries()
    assert a.equals(b)
    assert not a.equals(c)


def test_floor_variant_is_more_rebellious():
    # floor(C/A) <= round(C/A): lower perceived risk, more actives in the first outburst.
    def mean_active(rounding: str) -> float:
        sims = [make_sim(steps=10, seed=s, **OUTBURSTS, estimate_rounding=rounding).run()
                for s in range(5)]  # fmt: skip
        return np.mean([s.timeseries().column("active").to_numpy()[1:].mean() for s in sims])

    assert mean_active("floor") > mean_active("round")
