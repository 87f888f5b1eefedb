"""Screening: which accounts can be liquidatable at some prices, without computing every health factor.

Without the protocol's integer floors an account's LT-weighted collateral ``w`` and debt ``d`` (price units) are
linear in the prices. From ``a = w (1 - relative) / 1e4`` and an upper bound ``d`` at reference prices, the exact
HF at prices ``p`` is at least

    (a * rho_min - slack) / (d * rho_max),     rho = p / p_ref over the price slots the account holds,

where ``relative`` and ``slack`` bound what the model's floors take away (:class:`monitor.risk.model.Floors`;
for Aave: < 1 base unit per position, the whole-bps average LT < 1 bps out of at least ``LT_min``,
``percentMul``'s half unit). Accounts where that bound is >= 1 are
certainly not liquidatable and are skipped; the others (the *watch* set) get exact health factors, and those
become their new reference. The bound also holds with ``rho_min`` over its collateral's slots only and ``rho_max``
over its debt's (the sided masks), which picks the watch set; the followed sets take both over every held slot.
The slots an account holds come from its exposure mask (:mod:`monitor.risk.masks`);
``w`` and ``d`` at the market's prices and each price slot's share of them are computed once per book, so the
sums at shocked prices cost a few vector operations."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.health import Health
from monitor.risk.market import BPS, CascadeBook
from monitor.risk.masks import Masks
from monitor.risk.model import LiquidationModel

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

    def __init__(self, book: CascadeBook, model: LiquidationModel) -> None:
        m = book.market
        self.book = book
        self.model = model
        self.members = {c: rows for c in m.differing if (rows := np.flatnonzero(book.risk_class == c)).size}
        floors = model.floors(m)
        #: Largest relative loss of the model's floors on the LT-weighted collateral.
        self.rel = floors.relative
        self.scale = (1.0 - self.rel) * (1.0 - ROUNDING) / BPS
        #: Absolute loss of the floors, price units (see the module docstring).
        self.slack = floors.slack
        self.debt_slack = floors.debt_slack
        self.w0, self.d0 = self._sums(np.ones(m.n_slots))
        self._by_slot: dict[int, tuple[F64, F64]] = {}
        self._has_collateral: Bool | None = None
        #: Per-slot precomputation of single-slot shocks (see :mod:`monitor.risk.baseline`).
        self.views: dict[int, object] = {}
        self.masks = Masks(book)

    def take(self, order: Idx, book: CascadeBook) -> Exposure:
        """The same sums for ``book``: this one's accounts ``order`` (``book`` is ``self.book.take(order)``)."""
        out = object.__new__(Exposure)
        out.book, out.model = book, self.model
        out.rel, out.scale, out.slack, out.debt_slack = self.rel, self.scale, self.slack, self.debt_slack
        out.members = {c: rows for c in book.market.differing if (rows := np.flatnonzero(book.risk_class == c)).size}
        out.w0, out.d0 = self.w0[order], self.d0[order]
        out._by_slot = {s: (w[order], d[order]) for s, (w, d) in self._by_slot.items()}
        out._has_collateral = None if self._has_collateral is None else self._has_collateral[order]
        out.views = {}
        out.masks = self.masks.take(order)
        return out

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

    def terms(self, w: F64, d: F64) -> tuple[F64, F64]:
        """Bound terms ``(a, d)`` from linear sums."""
        return w * self.scale, d * (1.0 + ROUNDING)

    def terms_exact(self, h: Health) -> tuple[F64, F64]:
        """Bound terms from exact (floored) sums: ``w`` floored is below the linear one, ``d`` less than
        ``debt_slack`` units below."""
        return h.w * self.scale, h.d + self.debt_slack


def linear_sums(
    book: CascadeBook, c: F64, d: F64, risk_class: I64, prices: F64, members: dict[int, Idx] | None = None
) -> tuple[F64, F64]:
    """``w`` and ``d`` of the columns of ``c`` / ``d`` (accounts in classes ``risk_class``, whose columns per
    class ``members`` may give) at slot ``prices``."""
    m = book.market
    up = prices[m.slot_of[0]] / m.units
    w: F64 = (m.lt * up) @ c
    debt: F64 = up @ d
    for cid in m.differing:
        none = np.zeros(0, dtype=np.intp)
        rows = members.get(cid, none) if members is not None else np.flatnonzero(risk_class == cid)
        if rows.size:
            upc = prices[m.slot_of[cid]] / m.units
            w[rows] = (m.lt_of[cid] * upc) @ c[:, rows]
            debt[rows] = upc @ d[:, rows]
    return w, debt


def may_liquidate(a: F64, d: F64, slack: float, rho_min: F64 | float, rho_max: F64 | float) -> Bool:
    """True where the HF bound at prices ``rho`` times the reference ones is below 1 (debt required)."""
    out: Bool = (d > 0) & (a * rho_min - slack < d * rho_max)
    return out
