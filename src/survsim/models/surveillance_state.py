"""The surveillance-state model (docs/odd.md): an ordered list of mechanisms.

People live in households, neighbourhood units and work units, talk in seven contexts,
speak or keep silent by the speech rule, and report what they hear
(:mod:`survsim.society`). Reports, recordings, camera flags and computer findings are
evidence events that feed one scored file per person; four agencies check and
investigate the highest files at their capacities; sanctions graded by the evidence
detain or imprison, often for life, sometimes with the whole family;
prisoners die; arrests teach the people nearby to fear (:mod:`survsim.apparatus`). Each
mechanism is one file; :data:`MECHANISMS` lists them in the order of the day
(docs/extending.md tells how to add one). The daily census, the open-speech table and
the national estimates are in :mod:`survsim.models.surveillance_results`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from survsim.apparatus.agencies import Agencies
from survsim.apparatus.border import BorderTeams
from survsim.apparatus.cameras import Cameras
from survsim.apparatus.cases import CasesMechanism
from survsim.apparatus.computer_checks import ComputerChecks
from survsim.apparatus.informants import Informants
from survsim.apparatus.microphones import Microphones
from survsim.apparatus.policy import CameraPurchase, PolicyParams, PolicyTimeline
from survsim.apparatus.post import Post
from survsim.apparatus.punishment import Punishment
from survsim.apparatus.wiretaps import Wiretaps
from survsim.engine import spinup
from survsim.engine.mechanism import Mechanism
from survsim.engine.modular import ModularSim
from survsim.engine.sim import Reporter
from survsim.models import surveillance_results as results
from survsim.models.surveillance_params import SurveillanceStateParams, with_groups
from survsim.society.beliefs import Beliefs
from survsim.society.demography import Demography
from survsim.society.exit import Exit
from survsim.society.friends import Friends
from survsim.society.households import Households
from survsim.society.letters import Letters
from survsim.society.listening import Listeners
from survsim.society.names import CHILD, CONTEXTS, FREE
from survsim.society.neighbourhood import NeighbourhoodUnits
from survsim.society.phone import Phone
from survsim.society.population import BASE_ATTRIBUTES, DRAWN, build_population
from survsim.society.public_places import PublicPlaces
from survsim.society.speech import Speech
from survsim.society.work import Work

__all__ = ["MECHANISMS", "SurveillanceState", "SurveillanceStateParams"]

#: The model's mechanisms. Their steps run by phase (:attr:`SurveillanceState.phases`),
#: and within a phase in this order; the contexts talk in the order of docs/odd.md 1.3.
MECHANISMS: tuple[type[Mechanism], ...] = (
    PolicyTimeline,
    # the people
    Speech,
    Beliefs,
    Households,
    Work,
    NeighbourhoodUnits,
    Friends,
    Phone,
    Letters,
    PublicPlaces,
    Listeners,
    Demography,
    # the apparatus (the watchers in the order their evidence is written)
    Microphones,
    Wiretaps,
    Post,
    BorderTeams,
    Exit,
    Cameras,
    ComputerChecks,
    CasesMechanism,
    Agencies,
    Punishment,
    Informants,
)


class SurveillanceState(ModularSim):
    """A run of the surveillance-state model.

    Example:
        >>> p = SurveillanceStateParams(agents=2000)
        >>> sim = SurveillanceState(p, seed=1, steps=3).run()
        >>> int(sim.timeseries().column("population")[0].as_py())
        2000
    """

    model_name = "surveillance_state"
    step_name = "day"
    params_class = SurveillanceStateParams
    mechanisms = MECHANISMS
    #: One day (docs/odd.md 1.3): the timeline's events and the morning's media, the
    #: talk, the checks, the day's cases, verdicts, prison, what people learn from the
    #: arrests, recruitment, births and deaths; the census is recorded last.
    phases = (
        "morning",
        "talk",
        "checks",
        "cases",
        "verdicts",
        "prison",
        "learning",
        "recruitment",
        "demography",
    )
    base_arrays = BASE_ATTRIBUTES
    model_columns = results.CENSUS
    column_order = tuple(results.DAILY)
    headline = (
        "national.prisoners_steady_state",
        "open_speech_k3_work_public",
        "convictions_false",
        "spoke_openly_per_day",
        "falsification_gap",
    )
    band_panels = (
        ("imprisoned", "people in prison"),
        ("spoke_openly", "people who spoke openly that day"),
        ("falsification_gap", "dissenters who never spoke openly (share)"),
        ("mean_perceived_risk", "mean perceived risk of speaking"),
    )

    @classmethod
    def estimate_bytes(cls, params: SurveillanceStateParams, steps: int) -> int:
        """Peak bytes of a run: people arrays, build temporaries, series.

        Measured (benchmarks/scaling.py): a slope of 112 bytes per agent over 1-10 million
        people, on a fixed cost of about 250 MB (Python, numpy, numba, the kernels); 140
        bytes per agent leaves a margin. A spin-up runs before the run's arrays exist; the
        arrays it hands on (34 bytes per agent) are held while the run is built.
        """
        carried = 34 if params.beliefs.spinup_days else 0
        return 300_000_000 + params.agents * (140 + carried) + steps * 60 * 8

    @classmethod
    def with_mechanisms(
        cls, *added: type[Mechanism], before: str | None = None, name: str = ""
    ) -> type[SurveillanceState]:
        """A model with ``added`` mechanisms (before the one named ``before``, or last).

        Parameter groups the new mechanisms declare and the model lacks are added to the
        parameter class (with their defaults), so scenario files and ``--set`` reach them.

        Raises:
            KeyError: no mechanism is named ``before``.
        """
        names = [m.name for m in cls.mechanisms]
        at = len(names) if before is None else names.index(before) if before in names else -1
        if at < 0:
            raise KeyError(f"no mechanism {before!r} (the model has: {', '.join(names)})")
        mechanisms = (*cls.mechanisms[:at], *added, *cls.mechanisms[at:])
        groups = {m.group: m.params_class for m in added if m.group and m.params_class}
        params_class = with_groups(cls.params_class, groups)
        label = name or f"{cls.__name__}With{''.join(m.__name__ for m in added)}"
        return type(label, (cls,), {"mechanisms": mechanisms, "params_class": params_class})

    def __init__(
        self,
        params,
        *,
        seed: int = 0,
        steps: int = 100,
        compile: bool = True,
        reporters: Mapping[str, Reporter] | None = None,
    ):
        if not isinstance(params, self.params_class):
            params = self.params_class.model_validate(params.model_dump())
        self.seed64 = np.uint64(int(seed))
        super().__init__(params, seed=seed, steps=steps, compile=compile, reporters=reporters)

    @property
    def agents(self) -> int:
        """Number of simulated people."""
        return self.params.agents

    # -- build -------------------------------------------------------------------------

    def build(self) -> None:
        """The mechanisms and the population, then day 0's stationary beliefs (MODEL.md 8.4).

        With ``beliefs.spinup_days`` > 0 the learned counts, grievance and banned media
        are those of a spin-up of that many days (:mod:`survsim.engine.spinup`): computed
        once per parameter set and seed, then read from the cache. :attr:`spinup` says
        which.
        """
        days = self.params.beliefs.spinup_days
        self.spinup = {"days": 0, "cached": False, "seconds": 0.0, "key": ""}
        if days:  # first, so that the spin-up and this run are never in memory together
            arrays, self.spinup = spinup.stationary_start(
                type(self), self.spinup_params(), self.seed, self.params.agents, days
            )
        super().build()
        if days:
            spinup.settle(self, arrays)

    def spinup_params(self) -> SurveillanceStateParams:
        """A spin-up's parameters: day 0's, with no dated policy and no spin-up of its own."""
        p = self.params
        return p.model_copy(
            update={
                "beliefs": p.beliefs.model_copy(update={"spinup_days": 0}),
                "policy": PolicyParams(camera_purchase=CameraPurchase(cameras=0)),
            }
        )

    def build_people(self) -> None:
        """Draw the population into the arrays it fills, then allocate the others."""
        p: SurveillanceStateParams = self.params
        drawn = {a.name for a in BASE_ATTRIBUTES} | set(DRAWN)
        people = self.allocate_people(p.agents, only=drawn)
        self.pop = build_population(p.population, p.agents, self.streams, people)
        self.allocate_rest(people)
        self.population = 0  # kept from the flows (surveillance_results.record_census)

    # -- what tests and users reach --------------------------------------------------------

    @property
    def tally(self):
        """What was said, by context and group size, since day 0 (the speech tally)."""
        return self.talk.tally

    @property
    def cases(self):
        """The files and their heaps (the cases mechanism's named tuple)."""
        return self.mechanism("cases").C

    @property
    def capacity(self) -> np.ndarray:
        """(stage, agency): the checks and investigations each agency can make a day."""
        return self.mechanism("agencies").capacity

    @property
    def cameras(self) -> float:
        """Cameras installed by today."""
        return self.mechanism("cameras").cameras

    def start_audit(self) -> np.ndarray:
        """Count every person's conversations per context from now on (for tests).

        Returns:
            The (contexts, people) counts, updated in place as conversations happen.
        """
        audit = np.zeros((len(CONTEXTS), self.params.agents), dtype=np.int32)
        self.talk.tally = self.talk.tally._replace(audit=audit)
        self.talk.chunk_tally = self.talk.chunk_tally._replace(audit=audit)
        return audit

    def observe_arrests(self, arrested, recorded=None, imprisoned=None, said_in=None,
                        severity=None) -> None:  # fmt: skip
        """People near each sanctioned person learn (:meth:`Beliefs.observe_arrests`)."""
        self.mechanism("beliefs").observe_arrests(arrested, recorded, imprisoned, said_in,
                                                  severity)  # fmt: skip

    def schedule_foreign_media(self, day: int) -> None:
        """A foreign-media event on ``day``: users' grievance rises, more people start."""
        self.mechanism("beliefs").schedule_foreign_media(day)

    # -- compiling ---------------------------------------------------------------------

    #: Plan steps whose kernels compile together (:meth:`compile_groups`); the build's
    #: kernels compile first, in the group ``build``.
    COMPILE_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "talk": ("household", "work", "neighbourhood", "public"),
        "ties": ("friends", "phone", "letters", "fabrication", "media", "policy"),
        "apparatus": (
            "exit", "computer_checks", "queue", "agencies", "prison", "learning", "recruitment",
            "demography", "record",
        ),
    }  # fmt: skip

    @classmethod
    def compile_groups(cls) -> tuple[str, ...]:
        """``build`` (the population's kernels, first), then groups of the day's steps."""
        return ("build", *cls.COMPILE_GROUPS)

    @classmethod
    def compile_kernels(cls, group: str | None = None) -> None:
        """Compile (or load from numba's cache) the kernels of ``group``, or all of them.

        Each group builds a tiny run (300 people), which compiles the build's kernels, and
        runs two days of the plan steps of :data:`COMPILE_GROUPS` it names; the arguments'
        types are those of any run, so a real run then loads every kernel from the cache.
        """
        from survsim.society import beliefs as b

        if group is None and b.observe_arrests.signatures and b.foreign_media_event.signatures:
            return
        if group is not None and group != "build" and group not in cls.COMPILE_GROUPS:
            raise ValueError(f"unknown compile group {group!r}: {cls.compile_groups()}")
        p = SurveillanceStateParams.model_validate({"agents": 300, "beliefs": {"spinup_days": 0}})
        tiny = SurveillanceState(p, seed=0, steps=2, compile=False)
        tiny.mechanism("beliefs").stationary()  # what a spin-up hands on
        if group == "build":
            return
        tiny.schedule_foreign_media(1)  # kernels that only run on some days
        if group is None:
            tiny.run()
        else:
            wanted = set(cls.COMPILE_GROUPS[group])
            steps = [step for step in tiny.plan.steps if step.name in wanted]
            for day in (1, 2):
                tiny.t = day
                if group == "apparatus":  # a case opened today (the talk is not run here)
                    tiny._report_someone()
                for step in steps:
                    step.run()
        if group in (None, "apparatus"):
            tiny.observe_arrests(np.zeros(1, dtype=np.int64), np.zeros(1, np.bool_))

    def _report_someone(self) -> None:
        """An informant's report about the first free adult (compiles the cases' kernels)."""
        s = self.pop.people
        free_adults = np.flatnonzero((s.role != CHILD) & (s.status == FREE))
        if free_adults.size:
            self.mechanism("cases").evidence(int(free_adults[0]), "informant")

    # -- records -------------------------------------------------------------------------

    def record_model(self, t: int, columns: dict) -> None:
        """The census of day ``t`` (docs/odd.md 6): counted from the status of everyone."""
        results.record_census(self, t, columns)

    def open_speech(self):
        """Open speech by context and group size, counted per person present.

        Returns:
            A pyarrow Table: ``context, group_size, present, spoke, open_speech_rate,
            expected_spoke, variance`` (``group_size`` 16 means 16 or more).
        """
        return results.open_speech(self.tally)

    def summary(self) -> dict:
        """Headline numbers of the run and the national-scale estimates (plain data)."""
        return results.summary(self)
