"""Scenario files and overrides: valid ones load, invalid ones give one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field, model_validator

import survsim.scenario as scenario_module
from survsim.engine.params import StrictModel
from survsim.errors import ScenarioError
from survsim.models import SurveillanceStateParams
from survsim.scenario import apply_overrides, builtin_scenarios, load_scenario


def test_builtin_scenarios_load_with_mesas_defaults():
    assert {"epstein", "epstein_run2", "epstein_outbursts"} <= set(builtin_scenarios())
    p = load_scenario("epstein").params
    assert (p.width, p.height, p.citizen_density, p.cop_density) == (40, 40, 0.7, 0.074)
    assert (p.citizen_vision, p.cop_vision, p.legitimacy, p.max_jail_term) == (7, 7, 0.8, 1000)
    assert (p.active_threshold, p.arrest_prob_constant, p.movement) == (0.1, 2.3, True)
    run2 = load_scenario("epstein_run2").params
    assert (run2.legitimacy, run2.cop_density, run2.max_jail_term) == (0.82, 0.04, 30)


def _explicit_leaves(model, prefix=""):
    """Dotted paths of the values a scenario file spells out."""
    for name in model.model_fields_set:
        value = getattr(model, name)
        if hasattr(value, "model_fields_set"):
            yield from _explicit_leaves(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def test_every_builtin_parameter_names_its_source():
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        sources = set(scenario.sources)
        for leaf in _explicit_leaves(scenario.params):
            parts = leaf.split(".")
            covered = any(".".join(parts[:n]) in sources for n in range(1, len(parts) + 1))
            assert covered, f"{name}: {leaf} has no source"


def test_nested_overrides_and_sources():
    s = load_scenario("dprk", ["params.agencies.ssd.personnel=60000", "speech.delta=0.4",
                               "params.policy.camera_purchase.cameras=0"])  # fmt: skip
    assert s.params.agencies.ssd.personnel == 60000 and s.params.speech.delta == 0.4
    assert s.params.policy.camera_purchase.cameras == 0
    assert s.params.agencies.mps.personnel == 175000  # neighbours kept
    assert "agencies.ssd.personnel" in s.sources


def test_a_group_the_file_leaves_out_keeps_its_fields_defaults(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text("model: surveillance_state\nname: mini\n")
    s = load_scenario(str(path), ["agencies.mps.political_share=0.2"])
    # Agency has no defaults of its own: AgenciesParams.mps = Agency(175,000, 0.1) supplies them
    assert s.params.agencies.mps.personnel == SurveillanceStateParams().agencies.mps.personnel
    assert s.params.agencies.mps.political_share == 0.2
    assert s.params.agencies.ssd == SurveillanceStateParams().agencies.ssd


def test_overrides_apply_in_order_and_fields_win():
    s = load_scenario("epstein", ["legitimacy=0.7", "params.cop_density=0.04", "legitimacy=0.75"],
                      steps=12, seed=9)  # fmt: skip
    assert s.params.legitimacy == 0.75 and s.params.cop_density == 0.04
    assert (s.steps, s.seed) == (12, 9)
    assert load_scenario("epstein", ["estimate_rounding=floor"]).params.estimate_rounding == "floor"
    assert load_scenario("epstein", ["movement=false"]).params.movement is False


def test_scenario_file_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("model: civil_violence\nname: mine\nparams:\n  legitimacy: 0.5\n")
    s = load_scenario(str(path))
    assert s.name == "mine" and s.params.legitimacy == 0.5 and s.path == str(path)


BAD_OVERRIDES = [
    (["legitimacy=1.5"], "params.legitimacy = 1.5", "<= 1"),
    (["legitimacy=-0.1"], "params.legitimacy = -0.1", ">= 0"),
    (["legitimacy=.nan"], "params.legitimacy = nan", "finite"),
    (["cop_density=.inf"], "params.cop_density = inf", "finite"),
    (["width=abc"], "params.width = 'abc'", "int"),
    (["width=40.5"], "params.width = 40.5", "int"),
    (["width=99999999"], "params.width = 99999999", "<= 20000"),
    (["movement=3"], "params.movement = 3", "bool"),
    (["estimate_rounding=ceil"], "params.estimate_rounding = 'ceil'", "'round' or 'floor'"),
    (["colour=red"], "unknown key 'params.colour'", "legitimacy"),
    (["citizen_density=0.99"], "citizen_density + cop_density = 1.064", "at most 1"),
    (["width=10"], "at least 2 * vision + 1 = 15", "wrap"),
    (["steps=-3"], "steps = -3", ">= 0"),
    (["seed=-1"], "seed = -1", ">= 0"),
    (["no_equals_sign"], "expected key=value", "legitimacy=0.7"),
    (["params.a.b=1"], "unknown key 'params.a'", "legitimacy"),
    (["params.legitimacy.x=1"], "params.legitimacy is a value", "--set"),
]


@pytest.mark.parametrize(("overrides", "names", "allowed"), BAD_OVERRIDES)
def test_bad_values_are_one_line_naming_key_value_and_allowed(overrides, names, allowed):
    with pytest.raises(ScenarioError) as info:
        load_scenario("epstein", overrides)
    message = str(info.value)
    assert "\n" not in message
    assert names in message and allowed in message


BAD_FILES = [
    ("model: civil_violence\nname: x\nparams: {legitimacy: 2}\n", "params.legitimacy = 2"),
    ("model: civil_violence\nname: x\ncolour: red\n", "unknown key 'colour'"),
    ("model: nope\nname: x\n", "model = 'nope' is not allowed"),
    ("name: x\n", "missing key 'model'"),
    ("model: civil_violence\nname: x\nparams: [1, 2]\n", "params"),
    ("model: civil_violence\nname: x\nsources: {nope: a paper}\n", "unknown parameter 'nope'"),
    ("- just\n- a list\n", "expected a mapping"),
    ("model: civil_violence\nname: [unclosed\n", "not valid YAML"),
    ("model: !!python/object/apply:os.system ['echo hi']\nname: x\n", "not valid YAML"),
    ("", "expected a mapping"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_files_are_one_line(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    assert "\n" not in str(info.value)
    assert expected in str(info.value)


def test_unreadable_sources_are_one_line(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00model")
    for source, expected in [
        ("no_such_scenario", "neither a built-in scenario"),
        (str(tmp_path), "is a directory"),
        (str(binary), "not UTF-8"),
    ]:
        with pytest.raises(ScenarioError, match=expected):
            load_scenario(source)


# -- nested parameters, on a small model registered for these tests --------------------


class Agency(StrictModel):
    personnel: int = Field(50_000, ge=0, le=2_000_000)
    political_share: float = Field(0.5, ge=0, le=1)


class Agencies(StrictModel):
    ssd: Agency = Agency()
    mps: Agency = Agency(personnel=175_000, political_share=0.1)


class Closeness(StrictModel):
    household: float = Field(0.3, ge=0, le=1)
    work: float = Field(0.1, ge=0, le=1)


class Speech(StrictModel):
    delta: float = Field(0.3, ge=0, le=1)
    closeness: Closeness = Closeness()


class Event(StrictModel):
    day: int = Field(ge=0)
    amnesty: float = Field(0.0, ge=0, le=1)


class Cameras(StrictModel):
    kind: Literal["cameras"]
    count: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _fine(self) -> Cameras:  # pydantic labels this union member 'function-after[...]'
        return self


class Broadcast(StrictModel):
    kind: Literal["broadcast"]
    hours: float = Field(1.0, ge=0)


class ToyParams(StrictModel):
    agents: int = Field(100_000, ge=100)
    legitimacy: float = Field(0.8, ge=0, le=1)
    agencies: Agencies = Agencies()
    speech: Speech = Speech()
    timeline: list[Event] = Field(default_factory=list)
    purchase: Cameras | Broadcast | None = None
    weights: dict[str, float | bool] = Field(default_factory=lambda: {"phone": 0.2})


TOY = """\
model: toy
name: toy
params:
  legitimacy: 0.7
  agencies:
    ssd: {personnel: 50000}
  timeline:
    - {day: 10}
sources:
  legitimacy: a paper
  agencies.ssd.personnel: "seed article: at least 50,000"
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The path of a scenario file for ``ToyParams``, registered as model ``toy``."""
    monkeypatch.setitem(scenario_module.MODELS, "toy", (None, ToyParams))
    path = tmp_path / "toy.yaml"
    path.write_text(TOY)
    return str(path)


def test_nested_overrides_at_any_depth(toy):
    overrides = ["params.agencies.ssd.personnel=60000", "legitimacy=0.6",
                 "agencies.mps.political_share=0.2", "params.speech.closeness.household=0.2",
                 "weights.cctv=0.5"]  # fmt: skip
    s = load_scenario(toy, overrides)
    p = s.params
    assert p.agencies.ssd.personnel == 60000 and p.legitimacy == 0.6
    # mps is not in the file: it starts from its field's default, not Agency's defaults
    assert p.agencies.mps.political_share == 0.2 and p.agencies.mps.personnel == 175_000
    assert p.agencies.ssd.political_share == 0.5  # a neighbour the file leaves out
    # speech is not in the file: its groups are created, the other values keep defaults
    assert p.speech.closeness.household == 0.2 and p.speech.closeness.work == 0.1
    assert p.speech.delta == 0.3 and p.weights == {"phone": 0.2, "cctv": 0.5}
    assert [e.day for e in p.timeline] == [10]
    assert s.sources["agencies.ssd.personnel"] == "seed article: at least 50,000"
    assert s.resolved()["params"]["agencies"]["ssd"] == {"personnel": 60000, "political_share": 0.5}


def test_overrides_leave_the_given_data_alone():
    data = {"model": "civil_violence", "name": "x", "params": {"a": {"b": {"c": 1}}}}
    out = apply_overrides(data, ["a.b.c=2", "a.b.d=3"])
    assert out["params"] == {"a": {"b": {"c": 2, "d": 3}}}
    assert data["params"] == {"a": {"b": {"c": 1}}}


BAD_NESTED = [
    ("params.agencies.ssd.personnel=-5", "params.agencies.ssd.personnel = -5 is not allowed",
     "(allowed: int >= 0 and <= 2000000)"),
    ("speech.closeness.household=1.5", "params.speech.closeness.household = 1.5",
     "(allowed: float >= 0 and <= 1)"),
    ("agencies.ssd.colour=red", "unknown key 'params.agencies.ssd.colour'",
     "(allowed: personnel, political_share)"),
    ("agencies.fbi.personnel=1", "unknown key 'params.agencies.fbi'", "(allowed: ssd, mps)"),
    ("speech.tone=1", "unknown key 'params.speech.tone'", "(allowed: delta, closeness)"),
    ("agents=50", "params.agents = 50 is not allowed", ">= 100"),
    ("weights.cctv=abc", "params.weights.cctv = 'abc' is not allowed", "float | bool"),
    ("params.agents.x=1", "--set params.agents.x: params.agents is a value", "not a group"),
    ("params.legitimacy.x=1", "params.legitimacy is a value", "not a group"),
    ("agencies.ssd.personnel.x=1", "params.agencies.ssd.personnel is a value", "not a group"),
    ("timeline.day=3", "params.timeline is a list", "not a group"),
    ("params=1", "--set params: not a parameter path", "params.speech.delta"),
    ("params.agencies..ssd=1", "not a parameter path", "params.speech.delta"),
]  # fmt: skip


@pytest.mark.parametrize(("override", "names", "allowed"), BAD_NESTED)
def test_bad_nested_overrides_name_the_full_key(toy, override, names, allowed):
    with pytest.raises(ScenarioError) as info:
        load_scenario(toy, [override])
    message = str(info.value)
    assert "\n" not in message
    assert names in message and allowed in message
    if "unknown key" in names:  # only the keys of that level are offered
        assert "legitimacy" not in message and "household" not in message


BAD_NESTED_FILES = [
    ("  timeline:\n    - {day: 1}\n    - {day: 2, amnesty: 2}\n",
     "params.timeline.1.amnesty = 2 is not allowed", "(allowed: float >= 0 and <= 1)"),
    ("  timeline:\n    - {day: 1, colour: red}\n",
     "unknown key 'params.timeline.0.colour'", "(allowed: day, amnesty)"),
    ("  timeline:\n    - {amnesty: 0.5}\n", "missing key 'params.timeline.0.day'", ""),
    ("  timeline: [3]\n", "params.timeline.0 = 3 is not allowed", "(allowed: Event)"),
    ("  purchase: {kind: cameras, count: -1}\n", "params.purchase.count = -1 is not allowed",
     "(allowed: int >= 0)"),
    ("  purchase: {kind: cameras, colour: red}\n", "unknown key 'params.purchase.colour'",
     "(allowed: kind, count)"),
    ("  weights: {cctv: abc}\n", "params.weights.cctv = 'abc'", "(allowed: float | bool)"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "names", "allowed"), BAD_NESTED_FILES)
def test_errors_in_lists_and_unions_walk_the_model_classes(toy, params, names, allowed):
    path = Path(toy)
    path.write_text(f"model: toy\nname: toy\nparams:\n{params}")
    with pytest.raises(ScenarioError) as info:
        load_scenario(toy)
    message = str(info.value)
    assert "\n" not in message and names in message and allowed in message
    assert "function-after" not in message and ".Cameras" not in message


def test_dotted_sources_name_nested_parameters(toy):
    path = Path(toy)
    path.write_text(TOY + "  speech.closeness.household: an assumption\n  timeline: a plan\n")
    sources = load_scenario(toy).sources  # speech is not in params: its defaults have sources
    assert sources["speech.closeness.household"] == "an assumption"


BAD_SOURCES = [
    ("agencies.ssd.nope", "(allowed under params.agencies.ssd: personnel, political_share)"),
    ("agencies.nope", "(allowed under params.agencies: ssd, mps)"),
    ("nope", "(allowed: agents, legitimacy, agencies, speech, timeline, purchase, weights)"),
    ("agents.x", "(params.agents is a value, not a group of keys)"),
    ("timeline.day", "(params.timeline is a list, not a group of keys)"),
    ("agencies..ssd", "(allowed under params.agencies: ssd, mps)"),
]


@pytest.mark.parametrize(("key", "allowed"), BAD_SOURCES)
def test_sources_naming_no_parameter_are_one_line(toy, key, allowed):
    Path(toy).write_text(TOY + f"  {key}: a paper\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(toy)
    message = str(info.value)
    assert "\n" not in message
    assert f"sources names unknown parameter '{key}' {allowed}" in message
