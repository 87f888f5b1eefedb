"""Real ``liquidate`` calls on the devnet repay, seize and write off exactly what our maths says, and the bad
debt realised equals the ``Liquidate`` events' ``badDebtAssets``."""

from __future__ import annotations

from monitor.devnet.artifacts import own_artifact
from monitor.devnet.market import set_oracle_price
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_deployment import MorphoMarketInfo
from monitor.devnet.morpho_population import read_positions
from monitor.devnet.rpc import MAX_UINT, DevRpc
from monitor.protocols.morpho_blue.events import LIQUIDATE
from monitor.protocols.morpho_blue.health import is_healthy
from monitor.protocols.morpho_blue.interest import accrue
from monitor.protocols.morpho_blue.liquidation import full_liquidation, liquidate
from monitor.protocols.morpho_blue.params import MarketState, Position
from monitor.protocols.morpho_blue.reads import BORROW_RATE_VIEW
from tests.conftest import Devnet
from tests.morpho.chain import market_state, morpho_of, send_at, snapshot

PER_MARKET = 25


async def test_liquidations_repay_seize_and_write_off_exactly_what_we_compute(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    info = morpho_of(dep)
    abi, erc20 = morpho_artifact().abi, own_artifact("TestERC20").abi
    liq = dep.liquidator
    rpc.send_many([(liq, m.loan_token, erc20.fn("mint").encode(liq, 10**33)) for m in info.markets]
                  + [(liq, m.loan_token, erc20.fn("approve").encode(info.morpho, MAX_UINT))
                     for m in info.markets])  # fmt: skip
    for sym, factor in (("WETH", 0.85), ("WBTC", 0.88), ("LINK", 0.4)):
        answer = int(rpc.read(dep.token(sym).feed, own_artifact("PriceFeed").abi.fn("latestAnswer"))[0])
        set_oracle_price(rpc, dep, sym, int(answer * factor))
    rpc.increase_time(9 * 86_400)
    block = rpc.block_number()
    markets, pairs, positions = await snapshot(devnet.url, dep, block)
    t = markets[info.markets[0].market_id].timestamp
    covered = bad = 0
    for m in info.markets:
        snap = markets[m.market_id]
        state = snap.accrued()
        targets = [(u, p) for (mid, u), p in zip(pairs, positions, strict=True)
                   if mid == m.market_id and not is_healthy(p, state, snap.price, m.lltv)][:PER_MARKET]  # fmt: skip
        assert targets, f"no unhealthy borrower in {m.name}"
        stored = snap.state
        for user, pos in targets:
            t += 12
            # what the chain will do: accrue to the block's time at the IRM's rate for the stored state, liquidate
            rate = _rate(rpc, m, stored)
            state = accrue(stored, rate, t)
            plan = full_liquidation(pos, state, snap.price, m.lltv)
            ours = liquidate(pos, state, snap.price, m.lltv, seized_assets=plan.seized_assets,
                             repaid_shares=plan.repaid_shares)  # fmt: skip
            data = abi.fn("liquidate").encode(m.params.as_tuple(), user, plan.seized_assets, plan.repaid_shares, b"")
            receipt = send_at(rpc, t, [(liq, info.morpho, data)])[0]
            events = [LIQUIDATE.decode(lg["topics"], lg["data"]) for lg in receipt["logs"]
                      if lg["topics"][0] == LIQUIDATE.topic0]  # fmt: skip
            assert len(events) == 1
            ev = events[0]
            got = (ev["repaidAssets"], ev["repaidShares"], ev["seizedAssets"], ev["badDebtAssets"], ev["badDebtShares"])
            want = (ours.repaid_assets, ours.repaid_shares, ours.seized_assets, ours.bad_debt_assets,
                    ours.bad_debt_shares)  # fmt: skip
            assert got == want, (m.name, user)
            stored = market_state(rpc, info.morpho, m.market_id)
            assert stored == ours.market, (m.name, user)
            after = read_positions(rpc, dep, [(m.market_id, user)])[0]
            assert after == Position(pos.supply_shares, ours.position.borrow_shares, ours.position.collateral)
            if ours.bad_debt_assets:
                bad += 1
                assert after == Position(pos.supply_shares, 0, 0)
            else:
                covered += 1
                assert after.borrow_shares == 0 and after.collateral > 0
    assert covered > 10 and bad > 10, (covered, bad)


def _rate(rpc: DevRpc, m: MorphoMarketInfo, stored: MarketState) -> int:
    state = (stored.total_supply_assets, stored.total_supply_shares, stored.total_borrow_assets,
             stored.total_borrow_shares, stored.last_update, stored.fee)  # fmt: skip
    return int(rpc.read(m.irm, BORROW_RATE_VIEW, m.params.as_tuple(), state)[0])
