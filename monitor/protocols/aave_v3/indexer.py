"""Keep one market's book current: discovery -> pinned-block reads -> book, with the checkpoint in step.

Each :meth:`MarketIndexer.refresh` catches discovery up to the safe head, then reads at that one block the
market-wide data (reserve configuration, indices, oracle prices: cheap, every time) and the positions of the
accounts the processed ranges touched (or that a reorg made stale). Untouched accounts keep their scaled
balances; new indices and prices are applied to every row by the book's vectorised recompute, so a
price-only block costs no per-account read. A change of reserve listing or risk parameters rebuilds the book
from the stored positions (no account is read again for it).

On the first refresh of a process every known account is read once at the refresh block (positions are not
stored across a restart); discovery itself resumes from the checkpoint, never from ``start_block``. After a
reorg, the accounts read at a block above the fork point are read again, and the accounts the rollback forgot
leave the book unless a later range of the same refresh touched them again on the new chain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.follow.updates import BookChanges
from monitor.chain.rpc import RpcClient
from monitor.errors import ChainError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.inputs import MarketInputs
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.discovery import Discovery, RangeResult, Rollback
from monitor.protocols.aave_v3.market import MarketAddresses
from monitor.protocols.aave_v3.reader import MarketRead, read_accounts, read_market, read_market_ahead
from monitor.protocols.aave_v3.version import AaveVersion, configured_override, detect_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did. ``book`` is the indexer's live book: copy it to keep a frozen view."""

    market: str
    block: int
    book: Book
    market_read: MarketRead
    addresses: MarketAddresses
    ranges: int
    rollbacks: int
    fork_block: int | None  # the lowest block a reorg rolled back to in this refresh (None: no reorg)
    resets: int  # times no stored block was on the chain any more (the market was backfilled again)
    accounts_read: int
    rebuilt: bool
    duration_s: float


def _same_parameters(a: MarketInputs, b: MarketInputs) -> bool:
    """True when only prices and indices differ (then the book is updated in place, not rebuilt)."""
    if len(a.reserves) != len(b.reserves) or a.emode_categories != b.emode_categories:
        return False
    for x, y in zip(a.reserves, b.reserves, strict=True):
        if (x.asset, x.reserve_id, x.decimals, x.ltv, x.liquidation_threshold, x.liquidation_bonus,
                x.liquidation_protocol_fee, x.emode_category, x.active, x.frozen, x.paused) != (
                y.asset, y.reserve_id, y.decimals, y.ltv, y.liquidation_threshold, y.liquidation_bonus,
                y.liquidation_protocol_fee, y.emode_category, y.active, y.frozen, y.paused):  # fmt: skip
            return False
    return True


class MarketIndexer:
    """Discovery, reads and the book of one market."""

    def __init__(self, rpc: RpcClient, checkpoint: Checkpoint, market: AaveV3MarketConfig, *, confirmations: int,
                 poll_interval_s: float = 1.0) -> None:  # fmt: skip
        self.rpc = rpc
        self.checkpoint = checkpoint
        self.market = market
        self.discovery = Discovery(rpc, checkpoint, market, confirmations=confirmations,
                                   poll_interval_s=poll_interval_s)  # fmt: skip
        self.book: Book | None = None
        self.block: int | None = None
        self.version: AaveVersion | None = None  # read from the pool on the first refresh
        self._read_at: dict[str, int] = {}  # account -> the block its row in the book was read at
        self._market_read: MarketRead | None = None  # the last refresh's market-wide read
        # what committed ranges and rollbacks changed since the last refresh that finished: a refresh that fails
        # after discovery committed its ranges leaves them here for the next one (else the accounts they touched
        # would keep their old rows until touched again)
        self._changes = BookChanges()

    async def prefetch(self, head: int) -> None:
        """Ask ahead, concurrently, what the next :meth:`refresh` at ``head`` will read and can be known now:
        the range's headers and logs and the reserve list (discovery), and the market-wide reads as the last
        refresh found the market. Only useful when ``rpc`` shares answers within a block (the daemon's pinned
        reads): the refresh then waits on one round trip for all of them, then one for the touched accounts.
        Nothing to ask before the first refresh (the cold index reads everything anyway)."""
        previous = self._market_read
        if self.book is None or previous is None:
            return
        plan = self.discovery.follower.planned_range(head)
        if plan is None:
            return
        target = head - self.discovery.follower.confirmations
        reads = [self.discovery.prefetch(plan, target)]
        if plan.to_block == target:  # the refresh reads the market at the block this range ends at
            reads.append(read_market_ahead(self.rpc, self.discovery.addresses, target, previous))
        await asyncio.gather(*reads, return_exceptions=True)

    async def refresh(self, *, max_ranges: int | None = None) -> RefreshResult:
        """Catch up and bring the book to the newest safe block."""
        t0 = time.monotonic()
        changes = self._changes
        # each update is kept as soon as discovery has committed it (a failure later in this refresh, or in
        # discovery's next range, leaves it for the next refresh)
        async for u in self.discovery.updates(max_ranges=max_ranges):
            if isinstance(u, RangeResult):
                changes.range(u.touched, u.new_accounts)
            elif isinstance(u, Rollback):
                stale = [a for a, b in self._read_at.items() if b > u.fork_block]
                changes.rollback(u.fork_block, u.removed_accounts, stale, reset=u.reset)
        block = self.discovery.last_block
        if block < self.market.start_block:
            raise ChainError(
                f"market {self.market.name}: start_block {self.market.start_block} is not yet final on this chain"
            )
        addresses = self.discovery.addresses
        known = self.discovery.accounts()
        if self.version is None:  # at start: the pool's revision picks maths and rules (config may override)
            override = configured_override(self.market)
            self.version = await detect_version(self.rpc, addresses.pool, block, override=override)
        market_read = await read_market(self.rpc, addresses, block, self.version)
        self._market_read = market_read
        rebuilt = False
        if self.book is None:
            to_read = sorted(known)
            rows = await read_accounts(self.rpc, addresses, to_read, block)
            self.book = Book.build(market_read.inputs, rows)
            self._read_at = dict.fromkeys(to_read, block)
            rebuilt = True
        else:
            # accounts forgotten by a rollback and not seen again (only a rollback forgets, and every rollback since
            # the last finished refresh is in ``changes``)
            gone = self._read_at.keys() - known if changes.rollbacks else ()
            for address in gone:
                if address in self.book:
                    self.book.remove_account(address)
                del self._read_at[address]
            if not _same_parameters(self.book.market, market_read.inputs):
                self.book = Book.build(market_read.inputs, self.book.account_inputs())
                rebuilt = True
            else:
                # only the reserves whose indices moved: re-deriving a reserve's balances is the big-int part
                held = {r.asset: (r.normalized_income, r.normalized_variable_debt) for r in self.book.market.reserves}
                moved = {r.asset: (r.normalized_income, r.normalized_variable_debt) for r in market_read.inputs.reserves
                         if held.get(r.asset) != (r.normalized_income, r.normalized_variable_debt)}  # fmt: skip
                if moved:
                    self.book.set_indexes(moved)
                self.book.set_prices(market_read.inputs.prices())
            to_read = sorted(changes.to_read() & known)
            rows = await read_accounts(self.rpc, addresses, to_read, block)
            self.book.upsert_accounts(rows)
            self._read_at.update(dict.fromkeys(to_read, block))
        self.block = block
        self._changes = BookChanges()
        result = RefreshResult(
            market=self.market.name, block=block, book=self.book, market_read=market_read, addresses=addresses,
            ranges=changes.ranges, rollbacks=changes.rollbacks, fork_block=changes.fork_block, resets=changes.resets,
            accounts_read=len(to_read), rebuilt=rebuilt, duration_s=time.monotonic() - t0,
        )  # fmt: skip
        log.debug("%s: block %d, %d ranges, %d rollbacks, %d accounts read in %.3f s", self.market.name, block,
                  changes.ranges, changes.rollbacks, len(to_read), result.duration_s)  # fmt: skip
        return result
