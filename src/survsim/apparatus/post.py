"""The post: a share ``channels.post`` of letters is read (docs/odd.md 4.7).

A letter read (evidence kind ``correspondence``) carries every open statement in it and
may open a case.
"""

from __future__ import annotations

from survsim.apparatus.channels import ChannelParams
from survsim.engine.mechanism import Mechanism

__all__ = ["Post"]


class Post(Mechanism):
    """Letters opened and read."""

    name = "the post"
    group = "channels"
    params_class = ChannelParams
    produces = ("correspondence",)
    slot = 0

    def init(self) -> None:
        """A watcher of letters."""
        self.row = self.sim.talk.watchers.add("letters", "correspondence", self.slot)

    def derive(self) -> None:
        """The share of letters read (every region alike)."""
        on = self.sim.params.apparatus
        self.sim.talk.watchers.coverage[self.row] = self.pars.post if on else 0.0
