"""The design of an experiment: which runs, with which seeds and parameter values.

An *ensemble* repeats one scenario with ``runs`` seeds. A *sweep* runs every point of a
parameter design (a grid, or a Latin hypercube) ``runs`` times. Each run has an index
``run`` (0, 1, ...), a design point ``point``, a replicate number ``replicate`` and a seed.

Seeds are a pure function of the base seed and an index, never of the worker that runs
them, so any number of workers gives the same data:

- ensemble: run ``i`` gets ``derive_seed(seed, i)``;
- sweep: replicate ``r`` of every point gets ``derive_seed(seed, r)`` (common random
  numbers: two points differ by their parameters, not by their luck).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from survsim.errors import ScenarioError
from survsim.scenario import Scenario, apply_overrides, validate

__all__ = [
    "Design",
    "ParamRange",
    "RunSpec",
    "Sampler",
    "derive_seed",
    "ensemble_design",
    "latin_hypercube",
    "parse_param",
    "sampled_design",
    "sweep_design",
]

#: The largest number of runs one experiment may hold.
MAX_RUNS = 1_000_000


def derive_seed(base: int, index: int) -> int:
    """The seed of run (or replicate) ``index`` of an experiment with base seed ``base``.

    A stable hash (BLAKE2b) of both numbers, in ``[0, 2**63)``: the same on every machine
    and in every process, and unrelated for neighbouring indices.
    """
    digest = hashlib.blake2b(f"survsim-run:{int(base)}:{int(index)}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little") & (2**63 - 1)


@dataclass(frozen=True)
class ParamRange:
    """One swept parameter.

    Written ``key=lo:hi:n`` (a grid of n values), ``key=lo:hi`` (a Latin hypercube's range)
    or ``key=a,b,c`` (the listed values).
    """

    key: str
    low: float | None = None
    high: float | None = None
    count: int | None = None
    values: tuple[Any, ...] | None = None

    def grid(self, kind: type) -> list[Any]:
        """The values of this parameter in a grid design."""
        if self.values is not None:
            return _coerce(self.key, list(self.values), kind)
        if self.count is None:
            raise ScenarioError(
                f"--param {self.key}: a grid needs a count (key=lo:hi:n), or use --samples "
                "for a Latin hypercube"
            )
        assert self.low is not None and self.high is not None
        points = np.linspace(self.low, self.high, self.count) if self.count > 1 else [self.low]
        return _typed(self.key, [float(v) for v in points], kind)


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(f"--param {spec!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ScenarioError(f"--param {spec!r}: {text!r} is not a finite number")
    return value


def parse_param(spec: str) -> ParamRange:
    """Read ``key=lo:hi:n``, ``key=lo:hi`` or ``key=a,b,c`` (one line of error if malformed)."""
    from survsim.scenario import parse_override

    key, sep, raw = spec.partition("=")
    key = key.strip()
    example = "for example speech.delta=0.2:0.8:4, or border.team_size=3,5"
    if not sep or not key or not raw.strip():
        raise ScenarioError(
            f"--param {spec!r}: expected key=lo:hi:n, key=lo:hi or key=a,b,c ({example})"
        )
    if "," in raw:
        values = tuple(parse_override(f"{key}={part}")[1] for part in raw.split(","))
        if len(set(map(repr, values))) != len(values):
            raise ScenarioError(f"--param {spec!r}: the listed values repeat")
        return ParamRange(key, values=values)
    parts = raw.split(":")
    if len(parts) not in (2, 3):
        raise ScenarioError(
            f"--param {spec!r}: expected key=lo:hi:n, key=lo:hi or key=a,b,c ({example})"
        )
    low, high = _number(parts[0], spec), _number(parts[1], spec)
    if high < low:
        raise ScenarioError(f"--param {spec!r}: lo {parts[0]} is above hi {parts[1]}")
    count = None
    if len(parts) == 3:
        try:
            count = int(parts[2])
        except ValueError:
            raise ScenarioError(
                f"--param {spec!r}: n = {parts[2]!r} is not a whole number"
            ) from None
        if not 1 <= count <= 10_000:
            raise ScenarioError(f"--param {spec!r}: n = {count} is not allowed (1 to 10,000)")
    return ParamRange(key, low, high, count)


def _coerce(key: str, values: list[Any], kind: type) -> list[Any]:
    """Listed values as the parameter's type (``1,2`` for a float parameter is 1.0, 2.0)."""
    out = []
    for value in values:
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        elif kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if type(value) is not kind:
            allowed = {bool: "true or false", int: "whole numbers", float: "numbers"}[kind]
            raise ScenarioError(f"--param {key}: {value!r} is not allowed ({allowed})")
        out.append(value)
    return out


def _typed(key: str, values: list[float], kind: type) -> list[Any]:
    """Values as the parameter's type: whole numbers for an int parameter."""
    if kind is bool:
        raise ScenarioError(
            f"--param {key}: a true/false parameter takes listed values: {key}=false,true"
        )
    if kind is int:
        whole = [round(v) for v in values]
        if len(set(whole)) != len(whole):
            raise ScenarioError(
                f"--param {key}: an integer parameter; the range gives repeated whole numbers "
                f"{whole} (use fewer points or list the values)"
            )
        return whole
    return [float(f"{v:.12g}") for v in values]  # 0.6, not linspace's 0.6000000000000001


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: what a worker needs to run it."""

    run: int
    point: int
    replicate: int
    seed: int
    overrides: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Design:
    """Every run of an experiment, with the scenario they share."""

    kind: str  # "ensemble" or "sweep"
    scenario: dict[str, Any]  # the resolved scenario (Scenario.resolved())
    seed: int
    replicates: int
    method: str = "none"  # "none" (ensemble), "grid", "lhs"
    keys: tuple[str, ...] = ()
    points: tuple[tuple[Any, ...], ...] = ((),)
    specs: tuple[str, ...] = field(default=())  # the --param texts, for the record
    reporters: tuple[str, ...] = ()  # the user reporters' names (their columns)

    @property
    def n_runs(self) -> int:
        """How many runs the experiment holds."""
        return len(self.points) * self.replicates

    def runs(self) -> list[RunSpec]:
        """Every run, in index order (points outer, replicates inner)."""
        out = []
        for p, values in enumerate(self.points):
            for r in range(self.replicates):
                index = p * self.replicates + r
                seed = derive_seed(self.seed, index if self.kind == "ensemble" else r)
                out.append(RunSpec(index, p, r, seed, tuple(zip(self.keys, values, strict=True))))
        return out

    def table(self) -> pa.Table:
        """One row per run: run, point, replicate, seed and the parameter values."""
        runs = self.runs()
        data: dict[str, Any] = {
            "run": pa.array([s.run for s in runs], pa.int32()),
            "point": pa.array([s.point for s in runs], pa.int32()),
            "replicate": pa.array([s.replicate for s in runs], pa.int32()),
            "seed": pa.array([s.seed for s in runs], pa.int64()),
        }
        for i, key in enumerate(self.keys):
            data[key] = pa.array([s.overrides[i][1] for s in runs])
        return pa.table(data)

    def to_dict(self) -> dict[str, Any]:
        """The design as plain data (``experiment.json``); :meth:`from_dict` reads it back."""
        return {
            "kind": self.kind,
            "method": self.method,
            "seed": self.seed,
            "replicates": self.replicates,
            "keys": list(self.keys),
            "points": [list(p) for p in self.points],
            "specs": list(self.specs),
            "scenario": self.scenario,
            **({"reporters": list(self.reporters)} if self.reporters else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        """Read back :meth:`to_dict`."""
        return cls(
            kind=data["kind"],
            scenario=data["scenario"],
            seed=int(data["seed"]),
            replicates=int(data["replicates"]),
            method=data["method"],
            keys=tuple(data["keys"]),
            points=tuple(tuple(p) for p in data["points"]),
            specs=tuple(data.get("specs", ())),
            reporters=tuple(data.get("reporters", ())),
        )


def scenario_for(design_scenario: dict[str, Any], spec: RunSpec) -> Scenario:
    """The validated scenario of one run: the design's scenario, the point's values, its seed."""
    overrides = [f"{key}={value!r}" for key, value in spec.overrides]
    data = apply_overrides(design_scenario, overrides)
    data["seed"] = spec.seed
    return validate(data, f"scenario '{design_scenario['name']}' at {_point_text(spec)}")


def _point_text(spec: RunSpec) -> str:
    if not spec.overrides:
        return f"run {spec.run}"
    return ", ".join(f"{k}={v!r}" for k, v in spec.overrides)


def _check_runs(runs: int, points: int = 1) -> None:
    if runs < 1:
        raise ScenarioError(f"--runs {runs}: must be at least 1")
    if runs * points > MAX_RUNS:
        raise ScenarioError(
            f"--runs {runs} x {points} points = {runs * points:,} runs (at most {MAX_RUNS:,})"
        )


def ensemble_design(scenario: Scenario, runs: int) -> Design:
    """``runs`` seeds of one scenario, derived from its seed and the run index."""
    _check_runs(runs)
    return Design("ensemble", scenario.resolved(), scenario.seed, runs)


def _current(scenario: Scenario, key: str) -> Any:
    """The scenario's value at a parameter path (``speech.delta``), or None if unknown."""
    node: Any = scenario.resolved()["params"]
    for part in key.removeprefix("params.").split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _kind(scenario: Scenario, key: str) -> type:
    current = _current(scenario, key)
    if current is None:
        # Not a parameter: validation names the keys allowed there.
        validate(apply_overrides(scenario.resolved(), [f"{key}=0"]), f"--param {key}")
        raise ScenarioError(f"--param {key}: has no number in scenario '{scenario.name}'")
    if isinstance(current, bool | int | float):
        return type(current)
    raise ScenarioError(
        f"--param {key}: {type(current).__name__} value; only numbers and true/false can be swept"
    )


#: How the designs' methods are named in messages.
METHOD_NAMES = {
    "lhs": "a Latin hypercube",
    "morris": "Morris screening",
    "sobol": "a Sobol analysis",
}

#: ``sampler(bounds, seed) -> array (points, parameters)``: draws the points of a design in
#: the box ``bounds`` (one ``(lo, hi)`` per parameter).
Sampler = Callable[[list[tuple[float, float]], int], np.ndarray]


def latin_hypercube(samples: int) -> Sampler:
    """A sampler of ``samples`` points, one in each of ``samples`` equal strata per parameter."""

    def sample(bounds: list[tuple[float, float]], seed: int) -> np.ndarray:
        rng = np.random.default_rng([derive_seed(seed, 2**32), samples])
        columns = []
        for low, high in bounds:
            u = (rng.permutation(samples) + rng.random(samples)) / samples
            columns.append(low + u * (high - low))
        return np.column_stack(columns) if columns else np.empty((samples, 0))

    return sample


def _keys(scenario: Scenario, params: list[str]) -> tuple[list[ParamRange], list[str], list[type]]:
    """The parsed ``--param`` texts, their keys and the parameters' types."""
    if not params:
        raise ScenarioError("give at least one --param (key=lo:hi:n, key=a,b,c or key=lo:hi)")
    ranges = [parse_param(p) for p in params]
    keys = [r.key.removeprefix("params.") for r in ranges]
    if len(set(keys)) != len(keys):
        raise ScenarioError(f"--param: a parameter is given twice ({', '.join(keys)})")
    return ranges, keys, [_kind(scenario, key) for key in keys]


def _validated(design: Design) -> Design:
    """Check every point of ``design`` against the parameters' rules, before anything runs."""
    for spec in design.runs()[:: design.replicates]:  # one run per point
        scenario_for(design.scenario, spec)
    return design


def sampled_design(
    scenario: Scenario, params: list[str], runs: int, method: str, sampler: Sampler
) -> Design:
    """A design whose points a sampler draws in the ranges ``key=lo:hi`` of ``params``.

    Integer parameters get the nearest whole number; true/false ones cannot be sampled.
    Every point is validated before anything runs.
    """
    ranges, keys, kinds = _keys(scenario, params)
    for r, kind in zip(ranges, kinds, strict=True):
        if r.values is not None or r.count is not None:
            raise ScenarioError(
                f"--param {r.key}: {METHOD_NAMES.get(method, method)} takes ranges key=lo:hi "
                "(no n, no list)"
            )
        if kind is bool:
            raise ScenarioError(f"--param {r.key}: a true/false parameter cannot be sampled")
    bounds = [(float(r.low), float(r.high)) for r in ranges]  # type: ignore[arg-type]
    drawn = np.asarray(sampler(bounds, scenario.seed), dtype=np.float64)
    _check_runs(runs, len(drawn))
    points = [
        tuple(
            round(float(v)) if kind is int else float(f"{v:.12g}")
            for v, kind in zip(row, kinds, strict=True)
        )
        for row in drawn
    ]
    design = Design(
        "sweep",
        scenario.resolved(),
        scenario.seed,
        runs,
        method,
        tuple(keys),
        tuple(points),
        tuple(params),
    )
    return _validated(design)


def sweep_design(
    scenario: Scenario, params: list[str], runs: int, samples: int | None = None
) -> Design:
    """A sweep design: every point run ``runs`` times.

    The points are a grid over ``params`` (``key=lo:hi:n`` or ``key=a,b,c``), or a Latin
    hypercube of ``samples`` points (``key=lo:hi``). Every point is validated here,
    before anything runs.
    """
    if samples is not None:
        if samples < 1:
            raise ScenarioError(f"--samples {samples}: must be at least 1")
        return sampled_design(scenario, params, runs, "lhs", latin_hypercube(samples))
    ranges, keys, kinds = _keys(scenario, params)
    axes = [r.grid(k) for r, k in zip(ranges, kinds, strict=True)]
    _check_runs(runs, math.prod(len(a) for a in axes))
    points = [tuple(p) for p in _product(axes)]
    design = Design(
        "sweep",
        scenario.resolved(),
        scenario.seed,
        runs,
        "grid",
        tuple(keys),
        tuple(points),
        tuple(params),
    )
    return _validated(design)


def _product(axes: list[list[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = [[]]
    for axis in axes:
        out = [[*head, v] for head in out for v in axis]
    return out
