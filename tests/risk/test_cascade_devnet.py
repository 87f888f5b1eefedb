"""The proof: the engine's projection, made from the book and pools read before the shock, against the real
cascade on the devnet (outside sale through SwapRouter, oracle set to the pool, a liquidator calling the real
``liquidationCall`` on every liquidatable account each round and selling through SwapRouter)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.liquidator import crash
from monitor.dex import PoolState
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.protocols.aave_v3.discovery import resolve_market
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.protocols.aave_v3.reader import read_accounts, read_market
from monitor.protocols.aave_v3.risk_input import risk_input
from monitor.risk import CascadeBook, CascadeResult, Projector, choose_venues
from monitor.venues.uniswap_v3 import read_pool
from tests.conftest import Devnet


async def _snapshot(devnet: Devnet) -> tuple[Book, CascadeBook, dict[str, PoolState]]:
    dep = devnet.dep
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=dep.chain_id)) as rpc:
        block = devnet.rpc.block_number()
        market = await resolve_market(rpc, dep.addresses_provider, block)
        read = await read_market(rpc, market, block)
        book = Book.build(read.inputs, await read_accounts(rpc, market, dep.borrowers, block))
        pools = {p.address: await read_pool(rpc, p.address, block) for p in dep.pools}
    risk = risk_input(book)  # the rules of the detected revision
    assert (risk.model.rules, risk.model.maths) == ("v3.0", "v3.0")
    return book, risk.book, pools


@pytest.mark.parametrize(("symbol", "drop"), [("WETH", 0.10), ("WETH", 0.20), ("WETH", 0.35), ("WBTC", 0.25)])
async def test_projection_matches_the_chain(devnet: Devnet, symbol: str, drop: float) -> None:
    dep = devnet.dep
    _, cbook, pools = await _snapshot(devnet)
    venues = choose_venues(cbook.market, pools)
    for s in ("WETH", "WBTC", "DAI", "LINK"):
        assert venues[dep.token(s).address].pool == pools[dep.main_pool(s).address], f"{s}: the main pool"
    projected: CascadeResult = Projector(cbook, venues, model=AaveV3Liquidation("v3.0")).project({symbol: -drop})

    chain = crash(devnet.rpc, dep, symbol, drop, liquidate=True)

    asset = dep.token(symbol).address
    final_dev = projected.final_prices_usd[asset] / chain.final_prices_usd[symbol] - 1.0
    repaid_dev = projected.debt_repaid_usd / chain.debt_repaid_usd - 1.0
    bad_gap = abs(projected.bad_debt_usd - chain.bad_debt_usd)
    print(
        f"\n{symbol} -{drop:.0%}: rounds {len(projected.rounds)} vs {len(chain.rounds)}, final price "
        f"{final_dev:+.2e}, debt repaid {repaid_dev:+.2e} (${projected.debt_repaid_usd:,.0f}), bad debt "
        f"${projected.bad_debt_usd:,.0f} vs ${chain.bad_debt_usd:,.0f} ({projected.bad_debt_accounts} vs "
        f"{chain.bad_debt_accounts} accounts)"
    )
    assert chain.rounds and chain.debt_repaid_usd > 0, "the shock set a cascade off"
    assert projected.shocked_prices_usd[asset] * BASE_CURRENCY_UNIT == pytest.approx(
        chain.oracle_price_after_shock, abs=0.5
    )
    assert abs(final_dev) < 0.005
    assert abs(repaid_dev) < 0.02
    assert bad_gap <= max(1_000.0, 0.05 * chain.bad_debt_usd)
    assert abs(len(projected.rounds) - len(chain.rounds)) <= 1
    # beyond the tolerances: the first round (no interest accrued yet) matches account for account
    assert projected.rounds[0].accounts_liquidated == chain.rounds[0].accounts_liquidated
    assert projected.rounds[0].debt_repaid_usd == pytest.approx(chain.rounds[0].debt_repaid_usd, rel=1e-6)
    for ours, theirs in zip(projected.rounds, chain.rounds, strict=False):
        for sym, price in theirs.oracle_prices_usd.items():
            assert ours.oracle_prices_usd[dep.token(sym).address] == pytest.approx(price, rel=1e-4)


async def test_the_engines_health_factors_equal_the_books(devnet: Devnet) -> None:
    book, cbook, _ = await _snapshot(devnet)
    m = cbook.market
    h = AaveV3Liquidation().health(m, cbook.collateral, cbook.debt, cbook.risk_class, m.prices)
    assert np.array_equal(h.liquidatable, book.liquidatable())
    hf = book.health_factors()
    finite = np.isfinite(hf)
    assert np.array_equal(finite, np.isfinite(h.hf))
    assert np.allclose(h.hf[finite], hf[finite], rtol=1e-12, atol=0)
