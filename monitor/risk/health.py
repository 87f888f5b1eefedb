"""Health factors of many accounts from float balances, with the integer steps of ``GenericLogic`` v3.0.

Per position the base-currency value is floored (``balance * price / 10**decimals``), the average LT is
floored to whole basis points, ``percentMul`` rounds half up, and HF < 1 is ``adjusted < debt`` in base
units. Balances are ``(reserves, accounts)`` arrays; e-mode members are redone with their category's vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.book.tables import FLOOR_NUDGE
from monitor.risk.market import RiskMarket

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

#: A ratio ``sum(value * LT) / sum(value)`` within this of the next integer is taken as that integer.
AVERAGE_EPS = 1e-7


@dataclass
class Health:
    """Per account: counted collateral ``t`` and debt ``d`` (base units), HF (+inf without debt), and the
    liquidatable flag (debt and collateral both non-zero, HF < 1)."""

    t: F64
    d: F64
    hf: F64
    liquidatable: Bool


def unit_prices(market: RiskMarket, prices: F64, category: int = 0) -> F64:
    """Nudged ``price / 10**decimals`` per reserve as an account of ``category`` sees it."""
    out: F64 = prices[market.slot_of[category]] / market.units * FLOOR_NUDGE
    return out


def own_unit_prices(market: RiskMarket, prices: F64) -> F64:
    """Nudged unit prices at each reserve's own oracle price (what a liquidator's bot ranks by)."""
    out: F64 = prices[: market.size] / market.units * FLOOR_NUDGE
    return out


def _sums(c: F64, d: F64, up: F64, lt: F64) -> tuple[F64, F64, F64]:
    x = c * up[:, None]
    np.floor(x, out=x)
    t = x.sum(axis=0)
    w: F64 = lt @ x
    y = d * up[:, None]
    np.floor(y, out=y)
    return t, w, y.sum(axis=0)


def evaluate(market: RiskMarket, c: F64, d: F64, groups: Mapping[int, Idx], prices: F64) -> Health:
    """Health of every column of ``c`` / ``d`` at slot ``prices``; ``groups`` lists e-mode members by category."""
    t, w, debt = _sums(c, d, unit_prices(market, prices), market.lt)
    for cid, rows in groups.items():
        if rows.size and market.differs(cid):
            t[rows], w[rows], debt[rows] = _sums(
                c[:, rows], d[:, rows], unit_prices(market, prices, cid), market.lt_of[cid]
            )
    return health_from_sums(t, w, debt)


def health_from_sums(t: F64, w: F64, d: F64) -> Health:
    """HF from counted collateral, LT-weighted collateral and debt (base units)."""
    has_coll = t > 0
    # Branch: the average LT is 0 without collateral, else floor(sum(value * LT) / total).
    avg = np.where(has_coll, np.floor(w / np.where(has_coll, t, 1.0) + AVERAGE_EPS), 0.0)
    adjusted = np.floor((t * avg + 5000.0) / 10_000.0)
    has_debt = d > 0
    # Branch: HF = adjusted / debt, or +inf (uint max) without debt.
    hf: F64 = np.where(has_debt, adjusted / np.where(has_debt, d, 1.0), np.inf)
    liq: Bool = has_debt & has_coll & (adjusted < d)
    return Health(t, d, hf, liq)


def category_groups(emode: NDArray[np.int64]) -> dict[int, Idx]:
    """Positions per non-zero e-mode category in ``emode``."""
    return {int(c): np.flatnonzero(emode == c) for c in np.unique(emode).tolist() if c != 0}
