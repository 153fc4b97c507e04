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

Files are read with ``yaml.safe_load`` only. Every key is checked: an unknown key, a
value of the wrong type or out of range, or parameters that do not fit together is a
:class:`~survsim.errors.ScenarioError` with one line that names the key, the value and
what is allowed.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from survsim.errors import ScenarioError
from survsim.models import MODELS

__all__ = [
    "Scenario",
    "apply_overrides",
    "builtin_scenarios",
    "load_scenario",
    "parse_override",
]

_MAX_FILE_BYTES = 1_000_000


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


# -- error messages ---------------------------------------------------------------------


def _allowed(model: type[BaseModel], field: str) -> str:
    """What a field allows, from its type and its bounds."""
    info = model.model_fields.get(field)
    if info is None:
        return ""
    bounds = {}
    for item in info.metadata:
        for key in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, key, None) is not None:
                bounds[key] = getattr(item, key)
    kind = getattr(info.annotation, "__name__", str(info.annotation))
    lo = f">= {bounds['ge']}" if "ge" in bounds else f"> {bounds['gt']}" if "gt" in bounds else ""
    hi = f"<= {bounds['le']}" if "le" in bounds else f"< {bounds['lt']}" if "lt" in bounds else ""
    if lo or hi:
        return f"{kind} {' and '.join(x for x in (lo, hi) if x)}"
    return kind


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel], str]:
    """The pydantic model that holds the field at ``loc``, and that field's name."""
    for step in loc[:-1]:
        info = model.model_fields.get(str(step)) if isinstance(step, str) else None
        sub = getattr(info, "annotation", None) if info else None
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            model = sub
        elif info is not None and hasattr(sub, "__args__"):
            inner = [a for a in sub.__args__ if isinstance(a, type) and issubclass(a, BaseModel)]
            if inner:
                model = inner[0]
    return model, str(loc[-1]) if loc else ""


def _one_line(err: ValidationError, where: str, model: type[BaseModel], prefix: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    if len(first["loc"]) > 1:
        model, _ = _model_at(model, first["loc"])
        first = {**first, "loc": (first["loc"][-1],)}
    key = f"{prefix}{loc}" if loc else prefix.rstrip(".")
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(model.model_fields)
        return f"{where}: unknown key '{key}' (allowed: {allowed})"
    if kind == "missing":
        return f"{where}: missing key '{key}'"
    if kind in ("value_error", "assertion_error") and (
        not loc or isinstance(first.get("input"), dict)
    ):
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        return f"{where}: {key}: {message}" if loc else f"{where}: {message}"
    if kind == "literal_error":
        expected = first["ctx"]["expected"]
        return f"{where}: {key} = {_show(first['input'])} is not allowed (allowed: {expected})"
    allowed = _allowed(model, str(first["loc"][0])) if first["loc"] else ""
    value = first.get("input")
    reason = first["msg"][0].lower() + first["msg"][1:]
    if isinstance(value, float) and not math.isfinite(value):
        reason = "must be a finite number"
    text = f"{where}: {key} = {_show(value)} is not allowed: {reason}"
    return f"{text} (allowed: {allowed})" if allowed else text


# -- loading ----------------------------------------------------------------------------


def builtin_scenarios() -> dict[str, str]:
    """Names of the built-in scenarios -> their one-line descriptions."""
    found = {}
    for entry in sorted(resources.files("survsim.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            found[entry.name[: -len(".yaml")]] = str(data.get("description", "")).strip()
    return found


def _read_text(source: str) -> tuple[str, str | None]:
    """The YAML text of a built-in name or a file path, and the path if it is a file."""
    builtin = resources.files("survsim.scenarios").joinpath(f"{source}.yaml")
    if "/" not in source and not source.endswith((".yaml", ".yml")) and builtin.is_file():
        return builtin.read_text(encoding="utf-8"), None
    path = Path(source)
    if not path.exists():
        names = ", ".join(builtin_scenarios())
        raise ScenarioError(
            f"scenario '{source}' is neither a built-in scenario ({names}) nor an existing file"
        )
    if path.is_dir():
        raise ScenarioError(f"scenario '{source}' is a directory, not a YAML file")
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise ScenarioError(
                f"scenario '{source}' is {size} bytes (allowed: at most {_MAX_FILE_BYTES})"
            )
        return path.read_bytes().decode("utf-8"), str(path)
    except UnicodeDecodeError:
        raise ScenarioError(f"scenario '{source}' is not UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError(f"scenario '{source}' cannot be read: {exc.strerror}") from None


def _parse_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ScenarioError(f"{where}: not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise ScenarioError(f"{where}: YAML nested too deeply") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
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
    _check_sources(head.sources, params, where)
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


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value`` and read the value as a YAML scalar (``0.7``, ``true``, ``floor``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {text!r}: expected key=value, for example legitimacy=0.7")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    if isinstance(value, dict | list):
        raise ScenarioError(f"--set {key}: expected a single value, got {_show(raw)}")
    return key, value


def _set_path(params: dict[str, Any], path: list[str], value: Any, key: str) -> None:
    """Set ``params[path[0]][path[1]]... = value``, creating mappings on the way."""
    node = params
    for depth, name in enumerate(path[:-1]):
        child = node.get(name)
        if child is None:
            child = node[name] = {}
        elif not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise ScenarioError(f"--set {key}: params.{where} is a value, not a group of keys")
        else:
            child = node[name] = dict(child)
        node = child
    node[path[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set key=value`` overrides to scenario data (a new dict is returned).

    A key is a top-level key (``steps``, ``seed``, ``description``), ``params.PATH`` with
    a dotted path of any depth (``params.agencies.ssd.personnel``) or, for short, the
    path without ``params.``.
    """
    if not overrides:
        return dict(data)
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ScenarioError(
            f"params: expected a mapping of parameter names to values, got {params!r}"
        )
    data = {**data, "params": dict(params)}
    for text in overrides:
        key, value = parse_override(text)
        if key in ("steps", "seed", "description", "name"):
            data[key] = value
            continue
        path = key[len("params.") :] if key.startswith("params.") else key
        parts = path.split(".")
        if not all(parts):
            raise ScenarioError(f"--set {key}: not a parameter path (example: params.speech.delta)")
        _set_path(data["params"], parts, value, key)
    return data


def _check_sources(sources: dict[str, str], params: BaseModel, where: str) -> None:
    """Every key of ``sources`` must name a parameter (dotted paths for nested ones)."""
    for key in sources:
        node: Any = params
        for name in key.split("."):
            fields = getattr(type(node), "model_fields", None)
            if fields is None or name not in fields:
                raise ScenarioError(f"{where}: sources names unknown parameter '{key}'")
            node = getattr(node, name)


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
    where = f"scenario '{source}'"
    data = _parse_yaml(text, where)
    data = apply_overrides(data, overrides or [])
    data.update({k: v for k, v in fields.items() if v is not None})
    return validate(data, where, path)
