"""A group of Morpho Blue markets followed block by block behind the protocol seam (:class:`MorphoBlueTracker`).

Discovery runs the chain-level log follower over the markets' borrower-side events (:mod:`~.discovery`);
each refresh reads, at the one safe block the follower reached, every market's totals, oracle price and IRM
rate (interest accrued off chain to the block's timestamp) and the positions of the (market, account) pairs
the processed ranges touched or a reorg made stale; untouched positions are kept. On the first refresh of a
process every known position is read once. Configured suppliers' positions are read every refresh. The markets
are the configured ids and, with ``loan_tokens``, those that Morpho's ``CreateMarket`` events list for them up to
the safe head when the tracker opens (a market created later joins at the next start).

A market whose own oracle or IRM reverts at a block, prices at 0, or whose tokens do not answer ``decimals()``
is left out of that block's book (``MorphoBook.unpriced``, with why) while the others are computed: one junk
market, which anyone can create, must not blind the monitor to the rest. Its borrowers stay followed and
read, so it rejoins with them at the first block it is priced again; one log line when a market turns unpriced,
one when it is priced again. A node that fails to answer still fails the refresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.follow.driver import LogFollower
from monitor.chain.follow.updates import BookChanges, Committed
from monitor.chain.model import Log, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.errors import ChainError, CheckpointError, ProtocolError
from monitor.protocols.base import MarketTracker, MarketView, Progress, Refresh
from monitor.protocols.morpho_blue.book import MarketAtBlock, MorphoBook, Token
from monitor.protocols.morpho_blue.config import PROTOCOL, MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.discovery import MorphoDigest, digest_logs, identity, log_filter, split_key
from monitor.protocols.morpho_blue.prices import feed_calls, read_loan_usd, read_token_metadata
from monitor.protocols.morpho_blue.reads import (
    ORACLE_PRICE,
    MarketSnapshot,
    UnpricedMarketError,
    find_markets,
    market_calls,
    read_market,
    read_market_params,
    read_positions,
)
from monitor.protocols.morpho_blue.view import MorphoBlueView

log = logging.getLogger(__name__)


class MorphoBlueTracker(MarketTracker):
    """The configured markets of one Morpho contract: discovery, pinned-block reads and the book."""

    def __init__(
        self,
        rpc: RpcClient,
        checkpoint: Checkpoint,
        market: MorphoBlueMarketConfig,
        *,
        confirmations: int,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.name = market.name
        self.protocol = PROTOCOL
        self.config = market
        self.rpc = rpc
        self.checkpoint = checkpoint
        self.poll_interval_s = poll_interval_s
        self.ids = tuple(market.market_ids)  # with the loan tokens' markets once open
        self._every_market = bool(market.loan_tokens)  # follow every market's borrowers (see discovery)
        self.follower: LogFollower[MorphoDigest] = LogFollower(
            rpc, checkpoint, market.name, digest=self._digest, confirmations=confirmations
        )
        self.tokens: dict[str, Token] = {}
        self.book: MorphoBook | None = None
        self._read_at: dict[tuple[str, str], int] = {}  # position -> the block it was read at
        # what committed ranges and rollbacks changed since the last refresh that finished (a refresh failing
        # after discovery committed leaves them for the next one)
        self._changes = BookChanges()
        self._tokens_of: dict[str, tuple[str, str]] = {}  # market id -> (loan token, collateral token)
        self._unreadable_tokens: dict[str, str] = {}  # token -> why its decimals() cannot be read (retried)
        self.unpriced: dict[str, str] = {}  # market id -> why, as of the newest refresh (for the log lines)

    def _digest(self, logs: Sequence[Log]) -> MorphoDigest:
        return digest_logs(logs, None if self._every_market else self.ids)

    @property
    def last_block(self) -> int:
        """The newest processed block (``start_block - 1`` before the first range)."""
        state = self.checkpoint.market(self.name)
        return self.config.start_block - 1 if state is None else state.last_block

    async def _open(self) -> None:
        """Check the contract and the markets at the safe head; register the group in the checkpoint."""
        if self.tokens:
            return
        morpho = self.config.morpho
        safe = max(await self.rpc.block_number() - self.follower.confirmations, 0)
        if await self.rpc.get_code(morpho, safe) == "0x":
            raise ProtocolError(f"market {self.name}: {morpho} has no contract code at block {safe} (check morpho)")
        if self.config.loan_tokens:
            found = await find_markets(self.rpc, morpho, self.config.loan_tokens, self.config.start_block, safe)
            self.ids = tuple(dict.fromkeys([*self.config.market_ids, *found]))
            if not self.ids:
                raise ProtocolError(f"market {self.name}: Morpho {morpho} created no market of loan_tokens "
                                    f"{', '.join(self.config.loan_tokens)} from block {self.config.start_block} "
                                    f"to {safe}")  # fmt: skip
        tokens: set[str] = set()
        for mid in self.ids:  # Morpho's own storage: a market's oracle does not stop the group opening
            params, _ = await read_market_params(self.rpc, morpho, mid, safe)
            self._tokens_of[mid] = (params.loan_token, params.collateral_token)
            tokens |= {params.loan_token, params.collateral_token}
        who = identity(morpho, self.config.market_ids, self.config.loan_tokens)
        state = self.checkpoint.market(self.name)
        if state is None:
            self.checkpoint.create_market(self.name, identity=who, start_block=self.config.start_block)
        elif state.identity != who:
            raise CheckpointError(f"checkpoint market {self.name!r} belongs to {state.identity!r}, the config now "
                                  f"names {who!r}: use another checkpoint file")  # fmt: skip
        elif state.start_block != self.config.start_block:
            raise CheckpointError(
                f"checkpoint market {self.name!r} was backfilled from block {state.start_block}, the config says "
                f"start_block {self.config.start_block}: delete the checkpoint to backfill again"
            )
        self.tokens, self._unreadable_tokens = await read_token_metadata(self.rpc, sorted(tokens), safe)

    async def _filter_at(self, target: int) -> LogFilter:
        return self.log_filter()

    async def _sync(self) -> BookChanges:
        await self._open()
        changes = self._changes
        async for u in self.follower.updates(self._filter_at):
            if isinstance(u, Committed):
                changes.range(u.digest.accounts, u.new_accounts)
            else:
                stale = [f"{m}:{a}" for (m, a), b in self._read_at.items() if b > u.fork_block]
                changes.rollback(u.fork_block, u.removed_accounts, stale, reset=u.reset)
        return changes

    async def catch_up(self, progress: Progress | None = None) -> None:
        """Run discovery to the newest safe block."""
        await self._open()
        safe = await self.rpc.block_number() - self.follower.confirmations
        async for u in self.follower.updates(self._filter_at):
            if progress is not None and isinstance(u, Committed):
                progress(u.to_block, self.config.start_block, safe)

    async def markets_at(self, block: int) -> tuple[dict[str, MarketAtBlock], dict[str, str]]:
        """Every configured market its oracle and IRM value at ``block``, totals accrued to its timestamp, and
        why each other one is unpriced (market id -> reason)."""
        await self._open()
        if self._unreadable_tokens:  # a token that could not be read is asked again
            found, self._unreadable_tokens = await read_token_metadata(self.rpc, sorted(self._unreadable_tokens),
                                                                       block)  # fmt: skip
            self.tokens.update(found)
        reads = await asyncio.gather(*(self._read_priced(mid, block) for mid in self.ids))
        snaps = [r for r in reads if isinstance(r, MarketSnapshot)]
        unpriced = {mid: r for mid, r in zip(self.ids, reads, strict=True) if isinstance(r, str)}
        loans = sorted({s.params.loan_token for s in snaps})
        usd = await read_loan_usd(self.rpc, self.config.loan_usd_feeds, loans, block)
        markets = {
            s.market_id: MarketAtBlock(s, self.tokens[s.params.loan_token], self.tokens[s.params.collateral_token],
                                       *usd[s.params.loan_token])
            for s in snaps
        }  # fmt: skip
        return markets, unpriced

    async def _read_priced(self, market_id: str, block: int) -> MarketSnapshot | str:
        """A market read at ``block``, or why it cannot be priced there (its oracle, IRM or tokens)."""
        for token in self._tokens_of[market_id]:
            if token in self._unreadable_tokens:
                return self._unreadable_tokens[token]
        try:
            return await read_market(self.rpc, self.config.morpho, market_id, block)
        except UnpricedMarketError as exc:
            return exc.reason

    def _note_unpriced(self, unpriced: Mapping[str, str], block: int) -> None:
        """One log line per market turning unpriced, one per market priced again."""
        for mid, why in unpriced.items():
            if mid not in self.unpriced:
                log.warning("market %s: Morpho market %s unpriced at block %d, left out of the figures: %s",
                            self.name, mid, block, why)  # fmt: skip
        for mid in self.unpriced:
            if mid not in unpriced:
                log.info("market %s: Morpho market %s priced again at block %d", self.name, mid, block)
        self.unpriced = dict(unpriced)

    def _suppliers(self) -> list[tuple[str, str]]:
        return [(mid, s) for mid in self.ids for s in self.config.suppliers]

    async def refresh(self) -> Refresh:
        """Catch up and read the markets and the touched positions at the newest safe block."""
        changes = await self._sync()
        block = self.last_block
        if block < self.config.start_block:
            raise ChainError(f"market {self.name}: start_block {self.config.start_block} is not yet final")
        await self._open()
        ids = set(self.ids)
        known = {p for p in map(split_key, self.checkpoint.accounts(self.name)) if p[0] in ids}
        touched = known if self.book is None else {split_key(k) for k in changes.to_read()} & known
        to_read = sorted(touched)
        pairs = to_read + [p for p in self._suppliers() if p not in known]
        # the markets and the positions do not depend on each other: read together
        (markets, unpriced), positions = await asyncio.gather(
            self.markets_at(block), read_positions(self.rpc, self.config.morpho, pairs, block)
        )
        self._note_unpriced(unpriced, block)
        if self.book is None:
            book = MorphoBook(markets, unpriced=unpriced)
        else:
            book = self.book.with_markets(markets, unpriced)
            forgotten = set(self._read_at) - known
            book.remove(forgotten)
            for pair in forgotten:
                del self._read_at[pair]
        book.upsert(pairs, positions)
        self._read_at.update(dict.fromkeys(to_read, block))
        self.book = book
        self._changes = BookChanges()
        return Refresh(MorphoBlueView(self.name, block, book, self.config.suppliers), changes.fork_block)

    async def prefetch(self, head: int) -> None:
        """Ask ahead, at once, what the next refresh at ``head`` can be known to read (after the first refresh):
        the follower's range (headers and logs), each market's parameters and state, the oracle prices and the
        loan tokens' USD feeds (the IRM rates take the state read, the positions the logs: those follow)."""
        if self.book is None or not self.tokens:
            return
        plan = self.follower.planned_range(head)
        if plan is None or plan.to_block != head - self.follower.confirmations:
            return
        block = plan.to_block
        morpho = self.config.morpho
        calls = [c for mid in self.ids for c in market_calls(morpho, mid)]
        oracles = sorted({m.snapshot.params.oracle for m in self.book.markets.values()})
        calls += [(o, ORACLE_PRICE.encode()) for o in oracles]
        calls += feed_calls(self.config.loan_usd_feeds, sorted({m.snapshot.params.loan_token
                                                                for m in self.book.markets.values()}))  # fmt: skip
        await asyncio.gather(
            self.rpc.eth_calls(calls, block, return_errors=True), self.rpc.blocks(plan.headers),
            self.rpc.get_logs(self.log_filter().with_range(plan.from_block, plan.to_block)), return_exceptions=True,
        )  # fmt: skip

    async def read_at(self, block: int) -> MarketView:
        """Every position discovered up to ``block``, read at ``block`` into a book of its own."""
        await self._open()
        if block < self.config.start_block:
            raise ChainError(f"--block {block} is before the market's start_block {self.config.start_block}")
        if self.last_block < block:
            raise ChainError(f"market {self.name}: block {block} is past the newest discovered block")
        wanted = set(self.ids)
        pairs = sorted(p for k, first in self.checkpoint.first_seen(self.name).items()
                       if first <= block and (p := split_key(k))[0] in wanted)  # fmt: skip
        pairs += [p for p in self._suppliers() if p not in set(pairs)]
        markets, unpriced = await self.markets_at(block)
        book = MorphoBook(markets, unpriced=unpriced)
        book.upsert(pairs, await read_positions(self.rpc, self.config.morpho, pairs, block))
        return MorphoBlueView(self.name, block, book, self.config.suppliers)

    def log_filter(self) -> LogFilter:
        """Morpho's borrower-side events of the configured markets (of every market when loan tokens are)."""
        return log_filter(self.config.morpho, None if self._every_market else self.ids)

    def touched_accounts(self, logs: Sequence[Log]) -> Mapping[str, int]:
        """Positions (``"<market id>:<account>"``) the logs touched, each with the first block touching it."""
        return digest_logs(logs, self.ids).accounts
