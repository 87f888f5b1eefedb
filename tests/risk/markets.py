"""Small synthetic markets for the engine tests: three reserves, pools of chosen depth, accounts from tuples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from monitor.dex import pool_from_positions
from monitor.dex.tick_math import get_sqrt_ratio_at_tick
from monitor.protocols.aave_v3.book import MarketInputs, ReserveInput
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeBook, RiskMarket, Venue
from monitor.risk.synthetic import ladder_pool

WETH = "0x" + "e0" * 20  # sorts after USDC: the asset is token1 of its pool
USDC = "0x" + "c0" * 20
WBTC = "0x" + "0b" * 20  # sorts before USDC: token0
ASSETS = (WETH, USDC, WBTC)
PRICES_USD = (2000.0, 1.0, 30_000.0)
#: Aave v3 liquidation rules, the engine's default model in these tests.
V30 = AaveV3Liquidation("v3.0")
V33 = AaveV3Liquidation("v3.3")
DECIMALS = (18, 6, 8)


def market(fee: int = 1000, bonus_weth: int = 10500) -> MarketInputs:
    """WETH (LT 82.5%), USDC (LT 80%, the quote), WBTC (LT 75%, bonus 10%)."""
    return MarketInputs(
        [
            ReserveInput(asset=WETH, symbol="WETH", reserve_id=0, decimals=18, ltv=8000, liquidation_threshold=8250,
                         liquidation_bonus=bonus_weth, price=2000 * 10**8, liquidation_protocol_fee=fee),
            ReserveInput(asset=USDC, symbol="USDC", reserve_id=1, decimals=6, ltv=7700, liquidation_threshold=8000,
                         liquidation_bonus=10450, price=10**8, liquidation_protocol_fee=fee),
            ReserveInput(asset=WBTC, symbol="WBTC", reserve_id=2, decimals=8, ltv=7000, liquidation_threshold=7500,
                         liquidation_bonus=11000, price=30_000 * 10**8, liquidation_protocol_fee=fee),
        ]
    )  # fmt: skip


def venues(rm: RiskMarket, tvl_usd: float = 20e6, *, weth_pool: str = "ladder") -> dict[str, Venue]:
    """Ladder pools of ``tvl_usd`` for WETH and WBTC against USDC; ``weth_pool`` "empty" (no liquidity) or
    "deep" (1e18 USD) for the WETH one."""
    out = {}
    for j in (0, 2):
        a = ASSETS[j]
        tvl = 1e18 if (j == 0 and weth_pool == "deep") else tvl_usd
        pool = ladder_pool(a, USDC, DECIMALS[j], 6, PRICES_USD[j], tvl, 3000)
        if j == 0 and weth_pool == "empty":
            pool = pool_from_positions(pool.token0, pool.token1, pool.decimals0, pool.decimals1, 3000, 60,
                                       pool.sqrt_price_x96, [])  # fmt: skip
        out[a] = Venue(a, USDC, pool, 10**8)
    return out


def build(accounts: Sequence[tuple[int, float, int, float]], rm: RiskMarket | None = None) -> CascadeBook:
    """Accounts ``(collateral reserve, collateral USD, debt reserve, health factor)``."""
    rm = rm or risk_market(market())
    n = len(accounts)
    c, d = np.zeros((3, n)), np.zeros((3, n))
    for i, (jc, usd, jd, hf) in enumerate(accounts):
        c[jc, i] = np.floor(usd / PRICES_USD[jc] * 10.0 ** DECIMALS[jc])
        debt_usd = usd * rm.lt[jc] / 1e4 / hf
        d[jd, i] = np.floor(debt_usd / PRICES_USD[jd] * 10.0 ** DECIMALS[jd])
    return CascadeBook(rm, c, d, np.zeros(n, dtype=np.int64))


def population(n: int, seed: int) -> list[tuple[int, float, int, float]]:
    """``n`` accounts: WETH or WBTC collateral, USDC (mostly) or WETH debt, HF 0.9 .. 2."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        jc = int(rng.choice([0, 2], p=[0.7, 0.3]))
        jd = 1 if jc == 0 or rng.random() < 0.7 else 0
        out.append((jc, float(rng.lognormal(np.log(20_000), 1.0)), jd, float(rng.uniform(0.98, 2.0))))
    return out


accounts_strategy = st.lists(
    st.tuples(
        st.sampled_from([0, 2]),
        st.floats(1_000, 2_000_000),
        st.just(1),
        st.floats(1.001, 2.5),
    ),
    min_size=1,
    max_size=40,
)
"""Single-collateral accounts (WETH or WBTC) borrowing USDC, healthy before the shock."""

__all__ = ["ASSETS", "USDC", "WBTC", "WETH", "accounts_strategy", "build", "get_sqrt_ratio_at_tick", "market"]
