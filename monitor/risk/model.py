"""What the engine asks of a protocol: its exact health check and its liquidation rules (:class:`LiquidationModel`).

The engine (screening, watch sets, rounds, sales, oracles) is protocol-neutral; a protocol package supplies one
model object per market. A model works on columns of the neutral table (:mod:`monitor.risk.market`): balances
``(assets, k)`` in token units, each column's risk class, and slot prices in the market's price unit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import NDArray

from monitor.risk.health import Health
from monitor.risk.market import CascadeBook, RiskMarket

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]


@dataclass(frozen=True)
class Floors:
    """How far a model's exact sums can fall below the linear ones (``sum(balance * price * LT)`` and
    ``sum(balance * price)``), for the screening bound of :mod:`monitor.risk.screen`: the LT-weighted collateral
    loses at most the share ``relative`` plus ``slack`` price units, the debt at most ``debt_slack`` units."""

    relative: float
    slack: float
    debt_slack: float


@dataclass(frozen=True)
class Batch:
    """The accounts of a round the model liquidates: balances ``c`` / ``d`` ``(assets, k)``, their risk
    classes, their health at the round's ``prices`` (slot prices)."""

    c: F64
    d: F64
    risk_class: I64
    health: Health
    prices: F64

    def take(self, cols: Idx) -> Batch:
        """The batch of columns ``cols`` only."""
        return Batch(self.c[:, cols], self.d[:, cols], self.risk_class[cols], self.health.take(cols), self.prices)


@dataclass
class Liquidations:
    """Per account of a batch, one liquidation as the protocol executes it: the collateral and debt assets,
    collateral taken from the account (protocol fee included), debt repaid, protocol fee, collateral the
    liquidator receives (token units), whether the whole collateral balance was taken, whether the call
    succeeds, and whether no collateral is left so the protocol writes the remaining debt off (deficit)."""

    collateral_asset: Idx
    debt_asset: Idx
    collateral: F64
    debt: F64
    fee: F64
    received: F64
    capped: Bool
    ok: Bool
    write_off: Bool

    def replace(self, at: Idx, other: Liquidations) -> None:
        """Overwrite positions ``at`` with ``other`` (one row per position of ``at``)."""
        for f in fields(self):
            getattr(self, f.name)[at] = getattr(other, f.name)


class LiquidationModel(ABC):
    """A protocol's exact health check and liquidation rules, for the engine."""

    #: A short label of the rules (reported in the results).
    rules: str

    @abstractmethod
    def health(self, market: RiskMarket, c: F64, d: F64, risk_class: I64, prices: F64) -> Health:
        """Exact health of every column of ``c`` / ``d`` at slot ``prices`` (price units)."""

    @abstractmethod
    def floors(self, market: RiskMarket) -> Floors:
        """How far :meth:`health`'s sums fall below the linear ones (for screening)."""

    @abstractmethod
    def liquidate(self, market: RiskMarket, batch: Batch, cover_cap: F64) -> Liquidations:
        """One liquidation per column of ``batch`` as a liquidator sends it, repaying at most ``cover_cap``
        (token units of the debt asset; ``inf``: as much as the protocol allows)."""


@dataclass(frozen=True)
class RiskInput:
    """What the engine projects one market from: its neutral risk table and the protocol's liquidation model;
    ``lender_supply_usd``: the risk classes whose write-offs fall on their own lenders (isolated lending markets,
    e.g. Morpho Blue's), each with its lenders' supply in USD (empty: the protocol has none)."""

    book: CascadeBook
    model: LiquidationModel
    lender_supply_usd: Mapping[str, float] = field(default_factory=dict)
