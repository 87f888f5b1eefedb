"""Dust: accounts left liquidatable at the end of a cascade because no liquidator would gain from them.

With gas and a minimum profit (:class:`~monitor.risk.params.ModelParams`), a position whose liquidation pays less
than its gas plus the minimum profit is never liquidated: it stays, and as prices fall it may end under water.
:func:`dust` reports the accounts liquidatable at the final prices whose call would succeed but is not worth
sending: their number, their whole debt, and the part of it their collateral does not cover (that part is
already in the result's ``shortfall_usd``; what is left with no collateral at all is bad debt, not dust).
Accounts the model leaves for other reasons (a reverting call, the round limit, the horizon) are in
``unliquidated_*`` only. Without gas or a minimum profit there is no dust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from monitor.risk.model import Batch

if TYPE_CHECKING:
    from monitor.risk.rounds import Run


@dataclass(frozen=True)
class Dust:
    """Liquidatable accounts not worth liquidating at the end of a cascade (USD at the final prices)."""

    accounts: int = 0
    debt_usd: float = 0.0
    shortfall_usd: float = 0.0  # debt minus collateral where negative: part of the cascade's shortfall
    # the dust accounts' book rows and each one's debt, USD (what a system splits by market)
    rows: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=np.intp), repr=False, compare=False)
    debt_usd_by_row: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)


def dust(run: Run) -> Dust:
    """The dust of a finished run: its last look at the liquidatable accounts, priced as its liquidators do."""
    p = run.params
    if not p.profit_filter or run.last_screen is None:
        return Dust()
    watch, c, d, h = run.last_screen
    liq = np.flatnonzero(h.liquidatable)
    if liq.size == 0:
        return Dust()
    m = run.m
    batch = Batch(c[:, liq], d[:, liq], run.book.risk_class[watch[liq]], h.take(liq), run.prices)
    out = run.model.liquidate(m, batch, np.full(liq.size, np.inf))
    jc, jd = out.collateral_asset, out.debt_asset
    own_c = run.prices[jc] / m.units[jc] / m.price_unit
    own_d = run.prices[jd] / m.units[jd] / m.price_unit
    profit = out.received * own_c - out.debt * own_d - run.gas_usd()
    small = out.ok & (profit < p.min_profit_usd)
    debt, counted = h.d[liq][small], h.t[liq][small]
    return Dust(
        accounts=int(np.count_nonzero(small)),
        debt_usd=float(debt.sum()) / m.price_unit,
        shortfall_usd=float(np.maximum(debt - counted, 0.0).sum()) / m.price_unit,
        rows=np.asarray(watch[liq][small], dtype=np.intp),
        debt_usd_by_row=np.asarray(debt, dtype=np.float64) / m.price_unit,
    )
