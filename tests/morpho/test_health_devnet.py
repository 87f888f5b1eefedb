"""Every Morpho borrower on the devnet, after interest accrues and prices move: our accrued totals equal the
contract's after ``accrueInterest``, and our health decision and max borrow equal what ``borrow`` and
``liquidate`` accept and refuse."""

from __future__ import annotations

from monitor.devnet.artifacts import own_artifact
from monitor.devnet.market import set_oracle_price
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.rpc import MAX_UINT
from monitor.protocols.morpho_blue.health import health
from monitor.protocols.morpho_blue.interest import accrue
from monitor.protocols.morpho_blue.shares import WAD, to_assets_up
from tests.conftest import Devnet
from tests.morpho.chain import eth_calls_with_errors, market_state, morpho_of, send_at, snapshot

DAYS = 86_400


def _move_prices(devnet: Devnet, moves: dict[str, float]) -> None:
    for sym, factor in moves.items():
        latest = own_artifact("PriceFeed").abi.fn("latestAnswer")
        feed_price = int(devnet.rpc.read(devnet.dep.token(sym).feed, latest)[0])
        set_oracle_price(devnet.rpc, devnet.dep, sym, int(feed_price * factor))


async def test_accrued_totals_equal_the_contract_after_accrue_interest(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    info = morpho_of(dep)
    rpc.increase_time(37 * DAYS)
    block = rpc.block_number()
    markets, pairs, positions = await snapshot(devnet.url, dep, block)
    assert len(pairs) >= 5 * 150 and all(p.borrow_shares > 0 for p in positions)
    t = markets[info.markets[0].market_id].timestamp + 3 * DAYS  # a timestamp the reads never saw
    abi = morpho_artifact().abi
    send_at(rpc, t, [(dep.deployer, info.morpho, abi.fn("accrueInterest").encode(m.params.as_tuple()))
                     for m in info.markets])  # fmt: skip
    fee_seen = False
    for m in info.markets:
        snap = markets[m.market_id]
        ours = accrue(snap.state, snap.borrow_rate, t)
        theirs = market_state(rpc, info.morpho, m.market_id)
        assert ours == theirs, m.name
        assert ours.total_borrow_assets > snap.state.total_borrow_assets  # interest did accrue
        fee_seen |= ours.total_supply_shares > snap.state.total_supply_shares
        # every borrower's debt: shares -> assets rounded up with the contract's accrued totals
        for (mid, _), pos in zip(pairs, positions, strict=True):
            if mid == m.market_id:
                owed = to_assets_up(pos.borrow_shares, theirs.total_borrow_assets, theirs.total_borrow_shares)
                assert owed == to_assets_up(pos.borrow_shares, ours.total_borrow_assets, ours.total_borrow_shares)
    assert fee_seen  # the fee market minted fee shares, and we reproduced them


async def test_health_and_max_borrow_equal_the_contract_for_every_borrower(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    info = morpho_of(dep)
    abi = morpho_artifact().abi
    rpc.increase_time(61 * DAYS)
    _move_prices(devnet, {"WETH": 0.93, "WBTC": 1.02, "LINK": 0.9, "DAI": 1.001})
    # plenty of liquidity, so a borrow of the whole headroom is refused for collateral only
    supply = [(info.lender, m.loan_token, _erc20_mint(info.lender, 10**33)) for m in info.markets]
    supply += [(info.lender, m.loan_token, _erc20_approve(info.morpho)) for m in info.markets]
    supply += [(info.lender, info.morpho, abi.fn("supply").encode(m.params.as_tuple(), 10**30, 0, info.lender, b""))
               for m in info.markets]  # fmt: skip
    rpc.send_many(supply)
    liq = dep.liquidator
    rpc.send_many([(liq, m.loan_token, _erc20_mint(liq, 10**33)) for m in info.markets]
                  + [(liq, m.loan_token, _erc20_approve(info.morpho)) for m in info.markets])  # fmt: skip
    rpc.increase_time(5 * DAYS)  # interest since the supplies: the reads must accrue it themselves
    block = rpc.block_number()
    markets, pairs, positions = await snapshot(devnet.url, dep, block)
    by_id = {m.market_id: m for m in info.markets}
    calls: list[tuple[str, str, str]] = []
    kinds: list[tuple[int, str]] = []
    healthy_count = 0
    for n, ((mid, user), pos) in enumerate(zip(pairs, positions, strict=True)):
        snap = markets[mid]
        h = health(pos, snap.accrued(), snap.price, by_id[mid].lltv)
        assert h.health_factor_wad == h.max_borrow * WAD // h.borrow_assets
        params = by_id[mid].params.as_tuple()
        if h.healthy:
            healthy_count += 1
            if h.headroom > 0:
                calls.append((user, info.morpho, abi.fn("borrow").encode(params, h.headroom, 0, user, user)))
                kinds.append((n, "borrow headroom: succeeds"))
            calls.append((user, info.morpho, abi.fn("borrow").encode(params, h.headroom + 1, 0, user, user)))
            kinds.append((n, "borrow headroom + 1: insufficient collateral"))
            calls.append((liq, info.morpho, abi.fn("liquidate").encode(params, user, 0, 1, b"")))
            kinds.append((n, "liquidate: position is healthy"))
        else:
            calls.append((user, info.morpho, abi.fn("borrow").encode(params, 1, 0, user, user)))
            kinds.append((n, "borrow 1: insufficient collateral"))
            calls.append((liq, info.morpho, abi.fn("liquidate").encode(params, user, 0, 1, b"")))
            kinds.append((n, "liquidate: succeeds"))
    unhealthy_count = len(pairs) - healthy_count
    assert healthy_count > 100 and unhealthy_count > 10, (healthy_count, unhealthy_count)
    answers = eth_calls_with_errors(devnet.url, calls, block)
    wrong = []
    for (n, kind), (ok, text) in zip(kinds, answers, strict=True):
        expect_ok = kind.endswith("succeeds")
        if ok != expect_ok or (not ok and kind.split(": ")[1] not in text):
            wrong.append((pairs[n], kind, text[:120]))
    assert not wrong, f"{len(wrong)} of {len(kinds)} disagree, first {wrong[:3]}"


def _erc20_mint(to: str, amount: int) -> str:
    return own_artifact("TestERC20").abi.fn("mint").encode(to, amount)


def _erc20_approve(spender: str) -> str:
    return own_artifact("TestERC20").abi.fn("approve").encode(spender, MAX_UINT)
