"""Synthetic markets for tests and benchmarks: reserves, Uniswap v3 pools with a ladder of liquidity, and a
population of accounts with a chosen health-factor mix, generated vectorised from a seed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.dex import MAX_TICK, PoolState, pool_from_positions
from monitor.dex.tick_math import get_tick_at_sqrt_ratio
from monitor.errors import DataError
from monitor.risk.market import AssetParams, CascadeBook, RiskClass, RiskMarket
from monitor.risk.venues import Venue

Q96 = 1 << 96
#: Synthetic prices are integers in units of 1e-8 USD.
PRICE_UNIT = 1e8
SPACING = {100: 1, 500: 10, 3000: 60, 10_000: 200}
#: (half-width in ticks, share of the pool's value): dense near the price, thinning out; plus a full range.
LADDER: tuple[tuple[int, float], ...] = (
    (30, 0.08),
    (60, 0.08),
    (120, 0.08),
    (250, 0.08),
    (500, 0.08),
    (900, 0.08),
    (1_500, 0.09),
    (2_500, 0.10),
    (4_000, 0.10),
    (7_000, 0.10),
    (12_000, 0.08),
)
FULL_RANGE_SHARE = 0.05


@dataclass(frozen=True)
class AssetSpec:
    """One synthetic asset; ``pool_tvl_usd`` 0 means no pool (the quote asset, or an asset with no DEX);
    ``stable_class`` 1: a member of the stablecoin class."""

    symbol: str
    decimals: int
    price_usd: float
    lt: int
    bonus: int
    protocol_fee: int = 1000
    stable_class: int = 0
    pool_tvl_usd: float = 0.0
    pool_fee: int = 3000
    collateral_weight: float = 0.0
    debt_weight: float = 0.0


ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("WETH", 18, 3000.0, 8300, 10500, pool_tvl_usd=600e6, pool_fee=500, collateral_weight=0.35,
              debt_weight=0.2),
    AssetSpec("WBTC", 8, 60_000.0, 7800, 10500, pool_tvl_usd=300e6, collateral_weight=0.15),
    AssetSpec("USDC", 6, 1.0, 8000, 10450, stable_class=1, collateral_weight=0.08, debt_weight=0.5),
    AssetSpec("DAI", 18, 1.0, 8000, 10500, stable_class=1, pool_tvl_usd=150e6, pool_fee=100, collateral_weight=0.04,
              debt_weight=0.25),
    AssetSpec("LINK", 18, 15.0, 6800, 10700, pool_tvl_usd=40e6, collateral_weight=0.1, debt_weight=0.02),
    AssetSpec("WSTETH", 18, 3500.0, 8000, 10600, pool_tvl_usd=200e6, pool_fee=500, collateral_weight=0.18),
    AssetSpec("AAVE", 18, 150.0, 7300, 10750, pool_tvl_usd=30e6, collateral_weight=0.05, debt_weight=0.01),
    AssetSpec("UNI", 18, 8.0, 7400, 11000, pool_tvl_usd=25e6, collateral_weight=0.05, debt_weight=0.02),
)  # fmt: skip
#: Threshold and bonus (bps) of the stablecoin risk class for its member assets.
STABLE_CLASS_LT, STABLE_CLASS_BONUS = 9500, 10100


def asset_address(i: int) -> str:
    """A distinct, deterministic token address; the quote (index 2) sorts between the others."""
    return "0x" + f"{(i * 37 + 11) % 256:02x}" * 20


def risk_market(assets: Sequence[AssetSpec] = ASSETS) -> RiskMarket:
    """The assets (addresses in order) and, when some are members, the stablecoin class (class 1)."""
    params = [
        AssetParams(asset_address(i), a.symbol, a.decimals, a.lt, a.bonus, a.protocol_fee) for i, a in enumerate(assets)
    ]
    prices = {asset_address(i): float(round(a.price_usd * PRICE_UNIT)) for i, a in enumerate(assets)}
    members = [asset_address(i) for i, a in enumerate(assets) if a.stable_class]
    classes = (
        [RiskClass("stablecoins", dict.fromkeys(members, STABLE_CLASS_LT), dict.fromkeys(members, STABLE_CLASS_BONUS))]
        if members
        else []
    )
    return RiskMarket(params, prices, PRICE_UNIT, classes)


def ladder_pool(
    asset: str,
    quote: str,
    asset_decimals: int,
    quote_decimals: int,
    price_in_quote: float,
    tvl_in_quote: float,
    fee: int = 3000,
    ladder: Sequence[tuple[int, float]] = LADDER,
    full_range_share: float = FULL_RANGE_SHARE,
) -> PoolState:
    """A pool of ``asset`` against ``quote`` at ``price_in_quote`` holding ``tvl_in_quote`` of value in bands."""
    if fee not in SPACING:
        raise DataError(f"fee tier {fee} unknown")
    spacing = SPACING[fee]
    t0, t1 = sorted((asset, quote))
    d0, d1 = (asset_decimals, quote_decimals) if t0 == asset else (quote_decimals, asset_decimals)
    human = price_in_quote if t0 == asset else 1.0 / price_in_quote  # token1 per token0, whole tokens
    raw = human * 10.0**d1 / 10.0**d0
    sqrt_x96 = int(math.sqrt(raw) * Q96)
    tick = get_tick_at_sqrt_ratio(sqrt_x96)
    sp = math.sqrt(raw)
    value1 = tvl_in_quote * (10.0**d1 if t1 == quote else 10.0**d1 / price_in_quote)  # in raw token1
    positions = []
    top = MAX_TICK // spacing * spacing
    bands = [*ladder, (0, full_range_share)]
    for half, share in bands:
        lower = max(math.floor((tick - half) / spacing) * spacing, -top) if half else -top
        upper = min(math.ceil((tick + half) / spacing) * spacing, top) if half else top
        if upper <= tick:
            upper += spacing
        sa, sb = 1.0001 ** (lower / 2), 1.0001 ** (upper / 2)
        liquidity = int(value1 * share / (2 * sp - sa - sp * sp / sb))
        if liquidity > 0:
            positions.append((lower, upper, liquidity))
    return pool_from_positions(t0, t1, d0, d1, fee, spacing, sqrt_x96, positions)


def venues(
    market: RiskMarket, assets: Sequence[AssetSpec] = ASSETS, quote: str = "USDC", tvl_scale: float = 1.0
) -> dict[str, Venue]:
    """One ladder pool per asset with a TVL (times ``tvl_scale``), against ``quote`` (worth its oracle price)."""
    q = market.resolve(quote)
    qj = market.column[q]
    q_usd = float(market.prices[qj]) / market.price_unit
    out: dict[str, Venue] = {}
    for j, a in enumerate(assets):
        if a.pool_tvl_usd <= 0 or market.assets[j] == q:
            continue
        pool = ladder_pool(
            market.assets[j],
            q,
            a.decimals,
            market.decimals[qj],
            a.price_usd / q_usd,
            a.pool_tvl_usd * tvl_scale / q_usd,
            a.pool_fee,
        )
        out[market.assets[j]] = Venue(market.assets[j], q, pool, int(market.prices[qj]))
    return out


@dataclass(frozen=True)
class Population:
    """How synthetic accounts look: HF lognormal body (clipped to ``[hf_min, 8]``) plus a cluster just above 1,
    sizes lognormal (USD). The defaults are the devnet's mix."""

    accounts: int
    seed: int = 1
    hf_median: float = 1.7
    hf_sigma: float = 0.35
    hf_min: float = 1.1
    cluster_share: float = 0.2
    cluster: tuple[float, float] = (1.003, 1.08)
    size_median_usd: float = 10_000.0
    size_sigma: float = 1.3
    multi_collateral: float = 0.3
    multi_debt: float = 0.25
    stable_class_share: float = 0.1


def book(population: Population, assets: Sequence[AssetSpec] = ASSETS, market: RiskMarket | None = None) -> CascadeBook:
    """Accounts with 1-2 collaterals and 1-2 debts landing on their target HF (float maths, no floors)."""
    mk = market or risk_market(assets)
    rng = np.random.default_rng(population.seed)
    n, r = population.accounts, mk.size
    hf = np.clip(rng.lognormal(math.log(population.hf_median), population.hf_sigma, n), population.hf_min, 8.0)
    lo_c, hi_c = population.cluster
    in_cluster = rng.random(n) < population.cluster_share
    hf[in_cluster] = rng.uniform(lo_c, hi_c, int(in_cluster.sum()))
    size = np.minimum(rng.lognormal(math.log(population.size_median_usd), population.size_sigma, n), 5e6)
    cw = np.array([a.collateral_weight for a in assets], dtype=np.float64)
    dw = np.array([a.debt_weight for a in assets], dtype=np.float64)
    c1 = rng.choice(r, n, p=cw / cw.sum())
    c2 = rng.choice(r, n, p=cw / cw.sum())
    d1 = rng.choice(r, n, p=dw / dw.sum())
    d2 = rng.choice(r, n, p=dw / dw.sum())
    split_c = np.where(rng.random(n) < population.multi_collateral, rng.uniform(0.3, 0.7, n), 1.0)
    split_d = np.where(rng.random(n) < population.multi_debt, rng.uniform(0.3, 0.7, n), 1.0)
    risk_class = np.zeros(n, dtype=np.int64)
    stables = [j for j, a in enumerate(assets) if a.stable_class == 1]
    if len(stables) >= 2 and population.stable_class_share > 0:
        em = rng.random(n) < population.stable_class_share
        pick = rng.integers(0, 2, n)
        c1 = np.where(em, np.array(stables)[pick], c1)
        d1 = np.where(em, np.array(stables)[1 - pick], d1)
        split_c = np.where(em, 1.0, split_c)
        split_d = np.where(em, 1.0, split_d)
        risk_class = np.where(em, 1, 0).astype(np.int64)
    value = np.zeros((r, n))
    cols = np.arange(n)
    np.add.at(value, (c1, cols), size * split_c)
    np.add.at(value, (c2, cols), size * (1.0 - split_c))
    lt = np.where(risk_class[None, :] == 1, mk.lt_table[1][:, None], mk.lt[:, None])
    avg_lt = (value * lt).sum(axis=0) / size
    debt_usd = size * avg_lt / 1e4 / hf
    dvalue = np.zeros((r, n))
    np.add.at(dvalue, (d1, cols), debt_usd * split_d)
    np.add.at(dvalue, (d2, cols), debt_usd * (1.0 - split_d))
    per_unit = (mk.prices[: mk.size] / mk.price_unit / mk.units)[:, None]  # USD per token unit
    coll = np.floor(value / per_unit)
    debt = np.floor(dvalue / per_unit)
    return CascadeBook(mk, coll, debt, risk_class)
