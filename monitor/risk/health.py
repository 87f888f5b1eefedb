"""Health factors of many accounts from float balances, with the integer steps of ``GenericLogic`` v3.0.

Per position the base-currency value is floored (``balance * price / 10**decimals``), the average LT is
floored to whole basis points, ``percentMul`` rounds half up, and HF < 1 is ``adjusted < debt`` in base
units. Balances are ``(reserves, accounts)`` arrays; e-mode members are redone with their category's vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.protocols.aave_v3.book.tables import FLOOR_NUDGE
from monitor.risk.market import RiskMarket
from monitor.risk.results import Toxic

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

#: A ratio ``sum(value * LT) / sum(value)`` within this of the next integer is taken as that integer.
AVERAGE_EPS = 1e-7


@dataclass
class Health:
    """Per account: counted collateral ``t``, LT-weighted collateral ``w`` and debt ``d`` (base units, floored
    per position), HF (+inf without debt), and the liquidatable flag (debt and collateral non-zero, HF < 1)."""

    t: F64
    w: F64
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


def members(market: RiskMarket, emode: I64) -> dict[int, Idx]:
    """Positions of the accounts of each category that differs from category 0."""
    if not market.differing or not emode.any():
        return {}
    return {c: rows for c in market.differing if (rows := np.flatnonzero(emode == c)).size}


def _sums(c: F64, d: F64, up: F64, lt: F64) -> tuple[F64, F64, F64]:
    x = np.multiply(c, up[:, None])
    np.floor(x, out=x)
    t: F64 = x.sum(axis=0)
    w: F64 = lt @ x
    np.multiply(d, up[:, None], out=x)
    np.floor(x, out=x)
    return t, w, x.sum(axis=0)


def evaluate(market: RiskMarket, c: F64, d: F64, emode: I64, prices: F64) -> Health:
    """Health of every column of ``c`` / ``d`` (accounts in categories ``emode``) at slot ``prices``."""
    t, w, debt = _sums(c, d, unit_prices(market, prices), market.lt)
    for cid, cols in members(market, emode).items():
        upc, ltc = unit_prices(market, prices, cid), market.lt_of[cid]
        t[cols], w[cols], debt[cols] = _sums(c[:, cols], d[:, cols], upc, ltc)
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
    return Health(t, w, d, hf, liq)


def debt_values(market: RiskMarket, d: F64, emode: I64, prices: F64) -> F64:
    """Per column, the floored debt value in base units (e-mode price sources applied)."""
    out: F64 = np.floor(d * unit_prices(market, prices)[:, None]).sum(axis=0)
    for cid, cols in members(market, emode).items():
        out[cols] = np.floor(d[:, cols] * unit_prices(market, prices, cid)[:, None]).sum(axis=0)
    return out


def toxic(market: RiskMarket, c: F64, emode: I64, h: Health) -> Toxic:
    """Liquidatable accounts with ``LT x bonus > HF`` on some held collateral (columns of ``c`` / ``h``)."""
    at = np.flatnonzero(h.liquidatable)
    held, cat = c[:, at] > 0, emode[at]

    def worst(cid: int, cols: Idx | slice) -> F64:
        edge = market.lt_of[cid] * market.bonus_of[cid] / 1e8
        out: F64 = np.where(held[:, cols], edge[:, None], 0.0).max(axis=0, initial=0.0)
        return out

    edge = worst(0, slice(None))
    for cid, cols in members(market, cat).items():
        edge[cols] = worst(cid, cols)
    tox = edge > h.hf[at]
    sel = at[tox]
    return Toxic(int(sel.size), float(h.d[sel].sum()) / 1e8, float(h.t[sel].sum()) / 1e8)
