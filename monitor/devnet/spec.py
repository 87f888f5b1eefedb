"""What the devnet market looks like: assets, risk parameters, e-mode, Uniswap pools and their liquidity shape.

Parameters are close to Aave v3 Ethereum's (2024-2025): LTV, liquidation threshold and bonus in basis points,
reserve factor and liquidation protocol fee in basis points, prices in USD.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from monitor.errors import DevnetError

FEED_UNIT = 1e8  # our PriceFeed (and Aave's base currency) answers USD with 8 decimals


@dataclass(frozen=True)
class AssetSpec:
    """One token listed on the devnet Aave market."""

    symbol: str
    decimals: int
    price_usd: float
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int  # 10500 = 5% bonus
    reserve_factor_bps: int
    liquidation_protocol_fee_bps: int
    emode_category: int = 0
    borrowable: bool = True
    # interest rate strategy: optimal usage, base, slope1, slope2 (fractions)
    rates: tuple[float, float, float, float] = (0.8, 0.0, 0.04, 0.75)


@dataclass(frozen=True)
class EModeSpec:
    """An e-mode category.

    On Aave v3.0 an asset belongs to the category named by its ``AssetSpec.emode_category``. On v3.2+ (liquid
    e-mode) the category lists its own ``collateral`` and ``borrowable`` symbols, and an asset may be in several.
    """

    category_id: int
    label: str
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    collateral: tuple[str, ...] = ()
    borrowable: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolSpec:
    """A Uniswap v3 pool of an asset against USDC, with its total liquidity value in USD."""

    symbol: str
    quote: str
    fee: int  # hundredths of a bip: 500 = 0.05%
    tvl_usd: float
    main: bool = True  # the pool the crash and the liquidator sell into


@dataclass(frozen=True)
class MarketSpec:
    """The whole devnet market."""

    assets: tuple[AssetSpec, ...]
    emodes: tuple[EModeSpec, ...]
    pools: tuple[PoolSpec, ...]
    # Liquidity shape: (half-width in ticks, share of the pool's value) — dense near the price, thinning out.
    liquidity_ladder: tuple[tuple[int, float], ...] = field(
        default=(
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
    )

    full_range_share: float = 0.05  # a thin full-range position, so a price never falls off the liquidity
    aave: str = "v3.0"  # which Aave code the market runs: "v3.0" (v3.0.2) or "v3.6" (see FLAVOURS)

    def asset(self, symbol: str) -> AssetSpec:
        """Look an asset up by symbol."""
        for a in self.assets:
            if a.symbol == symbol:
                return a
        raise KeyError(symbol)

    def emode(self, category_id: int) -> EModeSpec:
        """An e-mode category by id."""
        for e in self.emodes:
            if e.category_id == category_id:
                return e
        raise KeyError(category_id)

    def in_emode_collateral(self, category_id: int, symbol: str) -> bool:
        """True when ``symbol`` counts at the category's liquidation threshold for its members."""
        if category_id == 0:
            return False
        if self.aave == "v3.0":
            return self.asset(symbol).emode_category == category_id
        return symbol in self.emode(category_id).collateral

    def emode_liquidation_threshold(self, category_id: int, symbol: str) -> int:
        """Liquidation threshold of ``symbol`` for an account in ``category_id`` (0 = no e-mode)."""
        if self.in_emode_collateral(category_id, symbol):
            return self.emode(category_id).liquidation_threshold_bps
        return self.asset(symbol).liquidation_threshold_bps


STABLE_RATES = (0.9, 0.0, 0.04, 0.60)

DEFAULT_MARKET = MarketSpec(
    assets=(
        AssetSpec("WETH", 18, 3_000.0, 8_050, 8_300, 10_500, 1_500, 1_000),
        AssetSpec("WBTC", 8, 60_000.0, 7_300, 7_800, 10_500, 2_000, 1_000),
        AssetSpec("USDC", 6, 1.0, 7_700, 8_000, 10_450, 1_000, 1_000, emode_category=1, rates=STABLE_RATES),
        AssetSpec("DAI", 18, 1.0, 7_500, 8_000, 10_500, 1_000, 1_000, emode_category=1, rates=STABLE_RATES),
        AssetSpec("LINK", 18, 15.0, 5_300, 6_800, 10_700, 2_000, 1_000, rates=(0.45, 0.0, 0.07, 3.0)),
    ),
    emodes=(EModeSpec(1, "Stablecoins", 9_300, 9_500, 10_100),),
    pools=(
        PoolSpec("WETH", "USDC", 500, 600_000_000.0),
        PoolSpec("WETH", "USDC", 3_000, 150_000_000.0, main=False),
        PoolSpec("WBTC", "USDC", 3_000, 300_000_000.0),
        PoolSpec("LINK", "USDC", 3_000, 40_000_000.0),
        PoolSpec("DAI", "USDC", 100, 150_000_000.0),
    ),
)

# The same reserves on Aave v3.6 with two liquid e-mode categories whose collateral and borrowable sets differ:
# stablecoins borrow stablecoins against stablecoins; "ETH/BTC majors" borrow stablecoins against WETH and WBTC.
MARKET_V36 = replace(
    DEFAULT_MARKET,
    aave="v3.6",
    assets=tuple(replace(a, emode_category=0) for a in DEFAULT_MARKET.assets),
    emodes=(
        EModeSpec(1, "Stablecoins", 9_300, 9_500, 10_100, collateral=("USDC", "DAI"), borrowable=("USDC", "DAI")),
        EModeSpec(2, "ETH/BTC majors", 8_500, 8_800, 10_400, collateral=("WETH", "WBTC"), borrowable=("USDC", "DAI")),
    ),
)

#: Devnet flavours by the name `--aave` takes; the first is the default.
FLAVOURS: dict[str, MarketSpec] = {"v3.6": MARKET_V36, "v3.0": DEFAULT_MARKET}
DEFAULT_FLAVOUR = "v3.6"


def market_for(flavour: str) -> MarketSpec:
    """The market of a devnet flavour ("v3.6" or "v3.0"; "aave-v3.6" is accepted too)."""
    key = flavour.removeprefix("aave-")
    if key not in FLAVOURS:
        raise DevnetError(f"unknown Aave devnet flavour {flavour!r}; known: {', '.join(FLAVOURS)}")
    return FLAVOURS[key]


TICK_SPACING = {100: 1, 500: 10, 3_000: 60, 10_000: 200}
