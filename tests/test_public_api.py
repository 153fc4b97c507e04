"""The public API is small, explicit and importable (after httpx's habit)."""

from __future__ import annotations

import doctest

import survsim
import survsim.api
import survsim.engine.rng
import survsim.engine.state
import survsim.models.civil_violence
import survsim.models.self_censorship
import survsim.models.surveillance_state

EXPECTED = {
    "Calibration",
    "CivilViolence",
    "CivilViolenceParams",
    "ExperimentResult",
    "Scenario",
    "ScenarioError",
    "SelfCensorship",
    "SelfCensorshipParams",
    "SurveillanceState",
    "SensitivityResult",
    "SurveillanceStateParams",
    "SurvsimError",
    "__version__",
    "build_sim",
    "builtin_scenarios",
    "calibrate",
    "check_memory",
    "ensemble",
    "load_experiment",
    "load_run",
    "load_scenario",
    "manifest",
    "paired_effects",
    "run_scenario",
    "save_run",
    "sensitivity",
    "summary",
    "sweep",
}


def test_public_api_is_exactly_what_is_documented():
    assert set(survsim.__all__) == EXPECTED
    for name in survsim.__all__:
        assert getattr(survsim, name) is not None


def test_docstring_examples_run():
    for module in (survsim, survsim.api, survsim.engine.rng, survsim.engine.state,
                   survsim.models.civil_violence, survsim.models.surveillance_state,
                   survsim.models.self_censorship):  # fmt: skip
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = survsim.load_scenario("epstein_run2", ["legitimacy=0.75"], steps=30, seed=3)
    sim = survsim.build_sim(scenario)
    seen = []
    sim.add_hook(lambda s: seen.append(s.t))
    sim.run(progress=lambda s: None)
    assert seen == list(range(1, 31))
    assert sim.timeseries().num_rows == 31
    assert "order" in sim.describe_plan()
    out = survsim.save_run(sim, scenario, "runs/mine")
    assert (out / "timeseries.parquet").exists()
