"""One consistent view of a market at one block: the book and the DEX pools, read through the indexer.

Used by the one-shot commands (``snapshot``, ``simulate``, ``sweep``, ``depth``); the daemon keeps its own
long-lived indexers instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import MarketConfig, MonitorConfig
from monitor.dex.pool import PoolState
from monitor.errors import ChainError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.discovery import RangeResult
from monitor.protocols.aave_v3.indexer import MarketIndexer
from monitor.protocols.aave_v3.market import MarketAddresses
from monitor.protocols.aave_v3.reader import MarketRead, read_accounts, read_market
from monitor.protocols.aave_v3.version import configured_override, detect_version
from monitor.venues.uniswap_v3 import read_pool

Progress = Callable[[int, int, int], None]  # (processed block, first block, safe head)


@dataclass(frozen=True)
class MarketSnapshot:
    """A market and the configured pools, all read at ``block``."""

    block: int
    config: MarketConfig
    addresses: MarketAddresses
    market: MarketRead
    book: Book
    pools: dict[str, PoolState]


async def load_snapshot(
    rpc: RpcClient,
    cfg: MonitorConfig,
    market: MarketConfig,
    block: int | None = None,
    progress: Progress | None = None,
) -> MarketSnapshot:
    """Catch discovery up (resuming from the checkpoint), then read the book and pools at one block.

    ``block`` None means the newest safe block (head - confirmations); an older block reads the accounts
    discovered up to it, as they were then.
    """
    path = Path(cfg.checkpoint.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with Checkpoint(path) as checkpoint:
        indexer = MarketIndexer(rpc, checkpoint, market, confirmations=cfg.chain.confirmations)
        head = await rpc.block_number()
        safe = head - cfg.chain.confirmations
        if block is not None and block > safe:
            raise ChainError(f"--block {block} is not final yet: the newest safe block is {safe}")
        async for update in indexer.discovery.updates():
            if progress and isinstance(update, RangeResult):
                progress(update.to_block, market.start_block, safe)
        if block is None:
            result = await indexer.refresh()
            book, market_read, addresses, at = result.book, result.market_read, result.addresses, result.block
        else:
            if block < market.start_block:
                raise ChainError(f"--block {block} is before the market's start_block {market.start_block}")
            addresses = indexer.discovery.addresses
            seen = checkpoint.first_seen(market.name)
            users = sorted(a for a, b in seen.items() if b <= block)
            version = await detect_version(rpc, addresses.pool, block, override=configured_override(market))
            market_read = await read_market(rpc, addresses, block, version)
            book = Book.build(market_read.inputs, await read_accounts(rpc, addresses, users, block))
            at = block
    pools = {p: await read_pool(rpc, p, at) for p in cfg.dex.pools}
    return MarketSnapshot(at, market, addresses, market_read, book, pools)
