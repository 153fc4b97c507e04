"""Complete models built on the engine."""

from survsim.models.civil_violence import CivilViolence, CivilViolenceParams

#: Model name (as scenario files spell it) -> (simulation class, parameter class).
MODELS = {"civil_violence": (CivilViolence, CivilViolenceParams)}

__all__ = ["MODELS", "CivilViolence", "CivilViolenceParams"]
