"""Scenario files and overrides: valid ones load, invalid ones give one clear line."""

from __future__ import annotations

import pytest

from survsim.errors import ScenarioError
from survsim.scenario import builtin_scenarios, load_scenario


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
