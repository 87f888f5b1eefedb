"""Screening: which accounts can be liquidatable at some prices, without computing every health factor.

Without the integer floors an account's LT-weighted collateral ``w`` and debt ``d`` (base units) are linear in
the prices. From ``a = w (1 - 1/LT_min) / 1e4`` and an upper bound ``d`` at reference prices, the exact HF at
prices ``p`` is at least

    (a * rho_min - slack) / (d * rho_max),     rho = p / p_ref per price slot,

where ``slack = R (1 - 1/LT_min) + 0.5`` covers the floors (< 1 base unit per position, the whole-bps average
LT < 1 bps out of at least ``LT_min``, ``percentMul``'s half unit). Accounts where that bound is >= 1 are
certainly not liquidatable and are skipped; the others (the *watch* set) get exact health factors. ``w`` and
``d`` at the market's prices and each price slot's share of them are computed once per book, so the sums at
shocked prices cost a few vector operations.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.health import Health
from monitor.risk.market import CascadeBook
from monitor.risk.masks import Masks

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

#: Float rounding of the linear sums, relative.
ROUNDING = 1e-12
#: Followed sets assume prices stay at least this share of the post-shock ones (rho_max >= GUARD).
GUARD = 0.5


class Exposure:
    """``w`` and ``d`` of every account at the market's prices, and per price slot (lazily) its share of them."""

    def __init__(self, book: CascadeBook) -> None:
        m = book.market
        self.book = book
        self.members = {c: rows for c in m.differing if (rows := np.flatnonzero(book.emode == c)).size}
        lts = np.concatenate([v[v > 0] for v in m.lt_of.values()])
        #: Largest relative loss of the whole-bps average LT floor.
        self.rel = 1.0 / float(lts.min()) if lts.size else 0.0
        self.scale = (1.0 - self.rel) * (1.0 - ROUNDING) / 1e4
        #: Absolute loss of the floors, base units (see the module docstring).
        self.slack = m.size * (1.0 - self.rel) + 0.5
        self.w0, self.d0 = self._sums(np.ones(m.n_slots))
        self._by_slot: dict[int, tuple[F64, F64]] = {}
        self._has_collateral: Bool | None = None
        self._views: dict[int, SlotView] = {}
        self.masks = Masks(book)

    def _sums(self, slot_weight: F64) -> tuple[F64, F64]:
        """``w`` and ``d`` with each slot's price multiplied by ``slot_weight`` (1: the market prices)."""
        m, b = self.book.market, self.book
        price = m.prices * slot_weight
        up = price[m.slot_of[0]] / m.units
        w: F64 = (m.lt * up) @ b.collateral
        d: F64 = up @ b.debt
        for cid, rows in self.members.items():
            upc = price[m.slot_of[cid]] / m.units
            w[rows] = (m.lt_of[cid] * upc) @ b.collateral[:, rows]
            d[rows] = upc @ b.debt[:, rows]
        return w, d

    def slot(self, s: int) -> tuple[F64, F64]:
        """The part of ``w`` and ``d`` priced by slot ``s`` (at the market's prices)."""
        if s not in self._by_slot:
            one = np.zeros(self.book.market.n_slots)
            one[s] = 1.0
            self._by_slot[s] = self._sums(one)
        return self._by_slot[s]

    def at(self, ratios: dict[int, float]) -> tuple[F64, F64]:
        """``w`` and ``d`` when slot ``s``'s price is ``ratios[s]`` times the market's (others unchanged)."""
        w, d = self.w0.copy(), self.d0.copy()
        for s, r in ratios.items():
            if r != 1.0:
                ws, ds = self.slot(s)
                w += (r - 1.0) * ws
                d += (r - 1.0) * ds
        np.maximum(w, 0.0, out=w)
        np.maximum(d, 0.0, out=d)
        return w, d

    @property
    def has_collateral(self) -> Bool:
        """Accounts holding any counted collateral in the book."""
        if self._has_collateral is None:
            self._has_collateral = self.book.collateral.sum(axis=0) > 0
        return self._has_collateral

    def view(self, s: int) -> SlotView:
        """Per-slot precomputation for single-slot shocks (cached)."""
        if s not in self._views:
            self._views[s] = SlotView(self, s)
        return self._views[s]

    def baseline(self, ratios: dict[int, float]) -> Baseline:
        """Bound terms of every account when slot ``s``'s price is ``ratios[s]`` times the market's."""
        moved = {s: r for s, r in ratios.items() if r != 1.0}
        if len(moved) == 1:
            ((s, r),) = moved.items()
            return SlotBaseline(self.view(s), r)
        w, d = self.at(moved)
        a, dd = self.terms(w, d)
        return DenseBaseline(a, np.where(self.has_collateral, dd, 0.0), self.slack, self.masks.ids)

    def terms(self, w: F64, d: F64) -> tuple[F64, F64]:
        """Bound terms ``(a, d)`` from linear sums."""
        return w * self.scale, d * (1.0 + ROUNDING)

    def terms_exact(self, h: Health) -> tuple[F64, F64]:
        """Bound terms from exact (floored) sums: ``w`` floored is below the linear one, ``d`` less than
        ``R`` units below."""
        return h.w * self.scale, h.d + self.book.market.size


def followed(a: F64, d: F64, slack: float, limit: F64) -> Bool:
    """Accounts that can enter the watch set while the price ratios over their slots keep a spread (max/min)
    within ``limit`` of the post-shock prices and ``rho_max >= GUARD``."""
    out: Bool = (d > 0) & (a / limit - slack / GUARD < d)
    return out


class Baseline:
    """Bound terms ``(a, d)`` of every account at the post-shock prices (``d`` = 0: never liquidatable)."""

    slack: float

    def follow(self, limits: F64) -> tuple[Idx, F64, F64]:
        """The accounts :func:`followed` with ``limits[mask]`` (per exposure mask), with their terms."""
        raise NotImplementedError


class DenseBaseline(Baseline):
    """Terms held for every account."""

    def __init__(self, a: F64, d: F64, slack: float, ids: Idx) -> None:
        self.a, self.d, self.slack, self.ids = a, d, slack, ids

    def follow(self, limits: F64) -> tuple[Idx, F64, F64]:
        """See :class:`Baseline`."""
        rows = np.flatnonzero(followed(self.a, self.d, self.slack, limits[self.ids]))
        return rows, self.a[rows], self.d[rows]


class SlotView:
    """For shocks of one price slot: the accounts it prices (*exposed*) with their sums and that slot's share,
    and the others ordered by the spread at which they must be followed (their terms do not move)."""

    def __init__(self, ex: Exposure, s: int) -> None:
        ws, ds = ex.slot(s)
        exposed = (ws > 0) | (ds > 0)
        live = ex.has_collateral
        self.slack = ex.slack
        self.scale = ex.scale
        self.rows: Idx = np.flatnonzero(exposed)
        self.w0, self.ws = ex.w0[self.rows], ws[self.rows]
        self.d0, self.ds = ex.d0[self.rows], ds[self.rows]
        self.live = live[self.rows]
        self.ids = ex.masks.ids[self.rows]
        other = np.flatnonzero(~exposed & live & (ex.d0 > 0))
        a, d = ex.terms(ex.w0[other], ex.d0[other])
        tau = a / (d + self.slack / GUARD)  # followed iff tau < limit
        oid = ex.masks.ids[other]
        order = np.lexsort((tau, oid))  # by mask, then tau
        self.other: Idx = other[order]
        self.other_a, self.other_d, self.tau = a[order], d[order], tau[order]
        self.starts = np.searchsorted(oid[order], np.arange(ex.masks.count + 1))

    def others(self, limits: F64) -> tuple[Idx, F64, F64]:
        """Unexposed accounts followed at ``limits[mask]``, with their terms."""
        parts = []
        for u in np.flatnonzero(self.starts[1:] > self.starts[:-1]).tolist():
            lo, hi = int(self.starts[u]), int(self.starts[u + 1])
            k = int(np.searchsorted(self.tau[lo:hi], limits[u], side="left"))
            if k:
                parts.append(np.arange(lo, lo + k))
        at = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        return self.other[at], self.other_a[at], self.other_d[at]


class SlotBaseline(Baseline):
    """Terms when one slot's price moved by ``ratio`` (see :class:`SlotView`)."""

    def __init__(self, view: SlotView, ratio: float) -> None:
        self.v, self.slack = view, view.slack
        w = np.maximum(view.w0 + (ratio - 1.0) * view.ws, 0.0)
        d = np.maximum(view.d0 + (ratio - 1.0) * view.ds, 0.0)
        self.a = w * view.scale
        self.d = np.where(view.live, d * (1.0 + ROUNDING), 0.0)

    def follow(self, limits: F64) -> tuple[Idx, F64, F64]:
        """See :class:`Baseline`."""
        v = self.v
        mine = np.flatnonzero(followed(self.a, self.d, self.slack, limits[v.ids]))
        rows, a, d = v.others(limits)
        # unsorted rows: gathers in random order cost about the same as sorted ones here, a merge more
        return (
            np.concatenate([v.rows[mine], rows]),
            np.concatenate([self.a[mine], a]),
            np.concatenate([self.d[mine], d]),
        )


def linear_sums(
    book: CascadeBook, c: F64, d: F64, emode: I64, prices: F64, members: dict[int, Idx] | None = None
) -> tuple[F64, F64]:
    """``w`` and ``d`` of the columns of ``c`` / ``d`` (accounts in categories ``emode``, whose columns per
    category ``members`` may give) at slot ``prices``."""
    m = book.market
    up = prices[m.slot_of[0]] / m.units
    w: F64 = (m.lt * up) @ c
    debt: F64 = up @ d
    for cid in m.differing:
        rows = members.get(cid, np.zeros(0, dtype=np.intp)) if members is not None else np.flatnonzero(emode == cid)
        if rows.size:
            upc = prices[m.slot_of[cid]] / m.units
            w[rows] = (m.lt_of[cid] * upc) @ c[:, rows]
            debt[rows] = upc @ d[:, rows]
    return w, debt


def may_liquidate(a: F64, d: F64, slack: float, rho_min: F64 | float, rho_max: F64 | float) -> Bool:
    """True where the HF bound at prices ``rho`` times the reference ones is below 1 (debt required)."""
    out: Bool = (d > 0) & (a * rho_min - slack < d * rho_max)
    return out
