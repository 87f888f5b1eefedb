"""The immutable per-block result of one market, and what it is made of (pure: plain data, floats out).

Everything here is computed once per block. The collector and the alert rules never touch a book or the chain:
a scrape costs no computation beyond formatting. Nothing here knows a protocol: a market's figures come through
:class:`~monitor.protocols.base.HealthFigures`, its prices through :class:`~monitor.protocols.base.PriceSource`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol

import numpy as np

from monitor.dex import pair_depth
from monitor.dex.depth import DepthLevels
from monitor.dex.pool import PoolState
from monitor.protocols.base import AT_RISK_DROPS, RiskyAccount
from monitor.risk.buffers import Coverage, coverage
from monitor.risk.model import RiskInput

__all__ = ["AT_RISK_DROPS", "RiskyAccount"]  # re-exported: the exporters' tests build results from them

Status = Literal["ok", "errored", "stale", "starting"]
DEPTH_MOVES = (0.02, 0.05, 0.1)  # DEX depth levels exported as labels
PEG_BAND = 0.01  # two tokens priced within 1% of each other: neither is the other's quote


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
class ScenarioRound:
    """One round of a projected cascade (round 0: right after the shock, before any liquidation)."""

    round: int
    accounts_liquidated: int
    debt_repaid_usd: float  # in this round
    bad_debt_usd: float  # new bad debt so far, at this round's prices
    prices_usd: Mapping[str, float]  # symbol -> oracle price after the round, for the assets the cascade moves
    seconds: float = 0.0  # after the shock (monitor.risk.clock)


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
    path: tuple[ScenarioRound, ...] = ()  # round by round (round 0 first)
    deficit_usd_by_reserve: Mapping[str, float] = field(default_factory=dict)  # symbol -> new deficit (Aave v3.3+)
    # lending market id -> bad debt written off against its lenders' supply (Morpho Blue; empty where a protocol
    # has no such markets)
    lender_loss_usd: Mapping[str, float] = field(default_factory=dict)
    # time (monitor.risk.clock): seconds from the shock to the last round; debt repaid in the first minute / hour
    duration_seconds: float = 0.0
    liquidated_first_minute_usd: float = 0.0
    liquidated_first_hour_usd: float = 0.0
    dust_debt_usd: float = 0.0  # debt left liquidatable but not worth liquidating (gas, minimum profit)


@dataclass(frozen=True)
class Projections:
    """Scenario projections and critical shocks of one block."""

    scenarios: tuple[ScenarioSummary, ...] = ()
    critical_shocks: dict[str, float | None] | None = None
    critical_block: int | None = None  # the block the critical shocks were swept at (an earlier one, often)
    lookahead_accounts: int = 0  # accounts liquidatable once the pending oracle updates land, beyond those now
    lookahead_debt_usd: float = 0.0  # their debt


class Projector(Protocol):
    """Runs the cascade projections of one market (CPU work, called in a worker thread): ``risk_input`` is what
    the market's view hands the engine (:meth:`~monitor.protocols.base.MarketView.risk_input`)."""

    def __call__(self, block: int, risk_input: RiskInput, pools: dict[str, PoolState], /) -> Projections: ...


def no_projections(block: int, risk_input: RiskInput, pools: dict[str, PoolState]) -> Projections:
    """A projector that projects nothing (used when no scenario or sweep is configured)."""
    return Projections()


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
    reserve_deficit_usd: Mapping[str, float] = field(default_factory=dict)  # symbol -> getReserveDeficit, USD
    protocol: str = ""  # the market's protocol (config key), a label of the health-factor distribution
    critical_shocks_block: int | None = None  # block the critical shocks were swept at (the sweep runs behind)
    buffers_usd: Mapping[str, float] = field(default_factory=dict)  # loss-bearing unit -> what absorbs its loss
    # accounts (and their debt) liquidatable once the oracles take the prices the pools already show (the
    # update that has not landed yet), beyond those liquidatable now
    lookahead_liquidatable_accounts: int = 0
    lookahead_liquidatable_debt_usd: float = 0.0
    # lending markets of the entry left out of this block's figures (their own oracle or IRM failed), id -> why;
    # None where the protocol has no such markets (Aave)
    unpriced_markets: Mapping[str, str] | None = None

    def scenario_buffers(self, scenario: ScenarioSummary) -> dict[str, Coverage]:
        """Per loss-bearing unit (reserve symbol, lending market id), its buffer against the scenario's loss
        there: the deficit written off now plus the new deficit or lenders' loss the scenario projects."""
        new_loss = {**scenario.deficit_usd_by_reserve, **scenario.lender_loss_usd}
        return coverage(self.buffers_usd, self.reserve_deficit_usd, new_loss)

    def data_age_s(self, now: float | None = None) -> float:
        """Seconds since the block was mined."""
        return max((time.time() if now is None else now) - self.block_timestamp, 0.0)


BLOCK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # seconds, block processing


@dataclass(frozen=True)
class ProcessingTimes:
    """Histogram of block processing times (block seen -> result ready) of the successful cycles."""

    bucket_counts: tuple[int, ...] = (0,) * len(BLOCK_BUCKETS)  # cycles at or under each bucket's bound
    count: int = 0
    sum_s: float = 0.0

    def observe(self, seconds: float) -> ProcessingTimes:
        """A copy with one more cycle of ``seconds``."""
        counts = tuple(n + (seconds <= bound) for n, bound in zip(self.bucket_counts, BLOCK_BUCKETS, strict=True))
        return ProcessingTimes(counts, self.count + 1, self.sum_s + seconds)


@dataclass(frozen=True)
class MarketStatus:
    """The newest result of a market plus how its last cycle went (partial failure is data)."""

    market: str
    status: Status
    result: MarketResult | None
    last_error: str | None = None
    errors_total: int = 0
    cycles_total: int = 0
    processing: ProcessingTimes = field(default_factory=ProcessingTimes)


def pool_summary(address: str, state: PoolState, symbols: Mapping[str, str], usd: Mapping[str, float]) -> PoolSummary:
    """Price and depth of one pool in USD, priced from the market's prices of its tokens (``usd`` by address).

    The pool prices its base side in terms of the other: the dearer token when both are priced (token0 when
    they are within :data:`PEG_BAND` of each other, as in a stablecoin pair), else the one without a price.
    """
    s0, s1 = symbols.get(state.token0, state.token0[:8]), symbols.get(state.token1, state.token1[:8])
    p0, p1 = usd.get(state.token0), usd.get(state.token1)
    raw = (state.sqrt_price_x96 / 2**96) ** 2 * 10**state.decimals0 / 10**state.decimals1  # token1 per token0
    if p1 is not None and (p0 is None or p0 >= p1 * (1.0 - PEG_BAND)):
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
