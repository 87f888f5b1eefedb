"""Health of accounts as the engine uses it (:class:`Health`, computed by the protocol's model), unit prices
per risk class, and the toxic-position count.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from monitor.risk.market import BPS, RiskMarket
from monitor.risk.results import Toxic

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

#: ``price / 10**decimals`` times this, then floored, gives the exact integer ``floor(balance * price /
#: 10**decimals)`` for integer balances and prices (float64 rounds the quotient down by up to 2**-52 relative).
FLOOR_NUDGE = 1.0 + 2.0**-50


@dataclass
class Health:
    """Per account: counted collateral ``t``, LT-weighted collateral ``w`` and debt ``d`` (price units), HF
    (+inf without debt), and the liquidatable flag (debt and collateral non-zero, HF < 1)."""

    t: F64
    w: F64
    d: F64
    hf: F64
    liquidatable: Bool

    def take(self, cols: Idx) -> Health:
        """The health of columns ``cols`` only."""
        return Health(*(getattr(self, f.name)[cols] for f in fields(self)))


def unit_prices(market: RiskMarket, prices: F64, risk_class: int = 0) -> F64:
    """Nudged ``price / 10**decimals`` per asset as an account of ``risk_class`` sees it."""
    out: F64 = prices[market.slot_of[risk_class]] / market.units * FLOOR_NUDGE
    return out


def own_unit_prices(market: RiskMarket, prices: F64) -> F64:
    """Nudged unit prices at each asset's own oracle price (what a liquidator's bot ranks by)."""
    out: F64 = prices[: market.size] / market.units * FLOOR_NUDGE
    return out


def members(market: RiskMarket, risk_class: I64) -> dict[int, Idx]:
    """Positions of the accounts of each class that differs from the default class."""
    if not market.differing or not risk_class.any():
        return {}
    return {k: rows for k in market.differing if (rows := np.flatnonzero(risk_class == k)).size}


def toxic(market: RiskMarket, c: F64, risk_class: I64, h: Health) -> Toxic:
    """Liquidatable accounts with ``LT x bonus > HF`` on some held collateral (columns of ``c`` / ``h``)."""
    # an account with HF at or above every edge of its class cannot be toxic: only the others are looked at
    top = max(float((market.lt_of[k] * market.bonus_of[k]).max()) for k in range(market.n_classes)) / (BPS * BPS)
    at = np.flatnonzero(h.liquidatable & (h.hf < top))
    hf, cls = h.hf[at], risk_class[at]

    def any_edge_above(k: int, pos: Idx | slice) -> Bool:
        """Whether some held collateral's edge (class ``k``) is above the HF, asset row by asset row, for the
        accounts ``at[pos]``."""
        edge = market.lt_of[k] * market.bonus_of[k] / (BPS * BPS)
        cols, below = at[pos], hf[pos]
        out = np.zeros(cols.size, dtype=bool)
        for j in np.flatnonzero(edge > 0).tolist():
            out |= (np.take(c[j], cols) > 0) & (below < edge[j])
        return out

    tox = any_edge_above(0, slice(None))
    for k, part in members(market, cls).items():
        tox[part] = any_edge_above(k, part)
    sel = at[tox]
    unit = market.price_unit
    return Toxic(int(sel.size), float(h.d[sel].sum()) / unit, float(h.t[sel].sum()) / unit)
