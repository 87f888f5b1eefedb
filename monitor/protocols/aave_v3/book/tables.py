"""Columnar, immutable view of a market (reserves x parameters) with the current prices and indexes.

Column ``j`` of every per-reserve array is ``market.reserves[j]``. Float helpers give the per-category price
and liquidation-threshold vectors the float path multiplies balances by.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.inputs import EModeCategoryInput, MarketInputs, check_uint, normalize_address

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Unit prices are nudged up by this factor so that ``floor(balance * price / unit)`` in float64 lands on the
#: exact integer when the product is an integer (the float product may fall a few ulps short of it).
FLOOR_NUDGE = 1.0 + 2.0**-50


class MarketTables:
    """Per-reserve arrays, e-mode categories and the oracle price of every priced address."""

    def __init__(self, market: MarketInputs) -> None:
        self.market = market
        res = market.reserves
        self.assets: tuple[str, ...] = tuple(r.asset for r in res)
        self.column: dict[str, int] = {a: j for j, a in enumerate(self.assets)}
        self.size = len(res)
        self.ids: I64 = np.array([r.reserve_id for r in res], dtype=np.int64)
        self.column_of_id: dict[int, int] = {r.reserve_id: j for j, r in enumerate(res)}
        self.units: tuple[int, ...] = tuple(10**r.decimals for r in res)
        self.unit_f: F64 = np.array([float(u) for u in self.units])
        self.lt: I64 = np.array([r.liquidation_threshold for r in res], dtype=np.int64)
        self.ltv: I64 = np.array([r.ltv for r in res], dtype=np.int64)
        self.bonus: I64 = np.array([r.liquidation_bonus for r in res], dtype=np.int64)
        self.category: I64 = np.array([r.emode_category for r in res], dtype=np.int64)
        self.income: tuple[int, ...] = tuple(r.normalized_income for r in res)
        self.debt_index: tuple[int, ...] = tuple(r.normalized_variable_debt for r in res)
        self.categories: dict[int, EModeCategoryInput] = {c.category_id: c for c in market.emode_categories}
        self.prices: dict[str, int] = market.prices()
        self.maths: str = market.maths
        self.reserve_prices: tuple[int, ...] = tuple(r.price for r in res)
        bits = 0
        for i in self.ids.tolist():
            bits |= 3 << (2 * i)
        #: User-configuration bits that refer to reserves of this market.
        self.known_bits = bits
        self._lt_vectors: dict[int, F64] = {0: self.lt.astype(np.float64)}
        for cid, cat in self.categories.items():
            vec = self.lt.astype(np.float64)
            vec[self.category_columns(cid)] = float(cat.liquidation_threshold)
            self._lt_vectors[cid] = vec

    # -- e-mode -----------------------------------------------------------------------------------------------

    def category_columns(self, category_id: int) -> NDArray[np.intp]:
        """Columns of the reserves that belong to e-mode category ``category_id`` (none for 0)."""
        if category_id == 0:
            return np.zeros(0, dtype=np.intp)
        cat = self.categories.get(category_id)
        if cat is not None and cat.collateral_bitmap is not None:  # liquid e-mode: the category's own bitmap
            bitmap = cat.collateral_bitmap
            return np.flatnonzero(np.array([(bitmap >> i) & 1 for i in self.ids.tolist()], dtype=bool))
        return np.flatnonzero(self.category == category_id)

    def emode_price(self, category_id: int, prices: Mapping[str, int] | None = None) -> int:
        """The category's price-source price, or 0 when it has none (then assets keep their own price)."""
        cat = self.categories.get(category_id)
        if cat is None or not cat.has_price_source:
            return 0
        return (self.prices if prices is None else prices)[cat.price_source]

    def check_category(self, category_id: int, where: str) -> None:
        """:class:`DataError` unless ``category_id`` is 0 or a configured category."""
        if category_id != 0 and category_id not in self.categories:
            raise DataError(f"{where}: e-mode category {category_id} is not configured in the market")

    # -- float vectors ----------------------------------------------------------------------------------------

    def lt_vector(self, category_id: int) -> F64:
        """Effective liquidation threshold per column for an account in ``category_id``."""
        return self._lt_vectors[category_id]

    def unit_price_vector(self, category_id: int, prices: Mapping[str, int] | None = None) -> F64:
        """Nudged ``price / 10**decimals`` per column, as seen by an account in ``category_id``."""
        p = self.prices if prices is None else prices
        vec = np.array([float(p[a]) for a in self.assets]) / self.unit_f
        source = self.emode_price(category_id, p)
        if source != 0:
            cols = self.category_columns(category_id)
            vec[cols] = float(source) / self.unit_f[cols]
        out: F64 = vec * FLOOR_NUDGE
        return out

    def differs_from_base(self, category_id: int) -> bool:
        """True when an account in ``category_id`` sees other prices or thresholds than category 0."""
        return category_id != 0 and self.category_columns(category_id).size > 0

    # -- updates ----------------------------------------------------------------------------------------------

    def with_prices(self, prices: Mapping[str, int]) -> MarketTables:
        """A copy with some oracle prices replaced (keys: reserve assets or e-mode price sources)."""
        new = dict(self.prices)
        for addr, price in prices.items():
            key = normalize_address(addr, "price address")
            if key not in new:
                raise DataError(f"price for {key}: not a reserve asset nor an e-mode price source of the market")
            new[key] = check_uint(price, f"price of {key}")
        reserves = [dataclasses.replace(r, price=new[r.asset]) for r in self.market.reserves]
        sources = {a: new[a] for a in self.market.source_prices}
        return MarketTables(dataclasses.replace(self.market, reserves=reserves, source_prices=sources))

    def with_indexes(self, indexes: Mapping[str, tuple[int, int]]) -> MarketTables:
        """A copy with ``{asset: (normalized_income, normalized_variable_debt)}`` replaced."""
        wanted = {normalize_address(a, "index asset"): v for a, v in indexes.items()}
        unknown = set(wanted) - set(self.column)
        if unknown:
            raise DataError(f"indexes for unknown reserves: {sorted(unknown)}")
        reserves = []
        for r in self.market.reserves:
            if r.asset in wanted:
                income, debt = wanted[r.asset]
                r = dataclasses.replace(r, normalized_income=income, normalized_variable_debt=debt)
            reserves.append(r)
        return MarketTables(dataclasses.replace(self.market, reserves=reserves))
