"""Complete models built on the engine."""

from survsim.models.civil_violence import CivilViolence, CivilViolenceParams, estimate_bytes

#: Model name (as scenario files spell it) -> (simulation class, parameter class).
MODELS = {"civil_violence": (CivilViolence, CivilViolenceParams)}

#: Model name -> function(params, steps) estimating a run's peak bytes.
MEMORY_ESTIMATES = {"civil_violence": estimate_bytes}

__all__ = ["MEMORY_ESTIMATES", "MODELS", "CivilViolence", "CivilViolenceParams"]
