"""Which accounts a projection must follow: those that can become liquidatable within price bounds.

An account's HF is at least ``sum(collateral * LT * lo) / sum(debt * hi)`` when every price stays within
``[lo, hi]`` (collateral valued at the lowest prices with the smallest LT any category gives the reserve,
debt at the highest). Corrected for the integer floors, accounts whose bound stays >= ``kappa`` can never be
liquidated (nor be toxic: ``kappa >= max(LT x bonus)``) and are left out; the projection checks afterwards
that the prices it visited stayed within the bounds and widens them otherwise. The results are then the same
as following every account.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.market import CascadeBook, RiskMarket

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]


def kappa(market: RiskMarket) -> float:
    """The HF below which an account is either liquidatable or possibly toxic: ``max(1, LT x bonus)``."""
    worst = max(float((market.lt_of[c] * market.bonus_of[c]).max()) / 1e8 for c in market.lt_of)
    return max(1.0, worst)


def _relative_floor_loss(market: RiskMarket) -> float:
    """Largest relative loss of the whole-bps average LT floor: 1 / smallest positive LT."""
    lts = np.concatenate([v[v > 0] for v in market.lt_of.values()])
    return 1.0 / float(lts.min()) if lts.size else 0.0


def coefficients(market: RiskMarket, lo: F64, hi: F64) -> tuple[F64, F64]:
    """Per reserve: the lowest ``LT * price / unit`` and the highest ``price / unit`` any account can see."""
    cc = np.full(market.size, np.inf)
    cd = np.zeros(market.size)
    for cid, slots in market.slot_of.items():
        cc = np.minimum(cc, market.lt_of[cid] * lo[slots] / market.units)
        cd = np.maximum(cd, hi[slots] / market.units)
    return cc, cd


def at_risk(book: CascadeBook, lo: F64, hi: F64) -> Idx:
    """Accounts with debt whose HF can fall below ``kappa`` with prices in ``[lo, hi]`` (sorted)."""
    m = book.market
    cc, cd = coefficients(m, lo, hi)
    a = cc @ book.collateral
    b = cd @ book.debt
    rel = _relative_floor_loss(m)
    # Branch: floors lose < 1 base unit per position (<= 1e4 bps each) and <= 1 bps of the average LT.
    lower = (a - m.size * 1e4) * (1.0 - rel) / 1e4 - 1.0
    out: Idx = np.flatnonzero((b > 0) & (lower < kappa(m) * b))
    return out


class SlotOrder:
    """Accounts ordered by the price of one slot below which they may turn at risk, the other slots held
    within ``[lo, hi]``: the candidates of any lower bound for that slot are a prefix (sweeps)."""

    def __init__(self, book: CascadeBook, slot: int, lo: F64, hi: F64) -> None:
        m = book.market
        self.slot = slot
        self.lo, self.hi = lo.copy(), hi.copy()
        probe = lo.copy()
        probe[slot] = 0.0
        cc_other, cd = coefficients(m, probe, hi)
        unit_lo = lo.copy()
        unit_lo[:] = 0.0
        unit_lo[slot] = 1.0
        cc_slot, _ = coefficients(m, unit_lo, hi)  # LT / unit of the reserves priced by ``slot``, per unit price
        a_other = cc_other @ book.collateral
        a_slot = cc_slot @ book.collateral
        b = cd @ book.debt
        rel = _relative_floor_loss(m)
        scale = (1.0 - rel) / 1e4
        # at-risk iff (a_other + p * a_slot - R * 1e4) * scale - 1 < kappa * b, i.e. p < critical
        need = kappa(m) * b + 1.0 - (a_other - m.size * 1e4) * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            critical = np.where(a_slot > 0, need / (a_slot * scale), np.where(need > 0, np.inf, -np.inf))
        owing = np.flatnonzero(b > 0)
        crit = critical[owing]
        keep = crit > 0
        order = np.argsort(-crit[keep], kind="stable")
        self.rows: Idx = owing[keep][order]
        self.critical: F64 = crit[keep][order]

    def take(self, price_lo: float) -> Idx:
        """Accounts at risk when the slot's price may fall to ``price_lo`` (sorted by row)."""
        count = int(np.searchsorted(-self.critical, -price_lo, side="left"))
        return np.sort(self.rows[:count])

    def covers(self, lo: F64, hi: F64) -> bool:
        """True when bounds ``lo`` / ``hi`` are within this order's (other slots) assumptions."""
        others = np.arange(lo.size) != self.slot
        return bool(np.all(lo[others] >= self.lo[others]) and np.all(hi <= self.hi))
