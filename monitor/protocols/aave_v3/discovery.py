"""Account discovery for one Aave v3 market: which logs to follow, and which accounts they touch.

The reorg-safe following itself (ranges, hash ring, rollbacks, the checkpoint) is the chain-level
:class:`~monitor.chain.follow.driver.LogFollower`; this module resolves the market's contracts, gives the
follower the filter (pool, configurator, every aToken / debt token, with the reserve list read at each pass's
target block) and the digest (:func:`~monitor.protocols.aave_v3.events.digest_logs`), and turns its reports
into :class:`RangeResult` / :class:`Rollback`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.chain.abi import AbiFunction
from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.follow.driver import LogFollower
from monitor.chain.follow.machine import ReadRange
from monitor.chain.follow.span import SpanPolicy
from monitor.chain.follow.updates import Committed, RolledBack
from monitor.chain.model import Log, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.errors import (
    CheckpointError,
    MalformedResponseError,
    ProtocolError,
    RpcResponseError,
    RpcTransportError,
)
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.events import LogDigest, all_topics, digest_logs
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
    """A reorganisation: everything after ``fork_block`` was forgotten and will be read again.

    ``reset``: none of the stored blocks was on the chain any more; the market backfills from ``start_block``.
    """

    market: str
    fork_block: int
    orphaned_to: int  # the last processed block before the reorg
    removed_accounts: frozenset[str]
    reset: bool = False


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
        market: AaveV3MarketConfig,
        *,
        confirmations: int,
        span: SpanPolicy | None = None,
        reorg_window: int = 256,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.rpc = rpc
        self.checkpoint = checkpoint
        self.market = market
        self.poll_interval_s = poll_interval_s
        self.follower: LogFollower[LogDigest] = LogFollower(
            rpc, checkpoint, market.name, digest=self._digest, confirmations=confirmations, ring_size=reorg_window,
            span=span,
        )  # fmt: skip
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
        safe = max(await self.rpc.block_number() - self.follower.confirmations, 0)
        addresses = await resolve_market(self.rpc, self.market.pool_addresses_provider, safe)
        identity = f"{addresses.provider} {addresses.pool}"
        state = self.checkpoint.market(self.name)
        if state is None:
            self.checkpoint.create_market(self.name, identity=identity, start_block=self.market.start_block)
        elif state.identity != identity:
            provider, _, pool = state.identity.partition(" ")
            raise CheckpointError(
                f"checkpoint market {self.name!r} belongs to provider {provider} / pool {pool}, "
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
        next poll tries again; protocol, chain-id and checkpoint errors end the iteration.
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
        async for u in self.follower.updates(self._filter_at, max_ranges=max_ranges):
            if isinstance(u, Committed):
                d = u.digest
                yield RangeResult(
                    market=self.name, from_block=u.from_block, to_block=u.to_block, to_hash=u.to_hash,
                    touched=frozenset(d.accounts), new_accounts=u.new_accounts,
                    config_changed=d.config_changed, listing_changed=d.listing_changed,
                    events=MappingProxyType(dict(d.events)), head=u.head,
                )  # fmt: skip
            else:
                yield _rollback(u)

    async def prefetch(self, plan: ReadRange, target: int) -> None:
        """Ask ahead, concurrently, what a pass reading ``plan`` up to ``target`` will ask if no reserve was
        listed since the last pass: the reserve list and data at ``target``, the range's headers and logs
        (see :meth:`MarketIndexer.prefetch <monitor.protocols.aave_v3.indexer.MarketIndexer.prefetch>`)."""
        if self._addresses is None:
            return
        pool = self._addresses.pool
        calls = [(pool, GET_RESERVES_LIST.encode()), *((pool, GET_RESERVE_DATA.encode(r.asset))
                                                         for r in self._addresses.reserves)]  # fmt: skip
        flt = LogFilter(plan.from_block, plan.to_block, self._addresses.log_sources, (all_topics(),))
        await asyncio.gather(self.rpc.eth_calls(calls, target, return_errors=True), self.rpc.blocks(plan.headers),
                             self.rpc.get_logs(flt), return_exceptions=True)  # fmt: skip

    async def _filter_at(self, target: int) -> LogFilter:
        """The pass's filter: reserves listed up to ``target`` cover every range it reads."""
        reserves = await read_reserves(self.rpc, self.addresses.pool, target)
        self._addresses = self.addresses.with_reserves(reserves)
        return LogFilter(0, 0, self.addresses.log_sources, (all_topics(),))

    def _digest(self, logs: Sequence[Log]) -> LogDigest:
        return digest_logs(logs, self.addresses)


def _rollback(u: RolledBack) -> Rollback:
    return Rollback(u.market, u.fork_block, u.orphaned_to, u.removed_accounts, u.reset)
