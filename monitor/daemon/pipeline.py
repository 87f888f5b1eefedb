"""One market's block-driven cycle: indexer -> book -> pools -> projections -> immutable result.

The loop always works on the newest safe block: blocks that arrive while a cycle runs are not queued, the
next cycle simply starts from the head it sees (coalescing). A failed cycle is recorded in the store as data
(status ``errored``, the previous result ages and turns ``stale``) and retried with capped backoff.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from monitor.chain.rpc import RpcClient
from monitor.config import MarketConfig, MonitorConfig
from monitor.daemon.metrics import Metrics
from monitor.daemon.result import MarketResult, PoolSummary, ScenarioSummary, pool_summary, summarise_book
from monitor.daemon.store import ResultStore
from monitor.dex.pool import PoolState
from monitor.errors import MonitorError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.checkpoint import Checkpoint
from monitor.protocols.aave_v3.indexer import MarketIndexer, RefreshResult
from monitor.venues.uniswap_v3 import pool_log_filter, read_pool, refresh_pools

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Projections:
    """Scenario projections and critical shocks of one block."""

    scenarios: tuple[ScenarioSummary, ...] = ()
    critical_shocks: dict[str, float | None] | None = None
    critical_block: int | None = None  # the block the critical shocks were swept at (an earlier one, often)


class Projector(Protocol):
    """Runs the cascade projections on a book and pool states (CPU work, called in a worker thread)."""

    def __call__(self, block: int, book: Book, pools: dict[str, PoolState]) -> Projections: ...


def no_projections(block: int, book: Book, pools: dict[str, PoolState]) -> Projections:
    """A projector that projects nothing (used when no scenario or sweep is configured)."""
    return Projections()


class MarketPipeline:
    """The per-market task."""

    def __init__(
        self,
        cfg: MonitorConfig,
        market: MarketConfig,
        rpc: RpcClient,
        checkpoint: Checkpoint,
        store: ResultStore,
        metrics: Metrics,
        projector: Projector = no_projections,
        on_result: Callable[[MarketResult], Awaitable[None]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.market = market
        self.rpc = rpc
        self.store = store
        self.metrics = metrics
        self.projector = projector
        self.on_result = on_result
        self.indexer = MarketIndexer(rpc, checkpoint, market, confirmations=cfg.chain.confirmations,
                                     poll_interval_s=cfg.chain.poll_interval_s)  # fmt: skip
        self.pools: dict[str, PoolState] | None = None
        self.pool_block: int | None = None
        self.last_block: int | None = None
        self.levels = sorted({r.level for r in cfg.alerts.rules if r.level is not None} | {1.0, 1.05, 1.1})

    async def run(self) -> None:
        """Forever: wait for a new safe block, run a cycle, publish; failures are recorded and retried."""
        failures = 0
        while True:
            try:
                head = await self.rpc.block_number()
                safe = head - self.cfg.chain.confirmations
                if self.last_block is not None and safe <= self.last_block and self._fresh():
                    await asyncio.sleep(self.cfg.chain.poll_interval_s)
                    continue
                seen = time.monotonic()
                result = await self.cycle(seen)
                self.store.publish(result)
                self.metrics.block_seconds.labels(self.market.name).observe(time.monotonic() - seen)
                failures = 0
                if self.on_result is not None:
                    await self.on_result(result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # partial failure is data: the market errs, the process stays up
                failures += 1
                self.store.failed(self.market.name, f"{type(exc).__name__}: {exc}")
                delay = min(self.cfg.chain.poll_interval_s * 2 ** min(failures, 6), 30.0)
                expected = isinstance(exc, MonitorError | aiohttp.ClientError | TimeoutError | OSError)
                log.log(logging.WARNING if expected else logging.ERROR, "market %s: cycle failed (%s: %s); "
                        "retrying in %.1f s", self.market.name, type(exc).__name__, exc, delay,
                        exc_info=not expected)  # fmt: skip
                await asyncio.sleep(delay)

    def _fresh(self) -> bool:
        """False when the stored result errored: then the same block is tried again."""
        status = self.store.statuses().get(self.market.name)
        return status is not None and status.status in ("ok", "stale")

    async def cycle(self, seen: float) -> MarketResult:
        """One refresh at the newest safe block."""
        refresh = await self.indexer.refresh()
        block = refresh.block
        header = await self.rpc.block(block)
        pools = await self._pools(block)
        book = refresh.book
        projections = await asyncio.to_thread(self.projector, block, book, pools)
        result = self._result(refresh, header.timestamp if header else int(time.time()), pools, projections, seen)
        self.last_block = block
        return result

    async def _pools(self, block: int) -> dict[str, PoolState]:
        if self.pools is None or self.pool_block is None:
            self.pools = {p: await read_pool(self.rpc, p, block) for p in self.cfg.dex.pools}
        elif block > self.pool_block:
            logs = await self.rpc.get_logs(pool_log_filter(list(self.pools), self.pool_block + 1, block))
            self.pools = await refresh_pools(self.rpc, self.pools, logs, block)
        elif block < self.pool_block:  # the chain reorganised below our pool reads: read them again
            self.pools = {p: await read_pool(self.rpc, p, block) for p in self.cfg.dex.pools}
        self.pool_block = block
        return self.pools

    def _result(
        self, refresh: RefreshResult, timestamp: int, pools: dict[str, PoolState], proj: Projections, seen: float
    ) -> MarketResult:
        book = refresh.book
        fields = summarise_book(book, self.cfg.book.hf_buckets, self.levels, self.cfg.book.top_n)
        symbols = {r.asset: r.symbol for r in book.market.reserves}
        usd = {r.asset: r.price / 1e8 for r in book.market.reserves}
        summaries = tuple(pool_summary(a, s, symbols, usd) for a, s in pools.items())
        return MarketResult(
            market=self.market.name,
            block=refresh.block,
            block_timestamp=timestamp,
            computed_at=time.time(),
            processing_s=time.monotonic() - seen,
            pools=summaries,
            oracle_dex_deviation=oracle_dex_deviation(summaries, fields["oracle_prices_usd"]),  # type: ignore[arg-type]
            scenarios=proj.scenarios,
            critical_shocks=proj.critical_shocks or {},
            reorg_fork_block=refresh.fork_block,
            critical_shocks_block=proj.critical_block,
            **fields,  # type: ignore[arg-type]
        )


def oracle_dex_deviation(pools: Sequence[PoolSummary], oracle: dict[str, float]) -> dict[str, float]:
    """Per asset, oracle / DEX price - 1 against its deepest pool (by USD depth to move 2% down)."""
    best: dict[str, PoolSummary] = {}
    for p in pools:
        depth = p.depth_down_usd.get(0.02, math.nan)
        cur = best.get(p.base_symbol)
        if cur is None or (math.isfinite(depth) and depth > cur.depth_down_usd.get(0.02, -1.0)):
            best[p.base_symbol] = p
    out = {}
    for symbol, p in best.items():
        if symbol in oracle and p.price_usd > 0 and math.isfinite(p.price_usd):
            out[symbol] = oracle[symbol] / p.price_usd - 1.0
    return out
