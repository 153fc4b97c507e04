"""Phone calls between friends who both have a phone (docs/odd.md 4.1); wiretaps listen."""

from __future__ import annotations

from survsim.society.contexts import ContextMechanism
from survsim.society.meetings import pairs_day

__all__ = ["Phone"]


class Phone(ContextMechanism):
    """Calls between friends."""

    name = "phone"
    context = "phone"
    doc = "phone calls between friends (wiretaps)"
    serial = True

    @property
    def rate(self) -> float:
        """Calls on the topic started per person and day."""
        return self.pars.call_rate * self.topic

    def kernel(self, *args) -> None:
        """:func:`~survsim.society.meetings.pairs_day` (both need a phone)."""
        pairs_day(*args)

    def arguments(self) -> tuple:
        """The context, the rate of calls on the topic and the ties."""
        sim, talk = self.sim, self.sim.talk
        return (sim.t, self.code, sim.seed64, self.context_streams, self.rate, True,
                sim.pop.friend_start, sim.pop.friends, talk.scratch, talk.starters)  # fmt: skip
