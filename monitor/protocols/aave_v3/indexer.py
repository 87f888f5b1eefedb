"""Keep one market's book current: discovery -> pinned-block reads -> book, with the checkpoint in step.

Each :meth:`MarketIndexer.refresh` catches discovery up to the safe head, then reads at that one block the
market-wide data (reserve configuration, indices, oracle prices: cheap, every time) and the positions of the
accounts the processed ranges touched (or that a reorg made stale). Untouched accounts keep their scaled
balances; new indices and prices are applied to every row by the book's vectorised recompute, so a
price-only block costs no per-account read. A change of reserve listing or risk parameters rebuilds the book
from the stored positions (no account is read again for it).

On the first refresh of a process every known account is read once at the refresh block: positions stored
by an earlier process are not trusted across a restart, since a kill between a committed discovery range and
the position save would leave them stale. Discovery itself resumes from the checkpoint, never from
``start_block``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from monitor.chain.rpc import RpcClient
from monitor.errors import ChainError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.inputs import MarketInputs
from monitor.protocols.aave_v3.checkpoint import Checkpoint
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.discovery import Discovery, RangeResult, Rollback
from monitor.protocols.aave_v3.market import MarketAddresses
from monitor.protocols.aave_v3.reader import MarketRead, read_accounts, read_market

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

    async def refresh(self, *, max_ranges: int | None = None) -> RefreshResult:
        """Catch up and bring the book to the newest safe block."""
        t0 = time.monotonic()
        updates = await self.discovery.sync(max_ranges=max_ranges)
        block = self.discovery.last_block
        if block < self.market.start_block:
            raise ChainError(
                f"market {self.market.name}: start_block {self.market.start_block} is not yet final on this chain"
            )
        addresses = self.discovery.addresses
        touched: set[str] = set()
        removed: set[str] = set()
        ranges = rollbacks = 0
        fork_block: int | None = None
        for u in updates:
            if isinstance(u, RangeResult):
                ranges += 1
                touched |= u.touched
            elif isinstance(u, Rollback):
                rollbacks += 1
                fork_block = u.fork_block if fork_block is None else min(fork_block, u.fork_block)
                removed |= u.removed_accounts
                touched |= u.stale_positions
        known = self.discovery.accounts()
        market_read = await read_market(self.rpc, addresses, block)
        rebuilt = False
        if self.book is None:
            to_read = sorted(known)
            rows = await read_accounts(self.rpc, addresses, to_read, block)
            self.book = Book.build(market_read.inputs, rows)
            rebuilt = True
        else:
            for address in removed:
                if address in self.book:
                    self.book.remove_account(address)
            if not _same_parameters(self.book.market, market_read.inputs):
                self.book = Book.build(market_read.inputs, self.book.account_inputs())
                rebuilt = True
            else:
                self.book.set_indexes(
                    {r.asset: (r.normalized_income, r.normalized_variable_debt) for r in market_read.inputs.reserves}
                )
                self.book.set_prices(market_read.inputs.prices())
            to_read = sorted((touched - removed) & known)
            rows = await read_accounts(self.rpc, addresses, to_read, block)
            self.book.upsert_accounts(rows)
        if rows:
            self.checkpoint.save_positions(self.market.name, block, rows)
        self.block = block
        result = RefreshResult(
            market=self.market.name, block=block, book=self.book, market_read=market_read, addresses=addresses,
            ranges=ranges, rollbacks=rollbacks, fork_block=fork_block, accounts_read=len(to_read), rebuilt=rebuilt,
            duration_s=time.monotonic() - t0,
        )  # fmt: skip
        log.debug("%s: block %d, %d ranges, %d rollbacks, %d accounts read in %.3f s", self.market.name, block,
                  ranges, rollbacks, len(to_read), result.duration_s)  # fmt: skip
        return result
