"""Which package serves a config entry's ``protocol``: the one place that names every protocol.

Adding a protocol: its package declares a config model (added to :data:`monitor.config.MarketConfig`) and a
:class:`~monitor.protocols.base.MarketTracker`; one entry here maps the ``protocol`` value to its opener.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig, MarketConfig
from monitor.configbase import FrozenModel
from monitor.errors import ConfigError
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.prices import read_prices as read_aave_v3_prices
from monitor.protocols.aave_v3.tracker import AaveV3Tracker
from monitor.protocols.base import MarketTracker, PriceSource
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.prices import read_prices as read_morpho_blue_prices
from monitor.protocols.morpho_blue.tracker import MorphoBlueTracker


@dataclass(frozen=True)
class TrackerDeps:
    """What every tracker is opened with: the chain's reads, the checkpoint file and the chain's settings."""

    rpc: RpcClient
    checkpoint: Checkpoint
    chain: ChainConfig


Entry = TypeVar("Entry", bound=FrozenModel)
EntryIn = TypeVar("EntryIn", bound=FrozenModel, contravariant=True)
PriceReader = Callable[[RpcClient, MarketConfig, Sequence[str], int], Awaitable[Mapping[str, PriceSource]]]


@dataclass(frozen=True)
class ProtocolPackage:
    """What the rest of the monitor asks a protocol package for."""

    open_tracker: Callable[[MarketConfig, TrackerDeps], MarketTracker]
    read_prices: PriceReader  # (rpc, entry, tokens, block) -> the market's prices of those tokens, no indexing


class _Opens(Protocol[EntryIn]):
    """A tracker class: opened on one entry of its protocol with the chain's reads and checkpoint."""

    def __call__(
        self, rpc: RpcClient, checkpoint: Checkpoint, market: EntryIn, *, confirmations: int, poll_interval_s: float
    ) -> MarketTracker: ...


def _package(
    model: type[Entry],
    tracker: _Opens[Entry],
    prices: Callable[[RpcClient, Entry, Sequence[str], int], Awaitable[Mapping[str, PriceSource]]],
) -> ProtocolPackage:
    """A package whose opener and price reader take only entries of ``model`` (another entry: ConfigError)."""

    def entry(market: MarketConfig) -> Entry:
        if not isinstance(market, model):
            raise ConfigError(f"market {market.name}: not a {model.__name__} entry")
        return market

    def open_tracker(market: MarketConfig, deps: TrackerDeps) -> MarketTracker:
        chain = deps.chain
        return tracker(deps.rpc, deps.checkpoint, entry(market), confirmations=chain.confirmations,
                       poll_interval_s=chain.poll_interval_s)  # fmt: skip

    async def read_prices(
        rpc: RpcClient, market: MarketConfig, tokens: Sequence[str], block: int
    ) -> Mapping[str, PriceSource]:
        return await prices(rpc, entry(market), tokens, block)

    return ProtocolPackage(open_tracker, read_prices)


PACKAGES: dict[str, ProtocolPackage] = {
    "aave-v3": _package(AaveV3MarketConfig, AaveV3Tracker, read_aave_v3_prices),
    "morpho-blue": _package(MorphoBlueMarketConfig, MorphoBlueTracker, read_morpho_blue_prices),
}


def known_protocols() -> tuple[str, ...]:
    """Every ``protocol`` value a config entry may name, sorted."""
    return tuple(sorted(PACKAGES))


def package(market: MarketConfig) -> ProtocolPackage:
    """The package serving one config entry; a protocol without one is a ConfigError naming the known ones."""
    found = PACKAGES.get(market.protocol)
    if found is None:
        known = ", ".join(known_protocols())
        raise ConfigError(f"market {market.name}: unknown protocol {market.protocol!r}; known protocols: {known}")
    return found


def open_tracker(market: MarketConfig, deps: TrackerDeps) -> MarketTracker:
    """The tracker of one config entry (see :func:`package` for an unknown protocol)."""
    return package(market).open_tracker(market, deps)


async def read_prices(
    rpc: RpcClient, market: MarketConfig, tokens: Sequence[str], block: int
) -> Mapping[str, PriceSource]:
    """The market's USD prices of those of ``tokens`` it prices, at ``block`` (see :func:`package`)."""
    return await package(market).read_prices(rpc, market, tokens, block)
