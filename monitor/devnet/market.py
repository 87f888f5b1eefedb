"""Drive the devnet market: oracle prices, Uniswap swaps, pool prices, time."""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.devnet.aave_deploy import ORACLE, aave
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment, PoolInfo
from monitor.devnet.rpc import MAX_UINT, DevRpc
from monitor.devnet.uniswap_deploy import DEADLINE, POOL, QUOTER, ROUTER, core, periphery
from monitor.errors import DevnetError

Q96 = 2**96
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342


def oracle_price(rpc: DevRpc, dep: Deployment, symbol: str, block: int | str = "latest") -> int:
    """AaveOracle price of an asset (USD, 8 decimals)."""
    fn = aave(ORACLE).abi.fn("getAssetPrice")
    return int(rpc.read(dep.oracle, fn, dep.token(symbol).address, block=block)[0])


def set_oracle_price(rpc: DevRpc, dep: Deployment, symbol: str, price_8dec: int) -> None:
    """Set an asset's price feed (which AaveOracle reads) to ``price_8dec`` (USD, 8 decimals)."""
    if price_8dec <= 0:
        raise DevnetError(f"price of {symbol} must be positive, got {price_8dec}")
    feed = own_artifact("PriceFeed").abi.fn("setAnswer")
    rpc.send(dep.deployer, dep.token(symbol).feed, feed.encode(price_8dec))


def slot0(rpc: DevRpc, pool: PoolInfo, block: int | str = "latest") -> tuple[int, int]:
    """(sqrtPriceX96, tick) of a pool."""
    out = rpc.read(pool.address, core(POOL).abi.fn("slot0"), block=block)
    return int(out[0]), int(out[1])


def pool_price_usd(dep: Deployment, pool: PoolInfo, sqrt_price_x96: int, quote_usd: float = 1.0) -> float:
    """USD price of the pool's non-quote asset at ``sqrt_price_x96`` (quote valued at ``quote_usd``)."""
    raw = (sqrt_price_x96 / Q96) ** 2  # token1 per token0, raw units
    d0, d1 = dep.token(pool.token0).decimals, dep.token(pool.token1).decimals
    asset_is_token0 = dep.token(pool.symbol).address == pool.token0
    human = raw * 10**d0 / 10**d1  # token1 per token0, whole tokens
    return float((human if asset_is_token0 else 1.0 / human) * quote_usd)


def target_sqrt_price(dep: Deployment, pool: PoolInfo, sqrt_now: int, drop: float) -> int:
    """The sqrtPriceX96 at which the pool's asset is worth (1 - drop) of its price at ``sqrt_now``."""
    asset_is_token0 = dep.token(pool.symbol).address == pool.token0
    factor = math.sqrt(1.0 - drop)
    # asset = token0: its price is P itself; asset = token1: its price is 1/P.
    target = int(sqrt_now * factor) if asset_is_token0 else int(sqrt_now / factor)
    return min(max(target, MIN_SQRT_RATIO + 1), MAX_SQRT_RATIO - 1)


def fund(rpc: DevRpc, dep: Deployment, account: str, symbol: str, amount: int, spender: str) -> None:
    """Mint test tokens to an account and approve a spender for all of its balance."""
    erc20 = own_artifact("TestERC20").abi
    token = dep.token(symbol).address
    rpc.send_many(
        [
            (account, token, erc20.fn("mint").encode(account, amount)),
            (account, token, erc20.fn("approve").encode(spender, MAX_UINT)),
        ]
    )


def balance_of(rpc: DevRpc, dep: Deployment, symbol: str, account: str) -> int:
    """ERC20 balance."""
    erc20 = own_artifact("TestERC20").abi
    return int(rpc.read(dep.token(symbol).address, erc20.fn("balanceOf"), account)[0])


@dataclass(frozen=True)
class ExecutedSwap:
    """What a swap did: amounts and the pool price after."""

    amount_in: int
    amount_out: int
    sqrt_price_x96_after: int


def swap_exact_in(
    rpc: DevRpc,
    dep: Deployment,
    sender: str,
    pool: PoolInfo,
    token_in: str,
    amount_in: int,
    sqrt_price_limit_x96: int = 0,
) -> ExecutedSwap:
    """Sell ``amount_in`` of ``token_in`` through SwapRouter.exactInputSingle (sender must hold and approve)."""
    token_in = dep.token(token_in).address
    token_out = pool.token1 if token_in == pool.token0 else pool.token0
    symbol_in, symbol_out = dep.token(token_in).symbol, dep.token(token_out).symbol
    before_in = balance_of(rpc, dep, symbol_in, sender)
    before_out = balance_of(rpc, dep, symbol_out, sender)
    params = (token_in, token_out, pool.fee, sender, DEADLINE, amount_in, 0, sqrt_price_limit_x96)
    rpc.send(sender, dep.swap_router, periphery(ROUTER).abi.fn("exactInputSingle").encode(params))
    sqrt_after, _ = slot0(rpc, pool)
    return ExecutedSwap(
        amount_in=before_in - balance_of(rpc, dep, symbol_in, sender),
        amount_out=balance_of(rpc, dep, symbol_out, sender) - before_out,
        sqrt_price_x96_after=sqrt_after,
    )


def quote_exact_in(
    rpc: DevRpc, dep: Deployment, pool: PoolInfo, token_in: str, amount_in: int, block: int | str = "latest"
) -> tuple[int, int, int]:
    """QuoterV2.quoteExactInputSingle: (amountOut, sqrtPriceX96After, initializedTicksCrossed)."""
    token_in = dep.token(token_in).address
    token_out = pool.token1 if token_in == pool.token0 else pool.token0
    fn = periphery(QUOTER).abi.fn("quoteExactInputSingle")
    out = fn.decode(rpc.eth_call(dep.quoter_v2, fn.encode((token_in, token_out, amount_in, pool.fee, 0)), block))
    return int(out[0]), int(out[1]), int(out[2])


def pool_price_8dec(dep: Deployment, pool: PoolInfo, sqrt_price_x96: int) -> int:
    """USD price (8 decimals, floor) of the pool's non-quote asset, exact integer maths; quote = $1."""
    d0, d1 = dep.token(pool.token0).decimals, dep.token(pool.token1).decimals
    if dep.token(pool.symbol).address == pool.token0:
        # price = sqrt^2 / 2^192 * 10^d0 / 10^d1
        return int(sqrt_price_x96 * sqrt_price_x96 * 10**d0 * 10**8 // (2**192 * 10**d1))
    # asset is token1: price = 2^192 / sqrt^2 * 10^d1 / 10^d0
    return int(2**192 * 10**d1 * 10**8 // (sqrt_price_x96 * sqrt_price_x96 * 10**d0))


def set_oracle_to_pool(rpc: DevRpc, dep: Deployment, symbol: str) -> int:
    """Set an asset's oracle price to its main pool's spot price; returns the price (8 decimals)."""
    pool = dep.main_pool(symbol)
    sqrt_now, _ = slot0(rpc, pool)
    price = pool_price_8dec(dep, pool, sqrt_now)
    set_oracle_price(rpc, dep, symbol, price)
    return price
