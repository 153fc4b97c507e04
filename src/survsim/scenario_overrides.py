"""``--set key=value`` overrides: parsed as YAML scalars, applied to scenario data.

Keys are top-level (``steps``, ``seed``, ``description``, ``name``) or parameter paths
of any depth, with or without ``params.`` (``params.agencies.ssd.personnel=60000``).
Groups a file leaves out are created from their field's default; a path through a
value is a one-line :class:`~survsim.errors.ScenarioError`.
"""

from __future__ import annotations

from typing import Any, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from survsim.errors import ScenarioError
from survsim.models import MODELS
from survsim.safe_yaml import YamlSyntaxError, load_yaml
from survsim.scenario_messages import _group, _not_a_group, _options, _show


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
