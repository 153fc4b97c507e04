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
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from survsim.errors import ScenarioError
from survsim.models import MODELS
from survsim.safe_yaml import YamlSyntaxError, load_yaml, read_text_file

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


# -- error messages ---------------------------------------------------------------------


def _options(annotation: Any) -> list[Any]:
    """The types an annotation allows: unions and ``Optional`` opened, ``Annotated`` unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _options(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return [o for a in get_args(annotation) for o in _options(a) if o is not type(None)]
    return [annotation]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _group(annotation: Any) -> type[BaseModel] | None:
    """The parameter group (pydantic model) a field holds, if it holds exactly one."""
    models = [o for o in _options(annotation) if _is_model(o)]
    return models[0] if len(models) == 1 else None


def _type_name(annotation: Any) -> str:
    """``int``, ``float | None``, ``list[PolicyEvent]``: a type as a user reads it."""
    options = _options(annotation)
    if len(options) > 1:
        return " | ".join(_type_name(o) for o in options)
    kind = options[0] if options else annotation
    origin = get_origin(kind)
    if origin is not None and get_args(kind):
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in get_args(kind))
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return getattr(kind, "__name__", str(kind))


def _is_tag(step: Any, option: Any) -> bool:
    """Whether ``step`` is pydantic's label for one member of a union (not a key)."""
    if not isinstance(step, str):
        return False
    tag = _type_name(option).replace(" ", "")
    return step.replace(" ", "") == tag or step.endswith((f", {tag}]", f"[{tag}]"))


class _Where(NamedTuple):
    """Where an error's ``loc`` points, found by walking the parameter classes."""

    key: str  # dotted, list indices included, union labels left out
    group: type[BaseModel] | None  # the model one level up, whose keys are allowed there
    field: FieldInfo | None  # the field the key names, if it is one
    annotation: Any  # the declared type at the key, if known


def _locate(model: type[BaseModel], loc: tuple[Any, ...]) -> _Where:
    """Walk ``loc`` (field names, list indices, dict keys) through the model classes."""
    parts: list[str] = []
    current: Any = model
    group: type[BaseModel] | None = None
    field: FieldInfo | None = None
    declared: Any = model
    for step in loc:
        options = _options(current) if current is not None else []
        if len(options) > 1 and any(_is_tag(step, o) for o in options):
            current = next(o for o in options if _is_tag(step, o))
            continue  # a union member's label: the key and its declared type stay
        parts.append(str(step))
        group, field, current = _group(current) if current is not None else None, None, None
        for option in options:
            origin, args = get_origin(option), get_args(option)
            if _is_model(option) and isinstance(step, str) and step in option.model_fields:
                group, field = option, option.model_fields[step]
                current = field.annotation
            elif origin in (list, tuple, set, frozenset) and isinstance(step, int) and args:
                fixed = origin is tuple and Ellipsis not in args and step < len(args)
                current = args[step] if fixed else args[0]
            elif origin is dict and len(args) == 2:
                current = args[1]
            else:
                continue
            break
        declared = current
    return _Where(".".join(parts), group, field, declared)


def _allowed(where: _Where) -> str:
    """What the value at ``where`` allows, from its type and its bounds."""
    if where.field is None:
        return _type_name(where.annotation) if where.annotation is not None else ""
    limits = {}
    for item in where.field.metadata:
        for key in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            if getattr(item, key, None) is not None:
                limits[key] = getattr(item, key)
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    bounds = [f"{words[k]} {v}" for k, v in limits.items() if k in words]
    bounds += [f"length {'>=' if k == 'min_length' else '<='} {v}"
               for k, v in limits.items() if k.endswith("_length")]  # fmt: skip
    if "pattern" in limits:
        bounds.append(f"matching {limits['pattern']!r}")
    kind = _type_name(where.field.annotation)
    return f"{kind} {' and '.join(bounds)}" if bounds else kind


def _show(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(err: ValidationError, where: str, model: type[BaseModel], prefix: str) -> str:
    """The first error of ``err`` as one line: the full dotted key, the value, what is allowed."""
    first = err.errors()[0]
    at = _locate(model, tuple(first["loc"]))
    key = f"{prefix}{at.key}" if at.key else prefix.rstrip(".")
    kind = first["type"]
    value = first.get("input")
    if kind == "extra_forbidden":
        if at.group is None:
            return f"{where}: unknown key '{key}'"
        return f"{where}: unknown key '{key}' (allowed: {', '.join(at.group.model_fields)})"
    if kind == "missing":
        return f"{where}: missing key '{key}'"
    if kind == "invalid_key" or first["loc"][-1:] == ("[key]",):  # a number or date as key
        parent = first["loc"][:-1] if kind == "invalid_key" else first["loc"][:-2]
        under = ".".join([prefix.rstrip("."), *map(str, parent)]).strip(".") or "the top level"
        return f"{where}: key {_show(value)} under {under} is not allowed (allowed: text keys)"
    if kind in ("value_error", "assertion_error") and (not at.key or isinstance(value, dict)):
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        return f"{where}: {key}: {message}" if at.key else f"{where}: {message}"
    if kind == "literal_error":
        expected = first["ctx"]["expected"]
        return f"{where}: {key} = {_show(value)} is not allowed (allowed: {expected})"
    allowed = _allowed(at)
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


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value`` and read the value as a YAML scalar (``0.7``, ``true``, ``floor``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {text!r}: expected key=value, for example legitimacy=0.7")
    try:
        value = load_yaml(raw, f"--set {key}") if raw.strip() else raw
    except YamlSyntaxError:
        value = raw  # not YAML: the text itself (a name with a colon, say)
    if isinstance(value, dict | list):
        raise ScenarioError(f"--set {key}: expected a single value, got {_show(raw)}")
    return key, value


def _not_a_group(path: list[str], value: Any = None, annotation: Any = None) -> str:
    what = "a list" if isinstance(value, list) or get_origin(annotation) is list else "a value"
    return f"params.{'.'.join(path)} is {what}, not a group of keys"


def _default_values(info: FieldInfo | None) -> dict[str, Any]:
    """The values a group the file leaves out gets from its field's default.

    ``mps: Agency = Agency(personnel=175_000, ...)`` must keep 175,000 when only
    ``mps.political_share`` is set, so the group starts from what its default spells out.
    """
    default = info.get_default(call_default_factory=True, validated_data={}) if info else None
    if isinstance(default, BaseModel):
        return default.model_dump(exclude_unset=True)
    return dict(default) if isinstance(default, dict) else {}


def _set_path(
    params: dict[str, Any], path: list[str], value: Any, key: str, group: type[BaseModel] | None
) -> None:
    """Set ``params[path[0]][path[1]]... = value``, creating groups on the way.

    ``group`` is the parameter class (``None`` if unknown): it refuses a path through a
    declared value (``agents.x``) and gives a created group its default's values. Unknown
    names are left to validation, which lists the keys allowed there.
    """
    node = params
    for depth, name in enumerate(path[:-1]):
        info = group.model_fields.get(name) if group is not None else None
        group = _group(info.annotation) if info is not None else None
        free = info is not None and any(get_origin(o) is dict for o in _options(info.annotation))
        child = node.get(name)
        if (info is not None and group is None and not free) or not isinstance(child, dict | None):
            where = _not_a_group(path[: depth + 1], child, info.annotation if info else None)
            raise ScenarioError(f"--set {key}: {where}")
        node[name] = dict(child) if child is not None else _default_values(info)
        node = node[name]
    node[path[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set key=value`` overrides to scenario data (a new dict is returned).

    A key is a top-level key (``steps``, ``seed``, ``description``, ``name``),
    ``params.PATH`` with a dotted path of any depth (``params.agencies.ssd.personnel``) or,
    for short, the path without ``params.`` (``legitimacy``, ``agencies.ssd.personnel``).
    Groups the file does not spell out are created; a path through a value is an error.

    Raises:
        ScenarioError: a malformed override, or a path through a value (one line).
    """
    if not overrides:
        return dict(data)
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ScenarioError(
            f"params: expected a mapping of parameter names to values, got {params!r}"
        )
    model = data.get("model")
    params_class = MODELS[model][1] if isinstance(model, str) and model in MODELS else None
    data = {**data, "params": dict(params)}
    for text in overrides:
        key, value = parse_override(text)
        if key in ("steps", "seed", "description", "name"):
            data[key] = value
            continue
        path = key[len("params.") :] if key.startswith("params.") else key
        parts = path.split(".")
        if key == "params" or not all(parts):
            raise ScenarioError(f"--set {key}: not a parameter path (example: params.speech.delta)")
        _set_path(data["params"], parts, value, key, params_class)
    return data


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
