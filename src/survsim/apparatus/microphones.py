"""Microphones: recordings of household, work, neighbourhood and public conversations.

A microphone records a conversation of its context and region with the chance
``channels.mic.<context>.<region>`` (docs/odd.md 4.7); a recording carries every open
statement of the conversation (evidence kind ``microphone``) and may open a case.
``channels.microphones = false`` switches them off.
"""

from __future__ import annotations

from survsim.apparatus.channels import ChannelParams
from survsim.engine.mechanism import Mechanism

__all__ = ["Microphones"]

#: The contexts a microphone can record.
CONTEXTS = ("household", "work", "neighbourhood", "public")


class Microphones(Mechanism):
    """Hidden microphones in homes, workplaces, meeting rooms and public places."""

    name = "microphones"
    group = "channels"
    params_class = ChannelParams
    produces = ("microphone",)
    #: The watchers' draw slot (shared with the wiretaps and the post: other contexts).
    slot = 0

    def init(self) -> None:
        """A watcher per context."""
        watchers = self.sim.talk.watchers
        self.rows = {c: watchers.add(c, "microphone", self.slot) for c in CONTEXTS}

    def derive(self) -> None:
        """The chance per region of each context's recording."""
        coverage = self.sim.talk.watchers.coverage
        on = self.pars.microphones and self.sim.params.apparatus
        for context, row in self.rows.items():
            coverage[row] = getattr(self.pars.mic, context).array() if on else 0.0
