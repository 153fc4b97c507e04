"""One memory budget for every run of a dashboard server, shared fairly by its sessions.

Each run is estimated before it starts (the CLI's estimate, :func:`survsim.api.check_memory`)
and holds that much of the budget from its start to its end. A run that fits what is left
starts at once; one that does not waits in a queue, first come first served, and starts when
enough runs have ended; one larger than the whole budget is refused in one line. The queue is
visible: a waiting run shows its place and what holds the budget.

The decision and the start happen under one lock, so two sessions that press Run at the same
instant cannot both pass a check that only one of them fits: the second one waits.

Nothing here polls in the background: whoever looks at a run (each session's page does every
fraction of a second while its run is going or waiting) also frees the share of the runs that
ended and starts the waiting runs that now fit.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from survsim.engine.memory import available_bytes
from survsim.errors import SurvsimError

__all__ = ["DEFAULT_SHARE", "Admission", "Waiting", "admission", "set_budget"]

#: The default budget: this share of the memory available when the server starts.
DEFAULT_SHARE = 0.8


class Run(Protocol):
    """What the admission needs of a run: a way to start it and to know it ended."""

    def launch(self) -> None:
        """Start the run's process, under the admission's lock.

        It never raises: a run that cannot start records why, and counts as ended.
        """

    def ended(self) -> bool:
        """Whether the run's process has ended (or never could start)."""


@dataclass(frozen=True)
class Waiting:
    """Where a waiting run stands."""

    place: int  # 1 for the next to start
    queued: int  # runs waiting in all
    held: int  # bytes held by the runs going on
    running: int  # how many runs are going on
    budget: int  # bytes, in all


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


class Admission:
    """The budget, the runs holding a share of it, and the queue of those waiting."""

    def __init__(self, budget: int) -> None:
        if budget <= 0:
            raise SurvsimError(f"memory budget {budget} bytes: must be more than 0")
        self.budget = int(budget)
        self._lock = threading.Lock()
        self._held: dict[Run, int] = {}
        self._queue: deque[tuple[Run, int]] = deque()

    def submit(self, run: Run, needed: int, what: str) -> bool:
        """Start ``run`` now if its ``needed`` bytes fit what is left, else queue it.

        Returns:
            True if it started, False if it waits.

        Raises:
            SurvsimError: ``needed`` is more than the whole budget (it could never start);
                one line naming both and what to do.
        """
        if needed > self.budget:
            raise SurvsimError(
                f"{what} needs about {_gb(needed)}, more than the dashboard's memory budget "
                f"of {_gb(self.budget)} for all its runs: choose fewer people or fewer days "
                "(or start the server with a larger --memory-budget)"
            )
        with self._lock:
            self._queue.append((run, int(needed)))
            self._admit()
            return run in self._held

    def pump(self) -> None:
        """Free the share of the runs that ended; start the waiting runs that now fit."""
        with self._lock:
            self._admit()

    def withdraw(self, run: Run) -> bool:
        """Take ``run`` out of the queue (stopped before it started).

        Returns:
            False if it was not waiting (it has started meanwhile, or never queued).
        """
        with self._lock:
            before = len(self._queue)
            self._queue = deque(item for item in self._queue if item[0] is not run)
            return len(self._queue) < before

    def waiting(self, run: Run) -> Waiting | None:
        """Where ``run`` stands in the queue, or None if it is not waiting."""
        with self._lock:
            self._admit()
            for place, (queued, _) in enumerate(self._queue, start=1):
                if queued is run:
                    return Waiting(
                        place,
                        len(self._queue),
                        sum(self._held.values()),
                        len(self._held),
                        self.budget,
                    )
        return None

    @property
    def held(self) -> int:
        """Bytes held now by the runs going on."""
        with self._lock:
            return sum(self._held.values())

    def _admit(self) -> None:
        """Release the runs that ended, then start the head of the queue while it fits.

        First come, first served: a large run is not overtaken. The lock is held.
        """
        for run in [run for run in self._held if run.ended()]:
            del self._held[run]
        while self._queue:
            run, needed = self._queue[0]
            if sum(self._held.values()) + needed > self.budget:
                return
            self._queue.popleft()
            self._held[run] = needed
            run.launch()
            if run.ended():  # it could not start: its share is free again
                del self._held[run]


_ADMISSION: list[Admission] = []
_GUARD = threading.Lock()


def _default_budget() -> int:
    available = available_bytes()
    return int(DEFAULT_SHARE * available) if available else 8 * 10**9


def set_budget(budget: int | None) -> Admission:
    """Give the server an admission of ``budget`` bytes.

    None gives :data:`DEFAULT_SHARE` of the memory available now. Called when the server
    starts; a later call replaces it.
    """
    found = Admission(_default_budget() if budget is None else budget)
    with _GUARD:
        _ADMISSION[:] = [found]
    return found


def admission() -> Admission:
    """This server's admission (made with the default budget on first use)."""
    with _GUARD:
        if not _ADMISSION:
            _ADMISSION.append(Admission(_default_budget()))
        return _ADMISSION[0]
