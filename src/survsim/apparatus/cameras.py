"""Cameras: public gatherings seen on camera (docs/odd.md 4.7; the seed's 100,000).

A public gathering of ``channels.k_cctv`` or more people is seen with the chance
``min(1, cctv_coverage * cameras(t) / cameras_reference)``, where ``cameras(t)`` is the
cameras installed on day 0 plus those bought by day t (``policy.camera_purchase``). A
flag (evidence kind ``cctv``) strengthens an open case and never opens one.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from survsim.apparatus.channels import ChannelParams
from survsim.engine.mechanism import Mechanism, Step

__all__ = ["Cameras"]


class Cameras(Mechanism):
    """Surveillance cameras in public places."""

    name = "cameras"
    group = "channels"
    params_class = ChannelParams
    produces = ("cctv",)
    columns: ClassVar[dict[str, type]] = {"cameras": np.float64, "cctv_coverage": np.float64}
    #: The watchers' draw slot (independent of the microphones' and border teams').
    slot = 2

    def init(self) -> None:
        """A watcher of public gatherings that opens no case."""
        self.row = self.sim.talk.watchers.add("public", "cctv", self.slot, opens=False)

    def derive(self) -> None:
        """The smallest gathering seen, and today's coverage."""
        self.sim.talk.watchers.set_min_group(self.row, self.pars.k_cctv)
        self.update()

    def update(self) -> None:
        """Cameras installed by today and the chance a gathering is seen."""
        sim = self.sim
        self.cameras = self.pars.cameras + sim.params.policy.camera_purchase.bought(sim.t)
        sim.mechanism("speech").see_cameras(self.cameras, self.pars.cameras_reference)
        if sim.params.apparatus:
            sim.talk.watchers.coverage[self.row] = self.pars.camera_coverage(self.cameras)

    def steps(self):
        """Cameras bought by the start of the day."""
        yield Step("cameras", self.update, "cameras bought by today", "morning")

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """Cameras and their coverage of the day."""
        columns["cameras"][t] = self.cameras
        columns["cctv_coverage"][t] = self.sim.talk.watchers.coverage[self.row, 0]
