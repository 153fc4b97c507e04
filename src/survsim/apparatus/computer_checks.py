"""Computer checks: registered computers inspected for banned media (docs/odd.md 4.7).

Each household with a registered computer is checked with ``channels.check_rate`` a day;
every free member who uses banned media yields a finding (evidence kind ``computer``),
which may open a case.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from survsim.apparatus.cases import add_evidence
from survsim.apparatus.channels import ChannelParams
from survsim.engine.mechanism import Mechanism, Step
from survsim.engine.rng import block_count, block_size, random_block, u32_below
from survsim.society.names import COMPUTER, HAS_COMPUTER

__all__ = ["ComputerChecks", "computer_checks"]


@nb.njit(cache=True)
def computer_checks(
    day, seed, stream, rate, computer_households, household_start, banned_media, cases, kind
):
    """Check registered computers: each household with one is checked with ``rate`` a day.

    The number of checks is drawn per block of 1024 households (Poisson, by inversion),
    the households inside the block uniformly, so the cost is the number of checks, not
    of computers. Every free member of a checked household who uses banned media gets
    evidence of ``kind`` (a computer finding).

    Returns:
        How many people were found.
    """
    n = computer_households.shape[0]
    n_found = 0
    width = block_size(rate, 1024)
    for block in range((n + width - 1) // width):
        lo = block * width
        size = min(width, n - lo)
        checks = block_count(seed, stream, day, block, rate * size)
        for c in range(checks):
            word = random_block(seed, stream, day, block, 1 + c)[0]
            h = computer_households[lo + u32_below(word, size)]
            for i in range(household_start[h], household_start[h + 1]):
                if banned_media[i] and add_evidence(cases, i, kind, day):
                    n_found += 1
    return n_found


class ComputerChecks(Mechanism):
    """Random checks of registered computers."""

    name = "computer checks"
    group = "channels"
    params_class = ChannelParams
    streams = ("computer_checks",)
    produces = ("computer",)

    def init(self) -> None:
        """The households with a registered computer."""
        pop = self.sim.pop
        first = pop.people.devices[pop.household_start[:-1]]
        self.households = np.flatnonzero(first & HAS_COMPUTER).astype(np.int64)

    def steps(self):
        """The day's checks, after the conversations (with the apparatus)."""
        if self.sim.params.apparatus:
            yield Step("computer_checks", self.check, "random checks of computers", "checks")

    def check(self) -> None:
        """Check today's computers; findings are evidence (kind ``computer``)."""
        sim = self.sim
        cases = sim.mechanism("cases").C
        computer_checks(sim.t, sim.seed64, self.stream("computer_checks"), self.pars.check_rate,
                        self.households, sim.pop.household_start, sim.pop.people.banned_media,
                        cases._replace(counts=cases.counts[0]), np.int64(COMPUTER))  # fmt: skip
