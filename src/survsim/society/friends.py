"""Friends: a person meets one to three friends (docs/odd.md 4.1).

Friendship ties cross units, so friends meet in one chunk
(:func:`survsim.society.meetings.friends_day`); a person is in at most one such meeting
a day.
"""

from __future__ import annotations

from survsim.society.contexts import ContextMechanism
from survsim.society.meetings import friends_day

__all__ = ["Friends"]


class Friends(ContextMechanism):
    """Meetings of friends."""

    name = "friends"
    context = "friends"
    doc = "friends meet in small groups"
    serial = True

    @property
    def rate(self) -> float:
        """Meetings on the topic started per person and day."""
        return self.pars.friend_meeting_rate * self.topic

    def kernel(self, *args) -> None:
        """:func:`~survsim.society.meetings.friends_day`."""
        friends_day(*args)

    def arguments(self) -> tuple:
        """The rate of meetings on the topic and the ties."""
        sim, talk = self.sim, self.sim.talk
        return (sim.t, sim.seed64, self.context_streams, self.rate, sim.pop.friend_start,
                sim.pop.friends, talk.scratch, talk.starters)  # fmt: skip
