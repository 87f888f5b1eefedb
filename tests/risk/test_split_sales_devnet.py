"""Split sales on the devnet's real pools: every leg equals QuoterV2, a real split sale lands where the simulation
says, it moves the price less than one pool would, and a two-hop route equals QuoterV2 ``quoteExactInput``."""

from __future__ import annotations

import random

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.deployment import Deployment, PoolInfo
from monitor.devnet.market import fund, pool_price_8dec, quote_exact_in, slot0, swap_exact_in
from monitor.devnet.spec import DEFAULT_MARKET, PoolSpec
from monitor.devnet.uniswap_deploy import QUOTER, deploy_pool, periphery
from monitor.dex import PoolState
from monitor.risk import RiskMarket
from monitor.risk.market import AssetParams
from monitor.risk.venue_set import RouteLeg, SaleBook, VenueSet, gather_venues, pool_key
from monitor.venues.uniswap_v3 import read_pool
from tests.conftest import Devnet


def _market(dep: Deployment) -> RiskMarket:
    """The devnet's reserves at their spec prices (8-decimal USD), as the engine's table."""
    assets = [
        AssetParams(
            dep.token(a.symbol).address, a.symbol, a.decimals, a.liquidation_threshold_bps, a.liquidation_bonus_bps
        )
        for a in DEFAULT_MARKET.assets
    ]
    prices = {dep.token(a.symbol).address: a.price_usd * 1e8 for a in DEFAULT_MARKET.assets}
    return RiskMarket(assets, prices, 1e8)


async def _states(devnet: Devnet, pools: list[PoolInfo], block: int) -> dict[str, PoolState]:
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        return {p.address: await read_pool(rpc, p.address, block) for p in pools}


def _info(pools: list[PoolInfo], state: PoolState) -> PoolInfo:
    (info,) = [p for p in pools if (p.token0, p.token1, p.fee) == pool_key(state)]
    return info


async def test_a_split_weth_sale_over_both_fee_tiers_equals_quoter_v2_and_the_chain(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    block = rpc.block_number()
    states = await _states(devnet, dep.pools, block)
    market = _market(dep)
    weth = gather_venues(market, states, split=True)[dep.token("WETH").address]
    assert isinstance(weth, VenueSet)
    assert sorted(leg.label for leg in weth.legs) == ["WETH/USDC 0.05%", "WETH/USDC 0.3%"]
    book = SaleBook.of([weth])
    amount = 20_000 * 10**18  # $60M: well past the first ticks of both tiers
    sale = weth.sell(book, amount)
    assert sale is not None and sum(sale.legs.values()) == amount
    assert min(sale.legs.values()) > amount // 20, "both tiers take a real share"
    trader = dep.seller
    fund(rpc, dep, trader, "WETH", amount, dep.swap_router)
    for leg in weth.legs:
        info = _info(dep.pools, leg.venue.pool)  # type: ignore[union-attr]
        part = sale.legs[leg.label]
        out, _, _ = quote_exact_in(rpc, dep, info, "WETH", part, block)
        assert sale.proceeds[leg.label] == out  # each leg equals QuoterV2 for its amount
        swap_exact_in(rpc, dep, trader, info, "WETH", part)  # the real split sale
        assert slot0(rpc, info)[0] == book.pools[pool_key(leg.venue.pool)].sqrt_price_x96  # type: ignore[union-attr]
    # the whole amount into the main pool alone ends lower than the split
    main = dep.main_pool("WETH")
    _, alone_sqrt, _ = quote_exact_in(rpc, dep, main, "WETH", amount, block)
    split_price = pool_price_8dec(dep, main, slot0(rpc, main)[0])
    assert split_price == weth.spot_price(book)
    start = pool_price_8dec(dep, main, slot0(rpc, main, block)[0])
    alone = pool_price_8dec(dep, main, alone_sqrt)
    # the 0.3% tier holds a fifth of the WETH liquidity (and charges 0.25% more): the split drops less
    assert start > split_price > alone
    assert (start - split_price) < 0.95 * (start - alone)  # 0.91 here: the 0.3% tier only takes past -0.25%


async def test_a_two_hop_route_equals_quoter_v2_quote_exact_input(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    link_weth = deploy_pool(rpc, dep, DEFAULT_MARKET, PoolSpec("LINK", "WETH", 3000, 20e6), random.Random(14))
    pools = [*dep.pools, link_weth]
    block = rpc.block_number()
    states = await _states(devnet, pools, block)
    venues = gather_venues(_market(dep), states, split=True)
    link = venues[dep.token("LINK").address]
    assert isinstance(link, VenueSet)
    assert [leg.label for leg in link.legs] == ["LINK/USDC 0.3%", "LINK>WETH>USDC"]
    route = link.legs[1]
    assert isinstance(route, RouteLeg)
    weth = venues[dep.token("WETH").address]
    assert isinstance(weth, VenueSet)
    book = SaleBook.of([link, weth])
    weth_before = weth.spot_price(book)
    sale = link.sell(book, 1_000_000 * 10**18)  # $15M of LINK
    assert sale is not None and sale.legs["LINK>WETH>USDC"] > 0
    path = (
        bytes.fromhex(dep.token("LINK").address[2:])
        + route.first.pool.fee.to_bytes(3, "big")
        + bytes.fromhex(dep.token("WETH").address[2:])
        + route.second.pool.fee.to_bytes(3, "big")
        + bytes.fromhex(dep.token("USDC").address[2:])
    )
    fn = periphery(QUOTER).abi.fn("quoteExactInput")
    answer = fn.decode(rpc.eth_call(dep.quoter_v2, fn.encode(path, sale.legs["LINK>WETH>USDC"]), block))
    assert sale.proceeds["LINK>WETH>USDC"] == int(answer[0])
    assert [int(s) for s in answer[1]] == [
        book.pools[pool_key(route.first.pool)].sqrt_price_x96,
        book.pools[pool_key(route.second.pool)].sqrt_price_x96,
    ]
    # the route sold WETH into WETH's deepest pool: WETH's oracle view moved
    assert weth.spot_price(book) < weth_before
