"""Scenarios: a model, its parameters and their sources, in a YAML file.

A scenario file looks like this (the built-in ones live in ``survsim/scenarios/``)::

    model: civil_violence
    name: epstein
    description: Mesa 3.3.1's defaults (Epstein 2002, Run 5)
    steps: 200
    seed: 0
    params:
      legitimacy: 0.8
    sources:
      legitimacy: Epstein (2002) Run 5; Mesa 3.3.1 default

Parameters may be nested groups (``agencies: {ssd: {personnel: 50000}}``); ``sources``
then names them by dotted path (``agencies.ssd.personnel: "seed article: ..."``), and so
do ``--set`` overrides (``params.agencies.ssd.personnel=60000``, or without ``params.``).

Files are read as plain data only (:mod:`survsim.safe_yaml`: safe tags, bounded size,
nesting and alias expansion). Every key is checked: an unknown key, a
value of the wrong type or out of range, or parameters that do not fit together is a
:class:`~survsim.errors.ScenarioError` with one line that names the full dotted key, the
value and what is allowed (for an unknown key: the keys allowed at that level).

This module loads and checks; the one-line messages are built in
:mod:`survsim.scenario_messages`, and ``--set`` overrides are read and applied in
:mod:`survsim.scenario_overrides` (``parse_override`` and ``apply_overrides`` are
importable from here too).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from survsim.errors import ScenarioError
from survsim.models import MODELS
from survsim.safe_yaml import load_yaml, read_text_file
from survsim.scenario_messages import _group, _not_a_group, _one_line
from survsim.scenario_overrides import apply_overrides, parse_override

__all__ = [
    "Scenario",
    "apply_overrides",
    "builtin_scenarios",
    "load_scenario",
    "parse_override",
    "with_agents",
]


class _ScenarioFile(BaseModel):
    """The keys of a scenario file, before the model's parameters are checked."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    model: str
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    steps: int = Field(200, ge=0, le=10_000_000)
    seed: int = Field(0, ge=0, lt=2**63)
    params: dict[str, Any] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)


class Scenario(BaseModel):
    """A validated scenario: the model, its resolved parameters and their sources."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    model: str
    name: str
    description: str
    steps: int
    seed: int
    params: BaseModel
    sources: dict[str, str]
    path: str | None = None

    def resolved(self) -> dict[str, Any]:
        """Everything that defines the run, as plain data (for manifests and ``show``)."""
        return {
            "model": self.model,
            "name": self.name,
            "description": self.description,
            "steps": self.steps,
            "seed": self.seed,
            "params": self.params.model_dump(),
            "sources": self.sources,
        }


# -- loading ----------------------------------------------------------------------------


def builtin_scenarios() -> dict[str, str]:
    """Names of the built-in scenarios -> their one-line descriptions."""
    found = {}
    for entry in sorted(resources.files("survsim.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            found[entry.name[: -len(".yaml")]] = str(data.get("description", "")).strip()
    return found


def _named(source: str) -> str:
    """``scenario 'NAME'`` for messages, a long path cut in its middle."""
    shown = source if len(source) <= 80 else f"{source[:40]}...{source[-37:]}"
    return f"scenario {shown!r}" if "'" in shown else f"scenario '{shown}'"


def _read_text(source: str) -> tuple[str, str | None]:
    """The YAML text of a built-in name or a file path, and the path if it is a file."""
    if "/" not in source and not source.endswith((".yaml", ".yml")):
        builtin = resources.files("survsim.scenarios").joinpath(f"{source}.yaml")
        try:
            if builtin.is_file():
                return builtin.read_text(encoding="utf-8"), None
        except (OSError, ValueError):
            pass  # a name no file can have (too long): not a built-in
    try:
        return read_text_file(Path(source), _named(source)), str(Path(source))
    except FileNotFoundError:
        names = ", ".join(builtin_scenarios())
        raise ScenarioError(
            f"{_named(source)} is neither a built-in scenario ({names}) nor an existing file"
        ) from None


def _parse_yaml(text: str, where: str) -> dict[str, Any]:
    data = load_yaml(text, where)
    if not isinstance(data, dict):
        kind = "an empty document" if data is None else type(data).__name__
        raise ScenarioError(f"{where}: expected a mapping of keys to values, got {kind}")
    return data


def validate(data: dict[str, Any], where: str, path: str | None = None) -> Scenario:
    """Check a scenario given as plain data; raise a one-line ScenarioError if invalid."""
    try:
        head = _ScenarioFile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_one_line(err, where, _ScenarioFile, "")) from None
    if head.model not in MODELS:
        raise ScenarioError(
            f"{where}: model = {head.model!r} is not allowed (allowed: {', '.join(MODELS)})"
        )
    params_class = MODELS[head.model][1]
    try:
        params = params_class.model_validate(head.params)
    except ValidationError as err:
        raise ScenarioError(_one_line(err, where, params_class, "params.")) from None
    _check_sources(head.sources, params_class, where)
    return Scenario(
        model=head.model,
        name=head.name,
        description=head.description,
        steps=head.steps,
        seed=head.seed,
        params=params,
        sources=head.sources,
        path=path,
    )


def _check_sources(sources: dict[str, str], params_class: type[BaseModel], where: str) -> None:
    """Every key of ``sources`` must name a parameter (dotted paths for nested ones)."""
    for key in sources:
        parts = key.split(".")
        group: type[BaseModel] | None = params_class
        annotation: Any = None
        for depth, name in enumerate(parts):
            if group is None:
                reason = _not_a_group(parts[:depth], annotation=annotation)
            elif name not in group.model_fields:
                level = f" under params.{'.'.join(parts[:depth])}" if depth else ""
                reason = f"allowed{level}: {', '.join(group.model_fields)}"
            else:
                annotation = group.model_fields[name].annotation
                group = _group(annotation)
                continue
            raise ScenarioError(f"{where}: sources names unknown parameter '{key}' ({reason})")


def load_scenario(
    source: str, overrides: list[str] | None = None, **fields: int | None
) -> Scenario:
    """Load a built-in scenario by name or a YAML file by path, then apply overrides.

    Args:
        source: a built-in name (``epstein``) or a path to a YAML file.
        overrides: ``key=value`` strings, applied in order.
        **fields: top-level values that win over the file (``steps=...``, ``seed=...``);
            ``None`` leaves the file's value.

    Raises:
        ScenarioError: with a one-line message, for anything not valid.
    """
    text, path = _read_text(source)
    where = _named(source)
    data = _parse_yaml(text, where)
    data = apply_overrides(data, overrides or [])
    data.update({k: v for k, v in fields.items() if v is not None})
    return validate(data, where, path)


def with_agents(source: str, agents: int) -> str:
    """``--agents N`` as an override (like ``--steps`` it wins over ``--set``).

    Raises:
        ScenarioError: the scenario's model has no ``agents`` parameter.
    """
    model = load_scenario(source).model
    if "agents" not in MODELS[model][1].model_fields:
        having = [m for m, (_, p) in MODELS.items() if "agents" in p.model_fields]
        raise ScenarioError(
            f"--agents: model {model} has no agents parameter (its size is set by its own "
            f"parameters, see 'survsim scenario show {source}'; --agents is for "
            f"{', '.join(having) or 'no installed model'})"
        )
    return f"params.agents={agents}"
