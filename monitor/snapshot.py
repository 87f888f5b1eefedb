"""One consistent view of a market at one block: the protocol's view of it and the DEX pools.

Used by the one-shot commands (``snapshot``, ``simulate``, ``sweep``); the daemon keeps its own long-lived
trackers instead. The market's protocol is found through :mod:`monitor.protocols.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import MarketConfig, MonitorConfig
from monitor.dex.pool import PoolState
from monitor.errors import ChainError
from monitor.protocols.base import MarketView, Progress
from monitor.protocols.registry import TrackerDeps, open_tracker
from monitor.venues.uniswap_v3 import read_pool


@dataclass(frozen=True)
class MarketSnapshot:
    """A market and the configured pools, all read at ``block``."""

    block: int
    config: MarketConfig
    view: MarketView
    pools: dict[str, PoolState]

    @property
    def book(self) -> Any:
        """The protocol's own book of the market's accounts (:attr:`MarketView.book`)."""
        return self.view.book


async def load_snapshot(
    rpc: RpcClient,
    cfg: MonitorConfig,
    market: MarketConfig,
    block: int | None = None,
    progress: Progress | None = None,
) -> MarketSnapshot:
    """Catch the market up (resuming from the checkpoint), then read it and the pools at one block.

    ``block`` None means the newest safe block (head - confirmations); an older block reads the accounts
    discovered up to it, as they were then.
    """
    path = Path(cfg.checkpoint.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with Checkpoint(path) as checkpoint:
        tracker = open_tracker(market, TrackerDeps(rpc, checkpoint, cfg.chain))
        safe = await rpc.block_number() - cfg.chain.confirmations
        if block is not None and block > safe:
            raise ChainError(f"--block {block} is not final yet: the newest safe block is {safe}")
        await tracker.catch_up(progress)
        view = (await tracker.refresh()).view if block is None else await tracker.read_at(block)
    pools = {p: await read_pool(rpc, p, view.block) for p in cfg.dex.pools}
    return MarketSnapshot(view.block, market, view, pools)
