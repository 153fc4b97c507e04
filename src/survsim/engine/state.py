"""Struct-of-arrays state: one flat numpy array per attribute.

A model declares its attributes once (name, dtype, default, length) and the engine
allocates them together, so the memory of a run is known before it starts and every
kernel receives plain arrays. Agent ids are row numbers of type :data:`AGENT_ID`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["AGENT_ID", "Attribute", "State"]

#: The dtype of an agent id (a row number). int32 holds 2.1 billion agents.
AGENT_ID = np.int32


@dataclass(frozen=True)
class Attribute:
    """One attribute of the state.

    Attributes:
        name: the attribute's name in the model's words.
        dtype: numpy dtype; the smallest that holds the attribute's range.
        default: initial value of every element.
        size: the name of the size this attribute is allocated for (``"agents"``,
            ``"cells"``, ...), resolved by :meth:`State.allocate`.
        doc: one line that says what the attribute means.
    """

    name: str
    dtype: type
    default: float | int | bool = 0
    size: str = "agents"
    doc: str = ""


class State:
    """A named collection of flat arrays, allocated from attribute declarations.

    Example:
        >>> state = State.allocate(
        ...     [Attribute("age", np.uint8, 0, "agents", "age in years")], agents=3
        ... )
        >>> state.age
        array([0, 0, 0], dtype=uint8)
    """

    def __init__(self, arrays: dict[str, np.ndarray], sizes: dict[str, int]) -> None:
        self._arrays = arrays
        self.sizes = dict(sizes)

    @classmethod
    def allocate(cls, attributes: list[Attribute], **sizes: int) -> State:
        """Allocate every attribute at the size it names.

        Raises:
            KeyError: an attribute names a size that was not given.
            ValueError: two attributes share a name.
        """
        arrays: dict[str, np.ndarray] = {}
        for attribute in attributes:
            if attribute.name in arrays:
                raise ValueError(f"attribute {attribute.name!r} declared twice")
            n = sizes[attribute.size]
            arrays[attribute.name] = np.full(n, attribute.default, dtype=attribute.dtype)
        return cls(arrays, sizes)

    def extend(self, attributes: list[Attribute]) -> None:
        """Allocate more attributes at the sizes they name.

        For arrays a build does not need: allocated after it, they do not add to its
        peak memory.

        Raises:
            ValueError: an attribute is already held.
        """
        for attribute in attributes:
            if attribute.name in self._arrays:
                raise ValueError(f"attribute {attribute.name!r} declared twice")
            n = self.sizes[attribute.size]
            self._arrays[attribute.name] = np.full(n, attribute.default, dtype=attribute.dtype)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["_arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __contains__(self, name: object) -> bool:
        return name in self._arrays

    @property
    def nbytes(self) -> int:
        """Bytes held by all arrays together."""
        return sum(a.nbytes for a in self._arrays.values())

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (the same objects, not copies)."""
        return dict(self._arrays)
