"""survsim: fast agent-based simulation of mass-surveillance states and civil violence.

Every person in survsim is synthetic.

Example:
    >>> import survsim
    >>> scenario = survsim.load_scenario("epstein_run2", steps=5)
    >>> survsim.run_scenario(scenario).t
    5
"""

from importlib.metadata import PackageNotFoundError, version

from survsim.api import (
    build_sim,
    check_memory,
    load_run,
    manifest,
    run_scenario,
    save_run,
    summary,
)
from survsim.errors import ScenarioError, SurvsimError
from survsim.models import (
    CivilViolence,
    CivilViolenceParams,
    SelfCensorship,
    SelfCensorshipParams,
)
from survsim.models.surveillance_state import SurveillanceState, SurveillanceStateParams
from survsim.scenario import Scenario, builtin_scenarios, load_scenario

#: Names served from survsim.experiments on first use, with the module that holds each:
#: they import pandas, which a single run does not need (``survsim run`` starts about
#: 0.6 s sooner).
_EXPERIMENTS = {
    "ExperimentResult": "survsim.experiments",
    "ensemble": "survsim.experiments",
    "load_experiment": "survsim.experiments",
    "sweep": "survsim.experiments",
    "paired_effects": "survsim.experiments.stats",
    "SensitivityResult": "survsim.experiments.analysis",
    "sensitivity": "survsim.experiments.analysis",
    "Calibration": "survsim.experiments.calibrate",
    "calibrate": "survsim.experiments.calibrate",
}


def __getattr__(name: str) -> object:
    if name in _EXPERIMENTS:
        import importlib

        return getattr(importlib.import_module(_EXPERIMENTS[name]), name)
    raise AttributeError(f"module 'survsim' has no attribute {name!r}")


try:
    __version__ = version("survsim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "Calibration",
    "CivilViolence",
    "CivilViolenceParams",
    "ExperimentResult",
    "Scenario",
    "ScenarioError",
    "SelfCensorship",
    "SelfCensorshipParams",
    "SensitivityResult",
    "SurveillanceState",
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
]
