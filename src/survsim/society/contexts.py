"""A context in which people talk: what the seven context mechanisms share.

Each context (households, work, neighbourhood units, friends, phone, letters, public
places) is a mechanism of its own file that says which kernel forms its groups and with
which arguments; :class:`ContextMechanism` runs it, with the bundles of the speech
mechanism's :class:`~survsim.society.bundles.Talk`, until every chunk has finished
(:meth:`survsim.engine.events.EventTable.produce`), so its evidence events reach their
readers.
"""

from __future__ import annotations

import numpy as np

from survsim.engine.mechanism import Mechanism, Step
from survsim.society.conversations import ConversationParams, contexts_day
from survsim.society.names import CONTEXTS

__all__ = ["ContextMechanism"]


class ContextMechanism(Mechanism):
    """A context in which people talk (households, work, ...): its kernel's arguments.

    A subclass names its context and yields its step; the conversations it starts share
    the :class:`~survsim.society.bundles.Talk` of the speech mechanism.
    """

    group = "conversations"
    params_class = ConversationParams
    #: The context's name (one of :data:`~survsim.society.names.CONTEXTS`).
    context = ""
    #: One line on what happens, for the plan.
    doc = ""
    produces = ("informant", "ordinary", "defensive", "failure_to_report")

    def __init__(self, sim) -> None:
        super().__init__(sim)
        ids = sim.streams.id
        self.context_streams = np.array(
            [ids(f"{self.context}/{x}") for x in ("a", "b", "speak", "listen")], dtype=np.uint64
        )
        self.code = np.int64(CONTEXTS.index(self.context))

    @property
    def topic(self) -> float:
        """The chance that the sensitive topic comes up in a conversation of the context."""
        return float(getattr(self.pars.topic, self.context))

    def steps(self):
        """The context's conversations, in the talk phase."""
        yield Step(self.context, self.meet, self.doc, "talk")

    def meet(self) -> None:
        """Run the day's conversations; the evidence events go to their readers."""
        talk = self.sim.talk
        args = self.arguments()
        watch = talk.watch()
        bundles = (talk.P, talk.R, talk.chunk_tally, watch)
        table = talk.serial_events if self.serial else talk.events
        table.produce(lambda E, cursor: self.kernel(*args, *bundles, E, cursor))

    #: True if the kernel runs in one chunk (its events go to the one-row table); such a
    #: context draws its starters at :attr:`rate` per person and day.
    serial = False
    rate = 0.0

    def derive(self) -> None:
        """Room for the day's starters of a serial context."""
        if self.serial:
            self.sim.talk.room_for_starters(self.sim.params.agents * self.rate)

    def kernel(self, *args):
        """Call the context's kernel (:func:`contexts_day` unless a subclass says)."""
        contexts_day(*args)

    def arguments(self) -> tuple:
        """The kernel's arguments before the bundles."""
        raise NotImplementedError
