"""Mechanisms: a model as an ordered list of parts that declare what they need.

After Starsim's modules (``starsim/modules.py``, ``starsim/loop.py``): a mechanism is one
file that declares

- ``group`` and ``params_class``: the parameter group it reads (an attribute of the
  model's parameters, the first key of a ``--set`` path such as ``speech`` in
  ``speech.threshold``) and its pydantic class;
- ``arrays``: its per-person arrays (:class:`~survsim.engine.state.Attribute`);
- ``streams``: the names of its random streams;
- ``counters``: its daily counters (int64, zeroed before every step); each becomes a
  result column of the same name unless the name starts with ``_``;
- ``columns``: other result columns it writes in :meth:`Mechanism.record`;
- ``produces`` / ``reads``: the evidence kinds it writes or reads (documentation that a
  test checks against the model's list of kinds);
- ``carried``: what a spin-up before day 0 hands on to a run (:mod:`survsim.engine.spinup`:
  :meth:`Mechanism.stationary` and :meth:`Mechanism.settle`);
- its steps (:meth:`Mechanism.steps`), each in a named phase of the model's day.

A :class:`ModularSim` allocates the arrays of every mechanism in one
:class:`~survsim.engine.state.State`, gives each its streams and a view of its counters,
builds the result columns and orders the plan by phase, then by the mechanisms' order.
Kernels get their arrays in named tuples built by field name (:func:`bundle`), never by a
hand-kept position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from survsim.engine.state import Attribute, State

if TYPE_CHECKING:
    from survsim.engine.modular import ModularSim

__all__ = ["Mechanism", "Step", "bundle"]


@dataclass(frozen=True)
class Step:
    """One step of a mechanism: run once a day in ``phase``.

    Attributes:
        name: the plan step's name (unique in the model).
        run: called with no argument.
        doc: one line on what happens, in the model's words.
        phase: one of the model's phases (:attr:`ModularSim.phases`).
    """

    name: str
    run: Callable[[], None]
    doc: str
    phase: str


class Mechanism:
    """One mechanism of a model; subclasses declare what they need as class attributes.

    Args:
        sim: the simulation the mechanism belongs to (reached as :attr:`sim`).
    """

    #: The mechanism's name, as the model's description (docs/odd.md) names it.
    name: ClassVar[str] = ""
    #: The parameter group it reads (an attribute of the model's parameters), or None.
    group: ClassVar[str | None] = None
    #: The group's class (a pydantic model); a model whose parameters lack the group
    #: gets it added (:meth:`survsim.engine.modular.ModularSim.with_mechanisms`).
    params_class: ClassVar[type | None] = None
    #: Per-person arrays it owns.
    arrays: ClassVar[tuple[Attribute, ...]] = ()
    #: Names of its random streams (each a distinct stream of the run's seed).
    streams: ClassVar[tuple[str, ...]] = ()
    #: Daily counters (zeroed before each step); result columns unless named ``_...``.
    counters: ClassVar[tuple[str, ...]] = ()
    #: Other result columns it writes in :meth:`record`, with their dtypes.
    columns: ClassVar[Mapping[str, type]] = {}
    #: Evidence kinds it writes, and those it reads.
    produces: ClassVar[tuple[str, ...]] = ()
    reads: ClassVar[tuple[str, ...]] = ()
    #: Attributes a checkpoint leaves out (rebuilt by :meth:`derive`).
    checkpoint_skip: ClassVar[frozenset[str]] = frozenset()
    #: What a spin-up hands on to the run (names of :meth:`stationary`'s arrays).
    carried: ClassVar[tuple[str, ...]] = ()

    def __init__(self, sim: ModularSim) -> None:
        self.sim = sim
        self.counts = np.zeros(0, dtype=np.int64)  # a view set by the simulation
        self.ids = {name: np.uint64(sim.streams.id(name)) for name in self.streams}

    @property
    def pars(self) -> Any:
        """The mechanism's parameter group, as it stands today (policy events change it)."""
        if self.group is None:
            raise AttributeError(f"mechanism {self.name!r} declares no parameter group")
        return getattr(self.sim.params, self.group)

    def stream(self, name: str) -> np.uint64:
        """The id of one of the declared random streams.

        Raises:
            KeyError: the stream is not declared in :attr:`streams`.
        """
        try:
            return self.ids[name]
        except KeyError:
            raise KeyError(
                f"mechanism {self.name!r} draws from undeclared stream {name!r} "
                f"(declared: {', '.join(self.streams) or 'none'})"
            ) from None

    def counter(self, name: str) -> int:
        """The index of one of its counters in :attr:`counts` (its own view)."""
        return self.counters.index(name)

    # -- the lifecycle -------------------------------------------------------------------

    def init(self) -> None:
        """Initial conditions, once every mechanism's arrays exist (in list order)."""

    def derive(self) -> None:
        """Values that follow from the parameters (in list order).

        Called at build, after a policy event changed them, and when a checkpoint is
        restored.
        """

    def steps(self) -> Iterable[Step]:
        """Its steps of the day (none by default)."""
        return ()

    def record(self, t: int, columns: dict[str, np.ndarray]) -> None:
        """Write row ``t`` of its :attr:`columns` (counters are written for it)."""

    def stationary(self) -> dict[str, np.ndarray]:
        """At the end of a spin-up: the :attr:`carried` arrays (default: copies of them)."""
        people = self.sim.pop.people
        return {name: people[name].copy() for name in self.carried}

    def settle(self, arrays: dict[str, np.ndarray]) -> None:
        """At day 0 of a run: take a spin-up's :attr:`carried` arrays (default: as they are)."""
        people = self.sim.pop.people
        for name in self.carried:
            people[name][:] = arrays[name]


def bundle(kind: Any, *sources: Any, **given: Any) -> Any:
    """Build the named tuple ``kind`` by field name from ``sources`` and ``given``.

    Each field is taken from ``given`` if named there, else from the first source that
    has it (an attribute, or a key of a mapping or :class:`~survsim.engine.state.State`).
    A kernel that reads ``R.threshold`` then gets the speech group's ``threshold``
    whatever the order of the tuple's fields.

    Raises:
        KeyError: a field is found nowhere (names the field and the tuple).
    """
    values = []
    for field in kind._fields:
        if field in given:
            values.append(given[field])
            continue
        for source in sources:
            if isinstance(source, Mapping | State):
                if field in source:
                    values.append(source[field])
                    break
            elif hasattr(source, field):
                values.append(getattr(source, field))
                break
        else:
            raise KeyError(f"{kind.__name__}.{field}: found in no source")
    return kind(*values)
