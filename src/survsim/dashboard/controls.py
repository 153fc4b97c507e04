"""The dashboard's controls: what a slider sets in the scenario, and checking a choice.

A control is a label, the scenario key it sets (``--set`` style), its kind and its range.
:func:`prepare` turns the scenario's name and the controls' values into a validated
:class:`~survsim.Scenario`, exactly as the CLI would (the same ``load_scenario`` and the
same memory check), or into the one-line message the CLI would print.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survsim.api import check_memory
from survsim.dashboard.server import MODEL
from survsim.errors import SurvsimError
from survsim.scenario import Scenario, builtin_scenarios, load_scenario

__all__ = [
    "CONTROLS",
    "Control",
    "Prepared",
    "defaults",
    "describe",
    "prepare",
    "scenario_names",
]


@dataclass(frozen=True)
class Control:
    """One input of the dashboard."""

    name: str  # the key of the value in the page's state
    label: str
    kind: str  # "int", "float" or "factor" (a multiplier of several scenario values)
    low: float
    high: float
    step: float
    help: str


#: The main parameters, in the order of the page. Keys are scenario paths; ``mic_factor``
#: multiplies every microphone coverage of the scenario (capped at 1).
CONTROLS: tuple[Control, ...] = (
    Control("agents", "People simulated", "int", 1_000, 2_000_000, 1_000,
            "synthetic people; national figures scale with them"),
    Control("steps", "Days", "int", 1, 3_650, 1, "days simulated"),
    Control("population.informant_density", "Informant density", "float", 0.0, 0.1, 0.001,
            "share of adults who are informants"),
    Control("population.zeal_mean", "Informants' zeal", "float", 0.0, 1.0, 0.05,
            "mean chance an informant reports what it hears"),
    Control("policy.camera_purchase.cameras", "Cameras bought (national)", "int", 0,
            500_000, 10_000, "bought along a straight line over the purchase period"),
    Control("mic_factor", "Microphone coverage (x scenario)", "factor", 0.0, 5.0, 0.25,
            "multiplies every microphone coverage of the scenario"),
    Control("border.team_size", "Border team size", "int", 1, 20, 1,
            "people per border team; the same personnel in more or fewer teams"),
    Control("listening.reward", "Reward per report", "float", 0.0, 10.0, 0.5,
            "gifts for informants; fabrication grows with it"),
    Control("seed", "Seed", "int", 0, 2**31 - 1, 1, "the same seed gives the same run"),
)  # fmt: skip

_BY_NAME = {c.name: c for c in CONTROLS}


def scenario_names() -> list[str]:
    """The built-in scenarios of the surveillance-state model."""
    return list(_scenario_names())


@functools.cache
def _scenario_names() -> tuple[str, ...]:
    # Loaded once: the page asks on every render and every run, and built-ins do not change.
    return tuple(name for name in builtin_scenarios() if load_scenario(name).model == MODEL)


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return node


def defaults(name: str) -> dict[str, float]:
    """The controls' values in scenario ``name``."""
    scenario = load_scenario(name)
    params = scenario.params.model_dump()
    values: dict[str, float] = {"steps": scenario.steps, "seed": scenario.seed, "mic_factor": 1.0}
    for control in CONTROLS:
        if control.name not in values:
            values[control.name] = _get(params, control.name)
    return values


@dataclass(frozen=True)
class Prepared:
    """A checked choice: the scenario to run, or why not."""

    scenario: Scenario | None
    error: str | None
    overrides: tuple[str, ...] = ()
    #: The run's estimated peak memory (bytes), as the CLI estimates it.
    needed: int = 0


def _number(control: Control, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SurvsimError(f"{control.label}: {value!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise SurvsimError(f"{control.label}: {value} is not a finite number")
    if not control.low <= value <= control.high:
        raise SurvsimError(
            f"{control.label}: {value:g} is not allowed (allowed: {control.low:g} to "
            f"{control.high:g})"
        )
    if control.kind == "int":
        if value != int(value):
            raise SurvsimError(f"{control.label}: {value:g} is not a whole number")
        return int(value)
    return float(value)


def _mic_overrides(name: str, factor: float) -> list[str]:
    mic = load_scenario(name).params.model_dump()["channels"]["mic"]
    return [
        f"params.channels.mic.{context}.{region}={min(1.0, coverage * factor):.6g}"
        for context, regions in mic.items()
        for region, coverage in regions.items()
    ]


def prepare(name: str, values: Mapping[str, Any]) -> Prepared:
    """Validate the controls' values on scenario ``name``, as the CLI would.

    Returns:
        The scenario (with ``steps`` and ``seed`` set) or the one-line reason it cannot
        run: a value out of range, or a run that would not fit in memory.
    """
    try:
        if name not in scenario_names():
            allowed = ", ".join(scenario_names())
            raise SurvsimError(f"scenario {name!r} is not available here (allowed: {allowed})")
        checked = {c.name: _number(c, values[c.name]) for c in CONTROLS if c.name in values}
        overrides = [
            f"params.{key}={value}"
            for key, value in checked.items()
            if key not in ("steps", "seed", "mic_factor")
        ]
        if checked.get("mic_factor", 1.0) != 1.0:
            overrides += _mic_overrides(name, float(checked["mic_factor"]))
        scenario = load_scenario(
            name, overrides, steps=checked.get("steps"), seed=checked.get("seed")
        )
        needed = check_memory(scenario)
    except SurvsimError as err:
        return Prepared(None, str(err))
    return Prepared(scenario, None, tuple(overrides), needed)


def control(name: str) -> Control:
    """The control called ``name``."""
    return _BY_NAME[name]


def describe(name: str, values: Mapping[str, Any]) -> str:
    """A run's short name: the scenario and the values that differ from it."""
    base = defaults(name)
    changed = [
        f"{c.name.split('.')[-1]}={values[c.name]:g}"
        for c in CONTROLS
        if c.name in values and c.name != "seed" and values[c.name] != base[c.name]
    ]
    seed = f"seed {values.get('seed', base['seed']):g}"
    return f"{name} ({', '.join([*changed, seed])})"
