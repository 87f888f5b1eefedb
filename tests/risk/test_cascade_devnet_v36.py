"""The proof on Aave v3.6: the engine's projection, made from the book and pools read before the shock with the
rules of the pool's detected revision (v3.3+: position-level close factor, dust rule, deficits; v3.5 rounding),
against the real cascade on the v3.6 devnet (outside sale through SwapRouter, oracle set to the pool, a liquidator
calling the real ``liquidationCall`` with ``type(uint256).max`` on every liquidatable account each round and
selling through SwapRouter; the deficits are the pool's own ``DeficitCreated`` events and
``getReserveDeficit``)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.liquidator import crash, reserve_deficits
from monitor.dex import PoolState
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.protocols.aave_v3.discovery import resolve_market
from monitor.protocols.aave_v3.reader import read_accounts, read_market
from monitor.protocols.aave_v3.risk_input import RiskInput, risk_input
from monitor.risk import CascadeResult, Projector, choose_venues
from monitor.venues.uniswap_v3 import read_pool
from tests.conftest import Devnet


async def _snapshot(devnet: Devnet) -> tuple[Book, RiskInput, dict[str, PoolState]]:
    dep = devnet.dep
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=dep.chain_id)) as rpc:
        block = devnet.rpc.block_number()
        market = await resolve_market(rpc, dep.addresses_provider, block)
        read = await read_market(rpc, market, block)  # the revision is detected here
        book = Book.build(read.inputs, await read_accounts(rpc, market, dep.borrowers, block))
        pools = {p.address: await read_pool(rpc, p.address, block) for p in dep.pools}
    return book, risk_input(book), pools


SHOCKS = [("WETH", 0.10), ("WETH", 0.20), ("WETH", 0.35), ("WBTC", 0.25), ("LINK", 0.40)]


@pytest.mark.parametrize(("symbol", "drop"), SHOCKS)
async def test_projection_matches_the_chain_v36(devnet_v36: Devnet, symbol: str, drop: float) -> None:
    devnet = devnet_v36
    dep = devnet.dep
    _, risk, pools = await _snapshot(devnet)
    assert (risk.model.rules, risk.model.maths) == ("v3.3", "v3.6"), "the rules come from the detected revision"
    cbook = risk.book
    venues = choose_venues(cbook.market, pools)
    projected: CascadeResult = Projector(cbook, venues, model=risk.model).project({symbol: -drop})
    assert reserve_deficits(devnet.rpc, dep) == dict.fromkeys(dep.tokens, 0), "no deficit before the shock"

    chain = crash(devnet.rpc, dep, symbol, drop, liquidate=True)

    on_pool = reserve_deficits(devnet.rpc, dep)
    from_events: dict[str, int] = {}
    for r in chain.rounds:
        for s, v in r.deficit.items():
            from_events[s] = from_events.get(s, 0) + v
    assert {s: v for s, v in on_pool.items() if v} == from_events, "DeficitCreated events = getReserveDeficit"

    asset = dep.token(symbol).address
    sym = {a: s for a, s in zip(cbook.market.assets, cbook.market.symbols, strict=True)}
    final_dev = projected.final_prices_usd[asset] / chain.final_prices_usd[symbol] - 1.0
    repaid_dev = projected.debt_repaid_usd / chain.debt_repaid_usd - 1.0
    deficit_gap = abs(projected.deficit_usd - chain.deficit_usd)
    ours_by = {sym[a]: v for a, v in projected.deficit_usd_by_reserve.items()}
    print(
        f"\nv3.6 {symbol} -{drop:.0%}: rounds {len(projected.rounds)} vs {len(chain.rounds)}, accounts "
        f"{[r.accounts_liquidated for r in projected.rounds]} vs {[r.accounts_liquidated for r in chain.rounds]} "
        f"(reverted on chain {[r.reverted for r in chain.rounds]}), final price {final_dev:+.2e}, debt repaid "
        f"{repaid_dev:+.2e} (${projected.debt_repaid_usd:,.0f}), deficit ${projected.deficit_usd:,.0f} vs "
        f"${chain.deficit_usd:,.0f} ({ours_by} vs {chain.deficit_usd_by_reserve}), bad debt left "
        f"${projected.bad_debt_usd - projected.deficit_usd:,.0f} vs ${chain.bad_debt_usd:,.0f}"
    )
    assert chain.rounds and chain.debt_repaid_usd > 0, "the shock set a cascade off"
    assert any(r.reverted for r in chain.rounds), "dust cases: the pool rejects some maximal calls"
    assert projected.shocked_prices_usd[asset] * BASE_CURRENCY_UNIT == pytest.approx(
        chain.oracle_price_after_shock, abs=0.5
    )
    assert [r.accounts_liquidated for r in projected.rounds] == [r.accounts_liquidated for r in chain.rounds]
    # the calls the pool rejects (MustNotLeaveDust) are the ones the model leaves for the next round
    assert [r.skipped for r in projected.rounds] == [r.reverted for r in chain.rounds]
    assert abs(final_dev) < 0.005
    assert abs(repaid_dev) < 0.02
    assert deficit_gap <= max(1_000.0, 0.05 * chain.deficit_usd)
    for s in set(ours_by) | set(chain.deficit_usd_by_reserve):
        a, b = ours_by.get(s, 0.0), chain.deficit_usd_by_reserve.get(s, 0.0)
        assert abs(a - b) <= max(1_000.0, 0.05 * b), f"deficit of {s}"
    assert abs((projected.bad_debt_usd - projected.deficit_usd) - chain.bad_debt_usd) <= max(
        1_000.0, 0.05 * chain.bad_debt_usd
    )
    # beyond the tolerances: the first round (no interest accrued yet) matches to the dollar
    assert projected.rounds[0].debt_repaid_usd == pytest.approx(chain.rounds[0].debt_repaid_usd, rel=1e-6)
    for ours, theirs in zip(projected.rounds, chain.rounds, strict=True):
        for s, price in theirs.oracle_prices_usd.items():
            assert ours.oracle_prices_usd[dep.token(s).address] == pytest.approx(price, rel=1e-4)


async def test_the_engines_health_factors_equal_the_books_v36(devnet_v36: Devnet) -> None:
    book, risk, _ = await _snapshot(devnet_v36)
    cbook = risk.book
    m = cbook.market
    h = risk.model.health(m, cbook.collateral, cbook.debt, cbook.risk_class, m.prices)
    assert np.array_equal(h.liquidatable, book.liquidatable())
    hf = book.health_factors()
    finite = np.isfinite(hf)
    assert np.array_equal(finite, np.isfinite(h.hf))
    assert np.allclose(h.hf[finite], hf[finite], rtol=1e-12, atol=0)
    debt_usd = h.d / m.price_unit
    for k in (1, 2):
        assert int((cbook.risk_class == k).sum()) > 50, f"accounts of e-mode category class {k} are in the book"
    assert int(((debt_usd > 0) & (debt_usd < 2_000)).sum()) > 100, "small positions (100% close factor)"
    assert len(cbook) >= 2_000
