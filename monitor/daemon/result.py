"""The immutable per-block result of one market, and the store the exporters read it from.

Everything here is plain data computed once per block (pure: numpy in, floats out). The collector and the
alert rules never touch the book or the chain: a scrape costs no computation beyond formatting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np

from monitor.dex import pair_depth
from monitor.dex.depth import DepthLevels
from monitor.dex.pool import PoolState
from monitor.protocols.aave_v3.book import Book

Status = Literal["ok", "errored", "stale", "starting"]
AT_RISK_DROPS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)  # drop levels exported as labels
DEPTH_MOVES = (0.02, 0.05, 0.1)  # DEX depth levels exported as labels


@dataclass(frozen=True)
class PoolSummary:
    """One DEX pool: the USD price of its priced side and depth to move the price down/up by each level."""

    address: str
    pair: str  # e.g. "WETH/USDC 0.05%"
    base_symbol: str  # the asset whose price the pool gives
    price_usd: float
    depth_down_usd: Mapping[float, float]  # selling the base asset until its price is down by the level
    depth_up_usd: Mapping[float, float]  # buying it until up by the level


@dataclass(frozen=True)
class ScenarioSummary:
    """Projection of one shock scenario."""

    name: str
    final_drop: float  # worst final price drop over the shocked assets (share)
    amplification: float  # final drop / initial shock
    debt_repaid_usd: float
    bad_debt_usd: float
    bad_debt_accounts: int
    rounds: int
    accounts_liquidated: int


@dataclass(frozen=True)
class RiskyAccount:
    """One of the bounded top-N riskiest accounts."""

    address: str
    health_factor: float
    debt_usd: float
    collateral_usd: float


@dataclass(frozen=True)
class MarketResult:
    """What the monitor knows of one market at one block."""

    market: str
    block: int
    block_timestamp: int  # unix seconds of the block
    computed_at: float  # unix seconds when this result was ready
    processing_s: float  # block seen -> result ready
    accounts: int
    accounts_with_debt: int
    collateral_usd: float
    debt_usd: float
    hf_edges: tuple[float, ...]
    hf_counts_cumulative: tuple[int, ...]  # accounts with debt and HF < edge, per edge
    hf_debt_cumulative_usd: tuple[float, ...]  # their debt
    liquidatable_accounts: int
    liquidatable_debt_usd: float
    toxic_accounts: int
    collateral_at_risk_usd: Mapping[str, Mapping[float, float]]  # symbol -> drop -> USD (current prices)
    oracle_prices_usd: Mapping[str, float]  # symbol -> price
    oracle_dex_deviation: Mapping[str, float]  # symbol -> oracle / DEX price - 1
    pools: tuple[PoolSummary, ...]
    scenarios: tuple[ScenarioSummary, ...]
    critical_shocks: Mapping[str, float | None]  # symbol -> smallest shock crossing the limits (None: none)
    top_accounts: tuple[RiskyAccount, ...]
    debt_below: Mapping[float, float] = field(default_factory=dict)  # HF level -> debt USD (alert levels)
    reorg_fork_block: int | None = None  # set when this cycle rolled back a reorg to that block
    critical_shocks_block: int | None = None  # block the critical shocks were swept at (the sweep runs behind)

    def data_age_s(self, now: float | None = None) -> float:
        """Seconds since the block was mined."""
        return max((time.time() if now is None else now) - self.block_timestamp, 0.0)


@dataclass(frozen=True)
class MarketStatus:
    """The newest result of a market plus how its last cycle went (partial failure is data)."""

    market: str
    status: Status
    result: MarketResult | None
    last_error: str | None = None
    errors_total: int = 0
    cycles_total: int = 0


def summarise_book(book: Book, edges: Sequence[float], levels: Sequence[float], top_n: int) -> dict[str, object]:
    """The book-derived fields of a :class:`MarketResult`."""
    debt = book.debt_usd()
    coll = book.collateral_usd()
    hf = book.health_factors()
    has_debt = debt > 0
    hf_d = hf[has_debt]
    debt_d = debt[has_debt]
    counts = tuple(int((hf_d < e).sum()) for e in edges)
    debts = tuple(float(debt_d[hf_d < e].sum()) for e in edges)
    liq = book.liquidatable_debt()
    symbols = {r.asset: r.symbol for r in book.market.reserves}
    at_risk: dict[str, Mapping[float, float]] = {}
    for r in book.market.reserves:
        car = book.collateral_at_risk(r.asset, AT_RISK_DROPS)
        at_risk[r.symbol] = MappingProxyType(dict(zip(car.drops, car.collateral_now_usd, strict=True)))
    top = tuple(
        RiskyAccount(a.address, float(a.health_factor), float(a.debt_usd), float(a.collateral_usd))
        for a in book.riskiest(top_n)
    )
    return {
        "accounts": len(book),
        "accounts_with_debt": int(has_debt.sum()),
        "collateral_usd": float(coll.sum()),
        "debt_usd": float(debt.sum()),
        "hf_edges": tuple(edges),
        "hf_counts_cumulative": counts,
        "hf_debt_cumulative_usd": debts,
        "liquidatable_accounts": liq.accounts,
        "liquidatable_debt_usd": float(liq.debt_usd),
        "toxic_accounts": len(book.toxic_accounts()),
        "collateral_at_risk_usd": MappingProxyType(at_risk),
        "oracle_prices_usd": MappingProxyType({symbols[a]: p / 1e8 for a, p in book.prices.items() if a in symbols}),
        "top_accounts": top,
        "debt_below": MappingProxyType({lv: float(debt_d[hf_d < lv].sum()) for lv in levels}),
    }


def pool_summary(address: str, state: PoolState, symbols: Mapping[str, str], usd: Mapping[str, float]) -> PoolSummary:
    """Price and depth of one pool in USD, priced from the oracle prices of its tokens (``usd`` by address)."""
    s0, s1 = symbols.get(state.token0, state.token0[:8]), symbols.get(state.token1, state.token1[:8])
    p0, p1 = usd.get(state.token0), usd.get(state.token1)
    raw = (state.sqrt_price_x96 / 2**96) ** 2 * 10**state.decimals0 / 10**state.decimals1  # token1 per token0
    # the priced side: the non-stable token; with a $1 quote its USD price follows from the pool
    if p1 is not None and (p0 is None or s1 in ("USDC", "USDT", "DAI")):
        base, price = s0, raw * p1
        base_is_0 = True
    elif p0 is not None:
        base, price = s1, p0 / raw if raw > 0 else math.nan
        base_is_0 = False
    else:
        base, price, base_is_0 = s0, math.nan, True
    depth = pair_depth([state], DEPTH_MOVES, usd_price0=p0, usd_price1=p1)
    bid, ask = (depth.bid, depth.ask) if base_is_0 else (depth.ask, depth.bid)
    down = {lv: _usd_level(bid, i) for i, lv in enumerate(DEPTH_MOVES)}
    up = {lv: _usd_level(ask, i) for i, lv in enumerate(DEPTH_MOVES)}
    return PoolSummary(
        address=address,
        pair=f"{base}/{s1 if base_is_0 else s0} {state.fee / 1e4:.2f}%",
        base_symbol=base,
        price_usd=float(price),
        depth_down_usd=MappingProxyType(down),
        depth_up_usd=MappingProxyType(up),
    )


def _usd_level(levels: DepthLevels, i: int) -> float:
    if levels.usd is None:
        return math.nan
    arr = np.asarray(levels.usd, dtype=float)
    return float(arr[i]) if i < arr.size else math.nan
