"""The devnet's Aave v3 market, borrower population and Uniswap v3 pools built in memory, without a node: the
same specs (:mod:`monitor.devnet.spec`), the same pure population plan (:func:`plan_population`) and the same
liquidity ladder as ``devnet up``, as a :class:`Book` and :class:`PoolState` s for benchmarks of the daemon's
per-block compute at sizes a devnet takes many minutes to populate.

Not the chain's bits: balances are the plan's amounts scaled at synthetic indices (interest accrued), prices
the spec's; the shape (health-factor mix, e-mode share, collateral and debt mix, pool depth) is the devnet's.
"""

from __future__ import annotations

import math
import random

from monitor.devnet.population import PopulationSpec, plan_population
from monitor.devnet.spec import AssetSpec, MarketSpec, market_for
from monitor.dex.pool import PoolState, pool_from_positions
from monitor.dex.tick_math import MAX_TICK
from monitor.protocols.aave_v3.book import (
    AccountInput,
    Book,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    ReserveInput,
)
from monitor.protocols.aave_v3.book.wadray import RAY

TICK_SPACING = {100: 1, 500: 10, 3_000: 60, 10_000: 200}


def asset_address(k: int) -> str:
    """The address of the spec's ``k``-th asset (ascending with ``k``)."""
    return f"0x{0xA0000 + k:040x}"


def market_inputs(spec: MarketSpec, seed: int = 1) -> MarketInputs:
    """The spec's reserves and e-mode categories, indices a little above one ray (accrued interest)."""
    rng = random.Random(seed)
    reserves = [
        ReserveInput(
            asset=asset_address(k),
            symbol=a.symbol,
            reserve_id=k,
            decimals=a.decimals,
            ltv=a.ltv_bps,
            liquidation_threshold=a.liquidation_threshold_bps,
            liquidation_bonus=a.liquidation_bonus_bps,
            price=round(a.price_usd * 10**8),
            normalized_income=RAY + rng.randrange(10**24, 5 * 10**25),
            normalized_variable_debt=RAY + rng.randrange(10**24, 8 * 10**25),
            liquidation_protocol_fee=a.liquidation_protocol_fee_bps,
            emode_category=a.emode_category,
        )
        for k, a in enumerate(spec.assets)
    ]
    ids = {a.symbol: k for k, a in enumerate(spec.assets)}
    v36 = spec.aave != "v3.0"
    cats = [
        EModeCategoryInput(
            e.category_id,
            e.ltv_bps,
            e.liquidation_threshold_bps,
            e.liquidation_bonus_bps,
            label=e.label,
            collateral_bitmap=sum(1 << ids[s] for s in e.collateral) if v36 else None,
            borrowable_bitmap=sum(1 << ids[s] for s in e.borrowable) if v36 else 0,
        )
        for e in spec.emodes
    ]
    return MarketInputs(reserves, cats, maths="v3.6" if v36 else "v3.0")


def book(accounts: int, flavour: str = "v3.6", seed: int = 1) -> Book:
    """A book of ``accounts`` borrowers planned like the devnet's population (cluster just above HF 1, a
    lognormal body, e-mode borrowers) on the flavour's market."""
    spec = market_for(flavour)
    market = market_inputs(spec, seed)
    by_symbol = {r.symbol: r for r in market.reserves}
    inputs = []
    for plan in plan_population(PopulationSpec(borrowers=accounts, seed=seed), spec):
        config = 0
        positions: dict[str, PositionInput] = {}
        for sym in {*plan.collateral, *plan.debt}:
            r = by_symbol[sym]
            supplied = plan.collateral.get(sym, 0) * RAY // r.normalized_income
            owed = plan.debt.get(sym, 0) * RAY // r.normalized_variable_debt
            positions[r.asset] = PositionInput(supplied, owed)
            config |= (1 << (2 * r.reserve_id + 1)) * (supplied > 0) | (1 << (2 * r.reserve_id)) * (owed > 0)
        inputs.append(AccountInput(plan.address, config, plan.emode, positions))
    return Book.build(market, inputs)


def _liquidity(price: float, s0: AssetSpec, s1: AssetSpec, lower: int, upper: int, value_usd: float) -> int:
    """Liquidity of a position in ``[lower, upper)`` worth ``value_usd`` at ``price`` (token1 raw per token0 raw)."""
    sp, sa, sb = math.sqrt(price), 1.0001 ** (lower / 2), 1.0001 ** (upper / 2)
    sp = min(max(sp, sa), sb)
    unit_usd = (sb - sp) / (sp * sb) / 10**s0.decimals * s0.price_usd + (sp - sa) / 10**s1.decimals * s1.price_usd
    return max(int(value_usd / unit_usd), 1)


def pools(flavour: str = "v3.6", seed: int = 1, tvl_scale: float = 1.0) -> dict[str, PoolState]:
    """The devnet's pools (asset against USDC) at the spec's prices, with its liquidity ladder: three jittered
    positions per band and a thin full-range one; ``tvl_scale`` multiplies every pool's value (the devnet's
    pools do not grow with its population, so a large book against them is mostly one runaway cascade)."""
    spec = market_for(flavour)
    rng = random.Random(seed)
    index = {a.symbol: k for k, a in enumerate(spec.assets)}
    out = {}
    for n, ps in enumerate(spec.pools):
        base, quote = spec.asset(ps.symbol), spec.asset(ps.quote)
        a_base, a_quote = asset_address(index[ps.symbol]), asset_address(index[ps.quote])
        (t0, s0), (t1, s1) = sorted([(a_base, base), (a_quote, quote)])
        price = s0.price_usd / s1.price_usd * 10**s1.decimals / 10**s0.decimals  # token1 raw per token0 raw
        spacing = TICK_SPACING[ps.fee]
        tvl = ps.tvl_usd * tvl_scale
        current = math.floor(math.log(price) / math.log(1.0001))

        positions = []
        for half_width, share in spec.liquidity_ladder:
            for _ in range(3):
                lower = math.floor((current - half_width * rng.uniform(0.7, 1.3)) / spacing) * spacing
                upper = math.ceil((current + half_width * rng.uniform(0.7, 1.3)) / spacing) * spacing
                positions.append((lower, upper, _liquidity(price, s0, s1, lower, upper, tvl * share / 3)))
        edge = (MAX_TICK // spacing) * spacing
        positions.append((-edge, edge, _liquidity(price, s0, s1, -edge, edge, tvl * spec.full_range_share)))
        sqrt_x96 = int(math.sqrt(price) * 2**96)
        out[f"0x{0xB0000 + n:040x}"] = pool_from_positions(t0, t1, s0.decimals, s1.decimals, ps.fee, spacing,
                                                            sqrt_x96, positions)  # fmt: skip
    return out
