"""The engine's view of a market: reserve parameters as arrays, price slots, and account balances as floats.

Column ``j`` of every per-reserve array is reserve ``j``. Prices live in *slots*: slot ``j < R`` is reserve
``j``'s oracle price; further slots are e-mode price sources that are not reserves. An account in e-mode
category ``c`` reads reserve ``j`` through ``slot_of[c][j]`` with threshold ``lt_of[c][j]`` and bonus
``bonus_of[c][j]``, as ``GenericLogic`` and ``LiquidationLogic`` v3.0 do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import Book, MarketInputs
from monitor.protocols.aave_v3.book.inputs import normalize_address

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Idx = NDArray[np.intp]


@dataclass(frozen=True)
class Category:
    """One e-mode category as the engine uses it (``source`` is a price-slot index or -1)."""

    category_id: int
    liquidation_threshold: int
    liquidation_bonus: int
    source: int


class RiskMarket:
    """Reserve parameters and oracle prices of one market, as numpy vectors (see the module docstring)."""

    def __init__(self, market: MarketInputs) -> None:
        if not isinstance(market, MarketInputs):
            raise DataError("RiskMarket needs MarketInputs")
        res = market.reserves
        self.inputs = market
        self.assets: tuple[str, ...] = tuple(r.asset for r in res)
        self.symbols: tuple[str, ...] = tuple(r.symbol for r in res)
        self.size = len(res)
        self.column: dict[str, int] = {a: j for j, a in enumerate(self.assets)}
        self.decimals: tuple[int, ...] = tuple(r.decimals for r in res)
        self.units: F64 = np.array([10.0**r.decimals for r in res])
        self.lt: F64 = np.array([float(r.liquidation_threshold) for r in res])
        self.bonus: F64 = np.array([float(r.liquidation_bonus) for r in res])
        self.protocol_fee: F64 = np.array([float(r.liquidation_protocol_fee) for r in res])
        self.category: I64 = np.array([r.emode_category for r in res], dtype=np.int64)
        sources = sorted({a for a in market.source_prices if a not in self.column})
        #: Every priced address, slot order: reserves first, then extra e-mode price sources.
        self.slots: tuple[str, ...] = (*self.assets, *sources)
        self.slot: dict[str, int] = {a: s for s, a in enumerate(self.slots)}
        all_prices = market.prices()
        #: Oracle prices (8 decimals) per slot, as exact integers in float64.
        self.prices: F64 = np.array([float(all_prices[a]) for a in self.slots])
        #: Tie-break of the liquidator's choice: a larger symbol wins a tie (max over (value, symbol)).
        order = sorted(range(self.size), key=lambda j: self.symbols[j])
        self.symbol_rank: I64 = np.empty(self.size, dtype=np.int64)
        self.symbol_rank[order] = np.arange(self.size)
        self.categories: dict[int, Category] = {}
        self.slot_of: dict[int, Idx] = {0: np.arange(self.size, dtype=np.intp)}
        self.lt_of: dict[int, F64] = {0: self.lt}
        self.bonus_of: dict[int, F64] = {0: self.bonus}
        for c in market.emode_categories:
            src = self.slot[c.price_source] if c.has_price_source else -1
            self.categories[c.category_id] = Category(c.category_id, c.liquidation_threshold, c.liquidation_bonus, src)
            members = self.category == c.category_id
            slots = np.arange(self.size, dtype=np.intp)
            if src >= 0:
                slots[members] = src
            self.slot_of[c.category_id] = slots
            self.lt_of[c.category_id] = np.where(members, float(c.liquidation_threshold), self.lt)
            self.bonus_of[c.category_id] = np.where(members, float(c.liquidation_bonus), self.bonus)
        #: Categories whose members see other thresholds, bonuses or prices than category 0.
        self.differing: tuple[int, ...] = tuple(c for c in self.categories if np.any(self.category == c))
        #: Lookups by (category id, reserve): price slot, threshold and bonus (rows of unknown ids = category 0).
        self.slot_table: NDArray[np.intp] = np.tile(np.arange(self.size, dtype=np.intp), (256, 1))
        self.lt_table: F64 = np.tile(self.lt, (256, 1))
        self.bonus_table: F64 = np.tile(self.bonus, (256, 1))
        for cid in self.categories:
            self.slot_table[cid] = self.slot_of[cid]
            self.lt_table[cid] = self.lt_of[cid]
            self.bonus_table[cid] = self.bonus_of[cid]
        #: The same, flattened: index ``category * R + reserve``.
        self.slot_flat: NDArray[np.intp] = self.slot_table.ravel()
        self.bonus_flat: F64 = self.bonus_table.ravel()

    @property
    def n_slots(self) -> int:
        """Number of price slots."""
        return len(self.slots)

    def differs(self, category_id: int) -> bool:
        """True when accounts of ``category_id`` see other thresholds, bonuses or prices than category 0."""
        return category_id in self.differing

    def resolve(self, asset: str) -> str:
        """A reserve or price-source address from an address or a reserve symbol (case-insensitive)."""
        key = asset.strip()
        if key.lower() in self.slot:
            return key.lower()
        hits = [a for a, s in zip(self.assets, self.symbols, strict=True) if s.lower() == key.lower()]
        if len(hits) == 1:
            return hits[0]
        known = ", ".join(self.symbols)
        raise DataError(f"unknown asset {asset!r}: not a reserve symbol ({known}) nor a priced address of the market")

    def usd(self, slot_prices: F64) -> dict[str, float]:
        """``{address: USD}`` of the reserve prices in a slot-price vector."""
        return {a: float(slot_prices[j]) / 1e8 for j, a in enumerate(self.assets)}


@dataclass(frozen=True, eq=False)
class CascadeBook:
    """A market and its accounts' balances: ``collateral`` / ``debt`` are ``(reserves, accounts)`` float64 in
    token units (collateral only where it counts: flag set and LT > 0; debt = variable + stable)."""

    market: RiskMarket
    collateral: F64
    debt: F64
    emode: I64
    addresses: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        r = self.market.size
        c = np.ascontiguousarray(self.collateral, dtype=np.float64)
        d = np.ascontiguousarray(self.debt, dtype=np.float64)
        e = np.ascontiguousarray(self.emode, dtype=np.int64).reshape(-1)
        n = e.size
        if c.shape != (r, n) or d.shape != (r, n):
            raise DataError(f"collateral {c.shape} and debt {d.shape} must be (reserves={r}, accounts={n})")
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(d))) or (c.size and (c.min() < 0 or d.min() < 0)):
            raise DataError("balances must be finite and non-negative")
        unknown = set(np.unique(e).tolist()) - {0, *self.market.categories}
        if unknown:
            raise DataError(f"accounts in e-mode categories {sorted(unknown)} unknown to the market")
        if self.addresses and len(self.addresses) != n:
            raise DataError(f"{len(self.addresses)} addresses for {n} accounts")
        object.__setattr__(self, "collateral", c)
        object.__setattr__(self, "debt", d)
        object.__setattr__(self, "emode", e)

    def __len__(self) -> int:
        return int(self.emode.size)

    @classmethod
    def from_book(cls, book: Book) -> CascadeBook:
        """The balances of every account of a health-factor book, at its prices and indexes."""
        arr = book.arrays()
        return cls(
            market=RiskMarket(book.market),
            collateral=np.array(arr.fc, dtype=np.float64),
            debt=np.array(arr.fd, dtype=np.float64),
            emode=np.array(arr.emode, dtype=np.int64),
            addresses=tuple(arr.addresses),
        )

    @classmethod
    def from_arrays(
        cls,
        market: MarketInputs | RiskMarket,
        collateral: F64,
        debt: F64,
        emode: Sequence[int] | I64 | None = None,
        addresses: Sequence[str] = (),
    ) -> CascadeBook:
        """A book from ``(reserves, accounts)`` balance arrays in token units (synthetic markets, benchmarks)."""
        rm = market if isinstance(market, RiskMarket) else RiskMarket(market)
        c = np.asarray(collateral, dtype=np.float64)
        n = c.shape[1] if c.ndim == 2 else 0
        em = np.zeros(n, dtype=np.int64) if emode is None else np.asarray(emode, dtype=np.int64)
        addrs = tuple(normalize_address(a, "account address") for a in addresses)
        return cls(rm, c, np.asarray(debt, dtype=np.float64), em, addrs)


def resolve_shocks(market: RiskMarket, shocks: Mapping[str, float]) -> dict[int, float]:
    """``{asset or symbol: change}`` -> ``{slot: change}``; an asset named twice is an error."""
    out: dict[int, float] = {}
    for name, change in shocks.items():
        slot = market.slot[market.resolve(name)]
        if slot in out:
            raise DataError(f"asset {market.slots[slot]} is shocked twice")
        out[slot] = change
    return out
