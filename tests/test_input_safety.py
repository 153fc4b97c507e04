"""Malformed input of every kind: exit code 2, one line on stderr, nothing written.

Property tests (hypothesis, derandomised in CI: see conftest.py) generate what a user
could get wrong: a value invalid for the parameter it is given to (as ``--set`` and in a
scenario file), unknown keys, out-of-range run options, broken YAML, alias bombs,
``!!python`` tags, binary and wrongly encoded files, missing paths and directories. Each
example runs ``survsim run ... --out DIR`` in-process and must be refused the same way.

No simulation runs here: the model classes refuse to be built, so an input the generator
thought invalid but the CLI accepted ends as "internal error" (exit 1) and fails.
"""

from __future__ import annotations

import ast
import copy
import math
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

import survsim
from survsim.cli import main
from survsim.models import MODELS
from survsim.safe_yaml import MAX_DEPTH, MAX_VALUES
from survsim.scenario import _ScenarioFile, builtin_scenarios, load_scenario

PROPERTY = settings(
    deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True, scope="module")
def no_simulation_is_built() -> Iterator[None]:
    """Building any model fails: a generated input that was valid shows as exit code 1."""

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError("the generated input was valid: a simulation was about to be built")

    with pytest.MonkeyPatch.context() as patch:
        for sim_class, _ in MODELS.values():
            patch.setattr(sim_class, "__init__", refuse)
        yield


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], work: Path) -> str:
    """Run ``survsim run ARGV --out WORK/outputs/run``; assert the four properties.

    Returns:
        The error line.
    """
    before = sorted(work.iterdir())
    out = work / "outputs" / "run"
    code = main(["run", *argv, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert captured.err.startswith("survsim: error: ") and captured.err.count("\n") == 1
    assert captured.err.endswith("\n") and captured.err[:-1].isprintable()
    assert "Traceback" not in captured.err
    assert sorted(work.iterdir()) == before  # no --out folder, no temporary one beside it
    return captured.err


# -- the parameters of the built-in scenarios, read from the pydantic classes ----------


def _options(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _options(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return [o for a in get_args(annotation) for o in _options(a)]
    return [annotation]


def _group(info: FieldInfo) -> type[BaseModel] | None:
    models = [o for o in _options(info.annotation) if isinstance(o, type)]
    models = [o for o in models if issubclass(o, BaseModel)]
    return models[0] if len(models) == 1 else None


class Leaf(NamedTuple):
    """One value of a resolved built-in scenario and the field that declares it."""

    scenario: str
    path: tuple[str, ...]  # ("params", "agencies", "ssd", "personnel")
    field: FieldInfo
    siblings: frozenset[str]  # the keys allowed next to it


def _walk(scenario: str, path: tuple[str, ...], values: dict, model: type[BaseModel]):
    for key, info in model.model_fields.items():
        group = _group(info)
        if group is not None and isinstance(values.get(key), dict):
            yield from _walk(scenario, (*path, key), values[key], group)
        else:
            yield Leaf(scenario, (*path, key), info, frozenset(model.model_fields))


def _leaves() -> list[Leaf]:
    found = []
    for name in builtin_scenarios():
        resolved = load_scenario(name).resolved()
        params_class = MODELS[resolved["model"]][1]
        # at the top, a parameter's name is no unknown key for --set (params.NAME) either
        top = frozenset(_ScenarioFile.model_fields) | frozenset(params_class.model_fields)
        for key, info in _ScenarioFile.model_fields.items():
            if key not in ("params", "sources"):
                found.append(Leaf(name, (key,), info, top))
        found += _walk(name, ("params",), resolved["params"], params_class)
    return found


LEAVES = _leaves()
RESOLVED = {name: load_scenario(name).resolved() for name in builtin_scenarios()}


def _limit(info: FieldInfo, name: str) -> Any:
    return next(
        (getattr(m, name) for m in info.metadata if getattr(m, name, None) is not None), None
    )


def _accepts(value: Any, info: FieldInfo) -> bool:
    """Whether ``value``'s type is one the field accepts in strict mode (bounds aside)."""
    kind = type(value)
    for option in _options(info.annotation):
        if get_origin(option) is Literal:
            allowed = any(value == a and kind is type(a) for a in get_args(option))
        else:  # strict: exactly the declared type; a float field takes ints too
            allowed = kind is (get_origin(option) or option) or (option is float and kind is int)
        if allowed:
            return True
    return False


FINITE = {"allow_nan": False, "allow_infinity": False}


def _out_of_range(info: FieldInfo) -> list[st.SearchStrategy[Any]]:
    """Numbers just or far outside the field's bounds (ints, and floats for float fields)."""
    if not {int, float} & set(_options(info.annotation)):
        return []
    floats = float in _options(info.annotation)
    found = []
    for name, below in [("ge", True), ("gt", True), ("le", False), ("lt", False)]:
        bound = _limit(info, name)
        if bound is None:
            continue
        edge = name in ("gt", "lt")  # the bound itself is outside
        if below:
            found.append(st.integers(max_value=math.floor(bound) if edge else math.ceil(bound) - 1))
        else:
            found.append(st.integers(min_value=math.ceil(bound) if edge else math.floor(bound) + 1))
        if floats and below:
            found.append(st.floats(max_value=float(bound), exclude_max=not edge, **FINITE))
        elif floats:
            found.append(st.floats(min_value=float(bound), exclude_min=not edge, **FINITE))
    return found


WRONG_TYPES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)


def invalid_values(leaf: Leaf) -> st.SearchStrategy[Any]:
    """Values the leaf's field refuses for sure: NaN and infinities, wrong types, out of range."""
    info = leaf.field
    choices = [st.sampled_from([math.nan, math.inf, -math.inf])]
    choices.append(WRONG_TYPES.filter(lambda v: not _accepts(v, info)))
    choices += _out_of_range(info)
    pattern = _limit(info, "pattern")
    if pattern:
        choices.append(st.text(max_size=8).filter(lambda s: not re.fullmatch(pattern, s)))
    low, high = _limit(info, "min_length"), _limit(info, "max_length")
    if str in _options(info.annotation) and (low or high):
        choices.append(st.just("" if low else "x" * (high + 1)))
    if get_origin(info.annotation) is list:
        choices.append(st.lists(st.integers(), min_size=1, max_size=2))
    if leaf.path == ("model",):
        choices.append(st.text(max_size=12).filter(lambda s: s not in MODELS))
    return st.one_of(choices)


def flow(value: Any) -> str:
    """``value`` as one line of YAML that reads back as the same value."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=math.inf)
        .removesuffix("\n...\n")
        .strip()
    )


def set_at(data: dict, path: tuple[str, ...], value: Any) -> dict:
    """A copy of ``data`` with ``data[path[0]][path[1]]... = value``."""
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=math.inf, allow_unicode=True)


def test_the_copies_the_generators_change_are_valid_scenarios(tmp_path):
    """The negative control: unchanged, each dumped copy loads and resolves to itself."""
    for name, resolved in RESOLVED.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(dump(resolved))
        assert load_scenario(str(path)).resolved() == resolved
    assert {leaf.path[0] for leaf in LEAVES} == set(_ScenarioFile.model_fields) - {"sources"}
    assert len({leaf.path for leaf in LEAVES}) > 100  # every parameter of every model


# -- property tests -------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_an_invalid_value_for_any_parameter_is_refused_as_set_and_in_a_file(capsys, data):
    leaf = data.draw(st.sampled_from(LEAVES), label="leaf")
    value = data.draw(invalid_values(leaf), label="value")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        refused(capsys, [leaf.scenario, "--set", f"{'.'.join(leaf.path)}={flow(value)}"], work)
        path = work / "scenario.yaml"
        path.write_text(dump(set_at(RESOLVED[leaf.scenario], leaf.path, value)))
        refused(capsys, [str(path)], work)


KEY = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@PROPERTY
@given(data=st.data())
def test_an_unknown_key_at_any_level_is_refused_as_set_and_in_a_file(capsys, data):
    leaf = data.draw(st.sampled_from(LEAVES), label="leaf")
    key = data.draw(KEY.filter(lambda k: k not in leaf.siblings), label="key")
    path = (*leaf.path[:-1], key)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dotted = ".".join(path) if len(path) > 1 else f"params.{key}"
        err = refused(capsys, [leaf.scenario, "--set", f"{dotted}=1"], work)
        assert "unknown key" in err and key in err
        file = work / "scenario.yaml"
        file.write_text(dump(set_at(RESOLVED[leaf.scenario], path, 1)))
        err = refused(capsys, [str(file)], work)
        assert "unknown key" in err and key in err


def _outside(info: FieldInfo) -> st.SearchStrategy[int]:
    """Integers below the field's ``ge`` or above its ``le``/``lt``, some of them huge."""
    low = _limit(info, "ge")
    high = _limit(info, "lt") if _limit(info, "le") is None else _limit(info, "le") + 1
    return st.one_of(
        st.integers(max_value=low - 1),
        st.integers(min_value=high),
        st.integers(min_value=max(high, 10**15), max_value=10**40),
        st.integers(min_value=-(10**40), max_value=min(low - 1, -(10**15))),
    )


#: The ``agents`` field of each model that has one (``--agents`` sets it).
AGENTS = {
    model: params.model_fields["agents"]
    for model, (_, params) in MODELS.items()
    if "agents" in params.model_fields
}


@PROPERTY
@given(data=st.data())
def test_out_of_range_run_options_are_refused(capsys, data):
    option = data.draw(st.sampled_from(["--steps", "--seed", "--agents"]), label="option")
    scenario = data.draw(st.sampled_from(sorted(RESOLVED)), label="scenario")
    if option != "--agents":
        value = data.draw(_outside(_ScenarioFile.model_fields[option[2:]]), label="value")
    elif RESOLVED[scenario]["model"] in AGENTS:
        value = data.draw(_outside(AGENTS[RESOLVED[scenario]["model"]]), label="value")
    else:  # a model without an agents parameter
        value = data.draw(st.integers(), label="value")
    with tempfile.TemporaryDirectory() as tmp:
        refused(capsys, [scenario, f"{option}={value}"], Path(tmp))


def _scenario_text(data: st.DataObject) -> str:
    return dump(RESOLVED[data.draw(st.sampled_from(sorted(RESOLVED)), label="scenario")])


def _broken(text: str, data: st.DataObject) -> str:
    """``text`` made invalid YAML for sure: a tab indent, a stray bracket, an unclosed end."""
    lines = text.splitlines(keepends=True)
    how = data.draw(st.sampled_from(["tab", "bracket", "colon", "unclosed"]), label="how")
    if how == "tab":
        indented = [n for n, line in enumerate(lines) if line.startswith(" ")]
        n = data.draw(st.sampled_from(indented))
        lines[n] = "\t" * data.draw(st.integers(1, 3)) + lines[n].lstrip(" ")
    elif how in ("bracket", "colon"):
        n = data.draw(st.integers(0, len(lines)), label="line")
        junk = data.draw(st.sampled_from("]}") if how == "bracket" else KEY.map("k: v: {}".format))
        lines.insert(n, f"{junk}\n")
    else:
        opener = data.draw(st.sampled_from(["[", "{", '"', "'"]), label="opener")
        lines.append(f"broken: {opener}{data.draw(KEY)}, {data.draw(KEY)}\n")
    return "".join(lines)


@PROPERTY
@given(data=st.data())
def test_broken_yaml_is_refused(capsys, data):
    text = _broken(_scenario_text(data), data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "broken.yaml"
        path.write_text(text)
        assert "not valid YAML" in refused(capsys, [str(path)], Path(tmp))


#: Where a generated piece of YAML text goes in a dumped scenario.
HERE = "__generated_here__"


def bomb(width: int, depth: int) -> str:
    """A flow list whose last anchor stands for ``width ** depth`` values."""
    items = [f"&a0 [{', '.join(['lol'] * width)}]"]
    items += [f"&a{d} [{', '.join([f'*a{d - 1}'] * width)}]" for d in range(1, depth)]
    return f"[{', '.join(items)}]"


@st.composite
def bombs(draw: st.DrawFn) -> str:
    """An alias bomb over the value limit, or a recursive alias."""
    if draw(st.booleans()):
        return draw(st.sampled_from(["&r [*r]", "&r {a: *r}", "&r [1, [2, *r]]", "&r {a: [*r]}"]))
    width = draw(st.integers(2, 12), label="width")
    fewest = math.ceil(math.log(MAX_VALUES + 1) / math.log(width))
    return bomb(width, draw(st.integers(fewest, min(fewest + 4, MAX_DEPTH - 6)), label="depth"))


@PROPERTY
@given(data=st.data(), value=bombs())
def test_alias_bombs_and_recursive_aliases_are_refused(capsys, data, value):
    leaf = data.draw(st.sampled_from(LEAVES), label="leaf")
    text = dump(set_at(RESOLVED[leaf.scenario], leaf.path, HERE)).replace(HERE, value, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.yaml"
        path.write_text(text)
        assert "alias" in refused(capsys, [str(path)], Path(tmp))


TAGS = [
    "!!python/object/apply:os.system",
    "!!python/object/new:os.system",
    "!!python/object/apply:subprocess.check_call",
    "!<tag:yaml.org,2002:python/object/apply:os.system>",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple",
    "!mine",
]


@PROPERTY
@given(data=st.data(), tag=st.sampled_from(TAGS), in_file=st.booleans())
def test_python_and_unknown_tags_are_refused_and_run_nothing(capsys, data, tag, in_file):
    leaf = data.draw(st.sampled_from(LEAVES), label="leaf")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        marker = work / "ran"
        value = f"{tag} [touch {marker}]"
        if in_file:
            text = dump(set_at(RESOLVED[leaf.scenario], leaf.path, HERE)).replace(HERE, value, 1)
            (work / "tagged.yaml").write_text(text)
            argv = [str(work / "tagged.yaml")]
        else:
            argv = [leaf.scenario, "--set", f"{'.'.join(leaf.path)}={value}"]
        refused(capsys, argv, work)
        assert not marker.exists()


@st.composite
def undecodable(draw: st.DrawFn) -> bytes:
    """Random bytes, or a scenario encoded as anything but UTF-8 (with a non-ASCII letter)."""
    how = draw(st.sampled_from(["bytes", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32"]))
    if how == "bytes":
        return draw(st.binary(min_size=1, max_size=200).filter(lambda b: b"\x00" in b or _bad(b)))
    letter = draw(st.sampled_from("éüñçøß€" if how == "cp1252" else "éüñçøßЖ漢"))
    if how in ("latin-1", "cp1252"):
        letter = letter if letter.encode(how, errors="ignore") else "é"
    scenario = draw(st.sampled_from(sorted(RESOLVED)))
    data = set_at(RESOLVED[scenario], ("description",), f"a {letter} b")
    return dump(data).encode(how)


def _bad(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@PROPERTY
@given(content=undecodable())
def test_binary_and_wrongly_encoded_files_are_refused(capsys, content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_bytes(content)
        assert "not UTF-8" in refused(capsys, [str(path)], Path(tmp))


NOT_ONE_MAPPING = st.one_of(
    st.sampled_from(["", "\n", "# only a comment\n", "---\n", "~\n", "[]\n", "plain words\n"]),
    st.lists(st.integers(), min_size=1).map(flow),
    st.sampled_from(sorted(RESOLVED)).map(lambda n: f"{dump(RESOLVED[n])}---\n{dump(RESOLVED[n])}"),
)


@PROPERTY
@given(text=NOT_ONE_MAPPING)
def test_documents_that_are_not_one_mapping_are_refused(capsys, text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(text)
        refused(capsys, [str(path)], Path(tmp))


@PROPERTY
@given(name=KEY, kind=st.sampled_from(["missing", "missing-dir", "bare", "directory", "long"]))
def test_missing_paths_directories_and_bad_names_are_refused(capsys, name, kind):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = {
            "missing": str(work / f"{name}.yaml"),
            "missing-dir": str(work / name / "scenario.yaml"),
            "bare": f"no_such_{name}",
            "directory": str(work),
            "long": name * (5000 // len(name) + 1),
        }[kind]
        refused(capsys, [source], work)


# -- examples ---------------------------------------------------------------------------


def test_a_billion_laughs_file_is_refused_before_any_value_is_built(capsys, tmp_path, monkeypatch):
    def no_construction(*args: object) -> None:
        raise AssertionError("a value was built from the alias bomb")

    monkeypatch.setattr(yaml.constructor.SafeConstructor, "construct_document", no_construction)
    path = tmp_path / "bomb.yaml"
    path.write_text(f"model: civil_violence\nname: lol\ndescription: {bomb(10, 10)}\n")
    err = refused(capsys, [str(path)], tmp_path)
    assert "aliases" in err and f"{MAX_VALUES:,}" in err


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/apply:builtins.open ['{marker}', 'w']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    ],
)
def test_python_tags_run_nothing(capsys, tmp_path, value):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"model: civil_violence\nname: {value.format(marker=marker)}\n")
    err = refused(capsys, [str(path)], tmp_path)
    assert "tag !!python/" in err and "is not allowed" in err
    refused(capsys, ["epstein", "--set", f"name={value.format(marker=marker)}"], tmp_path)
    assert not marker.exists()


def test_special_files_are_refused_without_reading_them(capsys, tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block until a writer came
    assert "not a regular file" in refused(capsys, [str(fifo)], tmp_path)
    assert "not a regular file" in refused(capsys, ["/dev/zero"], tmp_path)


def test_a_file_over_the_size_limit_is_refused_and_one_at_it_is_read(capsys, tmp_path):
    from survsim.safe_yaml import MAX_FILE_BYTES

    text = (Path(survsim.__path__[0]) / "scenarios" / "epstein.yaml").read_text(encoding="utf-8")
    at_limit = tmp_path / "at_limit.yaml"
    at_limit.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n")
    assert at_limit.stat().st_size == MAX_FILE_BYTES
    assert main(["scenario", "show", str(at_limit)]) == 0  # the limit itself is allowed
    capsys.readouterr()
    over = tmp_path / "over.yaml"
    over.write_text(text + "#" * MAX_FILE_BYTES + "\n")
    err = refused(capsys, [str(over)], tmp_path)
    assert f"at most {MAX_FILE_BYTES:,} bytes" in err


def test_errors_escape_control_characters_and_stay_short(capsys, tmp_path):
    err = refused(capsys, ["epstein", "--set", "\x1b[2Jcolour=1"], tmp_path)
    assert "\x1b" not in err and "\\x1b[2Jcolour" in err
    err = refused(capsys, ["epstein", "--set", f"{'x' * 100_000}=1"], tmp_path)
    assert len(err) < 1100 and "(allowed: width, height" in err


#: What no source file may use: it would run or unpickle what a user gives.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
FORBIDDEN_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load"}
FORBIDDEN_YAML |= {"full_load_all", "Loader", "FullLoader", "UnsafeLoader", "CLoader"}
FORBIDDEN_YAML |= {"CFullLoader", "CUnsafeLoader"}


def _unsafe(node: ast.AST) -> str | None:
    """What ``node`` does that could run or unpickle user input, if anything."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"calls {node.func.id}" if node.func.id in FORBIDDEN_CALLS else None
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [a.name for a in node.names]
        module = getattr(node, "module", None) or ""
        bad = [n for n in [*names, module] if n.split(".")[0] in FORBIDDEN_MODULES]
        bad += [f"yaml.{n}" for n in names if module == "yaml" and n in FORBIDDEN_YAML]
        return f"imports {', '.join(bad)}" if bad else None
    if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "yaml":
        return f"uses yaml.{node.attr}" if node.attr in FORBIDDEN_YAML else None
    if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
        safe = isinstance(node.value, ast.Constant) and node.value.value is False
        return None if safe else f"passes allow_pickle={ast.unparse(node.value)}"
    return None


def test_no_source_file_uses_pickle_eval_or_unsafe_yaml():
    found = []
    for path in sorted(Path(survsim.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (what := _unsafe(node)) is not None:
                found.append(f"{path.name}:{getattr(node, 'lineno', '?')} {what}")
    assert found == []
