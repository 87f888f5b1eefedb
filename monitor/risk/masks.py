"""Exposure masks: the set of price slots each account's positions are priced by, as an id per distinct set.

The screening bound (:mod:`monitor.risk.screen`) only needs the smallest and largest price ratio over the
slots an account holds; with an id per distinct mask those come from a small ``(checks, masks)`` table, so a
crash of one asset only wakes the accounts that hold it. A mask never grows during a projection (liquidations
only empty positions), so the book's masks stay valid (conservative) throughout.

Each account also has a *sided* mask: the slots of its collateral and, apart, those of its debt. The LT-weighted
collateral moves with the smallest ratio over the collateral's slots and the debt with the largest over the
debt's, so the sided bound (``lo`` over collateral, ``hi`` over debt) is tighter than the one over the union
(an account that owes the crashing asset is not woken by its crash).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.market import CascadeBook

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

#: Above this many price slots every account shares one all-slots mask (the global bound).
MAX_SLOTS = 62


class Masks:
    """``ids[i]``: the mask of account ``i``; ``bits[u, s]``: whether mask ``u`` includes slot ``s``; the sided
    masks (module docstring) in ``sided_ids``, ``coll_bits`` and ``debt_bits``."""

    def __init__(self, book: CascadeBook) -> None:
        m = book.market
        n, s_count = len(book), m.n_slots
        if s_count > MAX_SLOTS:
            self.ids: Idx = np.zeros(n, dtype=np.intp)
            self.bits: Bool = np.ones((1, s_count), dtype=bool)
            self.sided_ids: Idx = self.ids
            self.coll_bits: Bool = self.bits
            self.debt_bits: Bool = self.bits
            return
        coll, debt = _slot_keys(book, book.collateral > 0), _slot_keys(book, book.debt > 0)
        unique, self.ids = _unique(coll | debt)
        self.bits = ((unique[:, None] >> np.arange(s_count)) & 1).astype(bool)
        if 2 * s_count > MAX_SLOTS:
            # Branch: no room for both sides in one key: the sided masks are the union ones.
            self.sided_ids, self.coll_bits, self.debt_bits = self.ids, self.bits, self.bits
            return
        unique, sided = _unique(coll | (debt << s_count))
        #: ``sided_ids[i]``: the sided mask of account ``i``; ``coll_bits[v, s]`` / ``debt_bits[v, s]``: whether
        #: sided mask ``v`` holds collateral / debt priced by slot ``s``.
        self.sided_ids = sided
        self.coll_bits = ((unique[:, None] >> np.arange(s_count)) & 1).astype(bool)
        self.debt_bits = ((unique[:, None] >> np.arange(s_count, 2 * s_count)) & 1).astype(bool)

    def take(self, order: Idx) -> Masks:
        """The masks of the accounts ``order`` (columns of the book), in that order (the same mask tables)."""
        out = object.__new__(Masks)
        out.bits, out.coll_bits, out.debt_bits = self.bits, self.coll_bits, self.debt_bits
        out.ids = self.ids[order]
        out.sided_ids = out.ids if self.sided_ids is self.ids else self.sided_ids[order]
        return out

    @property
    def count(self) -> int:
        """Number of distinct masks."""
        return int(self.bits.shape[0])

    @property
    def sided_count(self) -> int:
        """Number of distinct sided masks."""
        return int(self.coll_bits.shape[0])

    def spreads(self, rho: F64) -> tuple[F64, F64]:
        """Per row of ``rho`` (price ratios per slot, ``(k, S)``) and mask: the smallest and largest ratio over
        the mask's slots, ``(k, U)`` each (1 for an empty mask)."""
        return _extremes(np.atleast_2d(rho), self.bits, self.bits)

    def sided_spreads(self, rho: F64) -> tuple[F64, F64]:
        """Per row of ``rho`` and sided mask: the smallest ratio over its collateral's slots and the largest over
        its debt's, ``(k, V)`` each (1 for an empty side)."""
        return _extremes(np.atleast_2d(rho), self.coll_bits, self.debt_bits)


#: Keys below this are made unique by counting (one pass) instead of sorting.
COUNTED_KEYS = 1 << 20


def _unique(keys: NDArray[np.int64]) -> tuple[NDArray[np.int64], Idx]:
    """``np.unique(keys, return_inverse=True)`` for non-negative keys: by a count per key when the keys are small
    (an exposure key has a bit per slot and side: at most 2**16 with 8 slots), which takes one pass instead of a
    sort of the book."""
    if keys.size == 0 or int(keys.max()) >= COUNTED_KEYS:
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, inverse.astype(np.intp).reshape(-1)
    present = np.bincount(keys) > 0
    rank = np.cumsum(present) - 1  # the position of each present key among the sorted distinct keys
    return np.flatnonzero(present).astype(np.int64), rank[keys].astype(np.intp)


def _extremes(rho: F64, lo_bits: Bool, hi_bits: Bool) -> tuple[F64, F64]:
    """Per row of ``rho`` (``(k, S)``) and mask: the smallest ratio over the slots of ``lo_bits[mask]`` and the
    largest over those of ``hi_bits[mask]`` (1 where a mask has none), ``(k, U)`` each. One slot at a time: a
    minimum of ``(k, U)`` tables instead of a reduction over a ``(k, U, S)`` one (the same values: min and max
    are exact)."""
    k, (u, s_count) = rho.shape[0], lo_bits.shape
    lo, hi = np.full((k, u), np.inf), np.full((k, u), -np.inf)
    for s in range(s_count):
        col = rho[:, s : s + 1]
        np.minimum(lo, col, out=lo, where=lo_bits[:, s])
        np.maximum(hi, col, out=hi, where=hi_bits[:, s])
    lo[:, ~lo_bits.any(axis=1)] = 1.0
    hi[:, ~hi_bits.any(axis=1)] = 1.0
    return lo, hi


def _slot_keys(book: CascadeBook, held: Bool) -> NDArray[np.int64]:
    """Per account, the bits of the price slots its ``held`` positions are priced by (its class's slots)."""
    m = book.market
    keys = np.zeros(len(book), dtype=np.int64)
    for j in range(m.size):
        keys |= held[j].astype(np.int64) << int(m.slot_of[0][j])
    for cid in m.differing:
        rows = np.flatnonzero(book.risk_class == cid)
        if rows.size and not np.array_equal(m.slot_of[cid], m.slot_of[0]):
            # Branch: the class prices some assets through other slots (e.g. an e-mode price source).
            k = np.zeros(rows.size, dtype=np.int64)
            for j in range(m.size):
                k |= held[j, rows].astype(np.int64) << int(m.slot_of[cid][j])
            keys[rows] = k
    return keys
