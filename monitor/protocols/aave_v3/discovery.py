"""Account discovery for one Aave v3 market: backfill from ``start_block``, then follow the head.

Logs of the pool, its configurator and every aToken / debt token are read with adaptive eth_getLogs ranges
up to ``head - confirmations``. Each range is checked against the block hashes it was read at: the first
block's parent must be the stored hash of the last processed block, otherwise the chain reorganised and
discovery rolls back to the newest stored block still on the chain (fork point), forgetting accounts first
seen after it. Every range is committed to the :class:`~monitor.protocols.aave_v3.checkpoint.Checkpoint` on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.chain.abi import AbiFunction
from monitor.chain.model import Block, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.config import MarketConfig
from monitor.errors import (
    ChainError,
    CheckpointError,
    MalformedResponseError,
    ProtocolError,
    ReorgTooDeepError,
    RpcError,
    RpcResponseError,
    RpcTransportError,
)
from monitor.protocols.aave_v3.checkpoint import Checkpoint
from monitor.protocols.aave_v3.events import all_topics, digest_logs
from monitor.protocols.aave_v3.logrange import AdaptiveSpan, SpanPolicy
from monitor.protocols.aave_v3.market import (
    GET_POOL,
    GET_POOL_CONFIGURATOR,
    GET_RESERVE_DATA,
    GET_RESERVES_LIST,
    ZERO_ADDRESS,
    MarketAddresses,
    ReserveTokens,
    reserve_tokens,
)

log = logging.getLogger(__name__)

MAX_RESTARTS = 20  # consecutive ranges the chain changed under us before we give up


@dataclass(frozen=True)
class RangeResult:
    """One processed block range (both ends inclusive) and what happened in it."""

    market: str
    from_block: int
    to_block: int
    to_hash: str
    touched: frozenset[str]  # accounts whose position may have changed in the range
    new_accounts: frozenset[str]  # touched for the first time
    config_changed: bool  # risk parameters changed (PoolConfigurator events)
    listing_changed: bool  # a reserve was listed or dropped
    events: Mapping[str, int] = field(default_factory=dict)
    head: int = 0  # chain head when the range was read


@dataclass(frozen=True)
class Rollback:
    """A reorganisation: everything after ``fork_block`` was forgotten and will be read again."""

    market: str
    fork_block: int
    orphaned_to: int  # the last processed block before the reorg
    removed_accounts: frozenset[str]
    stale_positions: frozenset[str]


DiscoveryUpdate = RangeResult | Rollback


async def _call(rpc: RpcClient, to: str, fn: AbiFunction, block: int, what: str, *args: object) -> tuple[object, ...]:
    try:
        return fn.decode(await rpc.eth_call(to, fn.encode(*args), block))
    except RpcResponseError as exc:
        raise ProtocolError(f"{what}: {fn.signature} reverted at block {block} ({exc})") from None
    except MalformedResponseError as exc:
        raise ProtocolError(f"{what}: {fn.signature} returned garbage at block {block} ({exc})") from None


async def read_reserves(rpc: RpcClient, pool: str, block: int) -> tuple[ReserveTokens, ...]:
    """Every listed reserve of ``pool`` with its token addresses, at ``block``."""
    what = f"{pool} is not an Aave v3 Pool"
    (assets,) = await _call(rpc, pool, GET_RESERVES_LIST, block, what)
    assert isinstance(assets, tuple)
    calls = [(pool, GET_RESERVE_DATA.encode(a)) for a in assets]
    out = await rpc.eth_calls(calls, block, return_errors=True)
    reserves = []
    for asset, raw in zip(assets, out, strict=True):
        if isinstance(raw, RpcResponseError):
            raise ProtocolError(f"{what}: getReserveData({asset}) reverted at block {block}")
        try:
            reserves.append(reserve_tokens(str(asset), GET_RESERVE_DATA.decode(raw)))
        except MalformedResponseError as exc:
            raise ProtocolError(f"{what}: getReserveData({asset}) returned garbage ({exc})") from None
    return tuple(reserves)


async def resolve_market(rpc: RpcClient, provider: str, block: int) -> MarketAddresses:
    """Pool, configurator and reserve tokens behind a PoolAddressesProvider; anything else is a ProtocolError."""
    provider = provider.lower()
    hint = "check markets[].pool_addresses_provider"
    if await rpc.get_code(provider, block) == "0x":
        raise ProtocolError(
            f"{provider} has no contract code at block {block}: not an Aave v3 PoolAddressesProvider ({hint})"
        )
    what = f"{provider} is not an Aave v3 PoolAddressesProvider ({hint})"
    (pool,) = await _call(rpc, provider, GET_POOL, block, what)
    pool = str(pool).lower()
    if pool == ZERO_ADDRESS or await rpc.get_code(pool, block) == "0x":
        raise ProtocolError(f"{what}: getPool() returned {pool}, which has no contract code at block {block}")
    (configurator,) = await _call(rpc, provider, GET_POOL_CONFIGURATOR, block, what)
    reserves = await read_reserves(rpc, pool, block)
    return MarketAddresses(provider, pool, str(configurator).lower(), reserves)


class Discovery:
    """Discovers every account of one market and keeps the checkpoint in step with the chain.

    Call :meth:`open` first (it resolves the addresses and registers the market in the checkpoint), then
    :meth:`sync` to catch up once, or iterate :meth:`follow` to keep following the head.
    """

    def __init__(
        self,
        rpc: RpcClient,
        checkpoint: Checkpoint,
        market: MarketConfig,
        *,
        confirmations: int,
        span: SpanPolicy | None = None,
        reorg_window: int = 256,
        poll_interval_s: float = 1.0,
    ) -> None:
        if reorg_window < 1 or confirmations < 0:
            raise ValueError("reorg_window must be >= 1 and confirmations >= 0")
        self.rpc = rpc
        self.checkpoint = checkpoint
        self.market = market
        self.confirmations = confirmations
        self.reorg_window = reorg_window
        self.poll_interval_s = poll_interval_s
        self.span = AdaptiveSpan(span)
        self._addresses: MarketAddresses | None = None

    @property
    def name(self) -> str:
        """The market's config name (its key in the checkpoint)."""
        return self.market.name

    @property
    def addresses(self) -> MarketAddresses:
        """The market's contracts (after :meth:`open`)."""
        if self._addresses is None:
            raise RuntimeError("Discovery.open() has not run")
        return self._addresses

    @property
    def last_block(self) -> int:
        """The newest processed block (``start_block - 1`` before the first range)."""
        state = self.checkpoint.market(self.name)
        return self.market.start_block - 1 if state is None else state.last_block

    def accounts(self) -> frozenset[str]:
        """Every account discovered so far."""
        return self.checkpoint.accounts(self.name)

    async def open(self) -> MarketAddresses:
        """Resolve the market's addresses at the safe head and check them against the checkpoint."""
        safe = max(await self.rpc.block_number() - self.confirmations, 0)
        addresses = await resolve_market(self.rpc, self.market.pool_addresses_provider, safe)
        state = self.checkpoint.market(self.name)
        if state is None:
            self.checkpoint.create_market(
                self.name, provider=addresses.provider, pool=addresses.pool, start_block=self.market.start_block
            )
        elif (state.provider, state.pool) != (addresses.provider, addresses.pool):
            raise CheckpointError(
                f"checkpoint market {self.name!r} belongs to provider {state.provider} / pool {state.pool}, "
                f"the config now names {addresses.provider} / {addresses.pool}: use another checkpoint file"
            )
        elif state.start_block != self.market.start_block:
            raise CheckpointError(
                f"checkpoint market {self.name!r} was backfilled from block {state.start_block}, the config says "
                f"start_block {self.market.start_block}: delete the checkpoint to backfill again"
            )
        self._addresses = addresses
        return addresses

    async def sync(self, *, max_ranges: int | None = None) -> list[DiscoveryUpdate]:
        """Catch up to ``head - confirmations`` (or stop after ``max_ranges`` ranges); every range committed."""
        return [u async for u in self.updates(max_ranges=max_ranges)]

    async def follow(self, stop: asyncio.Event | None = None) -> AsyncIterator[DiscoveryUpdate]:
        """Updates forever (until ``stop`` is set): catch up, wait ``poll_interval_s``, repeat.

        Transport and malformed-answer errors that survived the RPC owner's retries are logged and the
        next poll tries again; protocol, chain-id, reorg-depth and checkpoint errors end the iteration.
        """
        stop = stop or asyncio.Event()
        while not stop.is_set():
            caught_up = True
            try:
                async for update in self.updates():
                    caught_up = False
                    yield update
                    if stop.is_set():
                        return
            except (RpcTransportError, MalformedResponseError) as exc:
                log.warning("discovery of %s: %s; retrying in %.1f s", self.name, exc, self.poll_interval_s)
            if caught_up:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval_s)

    async def updates(self, *, max_ranges: int | None = None) -> AsyncIterator[DiscoveryUpdate]:
        """The ranges (and rollbacks) needed to reach the safe head now, each yielded once committed."""
        if self._addresses is None:
            await self.open()
        head = await self.rpc.block_number()
        safe = head - self.confirmations
        state = self.checkpoint.market(self.name)
        assert state is not None
        if safe > state.last_block:  # reserves listed up to `safe` cover every range read below
            reserves = await read_reserves(self.rpc, self.addresses.pool, safe)
            self._addresses = self.addresses.with_reserves(reserves)
        flt = LogFilter(0, 0, self.addresses.log_sources, (all_topics(),))
        done = restarts = 0
        while max_ranges is None or done < max_ranges:
            state = self.checkpoint.market(self.name)
            assert state is not None
            frm = state.last_block + 1
            to = min(frm + self.span.current - 1, safe)
            if frm > to:  # caught up: the tip we stopped at must still be on the chain (same-height reorgs)
                if state.last_hash is None:
                    return
                tip = await self.rpc.block(state.last_block)
                if tip is not None and tip.hash == state.last_hash:
                    return
                first = last = None
            else:
                first, last = await self._headers(frm, to)
            if first is None or last is None or (state.last_hash is not None and first.parent_hash != state.last_hash):
                restarts = self._restart(restarts, f"block {frm} does not extend the processed chain")
                rollback = await self._rollback(state.last_block)
                if rollback.fork_block < state.last_block:
                    yield rollback
                head = await self.rpc.block_number()
                safe = min(safe, head - self.confirmations)
                continue
            try:
                logs = await self.rpc.get_logs(flt.with_range(frm, to))
            except RpcError as exc:
                if not self.span.shrink(frm, to, str(exc)):
                    raise
                log.info("eth_getLogs %d..%d failed (%s); span now %d", frm, to, exc, self.span.current)
                continue
            ends = {frm: first.hash, to: last.hash}
            if any(not frm <= lg.block_number <= to for lg in logs):
                raise MalformedResponseError(f"eth_getLogs {frm}..{to} answered logs outside the range")
            if any(ends.get(lg.block_number, lg.block_hash) != lg.block_hash for lg in logs):
                restarts = self._restart(restarts, f"logs of {frm}..{to} come from another fork")
                continue
            digest = digest_logs(logs, self.addresses)
            new = self.checkpoint.commit_range(
                self.name, to_block=to, to_hash=last.hash, hashes=ends, touched=digest.accounts,
                keep_hashes=self.reorg_window,
            )  # fmt: skip
            self.span.success()
            done += 1
            restarts = 0
            yield RangeResult(
                market=self.name,
                from_block=frm,
                to_block=to,
                to_hash=last.hash,
                touched=frozenset(digest.accounts),
                new_accounts=new,
                config_changed=digest.config_changed,
                listing_changed=digest.listing_changed,
                events=MappingProxyType(dict(digest.events)),
                head=head,
            )

    async def _headers(self, frm: int, to: int) -> tuple[Block | None, Block | None]:
        got = await self.rpc.blocks([frm] if frm == to else [frm, to])
        return got[0], got[-1]

    def _restart(self, restarts: int, why: str) -> int:
        if restarts >= MAX_RESTARTS:
            raise ChainError(f"discovery of {self.name}: the chain keeps changing under us ({why})")
        log.info("discovery of %s: %s; reading again", self.name, why)
        return restarts + 1

    async def _rollback(self, orphaned_to: int) -> Rollback:
        """Find the newest stored block still on the chain and forget everything after it."""
        stored = self.checkpoint.block_hashes(self.name)
        numbers = sorted(stored, reverse=True)
        chain = await self.rpc.blocks(numbers) if numbers else []
        fork = next((n for n, b in zip(numbers, chain, strict=True) if b is not None and b.hash == stored[n]), None)
        if fork is None:
            if numbers:
                raise ReorgTooDeepError(
                    f"discovery of {self.name}: none of the {len(numbers)} stored block hashes (blocks "
                    f"{numbers[-1]}..{numbers[0]}) is on the chain any more; delete the checkpoint to backfill again"
                )
            fork, fork_hash = self.market.start_block - 1, None
        else:
            fork_hash = stored[fork]
        result = self.checkpoint.rollback(self.name, fork_block=fork, fork_hash=fork_hash)
        log.warning(
            "discovery of %s: reorg, rolled back from block %d to %d (%d accounts forgotten)",
            self.name, orphaned_to, fork, len(result.removed_accounts),
        )  # fmt: skip
        return Rollback(self.name, fork, orphaned_to, result.removed_accounts, result.stale_positions)
