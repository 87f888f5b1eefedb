"""Our exact swap maths on pool states read from the devnet equals QuoterV2, and an incrementally refreshed
pool state equals a fresh read after real swaps and mints."""

from __future__ import annotations

import random

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.market import fund, quote_exact_in, swap_exact_in
from monitor.devnet.uniswap_deploy import DEADLINE, NPM, periphery
from monitor.dex import MAX_SQRT_RATIO, MIN_SQRT_RATIO, quote_exact_input_single
from monitor.errors import ProtocolError
from monitor.venues.uniswap_v3 import pool_log_filter, read_pool, refresh_pools
from tests.conftest import Devnet


def _client(devnet: Devnet) -> RpcClient:
    return RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id))


async def test_swap_maths_equals_quoter_v2_on_every_pool_both_directions(devnet: Devnet) -> None:
    rng = random.Random(20261122)
    block = devnet.rpc.block_number()
    compared = partial = 0
    async with _client(devnet) as rpc:
        for pool in devnet.dep.pools:
            state = await read_pool(rpc, pool.address, block)
            assert len(state.ticks) >= 20, "many initialized ticks, not one full-range position"
            for zero_for_one in (True, False):
                token_in = pool.token0 if zero_for_one else pool.token1
                decimals = devnet.dep.token(token_in).decimals
                # dust to far more than the pool holds: log-uniform over 1 unit .. 10^(decimals+12), then a few
                # amounts beyond everything the full-range position can absorb (partial fills at the limit)
                for k in range(40):
                    amount = int(10 ** rng.uniform(0, decimals + 12)) if k < 36 else 10 ** rng.randint(45, 60)
                    ours = quote_exact_input_single(state, zero_for_one, amount)
                    out, sqrt_after, crossed = quote_exact_in(devnet.rpc, devnet.dep, pool, token_in, amount, block)
                    assert (ours.amount, ours.sqrt_price_x96_after) == (out, sqrt_after), (pool.symbol, amount)
                    assert ours.initialized_ticks_crossed == crossed
                    compared += 1
                    partial += ours.sqrt_price_x96_after in (MIN_SQRT_RATIO + 1, MAX_SQRT_RATIO - 1)
    assert compared == 40 * 2 * len(devnet.dep.pools)
    assert partial > 0, "some amounts exceeded the pool and were partial fills"


async def test_incremental_refresh_equals_a_fresh_read(devnet: Devnet) -> None:
    rpc_dev, dep = devnet.rpc, devnet.dep
    pools = [p for p in dep.pools if p.symbol in ("WETH", "LINK")]
    start = rpc_dev.block_number()
    async with _client(devnet) as rpc:
        states = {p.address: await read_pool(rpc, p.address, start) for p in pools}
        # real activity: swaps both ways, and a new position (Mint) in the WETH pool
        trader = dep.seller
        for p in pools:
            for sym in (p.symbol, "USDC"):
                fund(rpc_dev, dep, trader, sym, 10**30, dep.swap_router)
            swap_exact_in(rpc_dev, dep, trader, p, p.symbol, 10 ** dep.token(p.symbol).decimals * 50)
            swap_exact_in(rpc_dev, dep, trader, p, "USDC", 10**6 * 20_000)
        weth = pools[0]
        fund(rpc_dev, dep, trader, "WETH", 10**30, dep.position_manager)
        fund(rpc_dev, dep, trader, "USDC", 10**30, dep.position_manager)
        tick = states[weth.address].tick
        lower, upper = (tick // 10 - 37) * 10, (tick // 10 + 53) * 10
        params = (weth.token0, weth.token1, weth.fee, lower, upper, 10**24, 10**15, 0, 0, trader, DEADLINE)
        rpc_dev.send(trader, dep.position_manager, periphery(NPM).abi.fn("mint").encode(params))
        head = rpc_dev.block_number()
        logs = await rpc.get_logs(pool_log_filter([p.address for p in pools], start + 1, head))
        assert logs, "the activity emitted Swap and Mint logs"
        refreshed = await refresh_pools(rpc, states, logs, head)
        for p in pools:
            fresh = await read_pool(rpc, p.address, head)
            assert refreshed[p.address] == fresh
            assert refreshed[p.address] != states[p.address]
        assert {lower, upper} <= {t for t, _ in refreshed[weth.address].ticks}


async def test_a_non_pool_address_is_a_clear_error(devnet: Devnet) -> None:
    async with _client(devnet) as rpc:
        block = devnet.rpc.block_number()
        for address in (devnet.dep.pool, "0x" + "12" * 20):
            try:
                await read_pool(rpc, address, block)
            except ProtocolError as exc:
                assert address in str(exc)
            else:
                raise AssertionError(f"{address} read as a pool")
