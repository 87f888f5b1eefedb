"""``crash --liquidate`` with Morpho: each round liquidates every unhealthy Morpho position through the real
``liquidate``, the bad debt it reports equals the ``Liquidate`` events' ``badDebtAssets`` and the supply written
off, and no unhealthy position with collateral is left."""

from __future__ import annotations

from monitor.chain.model import LogFilter
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.liquidator import crash
from monitor.devnet.morpho_population import read_positions
from monitor.protocols.morpho_blue.events import LIQUIDATE
from monitor.protocols.morpho_blue.health import is_healthy
from monitor.protocols.morpho_blue.reads import read_market
from tests.conftest import Devnet
from tests.morpho.chain import market_state, morpho_of


async def test_crash_liquidates_morpho_and_reports_the_bad_debt_of_the_events(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    info = morpho_of(dep)
    start = rpc.block_number() + 1
    supply_before = {m.market_id: market_state(rpc, info.morpho, m.market_id).total_supply_assets
                     for m in info.markets}  # fmt: skip
    report = crash(rpc, dep, "WETH", 0.2, liquidate=True, morpho=True)
    morpho_rounds = [r.morpho for r in report.rounds if r.morpho]
    assert morpho_rounds and sum(r.accounts_liquidated for r in morpho_rounds) > 50
    assert all(r.reverted == 0 for r in morpho_rounds)
    end = rpc.block_number()
    raw = rpc.call("eth_getLogs", {"fromBlock": hex(start), "toBlock": hex(end), "address": info.morpho,
                                   "topics": [LIQUIDATE.topic0]})  # fmt: skip
    by_market: dict[str, int] = {}
    names = {m.market_id: m.name for m in info.markets}
    for lg in raw:
        ev = LIQUIDATE.decode(lg["topics"], lg["data"])
        name = names["0x" + ev["id"].hex()]
        by_market[name] = by_market.get(name, 0) + ev["badDebtAssets"]
    reported: dict[str, int] = {}
    for r in morpho_rounds:
        for name, amount in r.bad_debt_by_market.items():
            reported[name] = reported.get(name, 0) + amount
    assert reported == by_market
    assert sum(by_market.values()) > 0 and report.morpho_bad_debt_usd > 0, "a 20% WETH drop leaves bad debt at 86%"
    # bad debt is written off the lenders' supply (interest since then only adds)
    for m in info.markets:
        lost = by_market.get(m.name, 0)
        after = market_state(rpc, info.morpho, m.market_id).total_supply_assets
        if lost:
            assert after < supply_before[m.market_id] + 1, m.name  # the loss outweighs a few blocks of interest
    # nothing liquidatable is left at the final prices
    block = rpc.block_number()
    pairs = info.pairs()
    positions = read_positions(rpc, dep, pairs, block)
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=dep.chain_id)) as client:
        snaps = {m.market_id: await read_market(client, info.morpho, m.market_id, block) for m in info.markets}
        logs = await client.get_logs(LogFilter(start, end, (info.morpho,), ((LIQUIDATE.topic0,),)))
    assert len(logs) == len(raw)
    lltv = {m.market_id: m.lltv for m in info.markets}
    left = [(mid, u) for (mid, u), p in zip(pairs, positions, strict=True)
            if p.borrow_shares and p.collateral
            and not is_healthy(p, snaps[mid].accrued(), snaps[mid].price, lltv[mid])]  # fmt: skip
    assert not left, f"{len(left)} unhealthy Morpho positions left, first {left[0]}"
