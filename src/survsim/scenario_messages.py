"""One-line messages for scenario data that pydantic refuses.

A :class:`pydantic.ValidationError` is walked back through the parameter classes so the
message names the full dotted key, the value and what is allowed there (for an unknown
key: the keys allowed at that level). The helpers that read declared types (unions
opened, parameter groups found) serve :mod:`survsim.scenario_overrides` and the
``sources`` check in :mod:`survsim.scenario` too.
"""

from __future__ import annotations

import math
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


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


def _not_a_group(path: list[str], value: Any = None, annotation: Any = None) -> str:
    what = "a list" if isinstance(value, list) or get_origin(annotation) is list else "a value"
    return f"params.{'.'.join(path)} is {what}, not a group of keys"
