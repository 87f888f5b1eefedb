"""Morpho Blue's liquidation rules for the cascade engine (:class:`MorphoBlueLiquidation`), on float columns.

Each market is a risk class (:mod:`~.risk_input`): an account of class ``k`` holds market ``k``'s collateral
and owes its loan token. The market's oracle price follows the engine's slot prices from the price read on
chain: ``price = oracle0 * (collateral / collateral0) / (loan / loan0)`` (exact before any move). Health is
Morpho's: ``maxBorrow = floor(floor(collateral * price / 1e36) * LLTV)``, liquidatable iff ``maxBorrow <
borrowed`` and some collateral is left. The default liquidation, as the on-chain proof runs it: the whole borrow
repaid when the collateral covers ``repaid * LIF / price``, otherwise every unit of collateral seized for
``ceil(ceil(collateral * price / 1e36) / LIF)`` repaid and the rest written off against the market's supply.
No close factor, no protocol fee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.risk.health import Health
from monitor.risk.market import BPS, RiskMarket
from monitor.risk.model import Batch, Floors, LiquidationModel, Liquidations

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
ORACLE_SCALE = 1e36


@dataclass(frozen=True)
class MarketTerms:
    """One market as the model needs it: its columns in the table, LLTV and LIF (fractions), and the oracle
    price read on chain with the slot prices of its two tokens at that time."""

    collateral: int
    loan: int
    lltv: float
    lif: float
    oracle_price: float  # collateral unit in loan units, scaled 1e36
    collateral_price: float  # slot prices when the oracle price was read
    loan_price: float


class MorphoBlueLiquidation(LiquidationModel):
    """Morpho Blue's health check and full liquidations; ``terms[k - 1]`` is the market of risk class ``k``
    (class 0 holds no position)."""

    rules = "morpho-blue"

    def __init__(self, terms: Sequence[MarketTerms]) -> None:
        if not terms:
            raise DataError("a Morpho Blue model needs at least one market")
        first = terms[0]
        rows = [first, *terms]  # class 0 never holds a position: any market's terms do
        self.coll = np.array([t.collateral for t in rows], dtype=np.intp)
        self.loan = np.array([t.loan for t in rows], dtype=np.intp)
        self.lltv = np.array([0.0, *(t.lltv for t in terms)])
        self.lif = np.array([t.lif for t in rows])
        self.oracle0 = np.array([t.oracle_price for t in rows])
        self.coll0 = np.array([t.collateral_price for t in rows])
        self.loan0 = np.array([t.loan_price for t in rows])

    def oracle(self, risk_class: I64, prices: F64) -> F64:
        """Each account's market oracle price (1e36 scale) at slot ``prices``."""
        k = risk_class
        out: F64 = self.oracle0[k] * (prices[self.coll[k]] / self.coll0[k]) / (prices[self.loan[k]] / self.loan0[k])
        return out

    def health(self, market: RiskMarket, c: F64, d: F64, risk_class: I64, prices: F64) -> Health:
        """Morpho's health per column (values in price units at the loan token's price)."""
        k = risk_class
        cols = np.arange(k.size)
        jc, jl = self.coll[k], self.loan[k]
        coll, debt = c[jc, cols], d[jl, cols]
        value = np.floor(coll * self.oracle(k, prices) / ORACLE_SCALE)
        cap = np.floor(value * self.lltv[k])
        unit = prices[jl] / market.units[jl]
        hf = np.where(debt > 0, cap / np.where(debt > 0, debt, 1.0), np.inf)
        return Health(value * unit, cap * unit * BPS, debt * unit, hf, (debt > 0) & (coll > 0) & (cap < debt))

    def floors(self, market: RiskMarket) -> Floors:
        """The oracle's price against the slot prices' (from the read), and two loan units of rounding."""
        linear = self.coll0 / market.units[self.coll] / (self.loan0 / market.units[self.loan]) * ORACLE_SCALE
        ratio = self.oracle0 / linear
        loan_unit = float((self.loan0 / market.units[self.loan]).max())
        return Floors(relative=max(0.0, 1.0 - float(ratio.min())) + 1e-9, slack=4.0 * loan_unit, debt_slack=1.0)

    def liquidate(self, market: RiskMarket, batch: Batch, cover_cap: F64) -> Liquidations:
        """One liquidation per column: repay all (or ``cover_cap``) when the collateral covers it, else seize all."""
        k = batch.risk_class
        cols = np.arange(k.size)
        jc, jl = self.coll[k], self.loan[k]
        coll, debt = batch.c[jc, cols], batch.d[jl, cols]
        price, lif = self.oracle(k, batch.prices), self.lif[k]
        cover = np.minimum(debt, cover_cap)
        need = np.floor(np.floor(cover * lif) * ORACLE_SCALE / price)
        capped = need > coll
        repaid_for_all = np.minimum(np.ceil(np.ceil(coll * price / ORACLE_SCALE) / lif), cover)
        seized = np.where(capped, coll, need)
        repaid = np.where(capped, repaid_for_all, cover)
        ok = (repaid >= 1) & (seized >= 1)
        zero = np.zeros(k.size)
        return Liquidations(jc, jl, seized, repaid, zero, seized, capped, ok, capped & (repaid < debt))
