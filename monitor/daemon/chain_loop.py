"""The block loop of one chain: one block context per new safe block, every market's result computed from it.

The loop always works on the newest safe block: blocks that arrive while a cycle runs are not queued, the
next cycle simply starts from the head it sees (coalescing). A market whose cycle fails is recorded in the
store as data (status ``errored``; its previous result ages and turns ``stale``) and tried again, on a later
context, after a capped backoff of its own: the other markets keep their pace. A failure to read the context
itself (head, header, pools) fails every market due in that cycle. With several markets, once every market has
its result of a block, the configured scenarios are projected on all of them as one cascade (the system result,
:mod:`monitor.daemon.system`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import aiohttp

from monitor.chain.heads import HeadSubscription
from monitor.chain.retry import Backoff
from monitor.config import MonitorConfig
from monitor.daemon.blockreads import BlockReads
from monitor.daemon.context import BlockContext, ChainReader
from monitor.daemon.pipeline import MarketPipeline
from monitor.daemon.result import MarketResult
from monitor.daemon.store import ResultStore
from monitor.daemon.system import MemberBuffers, SystemProjections, system_projections
from monitor.errors import MonitorError
from monitor.params_config import params_from_config
from monitor.protocols.base import Refresh
from monitor.risk.oracles import check_assets
from monitor.risk.system import SystemMember
from monitor.venues.offchain_file import OffchainDepth

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 30.0  # a failed market is tried again after at most this long


class ChainLoop:
    """Every market of one chain, driven block by block from one shared context."""

    def __init__(
        self,
        cfg: MonitorConfig,
        reads: BlockReads,
        pipelines: Sequence[MarketPipeline],
        store: ResultStore,
        on_result: Callable[[MarketResult], Awaitable[None]] | None = None,
        on_system: Callable[[SystemProjections], Awaitable[None]] | None = None,
        offchain: OffchainDepth | None = None,
    ) -> None:
        self.cfg = cfg
        # the system projection's off-chain depth curves (the daemon's, whose file status it exports)
        self.offchain = offchain if offchain is not None else OffchainDepth(cfg.dex)
        self.reader = ChainReader(reads, cfg.dex.pools, cfg.chain.confirmations)
        self.pipelines = {p.name: p for p in pipelines}
        self.store = store
        self.on_result = on_result
        self.on_system = on_system
        self.failures = {name: 0 for name in self.pipelines}
        self.retry_at = {name: 0.0 for name in self.pipelines}
        poll = cfg.chain.poll_interval_s
        self.retry = Backoff(base_s=2 * poll, cap_s=min(64 * poll, MAX_RETRY_DELAY_S), jitter=False)
        self.last_context: BlockContext | None = None
        self.params = params_from_config(cfg)
        self.oracles_checked = False
        ws_url = cfg.chain.head_ws_url
        self.heads = HeadSubscription(ws_url) if ws_url is not None else None

    async def run(self) -> None:
        """Forever: a step; when it computed nothing (no new block, or failures), wait for the next head pushed
        by the node's subscription, or one poll interval at most (all there is without a subscription)."""
        async with asyncio.TaskGroup() as tg:
            if self.heads is not None:
                tg.create_task(self.heads.run(), name="new-heads")
            while True:
                if not await self.step():
                    await self._next_head()

    async def _next_head(self) -> None:
        if self.heads is None:
            await asyncio.sleep(self.cfg.chain.poll_interval_s)
        else:
            await self.heads.wait(self.cfg.chain.poll_interval_s)

    def _pushed_head(self) -> int | None:
        """The newest head the subscription pushed, when it is connected and that head is past the last cycle's
        (then the cycle needs no eth_blockNumber); None: ask the node (no subscription, nothing new pushed, a
        retry at the same head, or the poll after a quiet interval)."""
        heads = self.heads
        if heads is None or not heads.connected or heads.latest is None:
            return None
        last = self.last_context.head if self.last_context is not None else None
        return heads.latest if last is None or heads.latest > last else None

    def _due(self, block: int) -> list[MarketPipeline]:
        """Markets behind ``block``, and errored markets whose backoff is over (same block: tried again)."""
        now = time.monotonic()
        out = []
        for name, pipe in self.pipelines.items():
            if now < self.retry_at[name]:
                continue
            if self.failures[name] or pipe.last_block is None or block > pipe.last_block:
                out.append(pipe)
        return out

    async def step(self) -> list[MarketResult]:
        """One poll: read the head; when a market is due, read the context and run the due markets on it."""
        seen = time.monotonic()
        try:
            head = await self.reader.head(self._pushed_head())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(list(self.pipelines.values()), exc)
            return []
        due = self._due(head - self.cfg.chain.confirmations)
        if not due:
            return []
        # the context (header, pools) and the markets' own reads go out together
        context, *refreshes = await asyncio.gather(
            self.reader.context(head, seen), *(p.refresh(head) for p in due), return_exceptions=True
        )
        _reraise_cancel([context, *refreshes])
        if isinstance(context, BaseException):
            self._failed(due, context)
            return []
        assert isinstance(context, BlockContext)
        ready = [(p, r) for p, r in zip(due, refreshes, strict=True) if isinstance(r, Refresh)]
        for pipe, refresh in zip(due, refreshes, strict=True):
            if isinstance(refresh, BaseException):
                self._failed([pipe], refresh)
        outcomes = await asyncio.gather(*(p.compute(context, r) for p, r in ready), return_exceptions=True)
        _reraise_cancel(outcomes)
        results: list[MarketResult] = []
        for (pipe, _), outcome in zip(ready, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._failed([pipe], outcome)
                continue
            self.failures[pipe.name] = 0
            self.store.publish(outcome)
            results.append(outcome)
        self.last_context = context
        for result in results:
            if self.on_result is not None:
                await self.on_result(result)
        if results:  # after the markets' results are out: the system result never holds them up
            self._check_oracles(context.block)
            await self._system(context)
        return results

    def _check_oracles(self, block: int) -> None:
        """Once every market has a result of one block: the config's ``oracles`` must name assets some market
        lists (ConfigError naming the others, which stops the daemon: a typo would silently change nothing)."""
        if self.oracles_checked:
            return
        latest = [pipe.last_risk_input for pipe in self.pipelines.values()]
        if any(x is None or x[0] != block for x in latest):
            return
        check_assets([x[1].book.market for x in latest if x is not None], self.params.oracles)
        self.oracles_checked = True

    async def _system(self, context: BlockContext) -> None:
        """The system result of ``context``'s block (one cascade over every market selling into the same
        pools), once every market has its result of that block; skipped with one market (its own result is
        the system's) or no scenario. A failure is logged and leaves the previous system result."""
        if len(self.pipelines) < 2 or not self.cfg.scenarios:
            return
        members = []
        buffers = {}
        protocols = {m.name: m.protocol for m in self.cfg.markets}
        for name, pipe in self.pipelines.items():
            latest, view = pipe.last_risk_input, pipe.last_view
            if latest is None or latest[0] != context.block or view is None or view.block != context.block:
                return  # a market is behind or failed at this block: wait for a block all of them have
            members.append(SystemMember(name, protocols[name], latest[1]))
            buffers[name] = MemberBuffers(view.buffers_usd(), view.reserve_deficits_usd(), view.scenario_losses_usd)
        try:
            projections = await asyncio.to_thread(
                functools.partial(system_projections, offchain=self.offchain.current(),
                                  split=self.cfg.dex.split_sales),
                context.block, members, dict(context.pools), self.cfg.scenarios, self.params, context.timestamp,
                buffers,
            )  # fmt: skip
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("system projection at block %d failed (%s: %s)", context.block, type(exc).__name__, exc,
                      exc_info=exc)  # fmt: skip
            return
        self.store.publish_system(projections)
        if self.on_system is not None:
            await self.on_system(projections)

    def _failed(self, pipes: Sequence[MarketPipeline], exc: BaseException) -> None:
        expected = isinstance(exc, MonitorError | aiohttp.ClientError | TimeoutError | OSError)
        for pipe in pipes:
            self.failures[pipe.name] += 1
            delay = self.retry.delay(self.failures[pipe.name])
            self.retry_at[pipe.name] = time.monotonic() + delay
            self.store.failed(pipe.name, f"{type(exc).__name__}: {exc}")
            log.log(logging.WARNING if expected else logging.ERROR, "market %s: cycle failed (%s: %s); retrying in "
                    "%.1f s", pipe.name, type(exc).__name__, exc, delay,
                    exc_info=exc if not expected else None)  # fmt: skip


def _reraise_cancel(outcomes: Sequence[object]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
