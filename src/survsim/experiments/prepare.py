"""The designs of experiments: a scenario (name, file or object) made a validated Design."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from survsim.errors import SurvsimError
from survsim.experiments.design import Design, ensemble_design, sweep_design
from survsim.scenario import Scenario, load_scenario, validate, with_agents

__all__ = ["prepare_ensemble", "prepare_sweep"]


def _scenario(
    scenario: str | Scenario,
    overrides: Sequence[str],
    agents: int | None,
    steps: int | None,
    seed: int | None,
) -> Scenario:
    if isinstance(scenario, Scenario):
        if overrides or agents is not None:
            raise SurvsimError(
                "overrides and agents apply to a scenario name or file, not a Scenario"
            )
        data = scenario.resolved()
        steps = data["steps"] if steps is None else steps
        seed = data["seed"] if seed is None else seed
        return validate({**data, "steps": steps, "seed": seed}, f"scenario '{scenario.name}'")
    extra = list(overrides)
    if agents is not None:
        extra.append(with_agents(scenario, agents))
    return load_scenario(scenario, extra, steps=steps, seed=seed)


def prepare_ensemble(
    scenario: str | Scenario,
    runs: int,
    *,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
) -> Design:
    """The design of an ensemble, validated: ``runs`` seeds of one scenario."""
    return ensemble_design(_scenario(scenario, overrides, agents, steps, seed), runs)


def _param_texts(params: Sequence[str] | Mapping[str, Sequence[Any]]) -> list[str]:
    if isinstance(params, Mapping):
        return [f"{key}={','.join(repr(v) for v in values)}" for key, values in params.items()]
    return list(params)


def prepare_sweep(
    scenario: str | Scenario,
    params: Sequence[str] | Mapping[str, Sequence[Any]],
    runs: int = 1,
    *,
    samples: int | None = None,
    overrides: Sequence[str] = (),
    agents: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
) -> Design:
    """The design of a sweep, every point validated (see :func:`sweep`)."""
    base = _scenario(scenario, overrides, agents, steps, seed)
    return sweep_design(base, _param_texts(params), runs, samples)
