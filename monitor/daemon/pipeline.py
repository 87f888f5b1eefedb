"""One market's cycle on a block context: tracker refresh -> figures beside projections -> immutable result.

The pipeline knows no protocol: its tracker (from :mod:`monitor.protocols.registry`) reads the market at the
context's block and returns a view; the figures, price sources and risk input come from that view.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from monitor.config import MonitorConfig
from monitor.daemon.context import BlockContext
from monitor.daemon.result import MarketResult, PoolSummary, Projections, Projector, no_projections, pool_summary
from monitor.errors import ChainError
from monitor.protocols.base import HealthFigures, MarketTracker, MarketView, Refresh
from monitor.risk.model import RiskInput


class MarketPipeline:
    """The cycle of one market: the chain loop refreshes it while it reads the block context, then computes it."""

    def __init__(self, cfg: MonitorConfig, tracker: MarketTracker, projector: Projector = no_projections) -> None:
        self.cfg = cfg
        self.tracker = tracker
        self.projector = projector
        self.levels = sorted({r.level for r in cfg.alerts.rules if r.level is not None} | {1.0, 1.05, 1.1})
        self.last_block: int | None = None
        self.last_risk_input: tuple[int, RiskInput] | None = None  # (block, the engine input) of the last result
        self.last_view: MarketView | None = None  # the view of the last result (its block's buffers and losses)

    @property
    def name(self) -> str:
        """The market's config name."""
        return self.tracker.name

    async def refresh(self, head: int | None = None) -> Refresh:
        """Bring the market to the newest safe block (the reads are pinned to the chain's current head,
        ``head``: given, the reads the refresh can be known to make are asked ahead, all at once)."""
        if head is None:
            return await self.tracker.refresh()
        ahead = asyncio.ensure_future(self.tracker.prefetch(head))
        try:
            return await self.tracker.refresh()
        finally:
            await asyncio.gather(ahead, return_exceptions=True)

    async def compute(self, context: BlockContext, refresh: Refresh) -> MarketResult:
        """The market's result from its refreshed view and the chain's context of the same block."""
        if refresh.view.block != context.block:
            raise ChainError(
                f"market {self.name}: read at block {refresh.view.block}, the chain's context is at {context.block}"
            )
        pools = dict(context.pools)
        view = refresh.view
        risk = view.risk_input()
        # the projections (the engine, on the risk input's own arrays) run in a thread while the book's figures are
        # computed here; nothing mutates the book until the next refresh, which waits for this cycle
        call = functools.partial(contextvars.copy_context().run, self.projector, context.block, risk, pools)
        projecting = asyncio.get_running_loop().run_in_executor(None, call)  # started now, not at the next await
        try:
            figures = view.figures(self.cfg.book.hf_buckets, self.levels, self.cfg.book.top_n)
        except BaseException:
            await asyncio.wait([projecting])
            raise
        projections = await projecting
        result = self._result(context, refresh, figures, projections)
        self.last_block = context.block
        self.last_risk_input = (context.block, risk)
        self.last_view = refresh.view
        return result

    def _result(
        self, context: BlockContext, refresh: Refresh, figures: HealthFigures, projections: Projections
    ) -> MarketResult:
        view: MarketView = refresh.view
        prices = view.price_sources()
        symbols = {p.asset: p.symbol for p in prices.values()}
        usd = {p.asset: p.usd for p in prices.values()}
        summaries = tuple(pool_summary(a, s, symbols, usd) for a, s in context.pools.items())
        oracle_usd = MappingProxyType({p.symbol: p.usd for p in prices.values()})
        return MarketResult(
            market=self.name,
            protocol=view.protocol,
            block=context.block,
            block_timestamp=context.timestamp,
            computed_at=time.time(),
            processing_s=time.monotonic() - context.seen,
            accounts=figures.accounts,
            accounts_with_debt=figures.accounts_with_debt,
            collateral_usd=figures.collateral_usd,
            debt_usd=figures.debt_usd,
            hf_edges=figures.hf_edges,
            hf_counts_cumulative=figures.hf_counts_cumulative,
            hf_debt_cumulative_usd=figures.hf_debt_cumulative_usd,
            liquidatable_accounts=figures.liquidatable_accounts,
            liquidatable_debt_usd=figures.liquidatable_debt_usd,
            toxic_accounts=figures.toxic_accounts,
            collateral_at_risk_usd=figures.collateral_at_risk_usd,
            oracle_prices_usd=oracle_usd,
            oracle_dex_deviation=oracle_dex_deviation(summaries, oracle_usd),
            pools=summaries,
            scenarios=projections.scenarios,
            critical_shocks=projections.critical_shocks or {},
            top_accounts=figures.top_accounts,
            debt_below=figures.debt_below,
            reorg_fork_block=refresh.fork_block,
            reserve_deficit_usd=view.reserve_deficits_usd(),
            critical_shocks_block=projections.critical_block,
            buffers_usd=view.buffers_usd(),
            lookahead_liquidatable_accounts=projections.lookahead_accounts,
            lookahead_liquidatable_debt_usd=projections.lookahead_debt_usd,
            unpriced_markets=view.unpriced_markets(),
        )


def oracle_dex_deviation(pools: Sequence[PoolSummary], oracle: Mapping[str, float]) -> dict[str, float]:
    """Per asset, oracle / DEX price - 1 against its deepest pool (by USD depth to move 2% down)."""
    best: dict[str, PoolSummary] = {}
    for pool in pools:
        depth = pool.depth_down_usd.get(0.02, math.nan)
        current = best.get(pool.base_symbol)
        if current is None or (math.isfinite(depth) and depth > current.depth_down_usd.get(0.02, -1.0)):
            best[pool.base_symbol] = pool
    out = {}
    for symbol, pool in best.items():
        if symbol in oracle and pool.price_usd > 0 and math.isfinite(pool.price_usd):
            out[symbol] = oracle[symbol] / pool.price_usd - 1.0
    return out
