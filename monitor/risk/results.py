"""What a projection returns: a rounds table, final prices, drops, amplification, totals and bad debt.

Prices are USD floats keyed by asset address (assets; extra price sources when shocked). Token amounts are
in whole tokens (decimals applied). ``bad_debt_*`` is the debt of accounts left with no collateral (plus the debt
the protocol's model wrote off when collateral ran out, e.g. Aave v3.3 deficits); ``new_bad_debt_usd`` excludes
what was bad before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RoundResult:
    """One round: every eligible liquidatable account liquidated once, then the seized collateral sold."""

    round: int
    accounts_liquidated: int
    debt_repaid_usd: float
    collateral_seized: Mapping[str, float]  # asset -> tokens the liquidators received
    collateral_seized_usd: float  # at the round's oracle prices
    protocol_fee_usd: float
    collateral_sold: Mapping[str, float]  # asset -> tokens sold into its pool
    oracle_prices_usd: Mapping[str, float]  # after the round's sales
    bad_debt_usd: float  # so far, at these prices
    bad_debt_accounts: int
    skipped: int  # liquidatable but not liquidated: latency, capital, profit, per-block limit, or a reverting call
    block: int = 0  # blocks after the shock (monitor.risk.clock)
    seconds: float = 0.0  # seconds after the shock: block x block time
    # split sales only (venue sets): asset symbol -> venue label -> tokens sold there (sums to collateral_sold)
    sold_by_venue: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Toxic:
    """Liquidatable accounts where ``LT x bonus > HF`` for some held collateral: a partial liquidation makes
    them worse (Warmuz et al.); their debt and collateral in USD."""

    accounts: int
    debt_usd: float
    collateral_usd: float


@dataclass(frozen=True)
class CascadeResult:
    """A projected cascade. ``amplification`` is per shocked asset: final drop / initial drop (1.0 when the
    cascade added nothing); ``extra_drop`` is final drop - initial drop, in shares of the pre-shock price."""

    shocks: Mapping[str, float]
    rules: str
    initial_prices_usd: Mapping[str, float]
    shocked_prices_usd: Mapping[str, float]
    final_prices_usd: Mapping[str, float]
    rounds: tuple[RoundResult, ...]
    debt_repaid_usd: float
    collateral_seized_usd: float
    protocol_fee_usd: float
    accounts_liquidated: int  # distinct accounts
    liquidations: int  # calls
    bad_debt_usd: float
    bad_debt_accounts: int
    bad_debt_before_usd: float
    deficit_usd: float  # debt the protocol wrote off when the collateral ran out (Aave v3.3: reserve deficits)
    unliquidated_accounts: int  # still liquidatable at the end (limits of the model options or round limit)
    unliquidated_debt_usd: float
    shortfall_usd: float  # sum over accounts of max(0, debt - collateral) at final prices
    toxic_before_shock: Toxic
    toxic_after_shock: Toxic
    converged: bool  # ended because no account was left to liquidate
    extra_drop: Mapping[str, float] = field(default_factory=dict)
    amplification: Mapping[str, float] = field(default_factory=dict)
    deficit_usd_by_reserve: Mapping[str, float] = field(default_factory=dict)  # asset -> part of deficit_usd
    deficit_usd_by_class: Mapping[str, float] = field(default_factory=dict)  # risk class name -> part of it
    # time (monitor.risk.clock): the last round's block and second after the shock; debt repaid within 60 s and
    # 3600 s of the shock
    duration_blocks: int = 0
    duration_seconds: float = 0.0
    liquidated_first_minute_usd: float = 0.0
    liquidated_first_hour_usd: float = 0.0
    # dust (monitor.risk.dust): liquidatable at the end but not worth liquidating (gas, minimum profit): accounts,
    # their debt and the part of it their collateral does not cover (included in shortfall_usd)
    dust_accounts: int = 0
    dust_debt_usd: float = 0.0
    dust_shortfall_usd: float = 0.0

    @property
    def new_bad_debt_usd(self) -> float:
        """Bad debt the scenario created (total minus what was bad before the shock)."""
        return max(self.bad_debt_usd - self.bad_debt_before_usd, 0.0)

    @property
    def max_amplification(self) -> float:
        """The largest amplification over the shocked assets that have one (1.0 without)."""
        return max(self.amplification.values(), default=1.0)

    def drop(self, asset: str) -> float:
        """Final drop of ``asset``'s price, as a share of its pre-shock price (negative for a rise)."""
        return 1.0 - self.final_prices_usd[asset] / self.initial_prices_usd[asset]
