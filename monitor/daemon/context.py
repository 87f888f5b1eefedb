"""One block context per chain: what every market of the chain shares at one block.

Per new safe block, the head, the block's header and the state of every configured DEX pool are read once
(:class:`ChainReader`); the markets' own reads (reserves, oracle prices, positions) go through the same pinned
:class:`~monitor.daemon.blockreads.BlockReads`, so markets on the same contracts share them too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from monitor.daemon.blockreads import BlockReads
from monitor.dex.pool import PoolState
from monitor.dex.reader import pool_log_filter, read_pool, refresh_pools
from monitor.errors import ChainError


@dataclass(frozen=True)
class BlockContext:
    """The chain at one safe block, as every market's cycle sees it."""

    head: int
    block: int  # head - confirmations: the block every market is read at
    timestamp: int  # unix seconds of ``block``
    pools: Mapping[str, PoolState]  # the configured DEX pools at ``block``
    seen: float  # time.monotonic() when the head was read (start of the processing-time clock)


class ChainReader:
    """Reads the shared part of each block; keeps the pool states and updates them from their logs."""

    def __init__(self, reads: BlockReads, pools: Sequence[str], confirmations: int) -> None:
        self.reads = reads
        self.pool_addresses = tuple(pools)
        self.confirmations = confirmations
        self._pools: dict[str, PoolState] | None = None
        self._pool_block: int | None = None

    async def head(self) -> int:
        """Ask the chain's head once and pin the shared reads to it."""
        return await self.reads.pin_to_head()

    async def context(self, head: int, seen: float | None = None) -> BlockContext:
        """The context of the safe block under ``head`` (after :meth:`head` pinned the reads to it)."""
        block = head - self.confirmations
        header = await self.reads.block(block)
        if header is None:
            raise ChainError(f"the node has no header for block {block} (head {head})")
        pools = await self._read_pools(block)
        return BlockContext(head, block, header.timestamp, MappingProxyType(dict(pools)),
                            time.monotonic() if seen is None else seen)  # fmt: skip

    async def _read_pools(self, block: int) -> dict[str, PoolState]:
        if self._pools is None or self._pool_block is None or block < self._pool_block:
            # first read, or the chain reorganised below our pool reads: read them again
            self._pools = {p: await read_pool(self.reads, p, block) for p in self.pool_addresses}
        elif block > self._pool_block:
            logs = await self.reads.get_logs(pool_log_filter(list(self._pools), self._pool_block + 1, block))
            self._pools = await refresh_pools(self.reads, self._pools, logs, block)
        self._pool_block = block
        return self._pools
