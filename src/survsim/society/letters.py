"""Letters between friends (docs/odd.md 4.1); the post reads a share of them."""

from __future__ import annotations

from survsim.society.contexts import ContextMechanism
from survsim.society.meetings import pairs_day

__all__ = ["Letters"]


class Letters(ContextMechanism):
    """Letters between friends."""

    name = "letters"
    context = "letters"
    doc = "letters between friends (the post)"
    serial = True

    @property
    def rate(self) -> float:
        """Letters on the topic written per person and day."""
        return self.pars.letter_rate * self.topic

    def kernel(self, *args) -> None:
        """:func:`~survsim.society.meetings.pairs_day`."""
        pairs_day(*args)

    def arguments(self) -> tuple:
        """The context, the rate of letters on the topic and the ties."""
        sim, talk = self.sim, self.sim.talk
        return (sim.t, self.code, sim.seed64, self.context_streams, self.rate, False,
                sim.pop.friend_start, sim.pop.friends, talk.scratch, talk.starters)  # fmt: skip
