"""The hot accounts of a watch set (:mod:`monitor.risk.watch`): their followed positions and current screening
terms, in arrays of their own in the order they became hot, so that the check of every hot account each round
reads them in sequence. The arrays keep room to grow: a round's new hot accounts are written after the others
instead of copying every array."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]
A = TypeVar("A", bound=NDArray[Any])


class HotSet:
    """``pos`` (followed positions), aligned with their terms ``a`` / ``d`` / ``key`` (views of the first ``n``
    places of the buffers); ``at[p]`` is followed position ``p``'s index in them (-1: none)."""

    def __init__(self, followed: int) -> None:
        self.n = 0
        self._pos: Idx = np.empty(0, dtype=np.intp)
        self._a, self._d = np.empty(0), np.empty(0)
        self._key: Idx = np.empty(0, dtype=np.intp)
        self.at: Idx = np.full(followed, -1, dtype=np.intp)

    @property
    def pos(self) -> Idx:
        return self._pos[: self.n]

    @property
    def a(self) -> F64:
        return self._a[: self.n]

    @property
    def d(self) -> F64:
        return self._d[: self.n]

    @property
    def key(self) -> Idx:
        return self._key[: self.n]

    def follow_more(self, count: int) -> None:
        """``count`` followed positions were appended (none of them hot yet)."""
        self.at = np.concatenate([self.at, np.full(count, -1, dtype=np.intp)])

    def add(self, pos: Idx, a: F64 | float, d: F64 | float, key: Idx | int) -> None:
        """Followed positions ``pos`` (not in the arrays) join them, with terms ``a`` / ``d`` / ``key``."""
        start, end = self.n, self.n + pos.size
        if end > self._pos.size:
            cap = max(end, 2 * self._pos.size)
            self._pos, self._key = self._grown(self._pos, cap), self._grown(self._key, cap)
            self._a, self._d = self._grown(self._a, cap), self._grown(self._d, cap)
        self._pos[start:end], self._a[start:end], self._d[start:end], self._key[start:end] = pos, a, d, key
        self.at[pos] = np.arange(start, end)
        self.n = end

    def _grown(self, x: A, cap: int) -> A:
        out: A = np.empty(cap, dtype=x.dtype)  # type: ignore[assignment]
        out[: self.n] = x[: self.n]
        return out

    def update(self, pos: Idx, a: F64, d: F64, key: Idx | None = None) -> None:
        """New terms of followed positions ``pos`` (all in the arrays)."""
        i = self.at[pos]
        self._a[i], self._d[i] = a, d
        if key is not None:
            self._key[i] = key

    def drop_dead(self) -> None:
        """Drop the positions whose ``d`` is 0 (never liquidatable) from the arrays (the others keep their order)."""
        keep = np.flatnonzero(self.d)
        self.at[self.pos] = -1
        k = keep.size
        for x in (self._pos, self._a, self._d, self._key):
            x[:k] = x[: self.n][keep]
        self.n = k
        self.at[self.pos] = np.arange(k)
