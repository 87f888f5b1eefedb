"""The engine's neutral risk table: assets with price slots and risk classes, and accounts' balances as floats.

Column ``j`` of every per-asset array is asset ``j``. Prices live in *slots*: slot ``j < R`` is asset ``j``'s
own oracle price; further slots are price sources that are not assets (a class may price its assets through
them). Prices are floats in the market's *price unit* (``price_unit`` of them make one USD); balances are token
units (``10**decimals`` per token).

Every account belongs to one *risk class* (an index into the class tables, class 0 the default): an account of
class ``k`` reads asset ``j`` through price slot ``slot_of[k][j]``, with liquidation threshold ``lt_of[k][j]``
and liquidation bonus ``bonus_of[k][j]`` (basis points, 10,000 = 100%; a threshold of 0 means the asset does
not count as collateral in that class). A protocol maps its own notions onto classes (a lending category, an
isolated market) when it builds the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Idx = NDArray[np.intp]

#: One in basis points (thresholds, bonuses and fee shares).
BPS = 10_000.0
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def check_address(value: object, what: str = "address") -> str:
    """``value`` as a lowercase ``0x`` address, or :class:`DataError`."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise DataError(f"{what} must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value.lower()


@dataclass(frozen=True)
class AssetParams:
    """One asset of the table: address, symbol, decimals, default threshold and bonus (bps), and the share of
    the bonus the protocol keeps (bps of the bonus part)."""

    asset: str
    symbol: str
    decimals: int
    liquidation_threshold: float
    liquidation_bonus: float
    protocol_fee: float = 0.0


@dataclass(frozen=True)
class RiskClass:
    """A risk class other than the default: per asset where it departs from the default, its threshold, bonus
    and price slot name (an asset address or an extra price source; ``None`` keeps the asset's own price)."""

    name: str
    liquidation_threshold: Mapping[str, float] = field(default_factory=dict)
    liquidation_bonus: Mapping[str, float] = field(default_factory=dict)
    price_source: Mapping[str, str] = field(default_factory=dict)


class RiskMarket:
    """Asset parameters, class tables and oracle prices of one market, as numpy vectors (module docstring)."""

    def __init__(
        self,
        assets: Sequence[AssetParams],
        prices: Mapping[str, float],
        price_unit: float,
        classes: Sequence[RiskClass] = (),
    ) -> None:
        if not assets:
            raise DataError("a risk market needs at least one asset")
        if not price_unit > 0:
            raise DataError(f"price_unit must be positive, got {price_unit!r}")
        self.assets: tuple[str, ...] = tuple(check_address(a.asset, "asset address") for a in assets)
        if len(set(self.assets)) != len(self.assets):
            raise DataError("an asset is listed twice")
        self.symbols: tuple[str, ...] = tuple(a.symbol for a in assets)
        self.size = len(assets)
        self.column: dict[str, int] = {a: j for j, a in enumerate(self.assets)}
        self.decimals: tuple[int, ...] = tuple(a.decimals for a in assets)
        self.units: F64 = np.array([10.0**a.decimals for a in assets])
        self.lt: F64 = np.array([float(a.liquidation_threshold) for a in assets])
        self.bonus: F64 = np.array([float(a.liquidation_bonus) for a in assets])
        self.protocol_fee: F64 = np.array([float(a.protocol_fee) for a in assets])
        #: Price units per USD (prices / price_unit = USD).
        self.price_unit = float(price_unit)
        known = {k.lower(): float(v) for k, v in prices.items()}
        missing = [s for a, s in zip(self.assets, self.symbols, strict=True) if a not in known]
        if missing:
            raise DataError(f"no price for {', '.join(missing)}")
        sources = sorted(set(known) - set(self.column))
        #: Every priced address, slot order: assets first, then extra price sources (the other priced addresses).
        self.slots: tuple[str, ...] = (*self.assets, *sources)
        self.slot: dict[str, int] = {a: s for s, a in enumerate(self.slots)}
        for c in classes:
            for src in c.price_source.values():
                if src.lower() not in known:
                    raise DataError(f"risk class {c.name}: no price for its price source {src}")
        #: Oracle prices (price units) per slot.
        self.prices: F64 = np.array([known[a] for a in self.slots])
        #: Tie-break of the liquidator's choice: a larger symbol wins a tie (max over (value, symbol)).
        order = sorted(range(self.size), key=lambda j: self.symbols[j])
        self.symbol_rank: I64 = np.empty(self.size, dtype=np.int64)
        self.symbol_rank[order] = np.arange(self.size)
        #: Asset columns from the largest symbol to the smallest (argmax over them breaks ties the same way).
        self.symbol_order: Idx = np.array(order[::-1], dtype=np.intp)
        #: Class names, index order (0: the default).
        self.class_names: tuple[str, ...] = ("default", *(c.name for c in classes))
        self.slot_of: dict[int, Idx] = {0: np.arange(self.size, dtype=np.intp)}
        self.lt_of: dict[int, F64] = {0: self.lt}
        self.bonus_of: dict[int, F64] = {0: self.bonus}
        for k, c in enumerate(classes, start=1):
            self.lt_of[k] = self._row(c.liquidation_threshold, self.lt, c.name)
            self.bonus_of[k] = self._row(c.liquidation_bonus, self.bonus, c.name)
            slots = np.arange(self.size, dtype=np.intp)
            for a, src in c.price_source.items():
                slots[self._col(a, c.name)] = self.slot[src.lower()]
            self.slot_of[k] = slots
        #: Classes whose accounts see other thresholds, bonuses or prices than the default class.
        self.differing: tuple[int, ...] = tuple(
            k
            for k in range(1, len(self.class_names))
            if not (
                np.array_equal(self.lt_of[k], self.lt)
                and np.array_equal(self.bonus_of[k], self.bonus)
                and np.array_equal(self.slot_of[k], self.slot_of[0])
            )
        )
        #: Lookups by (class, asset): price slot, threshold and bonus.
        self.slot_table: NDArray[np.intp] = np.stack([self.slot_of[k] for k in range(self.n_classes)])
        self.lt_table: F64 = np.stack([self.lt_of[k] for k in range(self.n_classes)])
        self.bonus_table: F64 = np.stack([self.bonus_of[k] for k in range(self.n_classes)])
        #: The same, flattened: index ``class * R + asset``.
        self.slot_flat: NDArray[np.intp] = self.slot_table.ravel()
        self.bonus_flat: F64 = self.bonus_table.ravel()

    def _col(self, asset: str, where: str) -> int:
        j = self.column.get(asset.lower())
        if j is None:
            raise DataError(f"risk class {where}: {asset} is not an asset of the market")
        return j

    def _row(self, values: Mapping[str, float], default: F64, where: str) -> F64:
        row = default.copy()
        for a, v in values.items():
            row[self._col(a, where)] = float(v)
        return row

    @property
    def n_slots(self) -> int:
        """Number of price slots."""
        return len(self.slots)

    @property
    def n_classes(self) -> int:
        """Number of risk classes (the default included)."""
        return len(self.class_names)

    def differs(self, risk_class: int) -> bool:
        """True when accounts of ``risk_class`` see other thresholds, bonuses or prices than the default."""
        return risk_class in self.differing

    def resolve(self, asset: str) -> str:
        """An asset or price-source address from an address or an asset symbol (case-insensitive)."""
        key = asset.strip()
        if key.lower() in self.slot:
            return key.lower()
        hits = [a for a, s in zip(self.assets, self.symbols, strict=True) if s.lower() == key.lower()]
        if len(hits) == 1:
            return hits[0]
        known = ", ".join(self.symbols)
        raise DataError(f"unknown asset {asset!r}: not an asset symbol ({known}) nor a priced address of the market")

    def usd(self, slot_prices: F64) -> dict[str, float]:
        """``{address: USD}`` of the asset prices in a slot-price vector."""
        return {a: float(slot_prices[j]) / self.price_unit for j, a in enumerate(self.assets)}


@dataclass(frozen=True, eq=False)
class CascadeBook:
    """A market and its accounts: ``collateral`` / ``debt`` are ``(assets, accounts)`` float64 in token units
    (collateral only where it counts), ``risk_class`` each account's class index."""

    market: RiskMarket
    collateral: F64
    debt: F64
    risk_class: I64
    addresses: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        r = self.market.size
        c = np.ascontiguousarray(self.collateral, dtype=np.float64)
        d = np.ascontiguousarray(self.debt, dtype=np.float64)
        e = np.ascontiguousarray(self.risk_class, dtype=np.int64).reshape(-1)
        n = e.size
        if c.shape != (r, n) or d.shape != (r, n):
            raise DataError(f"collateral {c.shape} and debt {d.shape} must be (assets={r}, accounts={n})")
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(d))) or (c.size and (c.min() < 0 or d.min() < 0)):
            raise DataError("balances must be finite and non-negative")
        if n and (e.min() < 0 or e.max() >= self.market.n_classes):
            bad = sorted(set(np.unique(e[(e < 0) | (e >= self.market.n_classes)]).tolist()))
            raise DataError(f"accounts in risk classes {bad} unknown to the market ({self.market.n_classes} classes)")
        if self.addresses and len(self.addresses) != n:
            raise DataError(f"{len(self.addresses)} addresses for {n} accounts")
        object.__setattr__(self, "collateral", c)
        object.__setattr__(self, "debt", d)
        object.__setattr__(self, "risk_class", e)

    def __len__(self) -> int:
        return int(self.risk_class.size)

    def take(self, order: NDArray[np.intp]) -> CascadeBook:
        """The accounts ``order`` (a permutation or selection of columns), in that order. The columns of a valid
        book are valid: they are not checked again."""
        out = object.__new__(CascadeBook)
        for name, value in (
            ("market", self.market),
            ("collateral", np.take(self.collateral, order, axis=1)),
            ("debt", np.take(self.debt, order, axis=1)),
            ("risk_class", self.risk_class[order]),
            ("addresses", tuple(self.addresses[i] for i in order.tolist()) if self.addresses else ()),
        ):
            object.__setattr__(out, name, value)
        return out

    @classmethod
    def from_arrays(
        cls,
        market: RiskMarket,
        collateral: F64,
        debt: F64,
        risk_class: Sequence[int] | I64 | None = None,
        addresses: Sequence[str] = (),
    ) -> CascadeBook:
        """A book from ``(assets, accounts)`` balance arrays in token units (synthetic markets, benchmarks)."""
        c = np.asarray(collateral, dtype=np.float64)
        n = c.shape[1] if c.ndim == 2 else 0
        k = np.zeros(n, dtype=np.int64) if risk_class is None else np.asarray(risk_class, dtype=np.int64)
        addrs = tuple(check_address(a, "account address") for a in addresses)
        return cls(market, c, np.asarray(debt, dtype=np.float64), k, addrs)


def resolve_shocks(market: RiskMarket, shocks: Mapping[str, float]) -> dict[int, float]:
    """``{asset or symbol: change}`` -> ``{slot: change}``; an asset named twice is an error."""
    out: dict[int, float] = {}
    for name, change in shocks.items():
        slot = market.slot[market.resolve(name)]
        if slot in out:
            raise DataError(f"asset {market.slots[slot]} is shocked twice")
        out[slot] = change
    return out
