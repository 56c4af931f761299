"""One small drawing interface over two sources of choices.

The generators are plain functions of a :class:`Draw`.  Under hypothesis the
choices come from ``st.data()``-style draws (so examples shrink: every integer
shrinks towards its lower bound, which is why counts start at their minimum);
for ``bpfconform generate`` and the measurement script they come from a seeded
:class:`random.Random`, which is deterministic per seed and about a hundred
times faster than driving hypothesis outside a test.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


class Draw(Protocol):
    def int(self, lo: int, hi: int) -> int: ...

    def bool(self, p_true: float = 0.5) -> bool: ...

    def choice(self, options: Sequence[T]) -> T: ...


class RandomDraw:
    """Choices from a seeded ``random.Random`` (reproducible per seed)."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        # Small values first, as under hypothesis: half the draws stay in the
        # lower quarter of the range, so typical blobs stay small.
        if hi - lo > 4 and self.rng.random() < 0.5:
            hi = lo + (hi - lo) // 4
        return self.rng.randint(lo, hi)

    def bool(self, p_true: float = 0.5) -> bool:
        return self.rng.random() < p_true

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]


class HypothesisDraw:
    """Choices from a hypothesis ``draw`` (inside ``st.composite``)."""

    __slots__ = ("_draw",)

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw

    def int(self, lo: int, hi: int) -> int:
        value: int = self._draw(st.integers(lo, hi))
        return value

    def bool(self, p_true: float = 0.5) -> bool:
        # hypothesis shrinks booleans to False: False must be the simpler choice.
        value: bool = self._draw(st.booleans())
        return value

    def choice(self, options: Sequence[T]) -> T:
        return options[self.int(0, len(options) - 1)]
