"""The civil-violence model: Epstein (2002), Model I, as Mesa 3.3.1 implements it.

Citizens on a torus have hardship ``H ~ U(0,1)``, grievance ``G = H (1 - L)`` for the
regime's legitimacy ``L``, and risk aversion ``R ~ U(0,1)``. A citizen estimates its arrest
probability ``P = 1 - exp(-k * round(C / A))`` from the cops ``C`` and the actives ``A``
(itself included) in its von Neumann vision and is active iff ``G - R P > T``. Cops arrest a
random active citizen in their vision for a term drawn uniformly from ``0..J_max``. Agents
act in a new random order every step and then move to a random empty cell in vision.

The details that decide agreement with Mesa's reference implementation
(``mesa.examples.advanced.epstein_civil_violence``) are kept: ``round`` is Python's
round-half-to-even, jailed citizens keep their cells and only count their sentence down,
the neighbourhood excludes the agent's own cell, citizens decide then move and cops arrest
then move. ``estimate_rounding: floor`` gives the paper's floor instead (a different
model: the validation's negative control).

Source: Epstein, J. M. (2002). Modeling civil violence: an agent-based computational
approach. PNAS 99 (suppl. 3), 7243-7250.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from survsim.engine import Attribute, Plan, Sim, State
from survsim.engine.params import StrictModel
from survsim.models import civil_violence_kernels as k

__all__ = ["CivilViolence", "CivilViolenceParams", "estimate_bytes"]


class CivilViolenceParams(StrictModel):
    """Parameters of the civil-violence model, with Mesa 3.3.1's names and defaults.

    Mesa's defaults are Epstein's Run 5 (legitimacy 0.8, cop density 0.074, J_max 1000).
    """

    width: int = Field(40, ge=3, le=20_000, description="grid width in cells (Mesa default)")
    height: int = Field(40, ge=3, le=20_000, description="grid height in cells (Mesa default)")
    citizen_density: float = Field(
        0.7, ge=0, le=1, description="chance that a cell starts with a citizen (Mesa default)"
    )
    cop_density: float = Field(
        0.074, ge=0, le=1, description="chance that a cell starts with a cop (Mesa default)"
    )
    citizen_vision: int = Field(
        7, ge=1, le=100, description="von Neumann radius a citizen sees (Mesa default)"
    )
    cop_vision: int = Field(
        7, ge=1, le=100, description="von Neumann radius a cop sees (Mesa default)"
    )
    legitimacy: float = Field(
        0.8, ge=0, le=1, description="regime legitimacy L, the same for all (Mesa default)"
    )
    max_jail_term: int = Field(
        1000, ge=0, le=1_000_000, description="J_max: terms are uniform on 0..J_max (Mesa)"
    )
    active_threshold: float = Field(
        0.1, ge=0, le=1, description="T: active iff G - R P > T (Epstein 2002; Mesa default)"
    )
    arrest_prob_constant: float = Field(
        2.3, ge=0, le=100, description="k in P = 1 - exp(-k round(C/A)) (Epstein 2002; Mesa)"
    )
    movement: bool = Field(True, description="agents move to a random empty cell in vision")
    estimate_rounding: Literal["round", "floor"] = Field(
        "round",
        description="round(C/A) half-to-even as Mesa, or the paper's floor (another model)",
    )

    @model_validator(mode="after")
    def _check_together(self) -> CivilViolenceParams:
        total = self.citizen_density + self.cop_density
        if total > 1:
            raise ValueError(
                f"citizen_density + cop_density = {total:g} is above 1 "
                "(allowed: at most 1, one agent per cell)"
            )
        vision = max(self.citizen_vision, self.cop_vision)
        if min(self.width, self.height) < 2 * vision + 1:
            raise ValueError(
                f"width and height must be at least 2 * vision + 1 = {2 * vision + 1} "
                f"for vision {vision} (got {self.width} x {self.height}): "
                "a neighbourhood must not wrap onto itself"
            )
        return self


#: Resident memory of the interpreter with numpy, numba, pyarrow and matplotlib loaded.
BASE_BYTES = 300_000_000


def estimate_bytes(p: CivilViolenceParams, steps: int) -> int:
    """Peak memory of a run, from the sizes of its arrays (within about 20%).

    Per cell: the placement draw (8 B) and the maps to the padded grid (5 B); per padded
    cell: the occupant and the map back (8 B) and two counts (one or two bytes each); per
    agent: traits, status and draws (about 60 B); per step: three int32 counts; plus the
    interpreter and its libraries.
    """
    vision = max(p.citizen_vision, p.cop_vision)
    padded = k.padded_width(p.width, vision) * (p.height + 2 * vision)
    cells = p.width * p.height
    agents = cells * (p.citizen_density + p.cop_density)
    per_padded = 8 + 2 * k.lane_dtype(vision).itemsize
    return int(13 * cells + per_padded * padded + 60 * agents + 12 * (steps + 1) + BASE_BYTES)


class CivilViolence(Sim):
    """A run of the civil-violence model.

    Example:
        >>> sim = CivilViolence(CivilViolenceParams(legitimacy=0.7), seed=1, steps=5)
        >>> table = sim.run().timeseries()
        >>> table.column_names
        ['step', 'active', 'quiet', 'jailed']
    """

    model_name = "civil_violence"
    params_class = CivilViolenceParams
    headline = ("mean_active_share", "peak_active_share", "mean_jailed_share")
    band_panels = (("active", "active citizens"), ("jailed", "jailed citizens"))

    @classmethod
    def estimate_bytes(cls, params: CivilViolenceParams, steps: int) -> int:
        """Peak memory of a run (the module's :func:`estimate_bytes`)."""
        return estimate_bytes(params, steps)

    def summary(self) -> dict[str, Any]:
        """Citizens, cops, and the shares of active and jailed citizens over the run.

        The means leave out row 0, the state before the first step, once the run has
        taken one.
        """
        table = self.timeseries()
        citizens = max(self.n_citizens, 1)
        active = table.column("active").to_numpy() / citizens
        jailed = table.column("jailed").to_numpy() / citizens
        later = slice(1, None) if self.t > 0 else slice(0, 1)
        return {
            "citizens": self.n_citizens,
            "cops": self.n_cops,
            "mean_active_share": float(np.mean(active[later])),
            "peak_active_share": float(active.max()),
            "peak_active_step": int(active.argmax()),
            "mean_jailed_share": float(np.mean(jailed[later])),
            "final_active": int(table.column("active")[-1].as_py()),
            "final_jailed": int(table.column("jailed")[-1].as_py()),
        }

    def build(self) -> None:
        """Place citizens and cops cell by cell and draw each citizen's traits."""
        p: CivilViolenceParams = self.params
        cells = p.width * p.height
        u = self.streams.uniform("placement", step=0, n=cells)
        is_citizen = u < p.citizen_density
        is_cop = ~is_citizen & (u < p.citizen_density + p.cop_density)
        citizen_cells = np.flatnonzero(is_citizen).astype(np.int32)
        cop_cells = np.flatnonzero(is_cop).astype(np.int32)
        self.n_citizens = int(citizen_cells.size)
        self.n_cops = int(cop_cells.size)
        n = self.n_citizens + self.n_cops
        vision = max(p.citizen_vision, p.cop_vision)
        lanes = k.lane_dtype(vision)
        padded_width, self._torus_of, self._grid = k.padded_grid(p.width, p.height, vision)
        padded = padded_width * (p.height + 2 * vision)
        self.state = State.allocate(
            [
                Attribute("pos", np.int32, -1, "agents", "cell of the agent"),
                Attribute("status", np.uint8, k.QUIET, "agents", "0 quiet, 1 active, 2 jailed"),
                Attribute("jail", np.int32, 0, "agents", "steps of sentence left"),
                Attribute("grievance", np.float64, 0.0, "agents", "G = H (1 - L)"),
                Attribute("risk_aversion", np.float64, 0.0, "agents", "R ~ U(0,1)"),
                Attribute("occupant", np.int32, -1, "padded", "agent on the padded cell, or -1"),
                Attribute("cops_seen", lanes, 0, "field", "cops in citizen vision*"),
                Attribute("actives_seen", lanes, 0, "field", "actives in citizen vision*"),
                Attribute("order", np.int32, 0, "agents", "activation order of the step"),
            ],
            agents=n,
            cells=cells,
            padded=padded,
            field=k.field_size(padded, vision, lanes.itemsize),
        )
        s = self.state
        s.pos[: self.n_citizens] = citizen_cells
        s.pos[self.n_citizens :] = cop_cells
        self._padded_of = self._grid[0]
        k.place_all(s.occupant, self._grid, s.pos)
        hardship = self.streams.uniform("hardship", step=0, n=self.n_citizens)
        s.grievance[: self.n_citizens] = hardship * (1.0 - p.legitimacy)
        s.risk_aversion[: self.n_citizens] = self.streams.uniform(
            "risk_aversion", step=0, n=self.n_citizens
        )
        self.actives_seen_cop = (
            s.actives_seen if p.cop_vision == p.citizen_vision else np.zeros_like(s.actives_seen)
        )
        self._cv = k.diamond_offsets(p.citizen_vision)
        self._kv = k.diamond_offsets(p.cop_vision)
        self._cv_offsets = (self._cv[0] * padded_width + self._cv[1]).astype(np.int32)
        self._kv_offsets = (self._kv[0] * padded_width + self._kv[1]).astype(np.int32)
        self._cv_masks, cv_corner = k.diamond_masks(p.citizen_vision, padded_width, lanes.itemsize)
        self._kv_masks, kv_corner = k.diamond_masks(p.cop_vision, padded_width, lanes.itemsize)
        row_words = padded_width * lanes.itemsize // 8
        k.count_to_field(
            s.cops_seen, cop_cells, self._padded_of, self._cv_masks, cv_corner, row_words
        )
        # P for every (cops, actives) a citizen can see, itself counted as active.
        most = 2 * p.citizen_vision * (p.citizen_vision + 1)
        self._arrest_probability = k.arrest_probability_table(
            most, most + 1, p.arrest_prob_constant, p.estimate_rounding == "floor"
        )
        self._geometry = np.array(
            [p.width, p.height, p.citizen_vision, p.cop_vision, cv_corner, kv_corner, row_words],
            dtype=np.int64,
        )
        self._stream_ids = np.array(
            [self.streams.id("move"), self.streams.id("arrest"), self.streams.id("order")],
            dtype=np.uint64,
        )
        self._buffer = np.empty(self._kv[0].size, dtype=np.int32)
        self._move_words = np.empty((4, n), dtype=np.uint32)
        self._seed = np.uint64(self.seed)
        self._bind_kernels()
        self._status = s.status

    @classmethod
    def compile_kernels(cls, group: str | None = None) -> None:
        """Compile (or load from numba's cache) every kernel with one tiny run (one group)."""
        if group not in (None, *cls.compile_groups()):
            raise ValueError(f"unknown compile group {group!r}: {cls.compile_groups()}")
        if k.activate.signatures:
            return
        tiny = CivilViolenceParams(
            width=5, height=5, citizen_vision=1, cop_vision=1, legitimacy=0.0, cop_density=0.2
        )
        CivilViolence(tiny, seed=0, steps=2, compile=False).run()

    def result_columns(self) -> dict[str, type]:
        """Counts of citizens by condition: ``active, quiet, jailed``."""
        return {"active": np.int32, "quiet": np.int32, "jailed": np.int32}

    def make_plan(self) -> Plan:
        """Two steps: every agent acting in a new random order, the census."""
        return Plan.of(
            [
                (
                    "activate",
                    self._activate,
                    "draw this step's random activation order; each agent acts in it: "
                    "jailed citizens serve a step; others decide active or quiet and move; "
                    "cops arrest one active in vision, move",
                ),
                ("record", self.record, "count quiet, active and jailed citizens"),
            ]
        )

    def _bind_kernels(self) -> None:
        """Gather the activation's arguments once: only the step number changes per call.

        Building its 27 arguments from attributes every step cost more than the numba
        call; the order is drawn in the same call, which saves two calls a step.
        """
        p: CivilViolenceParams = self.params
        s = self.state
        self._activate_args = (
            self._stream_ids, s.order, self.n_citizens, s.pos, s.occupant, self._torus_of,
            self._grid, s.status, s.jail, s.grievance, s.risk_aversion,
            s.cops_seen, s.actives_seen, self.actives_seen_cop, self._geometry,
            self._cv_offsets, self._kv_offsets, self._cv_masks, self._kv_masks,
            self._arrest_probability, p.active_threshold,
            p.max_jail_term, p.movement, self._buffer, self._move_words,
        )  # fmt: skip

    def _activate(self) -> None:
        k.activate(self._seed, self.t, *self._activate_args)

    def record(self) -> None:
        """Count citizens by condition into row ``t``."""
        c = self.results.columns
        k.count_states(self._status, self.n_citizens, self.t, c["quiet"], c["active"], c["jailed"])

    def seen(self, field: str) -> np.ndarray:
        """Counts per torus cell of ``cops_seen``, ``actives_seen`` or ``actives_seen_cop``.

        The kernels keep these counts on the padded grid, spread over a cell's copies
        (*); this sums them.
        """
        padded = self.actives_seen_cop if field == "actives_seen_cop" else self.state[field]
        out = np.empty(self.params.width * self.params.height, dtype=np.int64)
        k.fold_field(padded, self._grid, out)
        return out

    def cell_agent(self) -> np.ndarray:
        """The agent on each torus cell, or -1 (a copy, for inspection and tests)."""
        return self.state.occupant[self._padded_of].copy()

    @property
    def agents(self) -> int:
        """Citizens and cops together."""
        return self.n_citizens + self.n_cops
