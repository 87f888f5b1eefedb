"""One block context per chain: what every market of the chain shares at one block.

Per new safe block, the head, the block's header and the state of every configured DEX pool are read once
(:class:`ChainReader`); the markets' own reads (reserves, oracle prices, positions) go through the same pinned
:class:`~monitor.daemon.blockreads.BlockReads`, so markets on the same contracts share them too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from monitor.chain.model import Log
from monitor.daemon.blockreads import BlockReads
from monitor.dex.pool import PoolState
from monitor.errors import ChainError
from monitor.venues.uniswap_v3 import pool_log_filter, read_pool, refresh_pools


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
        self._pool_hash: str | None = None  # hash of the block the pool states are at

    async def head(self, pushed: int | None = None) -> int:
        """Pin the shared reads to the chain's head: ``pushed`` (a head the node's subscription announced, no
        request needed) or else asked once."""
        if pushed is not None:
            self.reads.pin(pushed)
            return pushed
        return await self.reads.pin_to_head()

    async def context(self, head: int, seen: float | None = None) -> BlockContext:
        """The context of the safe block under ``head`` (after :meth:`head` pinned the reads to it)."""
        block = head - self.confirmations
        # the block after the pools' block too: its parent hash says whether the pool states are still on the
        # chain (the markets' log followers ask for the same headers, so they are shared, not read twice)
        advancing = self._pool_block is not None and self._pool_block < block
        numbers = sorted({self._pool_block + 1, block}) if advancing and self._pool_block is not None else [block]
        # the pools' logs since their block go out with the headers (one round trip); they are used only when
        # the headers show the pool states still on the chain
        logs = None
        if advancing and self._pools is not None and self._pool_block is not None:
            flt = pool_log_filter(list(self._pools), self._pool_block + 1, block)
            logs = asyncio.ensure_future(self.reads.get_logs(flt))
        try:
            headers = await self.reads.blocks(numbers)
        finally:
            if logs is not None:  # never cancelled: the answer may be shared
                await asyncio.gather(logs, return_exceptions=True)
        first, header = headers[0], headers[-1]
        if header is None:
            raise ChainError(f"the node has no header for block {block} (head {head})")
        on_chain = not advancing or (first is not None and first.parent_hash == self._pool_hash)
        pool_logs = logs.result() if logs is not None and logs.exception() is None else None  # failed: asked again
        pools = await self._read_pools(block, header.hash, on_chain, pool_logs)
        return BlockContext(head, block, header.timestamp, MappingProxyType(dict(pools)),
                            time.monotonic() if seen is None else seen)  # fmt: skip

    async def _read_pools(
        self, block: int, block_hash: str, on_chain: bool, logs: Sequence[Log] | None
    ) -> dict[str, PoolState]:
        """The pool states at ``block``: updated from the logs since the last read (``logs``, when already
        read) when that read is still on the chain, read again otherwise (first read, or a reorganisation below
        or at the last read)."""
        if self._pools is None or self._pool_block is None or block < self._pool_block or not on_chain:
            self._pools = {p: await read_pool(self.reads, p, block) for p in self.pool_addresses}
        elif block > self._pool_block:
            if logs is None:
                logs = await self.reads.get_logs(pool_log_filter(list(self._pools), self._pool_block + 1, block))
            self._pools = await refresh_pools(self.reads, self._pools, logs, block)
        elif block_hash != self._pool_hash:  # same height, another block
            self._pools = {p: await read_pool(self.reads, p, block) for p in self.pool_addresses}
        self._pool_block, self._pool_hash = block, block_hash
        return self._pools
