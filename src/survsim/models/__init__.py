"""Complete models built on the engine.

Each model's simulation class says what it is: its name as scenario files spell it
(``model_name``), its parameter class (``params_class``) and its memory estimate
(``estimate_bytes``). The tables here are built from those.
"""

from collections.abc import Callable
from typing import Any

from survsim.engine import Sim
from survsim.models.civil_violence import CivilViolence, CivilViolenceParams
from survsim.models.self_censorship import SelfCensorship, SelfCensorshipParams
from survsim.models.surveillance_params import SurveillanceStateParams
from survsim.models.surveillance_state import SurveillanceState

#: The simulation classes of the models, in the order their names are listed.
_SIMS: tuple[type[Sim], ...] = (CivilViolence, SurveillanceState, SelfCensorship)

#: Model name (as scenario files spell it) -> (simulation class, parameter class).
MODELS: dict[str, tuple[type[Sim], type]] = {
    sim.model_name: (sim, sim.params_class) for sim in _SIMS
}

#: Model name -> function(params, steps) estimating a run's peak bytes.
MEMORY_ESTIMATES: dict[str, Callable[[Any, int], int]] = {
    sim.model_name: sim.estimate_bytes for sim in _SIMS
}

__all__ = [
    "MEMORY_ESTIMATES",
    "MODELS",
    "CivilViolence",
    "CivilViolenceParams",
    "SelfCensorship",
    "SelfCensorshipParams",
    "SurveillanceState",
    "SurveillanceStateParams",
]
