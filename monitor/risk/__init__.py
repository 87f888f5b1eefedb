"""Cascade projection engine: "if WETH drops 20%, where does it stop?" (pure numpy, no I/O, protocol-neutral).

The engine works on a neutral risk table (:mod:`monitor.risk.market`: accounts x assets, price slots, risk
classes) and takes each protocol's health check and liquidation rules from a
:class:`~monitor.risk.model.LiquidationModel` (Aave v3: ``monitor.protocols.aave_v3.liquidation_model``). The
default model is what happens on chain when liquidators act at once (proven against the devnet's real
``liquidationCall`` cascades in ``tests/risk``):

1. **Shock**: an outside seller moves each shocked asset's pool to ``(1 + change)`` of its price (exact Uniswap
   v3 swap with a price limit; the depth left continues from there); the asset's oracle is set to the pool's
   spot price (the default oracle model; :mod:`monitor.risk.oracles` for feeds held inside a deviation band,
   rate and fixed oracles). An asset without a pool (the quote asset) has its oracle price moved directly.
2. **Rounds**: every account with collateral, debt and HF < 1 (the model's exact health) is liquidated once at
   the round's oracle prices the way the protocol's liquidators do (the model's ``liquidate``: which assets,
   how much may be repaid, what is seized, the protocol fee, calls that would revert, debt written off when
   the collateral runs out).
3. **Sales**: after the round, what the liquidators received of each asset is sold into its pool (exact swap, no
   price limit; asset order) and that asset's oracle follows the pool's new spot price (as in 1). Repeat until no
   account is liquidatable (or a round can achieve nothing, or ``max_rounds``, or past ``horizon_seconds``).
   Accounts left with debt and no collateral are bad debt. With venue sets (:mod:`monitor.risk.venue_set`: every
   fee tier, two-hop routes and an off-chain depth curve of an asset) a sale is split so the venues' marginal
   prices end equal, and the oracle follows the asset's deepest pool.

Options (:class:`ModelParams`, each departing from the default in one way): liquidator capital per round (a block
with liquidations), share of seized collateral sold on the DEX, gas cost and minimum profit per liquidation,
oracle deviation threshold and models per asset, liquidator latency in rounds, liquidations per block.

Time (:mod:`monitor.risk.clock`): each round has a block and a second after the shock (oracle updates land
``oracle_update_blocks`` after a pool move, liquidators act ``reaction_blocks`` after an update lands); an
oracle held inside its deviation band takes its pool's price at its heartbeat and the cascade goes on; the result
reports its duration, the debt repaid in the first minute and hour, and the dust (:mod:`monitor.risk.dust`:
accounts left liquidatable because no liquidator gains from them).

API::

    book = CascadeBook(market, collateral, debt, risk_class)  # from the protocol (Aave: risk_input(book, rules))
    venues = choose_venues(book.market, pool_states)          # {asset: Venue(asset, quote, PoolState, quote_price)}
    venues = gather_venues(book.market, pool_states, offchain={"WETH": OffchainCurve.from_levels({...})},
                           split=True)                        # {asset: VenueSet}: split sales (choose_venues' else)
    projector = Projector(book, venues, ModelParams(), model=model)   # reuse it for many scenarios
    result = projector.project({"WETH": -0.2})                # or project(book, venues, scenario, params, model=)
    result.rounds[i]  -> RoundResult(round, accounts_liquidated, debt_repaid_usd, collateral_seized,
                                     collateral_seized_usd, protocol_fee_usd, collateral_sold, oracle_prices_usd,
                                     bad_debt_usd, bad_debt_accounts, skipped, sold_by_venue)
    result -> CascadeResult(final_prices_usd, extra_drop, amplification, debt_repaid_usd, bad_debt_usd,
                            bad_debt_accounts, new_bad_debt_usd, toxic_before_shock, toxic_after_shock, ...)
    sweep(projector, assets=None, spec=SweepSpec(), limits=Limits()) -> SweepResult (curves 1..90% per asset,
                                                                         critical shock by bisection)
    sweep(..., curves=False)      # critical shocks only; exhaustive=True: every step; workers=N: N processes

Amounts are float64 token units carrying the contracts' integer floors; prices are floats in the market's price
unit (``RiskMarket.price_unit`` per USD); results are in USD. On the devnet the projection matches the chain to
~1e-6 (rounds and accounts exactly). Bad inputs raise :class:`monitor.errors.DataError`.
"""

from __future__ import annotations

from monitor.risk.engine import Projector, project
from monitor.risk.health import Health
from monitor.risk.market import AssetParams, CascadeBook, RiskClass, RiskMarket
from monitor.risk.model import Batch, Floors, LiquidationModel, Liquidations, RiskInput
from monitor.risk.offchain import OffchainCurve
from monitor.risk.params import Limits, ModelParams, Scenario, SweepSpec
from monitor.risk.results import CascadeResult, RoundResult, Toxic
from monitor.risk.sweep import AssetSweep, SweepResult, collateral_assets, critical_shock, crossing, sweep
from monitor.risk.venue_set import SaleBook, VenueSet, gather_venues
from monitor.risk.venues import Venue, choose_venues

__all__ = [
    "AssetParams",
    "AssetSweep",
    "Batch",
    "CascadeBook",
    "CascadeResult",
    "Floors",
    "Health",
    "Limits",
    "LiquidationModel",
    "Liquidations",
    "ModelParams",
    "OffchainCurve",
    "Projector",
    "RiskClass",
    "RiskInput",
    "RiskMarket",
    "RoundResult",
    "SaleBook",
    "Scenario",
    "SweepResult",
    "SweepSpec",
    "Toxic",
    "Venue",
    "VenueSet",
    "choose_venues",
    "collateral_assets",
    "critical_shock",
    "crossing",
    "gather_venues",
    "project",
    "sweep",
]
