"""The daemon's system result: the configured scenarios projected on every market of the chain as one cascade.

Pure: built from the markets' risk inputs of one block and that block's pools (the same inputs ``simulate`` reads
for a config with several markets, so the figures equal its ``--json``); CPU work, run in a worker thread. Per
scenario the system's debt repaid and bad debt, how long the cascade takes, what it liquidates in its first
minute and hour and its dust, and per market its figures, its contagion (its figures in the
system minus its figures projected alone, :mod:`monitor.risk.system`) and its buffers against its own part of the
cascade's losses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.config import ScenarioConfig
from monitor.daemon.projection import expand_scenarios
from monitor.dex.pool import PoolState
from monitor.errors import DataError
from monitor.risk import ModelParams, OffchainCurve
from monitor.risk.buffers import Coverage, coverage
from monitor.risk.results import CascadeResult
from monitor.risk.system import Contagion, MarketFigures, SystemMember, SystemProjector, SystemResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemScenario:
    """One scenario projected on the system."""

    name: str
    debt_repaid_usd: float  # every market's liquidations together
    bad_debt_usd: float  # every market's bad debt after the cascade (as ``simulate --json``'s ``bad_debt_usd``)
    contagion: Mapping[str, Contagion]  # market name -> its figures in the system minus its figures alone
    shocks: Mapping[str, float] = field(default_factory=dict)  # asset (symbol or address, as configured) -> change
    accounts_liquidated: int = 0  # summed over the rounds and markets (as ``simulate --json``'s rounds)
    bad_debt_accounts: int = 0
    markets: tuple[MarketFigures, ...] = ()  # each market's share of the system cascade (member order)
    # market name -> loss-bearing unit -> its buffer against the loss the system cascade leaves there
    buffers: Mapping[str, Mapping[str, Coverage]] = field(default_factory=dict)
    # time (as ``simulate --json``'s fields of these names): seconds and blocks to the cascade's last round, debt
    # repaid in its first minute and hour, and its dust (liquidatable but not worth liquidating at the end)
    duration_seconds: float = 0.0
    duration_blocks: int = 0
    liquidated_first_minute_usd: float = 0.0
    liquidated_first_hour_usd: float = 0.0
    dust_accounts: int = 0
    dust_debt_usd: float = 0.0


@dataclass(frozen=True)
class MemberBuffers:
    """What absorbs a market's losses per unit (``buffers_usd``), the losses written off already
    (``current_loss_usd``, e.g. Aave's reserve deficits) and how a projection's losses fall on its units
    (``losses``: the market view's ``scenario_losses_usd``), as the market's view of the block says."""

    buffers_usd: Mapping[str, float]
    current_loss_usd: Mapping[str, float]
    losses: Callable[[CascadeResult], Mapping[str, float]]


def _coverage(
    members: Sequence[SystemMember], result: SystemResult, buffers: Mapping[str, MemberBuffers]
) -> dict[str, Mapping[str, Coverage]]:
    """Per market with buffers given, each unit's buffer against the system cascade's loss there: the market's
    own part of the write-offs, on its units as its view counts them (as ``simulate --json``'s ``buffers``)."""
    out: dict[str, Mapping[str, Coverage]] = {}
    for i, member in enumerate(members):
        given = buffers.get(member.name)
        if given is None:
            continue
        new_loss = given.losses(result.system.member_result(i))
        out[member.name] = MappingProxyType(coverage(given.buffers_usd, given.current_loss_usd, new_loss))
    return out


@dataclass(frozen=True)
class SystemProjections:
    """The system result of one block: which markets it joined and its scenarios."""

    block: int
    markets: tuple[str, ...]
    scenarios: tuple[SystemScenario, ...]
    block_timestamp: int = 0  # unix seconds of the block


def system_projections(
    block: int,
    members: Sequence[SystemMember],
    pools: Mapping[str, PoolState],
    scenarios: Iterable[ScenarioConfig],
    params: ModelParams | None = None,
    block_timestamp: int = 0,
    buffers: Mapping[str, MemberBuffers] | None = None,
    *,
    offchain: Mapping[str, OffchainCurve] | None = None,
    split: bool = False,
) -> SystemProjections:
    """Project ``scenarios`` (``"*"`` expanded per collateral asset of the system) on ``members`` as one cascade
    selling into ``pools`` (the block's configured pools); a scenario the system cannot project (an asset no
    market lists) is skipped with a warning. ``buffers``: per market name its buffers and current losses (the
    market's result of the block), for each scenario's coverage. ``offchain`` and ``split``: see
    :func:`~monitor.risk.gather_venues`."""
    # a new table every block and a handful of projections on it: not worth arranging (Projector.arrange)
    system = SystemProjector.from_pools(members, pools.values(), params, offchain=offchain, split=split,
                                        arrange=False)  # fmt: skip
    out = []
    for name, shocks in expand_scenarios(scenarios, system.projector):
        try:
            result = system.project(shocks)
        except DataError as exc:
            log.warning("system scenario %s skipped: %s", name, exc)
            continue
        out.append(
            SystemScenario(
                name=name,
                debt_repaid_usd=result.system.debt_repaid_usd,
                bad_debt_usd=result.system.bad_debt_usd,
                contagion=MappingProxyType(dict(result.contagion)),
                shocks=MappingProxyType(dict(shocks)),
                accounts_liquidated=result.system.accounts_liquidated,
                bad_debt_accounts=result.system.bad_debt_accounts,
                markets=result.markets,
                buffers=MappingProxyType(_coverage(members, result, buffers or {})),
                duration_seconds=result.system.duration_seconds,
                duration_blocks=result.system.duration_blocks,
                liquidated_first_minute_usd=result.system.liquidated_first_minute_usd,
                liquidated_first_hour_usd=result.system.liquidated_first_hour_usd,
                dust_accounts=result.system.dust_accounts,
                dust_debt_usd=result.system.dust_debt_usd,
            )
        )
    return SystemProjections(block, tuple(m.name for m in members), tuple(out), block_timestamp)
