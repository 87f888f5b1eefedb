"""Oracle models per asset (monitor.risk.oracles): an exchange-rate oracle ignores its own pool and follows its
base; a move inside an oracle's deviation band liquidates nothing, and the look-ahead shows the debt waiting for
that update; a fixed oracle never moves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeBook, ModelParams, Projector, Venue
from monitor.risk.oracles import OracleModel, Oracles, look_ahead
from monitor.risk.synthetic import ladder_pool
from tests.risk import markets as mk

RM = risk_market(mk.market())
#: WBTC priced as WETH times an exchange rate (as a wstETH-style adapter would price it).
WRAPPED = {"WBTC": OracleModel("rate", base="WETH")}


def _wbtc_book(hf: float = 1.05, n: int = 5) -> CascadeBook:
    return mk.build([(2, 200_000.0, 1, hf)] * n, RM)


def test_an_exchange_rate_oracle_ignores_its_own_pool() -> None:
    book = _wbtc_book()
    venues = mk.venues(RM, 50e6)
    depeg = Projector(book, venues, ModelParams(oracles=WRAPPED), model=mk.V30).project({"WBTC": -0.3})
    assert depeg.accounts_liquidated == 0 and depeg.rounds == ()
    assert depeg.final_prices_usd[mk.WBTC] == 30_000.0, "the oracle does not see the pool"
    plain = Projector(book, venues, model=mk.V30).project({"WBTC": -0.3})
    assert plain.accounts_liquidated == 5, "an oracle that follows its pool liquidates them all"


def test_an_exchange_rate_oracle_follows_its_base() -> None:
    book = _wbtc_book()
    venues = mk.venues(RM, 50e6)
    result = Projector(book, venues, ModelParams(oracles=WRAPPED), model=mk.V30).project({"WETH": -0.2})
    weth = result.shocked_prices_usd[mk.WETH]
    assert weth == pytest.approx(1600.0, rel=1e-6)
    # HF 1.05 x 0.8 < 1: every WBTC borrower goes, though nothing moved the WBTC pool before their sales
    assert result.accounts_liquidated == 5
    assert result.shocked_prices_usd[mk.WBTC] == pytest.approx(30_000.0 * weth / 2000.0, rel=1e-9)
    first = result.rounds[0]
    assert first.collateral_sold[mk.WBTC] > 0, "the liquidators sold WBTC into its pool ..."
    assert first.oracle_prices_usd[mk.WBTC] == result.shocked_prices_usd[mk.WBTC], "... which its oracle ignores"


def _pool_below(book_price: float, factor: float) -> dict[str, Venue]:
    """The WETH pool already at ``factor`` of the oracle's price (the oracle has not updated)."""
    pool = ladder_pool(mk.WETH, mk.USDC, 18, 6, book_price * factor, 50e6, 3000)
    return {mk.WETH: Venue(mk.WETH, mk.USDC, pool, 10**8)}


def test_a_move_inside_the_band_waits_for_the_update_and_the_look_ahead_shows_it() -> None:
    accounts = [(0, 100_000.0, 1, 1.003)] * 4 + [(0, 100_000.0, 1, 1.05)] * 3
    book = mk.build(accounts, RM)
    venues = mk.venues(RM, 50e6)
    # within the hour (the feed's heartbeat) the oracle does not move and nothing is liquidated ...
    band = ModelParams(oracles={"WETH": OracleModel(deviation=0.01)}, horizon_seconds=3599.0)
    inside = Projector(book, venues, band, model=mk.V30).project({"WETH": -0.008})
    assert inside.accounts_liquidated == 0 and inside.final_prices_usd[mk.WETH] == 2000.0
    # ... until the heartbeat update lands (monitor.risk.clock; tests/risk/test_time.py)
    later = Projector(book, venues, replace(band, horizon_seconds=86_400.0), model=mk.V30).project({"WETH": -0.008})
    assert later.accounts_liquidated == 4 and later.rounds[0].seconds >= 3600.0
    beyond = Projector(book, venues, model=mk.V30).project({"WETH": -0.008})
    assert beyond.accounts_liquidated == 4, "the same move with an oracle that follows every move"
    # the pool is already 0.8% down; the oracle is not: the 4 accounts at HF 1.003 wait for the update
    waiting = look_ahead(book, mk.V30, _pool_below(2000.0, 0.992))
    debt = sum(float(book.debt[1, i]) / 1e6 for i in range(4))
    assert waiting.accounts == 4 and waiting.debt_usd == pytest.approx(debt, rel=1e-6)
    assert waiting.pending_prices_usd[mk.WETH] == pytest.approx(2000.0 * 0.992, rel=1e-4)
    # a fixed oracle never updates: nothing waits
    fixed = look_ahead(book, mk.V30, _pool_below(2000.0, 0.992), {"WETH": OracleModel("fixed")})
    assert (fixed.accounts, fixed.debt_usd) == (0, 0.0)


def test_a_fixed_oracle_never_moves() -> None:
    book = mk.build([(0, 100_000.0, 1, 1.05)] * 3, RM)
    result = Projector(book, mk.venues(RM, 50e6), ModelParams(oracles={"WETH": OracleModel("fixed")}),
                       model=mk.V30).project({"WETH": -0.5})  # fmt: skip
    assert result.accounts_liquidated == 0 and result.final_prices_usd[mk.WETH] == 2000.0


def test_bad_oracle_models_are_refused() -> None:
    with pytest.raises(DataError, match="needs a base asset"):
        OracleModel("rate")
    with pytest.raises(DataError, match="needs a base asset"):
        OracleModel("fixed", base="WETH")
    with pytest.raises(DataError, match="deviation threshold"):
        OracleModel(deviation=1.5)
    with pytest.raises(DataError, match="oracle kind"):
        OracleModel("twap")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="its own price"):
        Oracles(RM, {"WETH": OracleModel("rate", base="WETH")}, 0.0)
    with pytest.raises(DataError, match="must follow a market-priced asset"):
        Oracles(RM, {"WBTC": OracleModel("rate", base="WETH"), "WETH": OracleModel("fixed")}, 0.0)
    with pytest.raises(DataError, match="unknown asset"):
        Oracles(RM, {"FOO": OracleModel()}, 0.0)
    with pytest.raises(DataError, match="OracleModel"):
        ModelParams(oracles={"WETH": "fixed"})  # type: ignore[dict-item]
