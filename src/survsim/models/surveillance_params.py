"""Parameters of the surveillance-state model, grouped as docs/odd.md groups them.

Every default is documented with its source or marked as an assumption in docs/odd.md
(sections 3-4) and in the field descriptions. National figures (personnel, cameras,
prisoners) are scaled to the simulated population by ``agents / national_population``.
"""

from __future__ import annotations

from pydantic import Field, ValidationError, create_model, model_validator

from survsim.apparatus.agencies import AgenciesParams
from survsim.apparatus.border import BorderParams
from survsim.apparatus.cases import CaseParams
from survsim.apparatus.channels import ChannelParams
from survsim.apparatus.informants import RecruitmentParams
from survsim.apparatus.policy import PolicyParams, apply_event
from survsim.apparatus.punishment import PunishmentParams
from survsim.engine.params import StrictModel
from survsim.society.beliefs import BeliefParams
from survsim.society.conversations import ConversationParams
from survsim.society.demography import DemographyParams
from survsim.society.exit import ExitParams
from survsim.society.listening import ListeningParams
from survsim.society.population import PopulationParams
from survsim.society.speech import SpeechParams

__all__ = ["SurveillanceStateParams", "apply_event", "with_groups"]


class SurveillanceStateParams(StrictModel):
    """All parameters of the model."""

    agents: int = Field(100_000, ge=100, le=30_000_000, description="simulated people")
    national_population: int = Field(
        25_700_000, ge=1, le=2_000_000_000, description="UN WPP, 2020s"
    )
    apparatus: bool = Field(True, description="reports become cases (off: the society alone)")
    population: PopulationParams = PopulationParams()
    conversations: ConversationParams = ConversationParams()
    speech: SpeechParams = SpeechParams()
    listening: ListeningParams = ListeningParams()
    beliefs: BeliefParams = BeliefParams()
    demography: DemographyParams = DemographyParams()
    channels: ChannelParams = ChannelParams()
    cases: CaseParams = CaseParams()
    agencies: AgenciesParams = AgenciesParams()
    punishment: PunishmentParams = PunishmentParams()
    recruitment: RecruitmentParams = RecruitmentParams()
    border: BorderParams = BorderParams()
    exit: ExitParams = ExitParams()
    policy: PolicyParams = PolicyParams()

    @property
    def scale(self) -> float:
        """Simulated people per national person (national figures times this)."""
        return self.agents / self.national_population

    @model_validator(mode="after")
    def _events_apply(self) -> SurveillanceStateParams:
        current = self
        for n, event in enumerate(self.policy.events):
            try:
                current = apply_event(current, event)
            except (ValidationError, ValueError) as err:
                raise ValueError(f"policy.events[{n}] (day {event.day}): {_reason(err)}") from None
        return self


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        return f"{loc}: {first['msg']} (got {first.get('input')!r})"
    return str(err)


def with_groups(
    params_class: type[SurveillanceStateParams], groups: dict[str, type]
) -> type[SurveillanceStateParams]:
    """``params_class`` with the parameter ``groups`` it lacks (each with its defaults).

    Raises:
        ValueError: a group exists with another class.
    """
    missing = {}
    for name, cls in groups.items():
        field = params_class.model_fields.get(name)
        if field is None:
            missing[name] = (cls, cls())
        elif field.annotation is not cls:
            raise ValueError(f"parameter group {name!r} is a {field.annotation}, not a {cls}")
    if not missing:
        return params_class
    return create_model(  # type: ignore[call-overload]
        f"{params_class.__name__}Extended", __base__=params_class, **missing
    )
