"""numba kernels of the civil-violence model (Epstein 2002, Model I, as in Mesa 3.3.1).

The grid is a torus of ``width * height`` cells stored row-major; positions and the
neighbourhood counts use torus cells, occupancy a padded copy (see :func:`padded_grid`).
Agents ``0 .. n_citizens-1`` are citizens, the rest cops.

What makes it fast (Mesa recounts every neighbourhood for every agent every step):

- **Neighbourhood counts kept up to date.** ``cops_seen[c]`` and ``actives_seen[c]`` hold
  the number of cops and of active citizens in the von Neumann diamond of radius
  ``citizen_vision`` around cell ``c`` (its own cell excluded). They change only when a cop
  moves or a citizen turns active, turns quiet, is jailed or moves while active, and each
  change updates one diamond, a row at a time as a few 64-bit words that each add to eight
  one-byte counts at once (:func:`add_diamond`). A citizen's decision reads two numbers.
- **Rejection sampling of empty cells.** A mover draws random cells of its diamond until
  one is empty (exactly uniform over the empty cells); after 32 misses it counts them.
- **A padded grid for occupancy.** The torus is stored with a halo as wide as the largest
  vision, every cell's occupant written on all its copies, so a diamond is a fixed set of
  flat offsets and probing a cell is one addition and one load.
- **Arrests only look when someone is there to arrest**: a cop scans its diamond only if
  the active count around it is positive.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from survsim.engine.rng import random_block_inline, u32_below

QUIET = np.uint8(0)
ACTIVE = np.uint8(1)
JAILED = np.uint8(2)
_REJECTION_TRIES = 4  # blocks of eight probes each: 32 probes before counting
_S16 = np.uint64(16)
_LOW16 = np.uint64(0xFFFF)


def diamond_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the von Neumann diamond of ``radius``, centre excluded.

    Mesa's ``get_neighborhood(radius)`` on an orthogonal von Neumann grid returns the same
    ``2 * radius * (radius + 1)`` cells (112 at radius 7).
    """
    dy, dx = [], []
    for oy in range(-radius, radius + 1):
        span = radius - abs(oy)
        for ox in range(-span, span + 1):
            if oy == 0 and ox == 0:
                continue
            dy.append(oy)
            dx.append(ox)
    return np.array(dy, dtype=np.int32), np.array(dx, dtype=np.int32)


def lane_dtype(radius: int):
    """The count type of a field whose diamonds have ``radius``.

    One byte while it holds the largest count, ``2 r (r + 1)`` (radius 10 and below),
    else two.
    """
    return np.dtype(np.uint8) if 2 * radius * (radius + 1) <= 255 else np.dtype(np.uint16)


def _row_words(radius: int, lanes: int) -> int:
    """64-bit words a diamond row of ``2 r + 1`` cells spans, starting in any lane."""
    return (2 * radius + 1 + 2 * (lanes - 1)) // lanes


def diamond_masks(radius: int, padded_width: int, itemsize: int) -> tuple[np.ndarray, int]:
    """The diamond of ``radius`` as 64-bit words of counts, for :func:`add_diamond`.

    A field of one- or two-byte counts is updated eight or four cells at a time: each row
    of the diamond (at most ``2 r + 1`` cells) is added as a few 64-bit words whose lanes
    hold 1 inside the diamond and 0 elsewhere. ``masks[s, row, w]`` is word ``w`` of row
    ``row`` when the row's first cell sits in lane ``s`` of its word; ``padded_width``
    must be a multiple of the lanes per word, so every row of a diamond starts in the
    same lane. No lane carries into the next: a lane counts the agents whose diamond
    lands on that copy of its cell, between 0 and ``2 r (r + 1)``, which the lane holds
    (:func:`lane_dtype`).

    Returns:
        ``(masks, corner)``: the words, and the padded offset from a diamond's centre back
        to its top-left corner (``r`` rows up, ``r`` cells left).
    """
    lanes = 8 // itemsize
    if padded_width % lanes:
        raise ValueError(f"padded width {padded_width} is not a multiple of {lanes}")
    words = _row_words(radius, lanes)
    dtype = np.uint8 if itemsize == 1 else np.uint16
    cells = np.zeros((lanes, 2 * radius + 1, words * lanes), dtype=dtype)
    dy, dx = diamond_offsets(radius)
    for shift in range(lanes):
        cells[shift, dy + radius, shift + dx + radius] = 1
    masks = np.ascontiguousarray(cells).view(np.uint64).reshape(lanes, 2 * radius + 1, words)
    return masks, radius * padded_width + radius


def field_size(padded_cells: int, radius: int, itemsize: int) -> int:
    """Cells of a count field: the padded grid and the words a bottom row's mask reaches."""
    lanes = 8 // itemsize
    return (padded_cells + lanes - 1) // lanes * lanes + _row_words(radius, lanes) * lanes


@nb.njit(cache=True, inline="always")
def add_diamond(words, ppos, masks, corner, row_words, delta):
    """Add ``delta`` (1 or -1) to every count of the diamond around padded cell ``ppos``.

    ``words`` is the count field viewed as 64-bit words, ``masks`` and ``corner`` come
    from :func:`diamond_masks`, ``row_words`` is the padded width in words. Each torus
    cell of the diamond is reached exactly once, on one of its copies
    (``width, height >= 2 r + 1`` is checked by the parameters); :func:`read_field` sums
    the copies. Three words per row (radius 8 and below, one-byte counts) are written
    without a loop.
    """
    start = ppos - corner
    lanes = masks.shape[0]
    rows = masks[start & (lanes - 1)]
    w = start >> ((lanes >> 2) + 1)  # lanes is 8 or 4: divide by it
    if rows.shape[1] == 3:
        if delta > 0:
            for i in range(rows.shape[0]):
                for j in range(3):
                    words[w + j] += rows[i, j]
                w += row_words
        else:
            for i in range(rows.shape[0]):
                for j in range(3):
                    words[w + j] -= rows[i, j]
                w += row_words
    else:
        for i in range(rows.shape[0]):
            for j in range(rows.shape[1]):
                if delta > 0:
                    words[w + j] += rows[i, j]
                else:
                    words[w + j] -= rows[i, j]
            w += row_words


@nb.njit(cache=True, inline="always")
def _shifts(code, row_shift, col_shift):
    """The row and column shifts from a cell's canonical copy to its halo copies.

    Without branches (the edge code of the next cell is not predictable): bits 1 and 2
    never both hold, nor 4 and 8, since a side is at least ``2 r + 1`` cells.
    """
    dr = row_shift * ((code & 1) != 0) - row_shift * ((code & 2) != 0)
    dc = col_shift * ((code & 4) != 0) - col_shift * ((code & 8) != 0)
    return dr, dc


@nb.njit(cache=True, inline="always")
def read_field(field, grid, cell):
    """The count of torus cell ``cell``: the sum over its padded copies.

    ``grid`` is ``(padded_of, edge, row_shift, col_shift)`` from :func:`padded_grid`. A
    missing copy has a zero shift: its load reads the canonical copy again and is
    multiplied by zero, so the sum takes no branch.
    """
    padded_of, edge, row_shift, col_shift = grid
    base = padded_of[cell]
    dr, dc = _shifts(edge[cell], row_shift, col_shift)
    has_r = np.int64(dr != 0)
    has_c = np.int64(dc != 0)
    return (
        np.int64(field[base])
        + has_r * np.int64(field[base + dr])
        + has_c * np.int64(field[base + dc])
        + has_r * has_c * np.int64(field[base + dr + dc])
    )


@nb.njit(cache=True)
def fold_field(field, grid, out):
    """Write the count of every torus cell into ``out`` (for inspection and tests)."""
    for cell in range(out.shape[0]):
        out[cell] = read_field(field, grid, cell)


@nb.njit(cache=True)
def count_to_field(field, positions, padded_of, masks, corner, row_words):
    """Set the padded ``field`` to the number of ``positions`` in each cell's diamond."""
    field[:] = 0
    words = field.view(np.uint64)
    for i in range(positions.shape[0]):
        add_diamond(words, padded_of[positions[i]], masks, corner, row_words, 1)


@nb.njit(cache=True)
def draw_order(seed, stream, step, order, scratch):
    """A uniformly random permutation of ``0..n-1`` for this step (Fisher-Yates).

    The permutation is a pure function of ``(seed, stream, step)``: it starts from the
    identity each step, and the swap partner of position ``i`` comes from word ``i % 4``
    of the Philox block with index ``i // 4``. The blocks are drawn first, in one loop
    that LLVM vectorises, into ``scratch`` (a C-contiguous uint32 array of at least
    ``n + 3`` words, overwritten); the swaps then read them.
    """
    n = order.shape[0]
    words = scratch.reshape(-1)
    for b in range((n + 3) // 4):
        w0, w1, w2, w3 = random_block_inline(seed, stream, step, b, 0)
        words[4 * b] = np.uint32(w0)
        words[4 * b + 1] = np.uint32(w1)
        words[4 * b + 2] = np.uint32(w2)
        words[4 * b + 3] = np.uint32(w3)
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = u32_below(words[i], i + 1)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


@nb.njit(cache=True)
def first_blocks(seed, stream, step, order, out):
    """Block 0 of ``stream`` for the agent acting ``i``-th: ``out[:, i]``.

    ``out[:, i] = random_block(seed, stream, step, order[i], 0)``: the numbers depend on
    the agent, not on its place in the order, but are stored in acting order so that the
    activation loop reads them sequentially. One tight loop over a (4, n) uint32 array,
    which LLVM vectorises: four times cheaper per block than one call at a time.
    """
    for i in range(out.shape[1]):
        w0, w1, w2, w3 = random_block_inline(seed, stream, step, order[i], 0)
        out[0, i] = np.uint32(w0)
        out[1, i] = np.uint32(w1)
        out[2, i] = np.uint32(w2)
        out[3, i] = np.uint32(w3)


def padded_width(width: int, radius: int, align: int = 8) -> int:
    """The padded grid's row length: ``width + 2 r``, rounded up to a multiple of ``align``."""
    return -(-(width + 2 * radius) // align) * align


def padded_grid(width: int, height: int, radius: int, align: int = 8):
    """Tables of the torus drawn with a halo of ``radius`` cells on every side.

    The padded grid is ``(height + 2 r) x pw`` with ``pw`` the first multiple of
    ``align`` from ``width + 2 r`` (:func:`padded_width`; the columns beyond the halo are
    never read, and the alignment lets :func:`add_diamond` update counts by whole words);
    torus cell ``(y, x)`` sits at padded ``(y + r, x + r)`` (its canonical copy) and halo
    cells repeat the cells across the edge. With the occupancy kept on every copy of a
    cell, a diamond of radius at most ``r`` around any agent is a fixed set of flat
    offsets: no wrap-around arithmetic in the hot loops. A cell within ``r`` of an edge
    has halo copies one torus height or width away; a one-byte edge code per cell says
    which (bits: 1 below, 2 above, 4 right, 8 left), so a cell's copies cost no table of
    their own.

    Returns:
        ``(padded_width, torus_of, grid)``: the torus cell of each padded cell (-1 in
        the alignment's columns), and
        ``grid = (padded_of, edge, row_shift, col_shift)`` for :func:`read_field` and
        :func:`place`.
    """
    pw, ph = padded_width(width, radius, align), height + 2 * radius
    py, px = np.divmod(np.arange(pw * ph), pw)
    torus_of = (((py - radius) % height) * width + (px - radius) % width).astype(np.int32)
    torus_of[px >= width + 2 * radius] = -1  # the alignment's columns: no cell
    ty, tx = np.divmod(np.arange(width * height), width)
    padded_of = ((ty + radius) * pw + tx + radius).astype(np.int32)
    edge = (
        (ty < radius) * 1 + (ty >= height - radius) * 2
        + (tx < radius) * 4 + (tx >= width - radius) * 8
    ).astype(np.uint8)  # fmt: skip
    return pw, torus_of, (padded_of, edge, np.int64(height * pw), np.int64(width))


def copies_of(grid, cell: int) -> list[int]:
    """The padded copies of torus cell ``cell``, canonical first (for tests)."""
    padded_of, edge, row_shift, col_shift = grid
    base = int(padded_of[cell])
    dr, dc = _shifts(int(edge[cell]), int(row_shift), int(col_shift))
    out = [base]
    if dr:
        out.append(base + dr)
    if dc:
        out.append(base + dc)
        if dr:
            out.append(base + dr + dc)
    return out


@nb.njit(cache=True, inline="always")
def place(occupant, grid, cell, value):
    """Write ``value`` on every padded copy of torus cell ``cell``.

    A missing copy has a zero shift, so its write repeats the canonical one: four stores
    and no branch.
    """
    padded_of, edge, row_shift, col_shift = grid
    base = padded_of[cell]
    dr, dc = _shifts(edge[cell], row_shift, col_shift)
    occupant[base] = value
    occupant[base + dr] = value
    occupant[base + dc] = value
    occupant[base + dr + dc] = value


@nb.njit(cache=True)
def place_all(occupant, grid, positions):
    """Put agent ``i`` on torus cell ``positions[i]``, on every copy."""
    for i in range(positions.shape[0]):
        place(occupant, grid, positions[i], i)


@nb.njit(cache=True, inline="always")
def _four_probes(ppos, occupant, offsets, n, t, h0, h1, h2, h3):
    """The first empty cell among four probes, or -1: one branch for the four.

    Probe ``k`` is cell ``h_k n >> 16`` of the diamond's ``n`` for a 16-bit random
    ``h_k``, kept only when the low half of ``h_k n`` is at least ``t = 2**16 mod n``
    (Lemire's rejection: the kept probes are exactly uniform; at Mesa's ``n = 112`` one
    in 4,096 is dropped). A dropped probe counts as a miss, which draws the next one.
    The four are loaded together and the first empty one chosen by selects: the same
    cell as probing one at a time.
    """
    m0 = h0 * n
    m1 = h1 * n
    m2 = h2 * n
    m3 = h3 * n
    c0 = ppos + offsets[m0 >> _S16]  # unsigned: no check for negative indices
    c1 = ppos + offsets[m1 >> _S16]
    c2 = ppos + offsets[m2 >> _S16]
    c3 = ppos + offsets[m3 >> _S16]
    empty = (
        (occupant[c0] < 0)
        | ((occupant[c1] < 0) << 1)
        | ((occupant[c2] < 0) << 2)
        | ((occupant[c3] < 0) << 3)
    )
    if empty == 0:
        return -1
    cell, m = c3, m3
    cell, m = (c2, m2) if empty & 4 else (cell, m)
    cell, m = (c1, m1) if empty & 2 else (cell, m)
    cell, m = (c0, m0) if empty & 1 else (cell, m)
    if (m & _LOW16) >= t:  # kept: all but one in 4,096 at n = 112
        return cell
    # The first empty probe was dropped: the first empty one among those kept.
    for c, mk in ((c0, m0), (c1, m1), (c2, m2), (c3, m3)):
        if occupant[c] < 0 and (mk & _LOW16) >= t:
            return c
    return -1


@nb.njit(cache=True, inline="always")
def _eight_probes(ppos, occupant, offsets, t, w0, w1, w2, w3):
    """The first empty cell among the eight probes of one Philox block, or -1.

    The high halves of the four 32-bit words are probed first, then the low halves;
    ``t`` is ``2**16 mod n`` (:func:`_four_probes`).
    """
    n = np.uint64(offsets.shape[0])
    w0 = np.uint64(w0)
    w1 = np.uint64(w1)
    w2 = np.uint64(w2)
    w3 = np.uint64(w3)
    cell = _four_probes(
        ppos, occupant, offsets, n, t, w0 >> _S16, w1 >> _S16, w2 >> _S16, w3 >> _S16
    )
    if cell >= 0:
        return cell
    return _four_probes(
        ppos, occupant, offsets, n, t, w0 & _LOW16, w1 & _LOW16, w2 & _LOW16, w3 & _LOW16
    )


@nb.njit(cache=True, inline="always")
def _empty_cell_in_vision(seed, stream, step, agent, ppos, occupant, offsets, t, first, col):
    """A uniformly random empty padded cell of the diamond around ``ppos``, or -1 if none.

    ``offsets`` are the diamond's flat offsets on the padded grid; ``first[:, col]`` holds
    block 0 of the agent's move draws (see :func:`first_blocks`); ``t`` is
    ``2**16 mod len(offsets)``, computed once by the caller. Block 0 makes eight probes,
    which find an empty cell for seven movers in eight at Mesa's densities (77% of cells
    taken). The others go on in :func:`_later_blocks`.
    """
    cell = _eight_probes(ppos, occupant, offsets, t, first[0, col], first[1, col],
                         first[2, col], first[3, col])  # fmt: skip
    if cell >= 0:
        return cell
    return _later_blocks(seed, stream, step, agent, ppos, occupant, offsets, t)


@nb.njit(cache=True)
def _later_blocks(seed, stream, step, agent, ppos, occupant, offsets, t):
    """The search for an empty cell once block 0 has missed.

    Three more blocks of eight probes, then, after 32 probes, a count of the empty cells
    and a uniform pick among them. A function of its own, called: copied into the
    activation loop like the rest, it made every move slower, not only the few that
    need it.
    """
    for block in range(1, _REJECTION_TRIES):
        w0, w1, w2, w3 = random_block_inline(seed, stream, step, agent, block)
        cell = _eight_probes(ppos, occupant, offsets, t, w0, w1, w2, w3)
        if cell >= 0:
            return cell
    empties = 0
    for j in range(offsets.shape[0]):
        if occupant[ppos + offsets[j]] < 0:
            empties += 1
    if empties == 0:
        return -1
    pick = u32_below(random_block_inline(seed, stream, step, agent, _REJECTION_TRIES)[0], empties)
    for j in range(offsets.shape[0]):
        cell = ppos + offsets[j]
        if occupant[cell] < 0:
            if pick == 0:
                return cell
            pick -= 1
    return -1


def estimate_index(cops: int, actives: int, floor_variant: bool) -> int:
    """``round(cops / actives)`` with Python's round-half-to-even, or the floor.

    Computed in integers: Python's ``round`` of the float quotient gives the same result,
    since a quotient of small integers that is not exactly ``x.5`` is never within half a
    unit in the last place of one.
    """
    q = cops // actives
    if floor_variant:
        return q
    twice_rest = 2 * (cops - q * actives)
    if twice_rest > actives or (twice_rest == actives and q % 2 == 1):
        return q + 1
    return q


def arrest_probability_table(
    most_cops: int, most_actives: int, constant: float, floor_variant: bool
) -> np.ndarray:
    """``P[C, A] = 1 - exp(-k * round(C / A))`` for every count a citizen can see.

    ``A`` counts the citizen itself, so row ``A = 0`` is never read. A lookup replaces a
    division and an exponential in the hot loop; the values are computed exactly as Mesa
    computes them (``math.exp`` on the rounded ratio).
    """
    table = np.zeros((most_cops + 1, most_actives + 1), dtype=np.float64)
    for c in range(most_cops + 1):
        for a in range(1, most_actives + 1):
            table[c, a] = 1.0 - math.exp(-1 * constant * estimate_index(c, a, floor_variant))
    return table


@nb.njit(cache=True)
def activate(
    seed, step, streams, order, n_citizens, pos, occupant, torus_of, grid,
    state, jail, grievance, risk_aversion, cops_seen, actives_seen, actives_seen_cop,
    geometry, cv_offsets, kv_offsets, cv_masks, kv_masks, arrest_probability, threshold,
    max_jail_term, movement, buffer, move_words,
):  # fmt: skip
    """Every agent acts once, in a new random order (Mesa's random sequential activation).

    The order is drawn first (:func:`draw_order`, into ``order``), then each mover's first
    block of move draws (:func:`first_blocks`, into ``move_words``): one call a step.

    A citizen in jail serves one step of its sentence and does nothing else. Others
    estimate their arrest probability from the cops and actives in vision (themselves
    counted as active), turn active iff ``grievance - risk_aversion * P > threshold``, and
    move to a random empty cell in vision. A cop arrests a random active citizen in its
    vision (sentence uniform on ``0..max_jail_term``), then moves.

    ``pos`` holds torus cells; ``occupant`` the agent on each padded cell; ``grid`` the
    padded grid's tables (see :func:`padded_grid`). ``geometry`` is
    ``(width, height, citizen_vision, cop_vision, citizen corner, cop corner, row words)``
    with the corners and the masks from :func:`diamond_masks`; ``streams`` the ids of the
    move, arrest and order streams. ``actives_seen_cop`` is ``actives_seen`` when both
    visions are equal. ``move_words[:, i]`` is block 0 of the move draws of the agent acting
    ``i``-th.
    """
    s_move, s_arrest, s_order = streams[0], streams[1], streams[2]
    draw_order(seed, s_order, step, order, move_words)  # move_words: scratch here
    if movement:
        first_blocks(seed, s_move, step, order, move_words)
    cvision, kvision = geometry[2], geometry[3]
    cv_corner, kv_corner, row_words = geometry[4], geometry[5], geometry[6]
    cv_t = np.uint64(65536 % cv_offsets.shape[0])  # for the probes' rejection (_four_probes)
    kv_t = np.uint64(65536 % kv_offsets.shape[0])
    cops_w = cops_seen.view(np.uint64)
    act_w = actives_seen.view(np.uint64)
    actc_w = actives_seen_cop.view(np.uint64)
    padded_of = grid[0]
    separate_cop_field = kvision != cvision
    for i in range(order.shape[0]):
        a = order[i]
        here = pos[a]
        if a < n_citizens:
            if jail[a] > 0:
                jail[a] -= 1
                continue
            cops = read_field(cops_seen, grid, here)
            actives = read_field(actives_seen, grid, here)
            net_risk = risk_aversion[a] * arrest_probability[cops, actives + 1]
            now_active = (grievance[a] - net_risk) > threshold
            was_active = state[a] == ACTIVE
            state[a] = ACTIVE if now_active else QUIET
            if now_active != was_active:
                delta = 1 if now_active else -1
                add_diamond(act_w, padded_of[here], cv_masks, cv_corner, row_words, delta)
                if separate_cop_field:
                    add_diamond(actc_w, padded_of[here], kv_masks, kv_corner, row_words, delta)
            if movement:
                cell = _empty_cell_in_vision(
                    seed,
                    s_move,
                    step,
                    a,
                    padded_of[here],
                    occupant,
                    cv_offsets,
                    cv_t,
                    move_words,
                    i,
                )
                if cell >= 0:
                    dest = torus_of[cell]
                    place(occupant, grid, here, -1)
                    place(occupant, grid, dest, a)
                    pos[a] = dest
                    if now_active:
                        add_diamond(act_w, padded_of[here], cv_masks, cv_corner, row_words, -1)
                        add_diamond(act_w, padded_of[dest], cv_masks, cv_corner, row_words, 1)
                        if separate_cop_field:
                            add_diamond(actc_w, padded_of[here], kv_masks, kv_corner, row_words, -1)
                            add_diamond(actc_w, padded_of[dest], kv_masks, kv_corner, row_words, 1)
        else:
            ppos = padded_of[here]
            if read_field(actives_seen_cop, grid, here) > 0:  # someone to arrest: find them
                found = 0
                for k in range(kv_offsets.shape[0]):
                    other = occupant[ppos + kv_offsets[k]]
                    if other >= 0 and other < n_citizens and state[other] == ACTIVE:
                        buffer[found] = other
                        found += 1
                if found == 0:  # cannot happen while the counts are consistent
                    raise AssertionError("active count and grid disagree")
                w0, w1, _, _ = random_block_inline(seed, s_arrest, step, a, 0)
                arrestee = buffer[u32_below(w0, found)]
                state[arrestee] = JAILED
                jail[arrestee] = u32_below(w1, max_jail_term + 1)
                where = pos[arrestee]
                add_diamond(act_w, padded_of[where], cv_masks, cv_corner, row_words, -1)
                if separate_cop_field:
                    add_diamond(actc_w, padded_of[where], kv_masks, kv_corner, row_words, -1)
            if movement:
                cell = _empty_cell_in_vision(
                    seed, s_move, step, a, ppos, occupant, kv_offsets, kv_t, move_words, i
                )
                if cell >= 0:
                    dest = torus_of[cell]
                    place(occupant, grid, here, -1)
                    place(occupant, grid, dest, a)
                    pos[a] = dest
                    add_diamond(cops_w, ppos, cv_masks, cv_corner, row_words, -1)
                    add_diamond(cops_w, padded_of[dest], cv_masks, cv_corner, row_words, 1)


@nb.njit(cache=True)
def count_states(state, n_citizens, row, quiet, active, jailed):
    """Write the numbers of quiet, active and jailed citizens into row ``row``."""
    q = 0
    a = 0
    j = 0
    for i in range(n_citizens):
        s = state[i]
        if s == QUIET:
            q += 1
        elif s == ACTIVE:
            a += 1
        else:
            j += 1
    quiet[row] = q
    active[row] = a
    jailed[row] = j
