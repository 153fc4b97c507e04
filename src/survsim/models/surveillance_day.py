"""The day's steps of the surveillance-state model after the conversations.

A mixin of :class:`survsim.models.surveillance_state.SurveillanceState`: each method is
one named step of the day's plan (docs/odd.md 1.3) and hands the model's arrays to the
kernels of :mod:`survsim.society` and :mod:`survsim.apparatus`.
"""

from __future__ import annotations

import numpy as np

from survsim.apparatus import cases as ca
from survsim.apparatus.channels import computer_checks
from survsim.apparatus.informants import recruit
from survsim.apparatus.punishment import COUNT as K
from survsim.apparatus.punishment import close_cases, daily_mortality, prison_day
from survsim.models.surveillance_params import apply_event
from survsim.society import beliefs as b
from survsim.society import conversations as conv
from survsim.society.demography import demography_day

__all__ = ["DaySteps"]


class DaySteps:
    """The policy, media, fabrication and apparatus steps of a day, and outside events."""

    # -- the day's steps -----------------------------------------------------------------

    def _policy(self) -> None:
        self.counts[:] = 0
        self.closed[:] = 0
        self.cases.counts[:] = 0
        changed = False
        for event in self.params.policy.events:
            if event.day != self.t:
                continue
            if event.set:
                self.params = apply_event(self.params, event)
                changed = True
            if event.foreign_media:
                self._media_days.add(self.t)
            if event.amnesty > 0:
                self._amnesty(event.amnesty)
        if changed:
            self._derive()
        else:
            self._update_cameras()

    def _amnesty(self, share: float) -> None:
        s = self.pop.people
        prisoners = np.flatnonzero(s.status == 2)
        u = self.streams.uniform("amnesty", self.t, self.params.agents)[prisoners]
        freed = prisoners[u < share]
        s.status[freed] = 0
        self.counts[K["releases"]] += freed.size

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
            self._stream["media"],
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
            self._stream["fabricate"],
            self.params.listening.fabrication_rate,
            pop.household_start,
            pop.people.household,
            pop.people.work_unit,
            pop.work_start,
            pop.work_members,
            pop.friend_start,
            pop.friends,
            self.people,
            self._chunk_tally,
            self.watch,
            self.cases,
        )

    def _computer_checks(self) -> None:
        computer_checks(
            self.t,
            self._seed,
            self._stream["computer_checks"],
            self.params.channels.check_rate,
            self._computer_households,
            self.pop.household_start,
            self.pop.people.banned_media,
            self.cases._replace(counts=self.cases.counts[0]),
            ca.CODE["computer"],
        )

    def _queue(self) -> None:
        ca.queue_new_cases(self.t, self._seed, self._stream["queue"], self.cases)

    def _agencies(self) -> None:
        self.budget += self.capacity
        # Every closure can arrest a household: make room for the worst case.
        worst = int(np.floor(self.budget).sum()) * 10 + 16
        if self._arrested.size < worst:
            self._arrested = np.empty(worst, dtype=np.int32)
            self._recorded = np.empty(worst, dtype=np.bool_)
        pu, pop = self.params.punishment, self.pop
        self._n_arrests = close_cases(
            self.t,
            self._seed,
            self._stream["verdict"],
            self.budget,
            self.cases,
            self.params.cases.c1,
            self.params.cases.c_max,
            self.params.agencies.case_expiry_days,
            pu.detention_days,
            pu.p_family,
            pop.people.household,
            pop.household_start,
            self.case.release_day,
            self._arrested,
            self._recorded,
            self.counts,
            self.closed,
        )

    def _prison(self) -> None:
        pu = self.params.punishment
        before = self.counts[K["deaths_in_prison"]]
        prison_day(
            self.t,
            self._seed,
            self._stream["term"],
            self._stream["prison_death"],
            self.pop.people.status,
            self.case.release_day,
            self.case.admitted_day,
            pu.term_median_years * 365.25,
            pu.term_sigma,
            pu.life_share,
            daily_mortality(pu.camp_mortality),
            self.counts,
        )
        self.dead_total += int(self.counts[K["deaths_in_prison"]] - before)

    def _learning(self) -> None:
        n = self._n_arrests
        if n:
            self.observe_arrests(self._arrested[:n], self._recorded[:n], np.ones(n, np.bool_))

    def _recruitment(self) -> None:
        p, s = self.params, self.pop.people
        target = p.population.informant_density * p.agents
        _, done = recruit(
            self.t,
            self._seed,
            self._stream["recruit"],
            target,
            p.recruitment.recruit_rate,
            self._recruit_carry,
            s.role,
            s.status,
            s.informant,
            s.zeal,
            p.population.zeal_mean,
            p.population.zeal_spread,
        )
        self.counts[K["recruited"]] += done

    def _demography(self) -> None:
        p = self.params
        pp = p.population
        demography_day(
            self.t,
            self._seed,
            self._demography_streams,
            daily_mortality(p.demography.natural_mortality),
            p.demography.replacement,
            pp.age_of_majority * 365,
            pp.grievance_a,
            pp.grievance_b,
            pp.pi_hat0,
            pp.suspicion0,
            self.newborn,
            self.counts,
            K["births"],
            K["deaths_natural"],
            K["came_of_age"],
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
        minds = b.Minds(
            s.status, s.role, s.pi_hat, s.suspicion, s.grievance, s.grievance0, s.belief_day
        )
        lessons = b.Lessons(
            p.population.pi_hat0,
            be.belief_decay,
            be.grievance_decay,
            be.eta,
            be.eta_m,
            be.suspicion_max,
        )
        b.observe_arrests(
            ids,
            rec,
            imp,
            self.t,
            pop.household_start,
            s.household,
            s.nunit,
            pop.nunit_person_start,
            s.work_unit,
            pop.work_start,
            pop.work_members,
            pop.friend_start,
            pop.friends,
            minds,
            lessons,
            be.grievance_kick,
        )
