"""The follower's I/O: performs the state machine's actions with the RPC owner and the checkpoint.

:class:`LogFollower` knows no protocol: the caller gives it the log filter to read (per pass, at the pass's
target block) and a digest function turning logs into touched accounts (and whatever else the protocol
wants). Each update is yielded once durable in the checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, Protocol

from monitor.chain.follow.checkpoint import Checkpoint, MarketState
from monitor.chain.follow.machine import (
    CaughtUp,
    Commit,
    Follower,
    ReadHashes,
    ReadHead,
    ReadRange,
    Reset,
    RollBack,
)
from monitor.chain.follow.span import AdaptiveSpan, SpanPolicy
from monitor.chain.follow.updates import Committed, D, RolledBack
from monitor.chain.model import Block, Log, LogFilter
from monitor.errors import CheckpointError, RpcError

log = logging.getLogger(__name__)


class ChainReader(Protocol):
    """The reads the follower needs; :class:`~monitor.chain.rpc.RpcClient` is one."""

    async def block_number(self) -> int:
        """The head."""
        ...

    async def blocks(self, numbers: Sequence[int]) -> list[Block | None]:
        """Headers (None: no such block)."""
        ...

    async def get_logs(self, flt: LogFilter) -> list[Log]:
        """eth_getLogs over an explicit range."""
        ...


FilterAt = Callable[[int], Awaitable[LogFilter]]  # target block -> the filter of this pass (range ignored)


class LogFollower(Generic[D]):
    """Follows the logs of one market from its checkpoint to ``head - confirmations``, reorg-safe.

    ``ring_size`` consecutive block hashes are kept below the tip: any reorg shallower than that rolls back
    to its exact fork point; a deeper one (or a chain that holds none of the stored blocks, such as a devnet
    restarted from a saved state) resets the market and backfills it again, with a warning.
    """

    def __init__(
        self,
        rpc: ChainReader,
        checkpoint: Checkpoint,
        market: str,
        *,
        digest: Callable[[Sequence[Log]], D],
        confirmations: int,
        ring_size: int = 256,
        span: SpanPolicy | None = None,
    ) -> None:
        if ring_size < 1 or confirmations < 0:
            raise ValueError("ring_size must be >= 1 and confirmations >= 0")
        self.rpc = rpc
        self.checkpoint = checkpoint
        self.market = market
        self.digest = digest
        self.confirmations = confirmations
        self.ring_size = ring_size
        self.span = AdaptiveSpan(span)

    def state(self) -> MarketState:
        """The market's stored state (it must have been registered with ``create_market``)."""
        state = self.checkpoint.market(self.market)
        if state is None:
            raise CheckpointError(f"checkpoint {self.checkpoint.path}: market {self.market!r} is not registered")
        return state

    def _machine(self) -> Follower:
        state = self.state()
        return Follower(
            start_block=state.start_block, last_block=state.last_block, last_hash=state.last_hash,
            ring=self.checkpoint.block_hashes(self.market), confirmations=self.confirmations,
            ring_size=self.ring_size, span=self.span, name=self.market,
        )  # fmt: skip

    def planned_range(self, head: int) -> ReadRange | None:
        """The first range (logs and headers) a pass seeing ``head`` will read, None when it reads none: lets a
        caller ask for them ahead, together with other reads of the same block (the pass itself decides)."""
        if self.checkpoint.market(self.market) is None:
            return None
        machine = self._machine()
        machine.start()
        action = machine.head_seen(head)
        return action if isinstance(action, ReadRange) else None

    async def updates(
        self, filter_at: FilterAt, *, max_ranges: int | None = None
    ) -> AsyncIterator[Committed[D] | RolledBack]:
        """The ranges (and rollbacks) needed to reach the safe head now, each yielded once committed.

        ``filter_at(target)`` is awaited once, before the first range, with the block this pass reads up to.
        """
        state = self.state()
        machine = self._machine()
        flt: LogFilter | None = None
        done = 0
        action = machine.start()
        while True:
            match action:
                case ReadHead():
                    action = machine.head_seen(await self.rpc.block_number())
                case ReadRange(from_block=frm, to_block=to, headers=numbers):
                    if max_ranges is not None and done >= max_ranges:
                        return
                    if flt is None:
                        assert machine.target is not None
                        flt = await filter_at(machine.target)
                    # the headers and the logs of the range in one round trip: neither depends on the other
                    headers_read = asyncio.ensure_future(self.rpc.blocks(numbers))
                    try:
                        logs = await self.rpc.get_logs(flt.with_range(frm, to))
                    except BaseException as exc:
                        # not cancelled: the headers may be shared with another reader of the same block
                        await asyncio.gather(headers_read, return_exceptions=True)
                        if not isinstance(exc, RpcError):
                            raise
                        retry = machine.range_failed(frm, to, str(exc))
                        if retry is None:
                            raise
                        log.info("eth_getLogs %d..%d failed (%s); span now %d", frm, to, exc, machine.span.current)
                        action = retry
                        continue
                    headers = await headers_read
                    action = machine.range_read(frm, to, dict(zip(numbers, headers, strict=True)), logs)
                case ReadHashes(numbers=numbers):
                    blocks = await self.rpc.blocks(numbers)
                    action = machine.hashes_read(
                        {n: (b.hash if b is not None else None) for n, b in zip(numbers, blocks, strict=True)}
                    )
                case Commit():
                    digest = self.digest(action.logs)
                    new = self.checkpoint.commit_range(
                        self.market, to_block=action.to_block, to_hash=action.to_hash, hashes=action.hashes,
                        touched=digest.accounts, keep_from=action.keep_from,
                    )  # fmt: skip
                    done += 1
                    action_done = machine.done()
                    yield Committed(self.market, action.from_block, action.to_block, action.to_hash, digest, new,
                                    action.head)  # fmt: skip
                    action = action_done
                case RollBack():
                    removed = self.checkpoint.rollback(
                        self.market, fork_block=action.fork_block, fork_hash=action.fork_hash
                    )
                    log.warning(
                        "discovery of %s: reorg, rolled back from block %d to %d (%d accounts forgotten)",
                        self.market, action.orphaned_to, action.fork_block, len(removed),
                    )  # fmt: skip
                    nxt = machine.done()
                    yield RolledBack(self.market, action.fork_block, action.orphaned_to, removed)
                    action = nxt
                case Reset():
                    removed = self.checkpoint.reset(self.market)
                    log.warning(
                        "discovery of %s: none of the stored block hashes (blocks %d..%d) is on the chain any more;"
                        " checkpoint reset, backfilling again from block %d (%d accounts forgotten)",
                        self.market, action.lowest, action.highest, state.start_block, len(removed),
                    )  # fmt: skip
                    nxt = machine.done()
                    yield RolledBack(self.market, state.start_block - 1, action.orphaned_to, removed, reset=True)
                    action = nxt
                case CaughtUp():
                    return
