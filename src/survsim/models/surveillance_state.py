"""The surveillance-state model (docs/odd.md): the society half.

People live in households, neighbourhood units and work units, talk in seven contexts,
speak or keep silent by the speech rule, and report what they hear. The apparatus
(channels, cases, agencies, punishment) composes with this in the next stage; until then
arrests enter through :meth:`SurveillanceState.observe_arrests`.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from survsim.engine import Plan, Sim
from survsim.engine.params import StrictModel
from survsim.society import beliefs as b
from survsim.society import conversations as conv
from survsim.society.beliefs import BeliefParams
from survsim.society.conversations import ConversationParams
from survsim.society.listening import KINDS, ListeningParams
from survsim.society.population import PopulationParams, build_population
from survsim.society.speech import CONTEXTS, SpeechParams

__all__ = ["SurveillanceState", "SurveillanceStateParams"]


class SurveillanceStateParams(StrictModel):
    """All parameters of the model, grouped as docs/odd.md groups them."""

    agents: int = Field(100_000, ge=100, le=30_000_000, description="simulated people")
    national_population: int = Field(25_700_000, ge=1, description="UN WPP, 2020s")
    population: PopulationParams = PopulationParams()
    conversations: ConversationParams = ConversationParams()
    speech: SpeechParams = SpeechParams()
    listening: ListeningParams = ListeningParams()
    beliefs: BeliefParams = BeliefParams()


_DAILY = {
    "population": np.int64,
    "free": np.int64,
    "dissenters": np.int64,
    "spoke_openly": np.int64,
    "statements": np.int64,
    **{f"reports_{kind}": np.int64 for kind in KINDS},
    "silent_witnesses": np.int64,
    "falsification_gap": np.float64,
    "mean_perceived_risk": np.float64,
    "banned_media_users": np.int64,
    "informants": np.int64,
}


class SurveillanceState(Sim):
    """A run of the surveillance-state model (society half).

    Example:
        >>> p = SurveillanceStateParams(agents=2000)
        >>> sim = SurveillanceState(p, seed=1, steps=3).run()
        >>> int(sim.timeseries().column("population")[0].as_py())
        2000
    """

    model_name = "surveillance_state"

    def build(self) -> None:
        """Build the population and the buffers the daily kernels use."""
        p: SurveillanceStateParams = self.params
        self.pop = build_population(p.population, p.agents, self.streams)
        s = self.pop.people
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
        n_contexts, k_bins = len(CONTEXTS), conv.K_BINS
        counts = lambda: np.zeros((n_contexts, k_bins), dtype=np.int64)  # noqa: E731
        self.tally = conv.Tally(
            counts(),
            counts(),
            np.zeros((n_contexts, k_bins)),
            np.zeros((n_contexts, k_bins)),
            counts(),
            counts(),
            np.zeros(len(KINDS), dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.zeros(2),
            np.zeros((n_contexts, 0), dtype=np.int32),
        )
        widest = max(
            int(np.diff(self.pop.work_start).max(initial=0)),
            int(np.diff(self.pop.nunit_person_start).max(initial=0)),
            self._district_sizes().max(initial=0),
            16,
        )
        self._order = np.empty(widest, dtype=np.int32)
        self._attendees = np.empty(widest, dtype=np.int32)
        self._scratch = np.empty(2 * widest + 64, dtype=np.int32)
        self._seed = np.uint64(self.seed)
        ids = self.streams.id
        self._ids = {
            name: np.array(
                [ids(f"{name}/{x}") for x in ("a", "b", "speak", "listen")], dtype=np.uint64
            )
            for name in CONTEXTS
        }
        self._previous = {
            "reports": np.zeros(len(KINDS), dtype=np.int64),
            "silent": 0,
            "statements": 0,
        }
        self._speakers_before = 0
        self._media_days: set[int] = set()

    def start_audit(self) -> np.ndarray:
        """Count every person's conversations per context from now on (for tests).

        Returns:
            The (contexts, people) counts, updated in place as conversations happen.
        """
        audit = np.zeros((len(CONTEXTS), self.params.agents), dtype=np.int32)
        self.tally = self.tally._replace(audit=audit)
        self.plan = self.make_plan()  # the kernels' bound arguments hold the tally
        return audit

    def _district_sizes(self) -> np.ndarray:
        starts = self.pop.nunit_person_start
        d = self.params.conversations.district_nunits
        edges = np.append(starts[::d], starts[-1])
        return np.diff(edges).astype(np.int64)

    def result_columns(self) -> dict[str, type]:
        """The daily time series (``step`` is the day)."""
        return dict(_DAILY)

    def _bind_contexts(self) -> dict[str, tuple]:
        """Each context's kernel and its arguments after the day, gathered once."""
        c, pop = self.params.conversations, self.pop
        seed, ids, scratch = self._seed, self._ids, self._scratch
        shared = (self.people, self.rules, self.tally)
        topic = {name: float(getattr(c.topic, name)) for name in CONTEXTS}
        public_groups = np.array(
            [self.streams.id("public/groups"), self.streams.id("public/order"),
             ids["public"][2], ids["public"][3]], dtype=np.uint64,
        )  # fmt: skip
        friends = (pop.friend_start, pop.friends, scratch, *shared)
        return {
            "household": (conv.households_day, (seed, ids["household"], topic["household"],
                          c.military_home, pop.household_start, scratch, *shared)),
            "work": (conv.work_day, (seed, ids["work"], topic["work"], c.work_group_extra,
                     pop.work_start, pop.work_members, self._order, scratch, *shared)),
            "neighbourhood": (conv.neighbourhood_day, (seed, ids["neighbourhood"],
                              topic["neighbourhood"], c.nunit_meeting_rate,
                              c.nunit_attendance, pop.nunit_person_start, pop.nunit_head,
                              scratch, *shared)),
            "friends": (conv.friends_day, (seed, ids["friends"], topic["friends"],
                        c.friend_meeting_rate, *friends)),
            "phone": (conv.pairs_day, (CONTEXTS.index("phone"), seed, ids["phone"],
                      topic["phone"], c.call_rate, True, *friends)),
            "letters": (conv.pairs_day, (CONTEXTS.index("letters"), seed, ids["letters"],
                        topic["letters"], c.letter_rate, False, *friends)),
            "public": (conv.public_day, (seed, ids["public"], public_groups, topic["public"],
                       c.public_rate, c.public_group_extra, c.district_nunits,
                       pop.nunit_person_start, self._attendees, self._order, scratch,
                       *shared)),
        }  # fmt: skip

    def make_plan(self) -> Plan:
        """One day: banned media, the seven contexts, fabrication, the census."""
        jobs = self._bind_contexts()

        def context_step(name: str):
            kernel, args = jobs[name]
            return lambda: kernel(self.t, *args)

        docs = {
            "household": "household conversations among the free adults at home",
            "work": "work-unit conversations in small groups, six days in seven",
            "neighbourhood": "neighbourhood-unit meetings",
            "friends": "friends meet in small groups",
            "phone": "phone calls between friends",
            "letters": "letters between friends",
            "public": "strangers in public places",
        }
        return Plan.of(
            [
                ("media", self._media, "free adults start or stop using banned media"),
                *[(name, context_step(name), docs[name]) for name in CONTEXTS],
                ("fabrication", self._fabrication, "informants fabricate reports"),
                ("record", self.record, "the day's census and counts"),
            ]
        )

    def compile(self) -> None:
        """Compile (or load from numba's cache) every kernel with one tiny run."""
        if conv.converse.signatures and conv.public_day.signatures:
            return
        tiny = SurveillanceStateParams(agents=300)
        SurveillanceState(tiny, seed=0, steps=2, compile=False).run()

    # -- the day's steps -----------------------------------------------------------------

    def _media(self) -> None:
        s, be = self.pop.people, self.params.beliefs
        start = be.media_start
        if self.t in self._media_days:  # a foreign-media event today
            start *= be.media_event_boost
            b.foreign_media_event(
                self.t,
                s.status,
                s.banned_media,
                s.grievance,
                s.grievance0,
                s.belief_day,
                be.belief_decay,
                be.grievance_decay,
                s.pi_hat,
                self.params.population.pi_hat0,
                be.media_kick,
            )
        b.update_banned_media(
            self._seed,
            np.uint64(self.streams.id("media")),
            self.t,
            s.role,
            s.status,
            s.banned_media,
            s.grievance,
            s.grievance0,
            s.belief_day,
            be.grievance_decay,
            start,
            be.media_stop,
        )

    def schedule_foreign_media(self, day: int) -> None:
        """A foreign-media event on ``day``: users' grievance rises, more people start."""
        self._media_days.add(int(day))

    def _fabrication(self) -> None:
        pop = self.pop
        conv.fabricate(
            self.t,
            self._seed,
            np.uint64(self.streams.id("fabricate")),
            self.params.listening.fabrication_rate,
            pop.household_start,
            pop.people.household,
            pop.people.work_unit,
            pop.work_start,
            pop.work_members,
            pop.friend_start,
            pop.friends,
            self.people,
            self.tally,
        )

    # -- outside events ------------------------------------------------------------------

    def observe_arrests(self, arrested, recorded=None, imprisoned=None) -> None:
        """People near each arrested person learn; family and friends of prisoners grieve."""
        ids = np.asarray(arrested, dtype=np.int64)
        rec = np.zeros(ids.size, np.bool_) if recorded is None else np.asarray(recorded, bool)
        imp = np.ones(ids.size, np.bool_) if imprisoned is None else np.asarray(imprisoned, bool)
        p, pop, s = self.params, self.pop, self.pop.people
        if not p.beliefs.learning:
            return
        be = p.beliefs
        minds = b.Minds(s.status, s.role, s.pi_hat, s.suspicion, s.grievance, s.grievance0,
                        s.belief_day)  # fmt: skip
        lessons = b.Lessons(p.population.pi_hat0, be.belief_decay, be.grievance_decay, be.eta,
                            be.eta_m, be.suspicion_max)  # fmt: skip
        b.observe_arrests(ids, rec, imp, self.t, pop.household_start, s.household, s.nunit,
                          pop.nunit_person_start, s.work_unit, pop.work_start,
                          pop.work_members, pop.friend_start, pop.friends, minds, lessons,
                          be.grievance_kick)  # fmt: skip

    # -- records -------------------------------------------------------------------------

    def record(self) -> None:
        """Write day ``t``: census, speech and report counts (docs/odd.md 6)."""
        t, cols, s, tally = self.t, self.results.columns, self.pop.people, self.tally
        alive = s.status != 3
        free = s.status == 0
        threshold = self.params.speech.threshold
        since = t - s.belief_day
        g = s.grievance0 + (s.grievance - s.grievance0) * (
            (1 - self.params.beliefs.grievance_decay) ** since
        )
        adult = s.role != 0
        dissenters = alive & adult & (g > threshold)
        cols["population"][t] = alive.sum()
        cols["free"][t] = free.sum()
        cols["dissenters"][t] = dissenters.sum()
        cols["spoke_openly"][t] = tally.speakers[0] - self._speakers_before
        statements = int(tally.statements.sum())
        cols["statements"][t] = statements - self._previous["statements"]
        for k, kind in enumerate(KINDS):
            cols[f"reports_{kind}"][t] = tally.reports[k] - self._previous["reports"][k]
        cols["silent_witnesses"][t] = tally.silent[0] - self._previous["silent"]
        silent = dissenters & ~s.ever_spoke
        cols["falsification_gap"][t] = silent.sum() / max(dissenters.sum(), 1)
        cols["mean_perceived_risk"][t] = tally.risk[0] / tally.risk[1] if tally.risk[1] else 0.0
        cols["banned_media_users"][t] = (s.banned_media & alive).sum()
        cols["informants"][t] = (s.informant & free).sum()
        self._speakers_before = int(tally.speakers[0])
        self._previous = {
            "reports": tally.reports.copy(),
            "silent": int(tally.silent[0]),
            "statements": statements,
        }
        tally.risk[:] = 0.0

    def open_speech(self):
        """Open speech by context and group size, counted per person present.

        Returns:
            A pyarrow Table: ``context, group_size, present, spoke, open_speech_rate,
            expected_spoke, variance`` (``group_size`` 16 means 16 or more).
        """
        import pyarrow as pa

        t = self.tally
        rows = [
            (c, k)
            for c in range(len(CONTEXTS))
            for k in range(2, conv.K_BINS)
            if t.present[c, k] > 0
        ]
        present = np.array([t.present[c, k] for c, k in rows], dtype=np.int64)
        spoke = np.array([t.spoke[c, k] for c, k in rows], dtype=np.int64)
        return pa.table(
            {
                "context": [CONTEXTS[c] for c, _ in rows],
                "group_size": np.array([k for _, k in rows], dtype=np.int32),
                "present": present,
                "spoke": spoke,
                "open_speech_rate": spoke / np.maximum(present, 1),
                "expected_spoke": np.array([t.expected[c, k] for c, k in rows]),
                "variance": np.array([t.variance[c, k] for c, k in rows]),
            }
        )
