"""Cascade projection engine: "if WETH drops 20%, where does it stop?" (pure numpy, no I/O).

The default model is what happens on chain when liquidators act at once (proven against the devnet's real
``liquidationCall`` cascades in ``tests/risk``):

1. **Shock**: an outside seller moves each shocked asset's pool to ``(1 + change)`` of its price (exact Uniswap
   v3 swap with a price limit; the depth left continues from there); the asset's oracle is set to the pool's
   spot price. An asset without a pool (the quote asset) has its oracle price moved directly.
2. **Rounds**: every account with collateral, debt and HF < 1 is liquidated once at the round's oracle prices
   the way the liquidator bot does: largest-value collateral against largest-value debt, ``debtToCover`` =
   as much as allowed. Aave v3.0 rules: close factor 50% of that reserve's debt while HF > 0.95, 100% below;
   seized collateral = debt value x bonus capped at the balance (debt scaled down), a protocol fee share of the
   bonus to the treasury; a call that would repay or pay out 0 reverts. v3.3 rules (``ModelParams.rules``):
   position-level 50% only when both reserve positions are >= $2,000, no leftover below $1,000
   (``MUST_NOT_LEAVE_DUST``: the liquidator covers less), remaining debt burned into a deficit when the
   collateral runs out.
3. **Sales**: after the round, what the liquidators received of each asset is sold into its pool (exact swap, no
   price limit; reserve order) and that asset's oracle is set to the pool's new spot price. Repeat until no
   account is liquidatable (or a round can achieve nothing, or ``max_rounds``). Accounts left with debt and no
   collateral are bad debt.

Options (:class:`ModelParams`, each departing from the default in one way): liquidator capital per round, share
of seized collateral sold on the DEX, gas cost and minimum profit per liquidation, oracle deviation threshold,
liquidator latency in rounds.

API::

    book = CascadeBook.from_book(health_factor_book)          # or CascadeBook.from_arrays(market, coll, debt, emode)
    venues = choose_venues(book.market, pool_states)          # {asset: Venue(asset, quote, PoolState, quote_price)}
    projector = Projector(book, venues, ModelParams())        # reuse it for many scenarios
    result = projector.project({"WETH": -0.2})                # or project(book, venues, scenario, params)
    result.rounds[i]  -> RoundResult(round, accounts_liquidated, debt_repaid_usd, collateral_seized,
                                     collateral_seized_usd, protocol_fee_usd, collateral_sold, oracle_prices_usd,
                                     bad_debt_usd, bad_debt_accounts, skipped)
    result -> CascadeResult(final_prices_usd, extra_drop, amplification, debt_repaid_usd, bad_debt_usd,
                            bad_debt_accounts, new_bad_debt_usd, toxic_before_shock, toxic_after_shock, ...)
    sweep(projector, assets=None, spec=SweepSpec(), limits=Limits()) -> SweepResult (curves 1..90% per asset,
                                                                         critical shock by bisection)
    run_loop(book, venues, scenario, params)  # the same model as a per-account Python loop (benchmarks, tests)

Amounts are float64 token units carrying the contracts' integer floors; on the devnet the projection matches
the chain to ~1e-6 (rounds and accounts exactly). Bad inputs raise :class:`monitor.errors.DataError`.
"""

from __future__ import annotations

from monitor.risk.engine import Projector, project
from monitor.risk.market import CascadeBook, RiskMarket
from monitor.risk.params import Limits, ModelParams, Scenario, SweepSpec
from monitor.risk.reference import LoopResult, run_loop
from monitor.risk.results import CascadeResult, RoundResult, Toxic
from monitor.risk.sweep import AssetSweep, SweepResult, collateral_assets, critical_shock, crossing, sweep
from monitor.risk.venues import Venue, choose_venues

__all__ = [
    "AssetSweep",
    "CascadeBook",
    "CascadeResult",
    "Limits",
    "LoopResult",
    "ModelParams",
    "Projector",
    "RiskMarket",
    "RoundResult",
    "Scenario",
    "SweepResult",
    "SweepSpec",
    "Toxic",
    "Venue",
    "choose_venues",
    "collateral_assets",
    "critical_shock",
    "crossing",
    "project",
    "run_loop",
    "sweep",
]
