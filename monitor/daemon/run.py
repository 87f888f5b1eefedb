"""The daemon: one root asyncio TaskGroup with named tasks; SIGTERM/SIGINT cancel the root cleanly.

Tasks: ``chain`` (the block loop: one block context per new block, every market's cycle run on it),
``alerts-mqtt`` (MQTT publisher, when configured), ``alerts-timer`` and ``shutdown`` (waits for a signal); the
metrics HTTP server runs beside them. The checkpoint is one SQLite file shared by the markets; every write is
its own transaction, so a stop at any point leaves it consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from monitor.alerts.mqtt import MqttPublisher
from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import MonitorConfig
from monitor.daemon.alerting import Alerting
from monitor.daemon.blockreads import BlockReads
from monitor.daemon.chain_loop import ChainLoop
from monitor.daemon.metrics import ExporterSources, Metrics
from monitor.daemon.pipeline import MarketPipeline
from monitor.daemon.projection import CascadeProjector, projector_factory
from monitor.daemon.result import MarketResult, Projector
from monitor.daemon.store import ResultStore
from monitor.daemon.sweeper import WORKER as SWEEPS
from monitor.errors import ConfigError
from monitor.protocols.registry import TrackerDeps, open_tracker
from monitor.venues.offchain_file import OffchainDepth
from monitor.web import WebSources
from monitor.web.sources import WhatIfBase

log = logging.getLogger(__name__)


class _Stop(Exception):
    """Raised inside the task group to end it (a signal or the caller asked)."""


class Daemon:
    """Owns the RPC client, checkpoint, store, metrics server, chain loop and market pipelines of one process."""

    def __init__(
        self,
        cfg: MonitorConfig,
        *,
        projector_factory: Callable[[MonitorConfig, str], Projector] | None = None,
        on_result: Callable[[MarketResult], Awaitable[None]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = ResultStore([m.name for m in cfg.markets], cfg.alerts.stale_after_s)
        self.rpc = RpcClient(cfg.chain)
        self.checkpoint: Checkpoint | None = None  # open while run() runs
        self.projector_factory = projector_factory
        self.on_result = on_result
        self.publisher = MqttPublisher(cfg.mqtt) if cfg.mqtt is not None else None
        self.alerting = Alerting(cfg, self.publisher)
        self.offchain = OffchainDepth(cfg.dex)  # one reader of the depth file: every projection's, and its status
        sources = ExporterSources(self.rpc.stats, self.alerting.alert_states, self.alerting.outbox_stats,
                                  self._checkpoint_resets, self.offchain.status)  # fmt: skip
        page = WebSources(self.alerting.alert_states, lambda: tuple(self.alerting.recent), self._what_if_projector,
                          self.offchain.status)  # fmt: skip
        self.metrics = Metrics(self.store, sources, page)
        self.stop_event = asyncio.Event()
        self.started = asyncio.Event()
        self.listen_port: int | None = None
        self.pipelines: dict[str, MarketPipeline] = {}
        self.chain: ChainLoop | None = None

    def stop(self) -> None:
        """Ask the daemon to stop (safe from signal handlers)."""
        self.stop_event.set()

    async def run(self) -> None:
        """Run until :meth:`stop` or a signal; returns after every task ended and the checkpoint closed."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        path = Path(self.cfg.checkpoint.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        runner = web.AppRunner(self.metrics.app(), access_log=None)
        await runner.setup()
        try:
            async with self.rpc as rpc:
                with Checkpoint(path) as checkpoint:
                    self.checkpoint = checkpoint
                    site = web.TCPSite(runner, self.cfg.metrics.host, self.cfg.metrics.port)
                    try:
                        await site.start()
                    except OSError as exc:
                        why = os.strerror(exc.errno) if exc.errno else str(exc)
                        raise ConfigError(f"metrics.listen {self.cfg.metrics.listen}: cannot listen ({why})") from None
                    self.listen_port = _bound_port(site)
                    log.info("metrics on http://%s:%s/metrics", self.cfg.metrics.host, self.listen_port)
                    self.started.set()
                    try:
                        reads = BlockReads(rpc)
                        deps = TrackerDeps(reads, checkpoint, self.cfg.chain)
                        for market in self.cfg.markets:
                            tracker = open_tracker(market, deps)
                            projector = (self.projector_factory(self.cfg, market.name) if self.projector_factory
                                         else projector_factory(self.cfg, market.name, self.offchain))  # fmt: skip
                            pipe = MarketPipeline(self.cfg, tracker, projector)
                            self.pipelines[market.name] = pipe
                        self.chain = ChainLoop(self.cfg, reads, list(self.pipelines.values()), self.store,
                                               self._on_result, self.alerting.on_system,
                                               self.offchain)  # fmt: skip
                        async with asyncio.TaskGroup() as tg:
                            tg.create_task(self.chain.run(), name="chain")
                            if self.publisher is not None:
                                tg.create_task(self.publisher.run(), name="alerts-mqtt")
                            tg.create_task(self.alerting.timer(), name="alerts-timer")
                            tg.create_task(self._wait_stop(), name="shutdown")
                    except* _Stop:
                        log.info("stopping: tasks cancelled, checkpoint closed")
                    except* ConfigError as group:  # found once the markets are read (e.g. an unknown oracle asset)
                        raise _first(group) from None
        finally:
            SWEEPS.shutdown()  # a sweep under way is abandoned: the process stops now, not after it
            await runner.cleanup()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    def _checkpoint_resets(self) -> dict[str, int]:
        """Markets backfilled again because none of their stored blocks was on the chain any more, by name."""
        return self.checkpoint.resets() if self.checkpoint is not None else {}

    def _what_if_projector(self, market: str) -> WhatIfBase | None:
        """The risk page's what-if: a projector of its own on the market's newest book (None before it)."""
        pipe = self.pipelines.get(market)
        cascade = None if pipe is None else pipe.projector
        return cascade.what_if_projector() if isinstance(cascade, CascadeProjector) else None

    async def _on_result(self, result: MarketResult) -> None:
        await self.alerting.on_result(result)
        if self.on_result is not None:
            await self.on_result(result)

    async def _wait_stop(self) -> None:
        await self.stop_event.wait()
        raise _Stop


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server  # aiohttp keeps the asyncio server here
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else None


def _first(group: BaseExceptionGroup[ConfigError]) -> ConfigError:
    """The first error of a (nested) exception group: the one to report."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    assert isinstance(exc, ConfigError)
    return exc
