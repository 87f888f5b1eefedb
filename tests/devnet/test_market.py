"""The deployed devnet behaves as Aave v3 and Uniswap v3 do: generated health factors, a real liquidation,
QuoterV2 on every pool, and a crash that moves pool and oracle by the asked amount."""

from __future__ import annotations

from collections import Counter

import pytest

from monitor.devnet.aave_deploy import POOL, aave
from monitor.devnet.liquidator import crash
from monitor.devnet.market import (
    fund,
    oracle_price,
    pool_price_8dec,
    pool_price_usd,
    quote_exact_in,
    set_oracle_price,
    slot0,
)
from monitor.devnet.population import account_data
from monitor.devnet.rpc import MAX_UINT
from tests.conftest import Devnet

WAD = 10**18


def test_every_generated_health_factor_matches_its_target(devnet: Devnet) -> None:
    rows = account_data(devnet.rpc, devnet.dep, [p.address for p in devnet.plans])
    assert len(rows) == len(devnet.plans) >= 2_000
    worst = max(abs(row[5] / WAD / plan.target_hf - 1) for row, plan in zip(rows, devnet.plans, strict=True))
    assert worst < 1e-6
    # every account has both sides of a position
    assert all(row[0] > 0 and row[1] > 0 for row in rows)


def test_population_has_the_promised_shapes(devnet: Devnet) -> None:
    plans = devnet.plans
    shapes = Counter(("emode" if p.emode else "plain", len(p.collateral) > 1, len(p.debt) > 1) for p in plans)
    assert sum(n for (mode, _, _), n in shapes.items() if mode == "emode") > 50
    assert sum(n for (_, multi_c, _), n in shapes.items() if multi_c) > 200
    assert sum(n for (_, _, multi_d), n in shapes.items() if multi_d) > 100
    cluster = [p for p in plans if 1.0 < p.target_hf < 1.08]
    assert len(cluster) > 0.1 * len(plans), "a cluster just above HF 1"
    # e-mode accounts are really in e-mode on chain
    pool = aave(POOL).abi.fn("getUserEMode")
    some = [p for p in plans if p.emode][:5]
    assert [devnet.rpc.read(devnet.dep.pool, pool, p.address)[0] for p in some] == [1] * len(some)


def test_real_liquidation_call_on_an_account_pushed_below_one(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    # the riskiest single-collateral WETH account
    plan = min(
        (p for p in devnet.plans if list(p.collateral) == ["WETH"] and not p.emode),
        key=lambda p: p.target_hf,
    )
    price = oracle_price(rpc, dep, "WETH")
    set_oracle_price(rpc, dep, "WETH", int(price / plan.target_hf * 0.97))
    before = account_data(rpc, dep, [plan.address])[0]
    assert before[5] < WAD
    debt_symbol = max(plan.debt, key=lambda s: plan.debt[s] * oracle_price(rpc, dep, s) / 10 ** dep.tokens[s].decimals)
    fund(rpc, dep, dep.liquidator, debt_symbol, 10**30, dep.pool)
    pool = aave(POOL).abi
    data = pool.fn("liquidationCall").encode(
        dep.tokens["WETH"].address, dep.tokens[debt_symbol].address, plan.address, MAX_UINT, False
    )
    receipt = rpc.wait([rpc.send(dep.liquidator, dep.pool, data)])[0]
    assert any(lg["topics"][0] == pool.event("LiquidationCall").topic0 for lg in receipt["logs"])
    after = account_data(rpc, dep, [plan.address])[0]
    assert after[1] < before[1], "debt went down"
    assert after[0] < before[0], "collateral was seized"


def test_quoter_v2_quotes_on_every_pool_both_directions(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    assert {p.symbol for p in dep.pools} >= {"WETH", "WBTC", "LINK", "DAI"}
    assert len([p for p in dep.pools if p.symbol == "WETH"]) == 2, "WETH has two fee tiers"
    for pool in dep.pools:
        sqrt_p, _ = slot0(rpc, pool)
        asset_usd = pool_price_usd(dep, pool, sqrt_p)
        for token_in in (pool.token0, pool.token1):
            info = dep.token(token_in)
            usd_in = asset_usd if info.symbol == pool.symbol else 1.0
            amount = int(1_000 / usd_in * 10**info.decimals)  # $1,000
            out, sqrt_after, _ = quote_exact_in(rpc, dep, pool, token_in, amount)
            out_info = dep.token(pool.token1 if token_in == pool.token0 else pool.token0)
            usd_out = out / 10**out_info.decimals * (asset_usd if out_info.symbol == pool.symbol else 1.0)
            assert 990 < usd_out < 1_000, f"{pool.symbol}/{pool.fee}: $1,000 in gave ${usd_out:.2f}"
            assert sqrt_after != sqrt_p


@pytest.mark.parametrize(("symbol", "drop"), [("WETH", 0.25), ("LINK", 0.10), ("WBTC", 0.4)])
def test_crash_moves_pool_and_oracle_by_the_asked_amount(devnet: Devnet, symbol: str, drop: float) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    pool = dep.main_pool(symbol)
    pool_before = pool_price_8dec(dep, pool, slot0(rpc, pool)[0])
    oracle_before = oracle_price(rpc, dep, symbol)
    report = crash(rpc, dep, symbol, drop)
    pool_after = pool_price_8dec(dep, pool, slot0(rpc, pool)[0])
    oracle_after = oracle_price(rpc, dep, symbol)
    assert report.pool_price_before == pool_before
    assert abs((1 - pool_after / pool_before) - drop) < 0.001
    assert abs((1 - oracle_after / oracle_before) - drop) < 0.001
    assert oracle_after == pool_after


def test_crash_with_liquidator_leaves_nothing_liquidatable(devnet: Devnet) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    report = crash(rpc, dep, "WETH", 0.2, liquidate=True)
    assert report.rounds and report.rounds[0].accounts_liquidated > 0
    assert report.debt_repaid_usd > 0
    assert report.final_prices_usd["WETH"] < 3_000 * 0.8  # the sales pushed it below the shock
    rows = account_data(rpc, dep, dep.borrowers)
    assert not [r for r in rows if r[0] > 0 and r[1] > 0 and r[5] < WAD], "a liquidatable account remains"
