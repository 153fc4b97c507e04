"""The surveillance-state model (docs/odd.md): the society and the apparatus, by day.

People live in households, neighbourhood units and work units, talk in seven contexts,
speak or keep silent by the speech rule, and report what they hear
(:mod:`survsim.society`). Reports, recordings, camera flags and computer findings become
cases that four agencies close at their capacity; convictions detain and imprison, often
for life, sometimes with the whole family; prisoners die; arrests teach the people nearby
to fear (:mod:`survsim.apparatus`). The daily series, the open-speech table and the
national estimates are in :mod:`survsim.models.surveillance_results`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from survsim.apparatus import cases as ca
from survsim.apparatus.agencies import AGENCIES, queue_arrays
from survsim.apparatus.border import border_coverage
from survsim.apparatus.channels import NO_CHANNEL, recording_table
from survsim.apparatus.punishment import COUNTS, adults_drawn, initial_terms
from survsim.engine import Attribute, Plan, Sim, State
from survsim.engine.parallel import CHUNKS
from survsim.models import surveillance_results as results
from survsim.models.surveillance_day import DaySteps
from survsim.models.surveillance_params import SurveillanceStateParams
from survsim.society import beliefs as b
from survsim.society import conversations as conv
from survsim.society.demography import Newborn
from survsim.society.population import BORDER, build_population
from survsim.society.speech import CONTEXTS
from survsim.society.statements import fold, new_tally

__all__ = ["SurveillanceState", "SurveillanceStateParams"]

CASE_ATTRIBUTES = [
    Attribute("case_day", np.int32, -1, "people", "day the open case was opened, -1 none"),
    Attribute("case_evidence", np.float32, 0, "people", "evidence of the open case"),
    Attribute("case_bits", np.uint8, 0, "people", "kinds of evidence held (cases.py)"),
    Attribute("case_agency", np.uint8, 0, "people", "agency of the case"),
    Attribute("next_in_queue", np.int32, -1, "people", "next case in the agency's queue"),
    Attribute("release_day", np.int32, 0, "people", "end of detention or term; day of death"),
    Attribute("admitted_day", np.int32, -1, "people", "day of admission to prison"),
]


class SurveillanceState(DaySteps, Sim):
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
        bytes per agent leaves a margin.
        """
        return 300_000_000 + params.agents * 140 + steps * 60 * 8
    #: Each context's kernel and arguments: bound again by :meth:`restored`.
    checkpoint_skip = frozenset({"_jobs"})

    @property
    def agents(self) -> int:
        """Number of simulated people."""
        return self.params.agents

    # -- build -------------------------------------------------------------------------

    def build(self) -> None:
        """Build the population, the case arrays, the initial prisoners and buffers."""
        p: SurveillanceStateParams = self.params
        self.pop = build_population(p.population, p.agents, self.streams)
        s = self.pop.people
        self.case = State.allocate(CASE_ATTRIBUTES, people=p.agents)
        self.people = conv.People(
            s.role,
            s.status,
            s.informant,
            s.zeal,
            s.grievance,
            s.grievance0,
            s.risk_aversion,
            s.pi_hat,
            s.suspicion,
            s.belief_day,
            s.ever_spoke,
            s.busy_day,
            s.busy,
            s.phone,
        )
        n_contexts = len(CONTEXTS)
        # The kernels count into a chunked tally; record() folds it into the run's tally.
        self.tally = new_tally(n_contexts, len(ca.EVIDENCE))
        self._chunk_tally = new_tally(n_contexts, len(ca.EVIDENCE), CHUNKS)
        widest = max(
            int(np.diff(self.pop.work_start).max(initial=0)),
            int(np.diff(self.pop.nunit_person_start).max(initial=0)),
            16,
        )
        self._order = np.empty((CHUNKS, widest), dtype=np.int32)
        self._scratch = np.empty((CHUNKS, 2 * widest + 64), dtype=np.int32)
        self._starters = np.empty(0, dtype=np.int32)
        self._seed = np.uint64(self.seed)
        ids = self.streams.id
        self._ids = {
            name: np.array(
                [ids(f"{name}/{x}") for x in ("a", "b", "speak", "listen")], dtype=np.uint64
            )
            for name in CONTEXTS
        }
        self._stream = {
            name: np.uint64(ids(name))
            for name in (
                "media",
                "fabricate",
                "verdict",
                "term",
                "prison_death",
                "recruit",
                "computer_checks",
                "amnesty",
                "queue",
            )
        }
        self._demography_streams = np.array(
            [ids("natural_death"), ids("natural_death/pick"), ids("birth")], dtype=np.uint64
        )
        self.counts = np.zeros(len(COUNTS), dtype=np.int64)  # today's counts
        self.closed = np.zeros(len(AGENCIES), dtype=np.int64)  # today's closures by agency
        self.budget = np.zeros(len(AGENCIES))  # capacity left (fractional carry)
        self._recruit_carry = np.zeros(1)
        self._arrested = np.empty(1024, dtype=np.int32)
        self._recorded = np.empty(1024, dtype=np.bool_)
        queue, next_in_queue = queue_arrays(p.agents)
        self.case.next_in_queue[:] = next_in_queue
        self.queue = queue
        # With the apparatus off nobody can be charged: cases read an all-"not free" status.
        status_for_cases = s.status if p.apparatus else np.ones(p.agents, dtype=np.uint8)
        self.cases = ca.Cases(
            status_for_cases,
            s.role,
            self.case.case_day,
            self.case.case_evidence,
            self.case.case_bits,
            self.case.case_agency,
            self.case.next_in_queue,
            self.queue,
            np.zeros(5, dtype=np.int64),
            np.zeros(len(ca.EVIDENCE), np.int64),
            np.zeros(len(ca.EVIDENCE)),
            p.cases.corroboration,
            np.zeros((CHUNKS, len(ca.EVIDENCE) + 1), dtype=np.int64),
        )
        self.watch = conv.Watch(
            s.region,
            np.full(n_contexts, NO_CHANNEL, dtype=np.int64),
            np.zeros((n_contexts, 3)),
            np.zeros(1),
            np.zeros(1),
            p.channels.k_cctv,
            p.cases.failure_to_report,
            np.uint64(ids("record")),
            np.uint64(ids("failure_to_report")),
            np.zeros((CHUNKS, widest + 64), dtype=np.int8),
            ca.CODE["border"],
            ca.CODE["cctv"],
            ca.CODE["failure_to_report"],
        )
        region_of_household = s.region[self.pop.household_start[:-1]]
        self._border_households = int((region_of_household == BORDER).sum())
        self._computer_households = np.flatnonzero(
            s.computer[self.pop.household_start[:-1]]
        ).astype(np.int64)
        self.newborn = Newborn(
            s.role,
            s.status,
            self.case.release_day,
            s.adult_day,
            s.work_unit,
            self.pop.unit_role,
            s.grievance,
            s.grievance0,
            s.risk_aversion,
            s.pi_hat,
            s.suspicion,
            s.belief_day,
            s.banned_media,
            s.informant,
            s.zeal,
            s.ever_spoke,
            s.phone,
            s.internet,
            self.case.case_day,
            self.case.case_evidence,
            self.case.case_bits,
        )
        self._media_days: set[int] = set()
        self.dead_total = 0
        self._n_arrests = 0
        self._previous = {"speakers": 0, "statements": 0, "silent": 0}
        if p.apparatus:
            self._initial_prisoners()
        self._derive()

    def _initial_prisoners(self) -> None:
        """Day 0's prison stock: adults drawn uniformly, remaining terms from the term law.

        A prisoner of the stock is part way through its term: the remaining term is a
        uniform fraction of a drawn term (life terms stay life).
        """
        p, s = self.params, self.pop.people
        n_adults = p.agents - int(np.count_nonzero(s.role == 0))
        wanted = p.punishment.initial_prisoners * p.scale
        if n_adults == 0 or wanted <= 0:
            return
        chance = min(1.0, wanted / n_adults)
        picked = adults_drawn(self._seed, np.uint64(self.streams.id("initial_prisoners")),
                              s.role, chance)  # fmt: skip
        pu = p.punishment
        initial_terms(self._seed, np.uint64(self.streams.id("initial_term")), picked,
                      pu.term_median_years * 365.25, pu.term_sigma, pu.life_share,
                      s.status, self.case.release_day)  # fmt: skip

    def _derive(self) -> None:
        """Values that follow from the parameters (again after a policy event)."""
        p = self.params
        self.cases.weights[:] = ca.evidence_weights(p.cases)
        by_role, by_kind = p.agencies.routing(len(ca.WITNESS_KINDS), len(ca.EVIDENCE))
        self.cases.routing_role[:] = by_role
        self.cases.routing_kind[:] = by_kind
        self.cases = self.cases._replace(corroboration=p.cases.corroboration)
        self.capacity = p.agencies.capacity(p.scale)
        if p.apparatus:
            channel, chance = recording_table(p.channels, ca.CODE)
            self.watch.channel[:] = channel
            self.watch.chance[:] = chance
            self.watch.border[0] = border_coverage(p.border, p.scale, self._border_households)
        self.watch = self.watch._replace(
            k_cctv=p.channels.k_cctv,
            ftr=p.cases.failure_to_report if p.apparatus else 0.0,
        )
        self._update_cameras()
        sp, li, be = p.speech, p.listening, p.beliefs
        self.rules = conv.Rules(
            sp.threshold,
            sp.tau,
            sp.delta,
            sp.anticipate_defensive,
            sp.closeness.array(),
            sp.believed_bugging.array(),
            li.q0,
            li.defensive,
            li.head_zeal,
            p.population.pi_hat0,
            be.belief_decay,
            be.grievance_decay,
        )
        # Starters of a day on the topic: about rate * topic * N; room for 8 standard
        # deviations more.
        c = p.conversations
        most = p.agents * max(
            c.friend_meeting_rate * c.topic.friends,
            c.call_rate * c.topic.phone,
            c.letter_rate * c.topic.letters,
        )
        if self._starters.size < most + 8 * most**0.5 + 64:
            self._starters = np.empty(int(most + 8 * most**0.5) + 64, dtype=np.int32)
        self._jobs = self._bind_contexts()

    def restored(self) -> None:
        """After a checkpoint's parameters are back: derive what follows from them."""
        self._derive()

    def _update_cameras(self) -> None:
        p = self.params
        self.cameras = p.channels.cameras + p.policy.camera_purchase.bought(self.t)
        if p.apparatus:
            self.watch.cctv[0] = p.channels.camera_coverage(self.cameras)

    def start_audit(self) -> np.ndarray:
        """Count every person's conversations per context from now on (for tests).

        Returns:
            The (contexts, people) counts, updated in place as conversations happen.
        """
        audit = np.zeros((len(CONTEXTS), self.params.agents), dtype=np.int32)
        self.tally = self.tally._replace(audit=audit)
        self._chunk_tally = self._chunk_tally._replace(audit=audit)
        self._jobs = self._bind_contexts()
        return audit

    def result_columns(self) -> dict[str, type]:
        """The daily time series (``day`` 0 is the initial state)."""
        return dict(results.DAILY)

    def _bind_contexts(self) -> dict[str, tuple]:
        """Each context's kernel and its arguments after the day, gathered once."""
        c, pop = self.params.conversations, self.pop
        seed, ids, scratch = self._seed, self._ids, self._scratch
        shared = (self.people, self.rules, self._chunk_tally, self.watch, self.cases)
        topic = {name: float(getattr(c.topic, name)) for name in CONTEXTS}
        friends = (pop.friend_start, pop.friends, scratch, self._starters, *shared)
        none = np.empty(0, dtype=pop.work_members.dtype)  # "no members" where a context has none
        work_lam = topic["work"] * conv.groups_per_person(c.work_group_extra, 8)
        public_lam = (
            topic["public"] * c.public_rate * conv.groups_per_person(c.public_group_extra, 12)
        )
        pairs = {
            name: (CONTEXTS.index(name), seed, ids[name], rate * topic[name], name == "phone")
            for name, rate in (("phone", c.call_rate), ("letters", c.letter_rate))
        }
        return {
            "household": (
                conv.contexts_day,
                (np.int64(CONTEXTS.index("household")), seed, ids["household"],
                 topic["household"], c.military_home, 0.0, 0, pop.household_start, none,
                 self._order, scratch, *shared),
            ),
            "work": (
                conv.contexts_day,
                (np.int64(CONTEXTS.index("work")), seed, ids["work"], work_lam,
                 c.work_group_extra, 0.0, 0, pop.work_start, pop.work_members, self._order,
                 scratch, *shared),
            ),
            "neighbourhood": (
                conv.contexts_day,
                (np.int64(CONTEXTS.index("neighbourhood")), seed, ids["neighbourhood"],
                 topic["neighbourhood"], c.nunit_meeting_rate, c.nunit_attendance, 0,
                 pop.nunit_person_start, pop.nunit_head, self._order, scratch, *shared),
            ),
            "friends": (
                conv.friends_day,
                (seed, ids["friends"], c.friend_meeting_rate * topic["friends"], *friends),
            ),
            "phone": (conv.pairs_day, (*pairs["phone"], *friends)),
            "letters": (conv.pairs_day, (*pairs["letters"], *friends)),
            "public": (
                conv.contexts_day,
                (np.int64(CONTEXTS.index("public")), seed, ids["public"], public_lam,
                 c.public_group_extra, 0.0, c.district_nunits, pop.nunit_person_start, none,
                 self._order, scratch, *shared),
            ),
        }  # fmt: skip

    def make_plan(self) -> Plan:
        """One day, in the order of docs/odd.md 1.3."""

        def context_step(name: str):
            return lambda: self._jobs[name][0](self.t, *self._jobs[name][1])

        docs = {
            "household": "household conversations among the free adults at home",
            "work": "work-unit conversations in small groups, six days in seven",
            "neighbourhood": "neighbourhood-unit meetings",
            "friends": "friends meet in small groups",
            "phone": "phone calls between friends (wiretaps)",
            "letters": "letters between friends (the post)",
            "public": "strangers in public places (microphones, cameras)",
        }
        steps = [
            ("policy", self._policy, "the timeline's events due today; cameras bought"),
            ("media", self._media, "free adults start or stop using banned media"),
            *[(name, context_step(name), docs[name]) for name in CONTEXTS],
            ("fabrication", self._fabrication, "informants fabricate reports"),
        ]
        if self.params.apparatus:
            steps += [
                ("computer_checks", self._computer_checks, "random checks of computers"),
                ("queue", self._queue, "today's new cases join their queues, in random order"),
                ("agencies", self._agencies, "agencies close cases oldest first; verdicts"),
                ("prison", self._prison, "deaths, releases and transfers to prison"),
                ("learning", self._learning, "people near an arrest learn to fear"),
                ("recruitment", self._recruitment, "the SSD recruits informants"),
                ("demography", self._demography, "natural deaths, births, coming of age"),
            ]
        steps.append(("record", self.record, "the day's census and counts"))
        return Plan.of(steps)

    #: Plan steps whose kernels compile together (:meth:`compile_groups`); the build's
    #: kernels compile first, in the group ``build``.
    COMPILE_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "talk": ("household", "work", "neighbourhood", "public"),
        "ties": ("friends", "phone", "letters", "fabrication", "media", "policy"),
        "apparatus": (
            "computer_checks", "queue", "agencies", "prison", "learning", "recruitment",
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
        if group is None and b.observe_arrests.signatures and b.foreign_media_event.signatures:
            return
        if group is not None and group != "build" and group not in cls.COMPILE_GROUPS:
            raise ValueError(f"unknown compile group {group!r}: {cls.compile_groups()}")
        tiny = SurveillanceState(SurveillanceStateParams(agents=300), seed=0, steps=2,
                                 compile=False)  # fmt: skip
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
                    tiny._report_someone(day)
                for step in steps:
                    step.run()
        if group in (None, "apparatus"):
            tiny.observe_arrests(np.zeros(1, dtype=np.int64), np.zeros(1, np.bool_))

    def _report_someone(self, day: int) -> None:
        """An informant's report about the first free adult (compiles the queue's kernels)."""
        s = self.pop.people
        free_adults = np.flatnonzero((s.role != 0) & (s.status == 0))
        if free_adults.size:
            cases = self.cases._replace(counts=self.cases.counts[0])
            ca.add_evidence(cases, np.int32(free_adults[0]), np.int64(0), np.int64(day))

    # -- records -------------------------------------------------------------------------

    def record(self) -> None:
        """Write day ``t`` of the time series (docs/odd.md 6)."""
        fold(self._chunk_tally, self.tally)
        results.record_day(self)

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
