"""Complete models built on the engine."""

from survsim.models.civil_violence import CivilViolence, CivilViolenceParams, estimate_bytes
from survsim.models.surveillance_params import SurveillanceStateParams
from survsim.models.surveillance_state import SurveillanceState


def _surveillance_bytes(params: SurveillanceStateParams, steps: int) -> int:
    """Peak bytes of a surveillance-state run: people arrays, build temporaries, series.

    Measured (benchmarks/scaling.py): a slope of 112 bytes per agent over 1-10 million
    people, on a fixed cost of about 250 MB (Python, numpy, numba, the kernels); 140
    bytes per agent leaves a margin.
    """
    return 300_000_000 + params.agents * 140 + steps * 60 * 8


#: Model name (as scenario files spell it) -> (simulation class, parameter class).
MODELS = {
    "civil_violence": (CivilViolence, CivilViolenceParams),
    "surveillance_state": (SurveillanceState, SurveillanceStateParams),
}

#: Model name -> function(params, steps) estimating a run's peak bytes.
MEMORY_ESTIMATES = {"civil_violence": estimate_bytes, "surveillance_state": _surveillance_bytes}

__all__ = [
    "MEMORY_ESTIMATES",
    "MODELS",
    "CivilViolence",
    "CivilViolenceParams",
    "SurveillanceState",
    "SurveillanceStateParams",
]
