"""Deploy Uniswap v3 from the published npm artifacts and seed pools with concentrated liquidity."""

from __future__ import annotations

import math
import random

from monitor.devnet.artifacts import Artifact, npm_artifact, own_artifact
from monitor.devnet.deployment import Deployment, PoolInfo
from monitor.devnet.rpc import MAX_UINT, DevRpc
from monitor.devnet.spec import TICK_SPACING, MarketSpec, PoolSpec

CORE = "@uniswap/v3-core"
PERIPHERY = "@uniswap/v3-periphery"
FACTORY = "UniswapV3Factory.sol/UniswapV3Factory"
POOL = "UniswapV3Pool.sol/UniswapV3Pool"
NPM = "NonfungiblePositionManager.sol/NonfungiblePositionManager"
ROUTER = "SwapRouter.sol/SwapRouter"
QUOTER = "lens/QuoterV2.sol/QuoterV2"
TICK_LENS = "lens/TickLens.sol/TickLens"
DEADLINE = 2**63
Q96 = 2**96
MAX_TICK = 887272


def core(rel: str) -> Artifact:
    """A v3-core artifact."""
    return npm_artifact(CORE, rel)


def periphery(rel: str) -> Artifact:
    """A v3-periphery artifact."""
    return npm_artifact(PERIPHERY, rel)


def raw_price(dep: Deployment, token0: str, token1: str, usd: dict[str, float]) -> float:
    """Pool price in raw token1 units per raw token0 unit, from USD prices by token address."""
    t0, t1 = dep.token(token0), dep.token(token1)
    return float(usd[t0.address] / usd[t1.address] * 10.0**t1.decimals / 10.0**t0.decimals)


def sqrt_price_x96(price_raw: float) -> int:
    """sqrtPriceX96 for a raw price (initialisation precision is all this needs)."""
    return int(math.sqrt(price_raw) * Q96)


def deploy_uniswap(rpc: DevRpc, dep: Deployment, spec: MarketSpec, seed: int = 7) -> None:
    """Factory, position manager, router, QuoterV2, TickLens; pools with a ladder of liquidity ranges."""
    me = dep.deployer
    dep.uniswap_factory = rpc.deploy(me, core(FACTORY).bytecode)
    # The factory enables 500/3000/10000 at construction; the 0.01% tier is enabled by its owner.
    rpc.send(me, dep.uniswap_factory, core(FACTORY).abi.fn("enableFeeAmount").encode(100, 1))
    weth = dep.tokens["WETH"].address  # only used by the periphery for native ETH, which we never send
    dep.position_manager = rpc.deploy(
        me, periphery(NPM).bytecode, ("address", "address", "address"), (dep.uniswap_factory, weth, me)
    )
    dep.swap_router = rpc.deploy(me, periphery(ROUTER).bytecode, ("address", "address"), (dep.uniswap_factory, weth))
    dep.quoter_v2 = rpc.deploy(me, periphery(QUOTER).bytecode, ("address", "address"), (dep.uniswap_factory, weth))
    dep.tick_lens = rpc.deploy(me, periphery(TICK_LENS).bytecode)

    erc20 = own_artifact("TestERC20").abi
    lp = dep.whale
    # Approvals and a generous token float for the liquidity provider.
    txs = []
    for t in dep.tokens.values():
        txs.append((lp, t.address, erc20.fn("mint").encode(lp, 10**40)))
        txs.append((lp, t.address, erc20.fn("approve").encode(dep.position_manager, MAX_UINT)))
    rpc.send_many(txs)

    rng = random.Random(seed)
    for ps in spec.pools:
        dep.pools.append(deploy_pool(rpc, dep, spec, ps, rng))


def deploy_pool(rpc: DevRpc, dep: Deployment, spec: MarketSpec, ps: PoolSpec, rng: random.Random) -> PoolInfo:
    """Create one pool of ``ps`` and seed it with the spec's ladder of positions (minted by the whale, whose
    tokens and approvals :func:`deploy_uniswap` set up); returns it without adding it to ``dep``."""
    usd = {dep.tokens[a.symbol].address: a.price_usd for a in spec.assets}
    npm = periphery(NPM).abi
    lp = dep.whale
    a, b = dep.tokens[ps.symbol].address, dep.tokens[ps.quote].address
    token0, token1 = sorted((a, b))
    price = raw_price(dep, token0, token1, usd)
    sqrt_p = sqrt_price_x96(price)
    rpc.send(
        lp,
        dep.position_manager,
        npm.fn("createAndInitializePoolIfNecessary").encode(token0, token1, ps.fee, sqrt_p),
    )
    factory_abi = core(FACTORY).abi
    pool = str(rpc.read(dep.uniswap_factory, factory_abi.fn("getPool"), token0, token1, ps.fee)[0]).lower()
    spacing = TICK_SPACING[ps.fee]
    current = math.floor(math.log(price) / math.log(1.0001))
    mints = []
    for half_width, share in spec.liquidity_ladder:
        # Three positions per band with jittered edges, so the pool holds many initialized ticks.
        for _ in range(3):
            lo_w = half_width * rng.uniform(0.7, 1.3)
            hi_w = half_width * rng.uniform(0.7, 1.3)
            lower = math.floor((current - lo_w) / spacing) * spacing
            upper = math.ceil((current + hi_w) / spacing) * spacing
            amt0, amt1 = amounts_for_value(dep, token0, token1, usd, price, lower, upper, ps.tvl_usd * share / 3)
            params = (token0, token1, ps.fee, lower, upper, amt0, amt1, 0, 0, lp, DEADLINE)
            mints.append((lp, dep.position_manager, npm.fn("mint").encode(params)))
    full_lo, full_hi = -(MAX_TICK // spacing) * spacing, (MAX_TICK // spacing) * spacing
    amt0, amt1 = amounts_for_value(
        dep, token0, token1, usd, price, full_lo, full_hi, ps.tvl_usd * spec.full_range_share
    )
    params = (token0, token1, ps.fee, full_lo, full_hi, amt0, amt1, 0, 0, lp, DEADLINE)
    mints.append((lp, dep.position_manager, npm.fn("mint").encode(params)))
    rpc.send_many(mints)
    return PoolInfo(
        address=pool,
        symbol=ps.symbol,
        quote=ps.quote,
        token0=token0,
        token1=token1,
        fee=ps.fee,
        tick_spacing=spacing,
        main=ps.main,
    )


def amounts_for_value(
    dep: Deployment,
    token0: str,
    token1: str,
    usd: dict[str, float],
    price: float,
    lower: int,
    upper: int,
    value_usd: float,
) -> tuple[int, int]:
    """Token amounts of a position in [lower, upper) worth ``value_usd`` at the current price."""
    sp, sa, sb = math.sqrt(price), 1.0001 ** (lower / 2), 1.0001 ** (upper / 2)
    sp = min(max(sp, sa), sb)
    # per unit of liquidity (raw units)
    a0 = (sb - sp) / (sp * sb)
    a1 = sp - sa
    d0, d1 = dep.token(token0).decimals, dep.token(token1).decimals
    unit_usd = a0 / 10**d0 * usd[token0] + a1 / 10**d1 * usd[token1]
    liquidity = value_usd / unit_usd
    return math.ceil(a0 * liquidity * 1.0001) + 1, math.ceil(a1 * liquidity * 1.0001) + 1
