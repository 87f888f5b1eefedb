"""The seam between a lending protocol's package and the rest of the monitor.

The daemon and the commands hold a :class:`MarketTracker` per configured market (made by
:func:`monitor.protocols.registry.open_tracker` from the config entry) and read what a block holds through the
:class:`MarketView` it returns; they never learn a protocol's name, contracts or maths. A protocol package
implements both classes:

- resolve the market from its config entry and keep its accounts current (:meth:`MarketTracker.refresh`,
  :meth:`MarketTracker.catch_up`), with the logs it follows (:meth:`MarketTracker.log_filter`) and the accounts
  a log touches (:meth:`MarketTracker.touched_accounts`);
- read the market pinned to one block (:meth:`MarketTracker.read_at`);
- the book with its exact health check, summed up in protocol-neutral figures (:meth:`MarketView.figures`), and
  listed account by account for ``snapshot`` (:meth:`MarketView.document`, :meth:`MarketView.describe`);
- the protocol's price sources (:meth:`MarketView.price_sources`);
- what the risk engine takes (:meth:`MarketView.risk_input`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.chain.model import Log, LogFilter
from monitor.risk.buffers import Coverage, coverage
from monitor.risk.model import RiskInput
from monitor.risk.results import CascadeResult as RiskResult

AT_RISK_DROPS = (
    0.01,
    0.02,
    0.05,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
)  # single-asset drops the figures cover

Progress = Callable[[int, int, int], None]  # (processed block, first block, safe head) while catching up


@dataclass(frozen=True)
class PriceSource:
    """The price a market values one asset at, and where it comes from."""

    asset: str  # token address, lower-case
    symbol: str
    usd: float  # USD per whole token
    source: str  # e.g. "AaveOracle 0x..."


@dataclass(frozen=True)
class RiskyAccount:
    """One of the bounded top-N riskiest accounts."""

    address: str
    health_factor: float
    debt_usd: float
    collateral_usd: float


@dataclass(frozen=True)
class HealthFigures:
    """A market's health at one block, in terms every protocol shares (what the metrics and alerts show).

    ``health_factor`` is the protocol's own measure, 1.0 being the liquidation line (for a protocol that states
    health as a loan-to-value against a limit, the limit over the LTV).
    """

    accounts: int
    accounts_with_debt: int
    collateral_usd: float
    debt_usd: float
    hf_edges: tuple[float, ...]
    hf_counts_cumulative: tuple[int, ...]  # accounts with debt and health factor < edge, per edge
    hf_debt_cumulative_usd: tuple[float, ...]  # their debt
    liquidatable_accounts: int
    liquidatable_debt_usd: float
    toxic_accounts: int  # accounts a liquidation leaves less healthy than before
    collateral_at_risk_usd: Mapping[str, Mapping[float, float]]  # symbol -> drop -> USD (current prices)
    top_accounts: tuple[RiskyAccount, ...]
    debt_below: Mapping[float, float]  # health factor level -> debt USD of accounts below it


class MarketView(ABC):
    """One market read at one block. A view a tracker's refresh returned may share the tracker's live state:
    read it before the next refresh (the daemon does, within the cycle); a view from ``read_at`` is its own."""

    name: str  # the config entry's name
    protocol: str  # the config entry's protocol
    block: int
    book: Any  # the protocol's own book of accounts at this block (its exact maths; tests and tools read it)

    @abstractmethod
    def figures(self, edges: Sequence[float], levels: Sequence[float], top_n: int) -> HealthFigures:
        """The health distribution over ``edges``, debt below each of ``levels``, the ``top_n`` riskiest."""

    @abstractmethod
    def price_sources(self) -> Mapping[str, PriceSource]:
        """The market's price of every asset it lists, by token address."""

    @abstractmethod
    def risk_input(self, rules: str | None = None) -> RiskInput:
        """The engine's input for this market: its neutral risk table and the protocol's liquidation model;
        ``rules`` names other liquidation rules of the protocol than those of the market's detected version."""

    def scenario_fields(self, result: RiskResult) -> dict[str, Any]:
        """Protocol-specific fields a projection of this market adds to its ``simulate --json`` entry (none by
        default; Morpho Blue: lenders' losses)."""
        return {}

    def unpriced_markets(self) -> Mapping[str, str] | None:
        """Lending markets of this entry left out of this block's figures and risk input because their own price
        source failed, id -> why (None: the protocol has no such markets, the default; Morpho Blue: a market
        whose oracle or IRM reverts)."""
        return None

    def reserve_deficits_usd(self) -> Mapping[str, float]:
        """Debt the protocol has written off and not yet covered, USD by asset symbol (none by default)."""
        return {}

    def buffers_usd(self) -> Mapping[str, float]:
        """What absorbs each loss-bearing unit's bad debt before anyone else, USD by the keys of
        :meth:`reserve_deficits_usd` and :meth:`scenario_losses_usd` (a unit not named has none; by default none)."""
        return {}

    def scenario_losses_usd(self, result: RiskResult) -> Mapping[str, float]:
        """The loss a projection writes off per loss-bearing unit, USD (Aave: new deficit by reserve symbol;
        Morpho Blue: lenders' loss by market id; none by default)."""
        return {}

    def buffer_coverage(self, result: RiskResult) -> dict[str, Coverage]:
        """Per unit, its buffer against its loss after the projection (the one written off now plus the new)."""
        return coverage(self.buffers_usd(), self.reserve_deficits_usd(), self.scenario_losses_usd(result))

    @abstractmethod
    def document(self, edges: Sequence[float]) -> dict[str, Any]:
        """The market's entry of ``snapshot --json``: ``name``, ``protocol``, one row per account with debt."""

    @abstractmethod
    def describe(self, edges: Sequence[float], top: int) -> str:
        """The market's section of the ``snapshot`` text report."""


@dataclass(frozen=True)
class Refresh:
    """A market brought to the newest safe block."""

    view: MarketView
    fork_block: int | None = None  # the lowest block a reorg rolled back to in this refresh (None: no reorg)


class MarketTracker(ABC):
    """One configured market, followed block by block; long-lived (it owns the protocol's indexer state).

    Every read goes through the RPC client it was opened with; the daemon hands it one whose reads are pinned to
    the chain's current block, so that markets sharing contracts read them once.
    """

    name: str
    protocol: str

    @abstractmethod
    async def catch_up(self, progress: Progress | None = None) -> None:
        """Backfill the market's accounts to the newest safe block (resuming from the checkpoint)."""

    @abstractmethod
    async def refresh(self) -> Refresh:
        """Catch up and read the market at the newest safe block."""

    async def prefetch(self, head: int) -> None:
        """Ask ahead, all at once, the reads the next :meth:`refresh` at chain head ``head`` can be known to make
        (a protocol without it makes them one after the other). Meant for an RPC client that shares answers
        within a block (the daemon's), run alongside :meth:`refresh`; never raises, never changes the market."""
        return None

    @abstractmethod
    async def read_at(self, block: int) -> MarketView:
        """The market as it was at ``block`` (an already-final block), read from scratch."""

    @abstractmethod
    def log_filter(self) -> LogFilter:
        """The addresses and topics the market's follower asks eth_getLogs for (block range left at 0..0)."""

    @abstractmethod
    def touched_accounts(self, logs: Sequence[Log]) -> Mapping[str, int]:
        """The accounts whose position the logs may change, each with the first block that touched it."""
