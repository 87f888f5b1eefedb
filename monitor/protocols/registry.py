"""Which package serves a config entry's ``protocol``: the one place that names every protocol.

Adding a protocol: its package declares a config model (added to :data:`monitor.config.MarketConfig`) and a
:class:`~monitor.protocols.base.MarketTracker`; one entry here maps the ``protocol`` value to its opener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig, MarketConfig
from monitor.errors import ConfigError
from monitor.protocols.aave_v3.checkpoint import Checkpoint
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.tracker import AaveV3Tracker
from monitor.protocols.base import MarketTracker


@dataclass(frozen=True)
class TrackerDeps:
    """What every tracker is opened with: the chain's reads, the checkpoint file and the chain's settings."""

    rpc: RpcClient
    checkpoint: Checkpoint
    chain: ChainConfig


def _open_aave_v3(market: MarketConfig, deps: TrackerDeps) -> MarketTracker:
    if not isinstance(market, AaveV3MarketConfig):
        raise ConfigError(f"market {market.name}: not an aave-v3 entry")
    return AaveV3Tracker(deps.rpc, deps.checkpoint, market, confirmations=deps.chain.confirmations,
                         poll_interval_s=deps.chain.poll_interval_s)  # fmt: skip


OPENERS: dict[str, Callable[[MarketConfig, TrackerDeps], MarketTracker]] = {
    "aave-v3": _open_aave_v3,
}


def known_protocols() -> tuple[str, ...]:
    """Every ``protocol`` value a config entry may name, sorted."""
    return tuple(sorted(OPENERS))


def open_tracker(market: MarketConfig, deps: TrackerDeps) -> MarketTracker:
    """The tracker of one config entry; a protocol without a package is a ConfigError naming the known ones."""
    opener = OPENERS.get(market.protocol)
    if opener is None:
        known = ", ".join(known_protocols())
        raise ConfigError(f"market {market.name}: unknown protocol {market.protocol!r}; known protocols: {known}")
    return opener(market, deps)
