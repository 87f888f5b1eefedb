"""A group of Morpho Blue markets at one block, pure: every borrowing position's exact health and its USD value.

One row per (market id, borrower) with borrow shares > 0. Health is :func:`~.health.health` on the market totals
accrued to the block's timestamp; USD values take the collateral through the market's oracle into loan-token
units (exact, rounded down as Morpho does) and the loan token at its USD price (:class:`MarketAtBlock`).

A market its oracle or IRM could not value at the block (``unpriced``, id -> reason) has no :class:`MarketAtBlock`:
its positions are kept (so they count again once it is priced) but make no row and count in no figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from monitor.protocols.morpho_blue.health import Health, health
from monitor.protocols.morpho_blue.liquidation import liquidation_incentive_factor
from monitor.protocols.morpho_blue.params import MarketState, Position
from monitor.protocols.morpho_blue.reads import MarketSnapshot
from monitor.protocols.morpho_blue.shares import WAD, to_assets_down

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Token:
    """An ERC20 as the book names it."""

    address: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class MarketAtBlock:
    """One market at one block: what was read, its totals accrued to the block's timestamp, its tokens and the
    loan token's USD price with where it comes from."""

    snapshot: MarketSnapshot
    loan: Token
    collateral: Token
    loan_usd: float
    loan_usd_source: str

    @property
    def market_id(self) -> str:
        """The market's id."""
        return self.snapshot.market_id

    @property
    def lltv(self) -> int:
        """Liquidation LTV (WAD)."""
        return self.snapshot.params.lltv

    @property
    def price(self) -> int:
        """The oracle's price: one collateral unit in loan units, scaled 1e36."""
        return self.snapshot.price

    @cached_property
    def accrued(self) -> MarketState:
        """Totals with interest accrued to the block's timestamp."""
        return self.snapshot.accrued()

    @property
    def lif(self) -> int:
        """Liquidation incentive factor (WAD)."""
        return liquidation_incentive_factor(self.lltv)

    @property
    def name(self) -> str:
        """e.g. ``WETH/USDC-86``."""
        return f"{self.collateral.symbol}/{self.loan.symbol}-{self.lltv * 100 / WAD:g}"

    @property
    def collateral_usd(self) -> float:
        """USD per whole collateral token, through the oracle and the loan token's price."""
        return float(self.price / 10**36 * 10**self.collateral.decimals / 10**self.loan.decimals * self.loan_usd)

    def loan_units_usd(self, amount: int) -> float:
        """USD of ``amount`` loan-token units."""
        return float(amount / 10**self.loan.decimals * self.loan_usd)

    def supply_assets(self, supply_shares: int) -> int:
        """A lender's supply in loan-token units (rounded down, as withdrawable)."""
        a = self.accrued
        return to_assets_down(supply_shares, a.total_supply_assets, a.total_supply_shares)


@dataclass(frozen=True)
class Row:
    """One borrowing position: its market, borrower, position and exact health."""

    market_id: str
    address: str
    position: Position
    health: Health
    collateral_usd: float  # collateral value in loan units (oracle, rounded down), in USD
    debt_usd: float

    @property
    def health_factor(self) -> float:
        """maxBorrow / borrowAssets."""
        return self.health.max_borrow / self.health.borrow_assets

    @property
    def ltv(self) -> float:
        """borrowAssets / collateral value (inf when the collateral is worth nothing)."""
        v = self.health.collateral_value
        return self.health.borrow_assets / v if v else float("inf")


@dataclass
class MorphoBook:
    """The configured markets at one block and every position read there (borrowers' and suppliers'); the
    figures cover ``markets`` (the priced ones) only, ``unpriced`` names the others with why."""

    markets: Mapping[str, MarketAtBlock]  # by market id, config order
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)  # (market id, account) -> position
    unpriced: Mapping[str, str] = field(default_factory=dict)  # market id -> why it has no price at this block

    def upsert(self, pairs: Sequence[tuple[str, str]], positions: Sequence[Position]) -> None:
        """Store positions read for ``pairs``."""
        for pair, pos in zip(pairs, positions, strict=True):
            self.positions[pair] = pos

    def remove(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Forget positions (accounts a reorg forgot)."""
        for pair in pairs:
            self.positions.pop(pair, None)

    def with_markets(self, markets: Mapping[str, MarketAtBlock], unpriced: Mapping[str, str]) -> MorphoBook:
        """The same positions under other market reads (a newer block), positions copied."""
        return MorphoBook(markets, dict(self.positions), unpriced)

    @cached_property
    def _rows(self) -> tuple[Row, ...]:
        out = []
        for (mid, user), pos in sorted(self.positions.items()):
            m = self.markets.get(mid)
            if m is None or pos.borrow_shares == 0:
                continue
            h = health(pos, m.accrued, m.price, m.lltv)
            out.append(Row(mid, user, pos, h, m.loan_units_usd(h.collateral_value), m.loan_units_usd(h.borrow_assets)))
        return tuple(out)

    def rows(self) -> tuple[Row, ...]:
        """Every position with borrow shares > 0, by (market id, address). Computed once per book: store
        positions and markets before the first call (the tracker builds a new book per block)."""
        return self._rows

    def riskiest(self, n: int) -> list[Row]:
        """The ``n`` rows with the lowest health factor."""
        return sorted(self.rows(), key=lambda r: (r.health.health_factor_wad, r.market_id, r.address))[:n]

    def accounts(self) -> int:
        """Distinct (market id, account) pairs known in the priced markets, with or without debt."""
        return sum(1 for mid, _ in self.positions if mid in self.markets)

    def supplied(self, market_id: str, supplier: str) -> int:
        """A supplier's assets in a market (0 when it supplies nothing)."""
        pos = self.positions.get((market_id, supplier))
        return self.markets[market_id].supply_assets(pos.supply_shares) if pos else 0
