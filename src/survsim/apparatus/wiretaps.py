"""Wiretaps: a share ``channels.wiretap`` of phone calls is recorded (docs/odd.md 4.7).

A recording (evidence kind ``wiretap``) carries every open statement of the call and may
open a case.
"""

from __future__ import annotations

from survsim.apparatus.channels import ChannelParams
from survsim.engine.mechanism import Mechanism

__all__ = ["Wiretaps"]


class Wiretaps(Mechanism):
    """Phone calls listened to."""

    name = "wiretaps"
    group = "channels"
    params_class = ChannelParams
    produces = ("wiretap",)
    slot = 0

    def init(self) -> None:
        """A watcher of calls."""
        self.row = self.sim.talk.watchers.add("phone", "wiretap", self.slot)

    def derive(self) -> None:
        """The share of calls recorded (every region alike)."""
        on = self.sim.params.apparatus
        self.sim.talk.watchers.coverage[self.row] = self.pars.wiretap if on else 0.0
