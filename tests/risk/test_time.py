"""Time in a projection (monitor.risk.clock): rounds at blocks and seconds, heartbeat updates of oracles held
inside their deviation band, a per-block limit on liquidations, gas in gas units, and dust."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeBook, CascadeResult, ModelParams, Projector
from monitor.risk.oracles import OracleModel
from tests.risk import markets as mk

RM = risk_market(mk.market())
BOOK = mk.build(mk.population(500, seed=7), RM)
VENUES = mk.venues(RM, 100e6)


def _run(params: ModelParams, shock: float = -0.25, book: CascadeBook = BOOK) -> CascadeResult:
    return Projector(book, VENUES, params, model=mk.V30).project({"WETH": shock})


DEFAULT = _run(ModelParams())


def _same_cascade(a: CascadeResult, b: CascadeResult) -> None:
    """Everything but the time fields is equal."""
    time = {"rounds", "duration_blocks", "duration_seconds", "liquidated_first_minute_usd", "liquidated_first_hour_usd"}
    for f in dataclasses.fields(CascadeResult):
        if f.name not in time:
            assert getattr(a, f.name) == getattr(b, f.name), f.name
    for x, y in zip(a.rounds, b.rounds, strict=True):
        assert dataclasses.replace(x, block=0, seconds=0.0) == dataclasses.replace(y, block=0, seconds=0.0)


def test_rounds_are_at_blocks_and_seconds_after_the_shock() -> None:
    assert len(DEFAULT.rounds) >= 3
    # defaults: the update lands 1 block after the move, liquidators act 1 block later, 12 s blocks
    assert [r.block for r in DEFAULT.rounds] == [2 * k for k in range(1, len(DEFAULT.rounds) + 1)]
    assert [r.seconds for r in DEFAULT.rounds] == [24.0 * k for k in range(1, len(DEFAULT.rounds) + 1)]
    assert DEFAULT.duration_blocks == DEFAULT.rounds[-1].block
    assert DEFAULT.duration_seconds == DEFAULT.rounds[-1].seconds
    # within a minute: the rounds at 24 s and 48 s
    assert DEFAULT.liquidated_first_minute_usd == pytest.approx(sum(r.debt_repaid_usd for r in DEFAULT.rounds[:2]))
    assert DEFAULT.liquidated_first_hour_usd == pytest.approx(DEFAULT.debt_repaid_usd)
    # slower oracle and liquidators on a 2 s chain: the same cascade, 5 blocks per round
    slow = _run(ModelParams(block_time_seconds=2.0, oracle_update_blocks=2, reaction_blocks=3))
    _same_cascade(slow, DEFAULT)
    assert [r.block for r in slow.rounds] == [5 * k for k in range(1, len(slow.rounds) + 1)]
    assert [r.seconds for r in slow.rounds] == [10.0 * k for k in range(1, len(slow.rounds) + 1)]
    minute = sum(r.debt_repaid_usd for r in slow.rounds if r.seconds <= 60)
    assert slow.liquidated_first_minute_usd == pytest.approx(minute)
    # a horizon cuts the cascade at its time
    short = _run(ModelParams(horizon_seconds=50.0))
    assert [r.seconds for r in short.rounds] == [24.0, 48.0] and not short.converged


def test_a_move_inside_the_band_waits_for_the_heartbeat() -> None:
    accounts = [(0, 100_000.0, 1, 1.003)] * 4 + [(0, 100_000.0, 1, 1.05)] * 3
    book = mk.build(accounts, RM)
    band = ModelParams(oracles={"WETH": OracleModel(deviation=0.01, heartbeat_seconds=3600.0)})
    inside = _run(band, -0.008, book)
    assert inside.shocked_prices_usd[mk.WETH] == 2000.0, "a 0.8% move stays inside the 1% band"
    # nothing within the hour; the heartbeat update at 3600 s lands at block 300, liquidators act one block later
    assert inside.liquidated_first_minute_usd == 0.0 and inside.liquidated_first_hour_usd == 0.0
    assert inside.accounts_liquidated == 4 and inside.rounds[0].block == 301 and inside.rounds[0].seconds == 3612.0
    assert inside.debt_repaid_usd > 0 and inside.converged
    assert inside.final_prices_usd[mk.WETH] < 2000.0 * 0.992
    # the default heartbeat of oracles without a model of their own: none (batch-1 behaviour) or a given one
    held = _run(ModelParams(oracle_deviation=0.01), -0.008, book)
    assert held.accounts_liquidated == 0 and held.converged  # as in batch 1: nothing ever lands
    beat = _run(ModelParams(oracle_deviation=0.01, oracle_heartbeat_seconds=600.0), -0.008, book)
    assert beat.accounts_liquidated == 4 and beat.rounds[0].seconds == 612.0
    assert beat.liquidated_first_hour_usd == pytest.approx(beat.debt_repaid_usd)
    # a horizon before the heartbeat: the accounts are still waiting at the end
    cut = _run(dataclasses.replace(band, horizon_seconds=3000.0), -0.008, book)
    assert cut.accounts_liquidated == 0 and not cut.converged


def test_a_cascade_that_crosses_the_heartbeat_splits_between_the_first_hour_and_later() -> None:
    # a 25% shock moves the oracle at once; the later sales move the pool by less than 2% a round: the oracle
    # waits inside its band, then takes the pool's price at the heartbeat and the cascade goes on
    band = ModelParams(oracles={"WETH": OracleModel(deviation=0.02, heartbeat_seconds=1800.0)})
    r = _run(band)
    early = [x for x in r.rounds if x.seconds <= 60]
    late = [x for x in r.rounds if x.seconds >= 1800]
    assert early and late, [x.seconds for x in r.rounds]
    assert r.liquidated_first_minute_usd == pytest.approx(sum(x.debt_repaid_usd for x in early))
    hour = sum(x.debt_repaid_usd for x in r.rounds if x.seconds <= 3600)
    assert 0 < r.liquidated_first_minute_usd < r.liquidated_first_hour_usd == pytest.approx(hour)
    assert r.liquidated_first_hour_usd < r.debt_repaid_usd and r.converged
    # each heartbeat update lands 1800 s after the oracle's previous update, liquidators one block later
    gaps = [b.block - a.block for a, b in itertools.pairwise(r.rounds) if b.block - a.block > 2]
    assert gaps and all(g == 150 for g in gaps[1:])
    no_beat = _run(ModelParams(oracles={"WETH": OracleModel(deviation=0.02, heartbeat_seconds=1e9)}))
    assert r.debt_repaid_usd > no_beat.debt_repaid_usd
    assert r.final_prices_usd[mk.WETH] < no_beat.final_prices_usd[mk.WETH]


def test_liquidations_per_block_stretch_the_cascade_over_more_blocks() -> None:
    n = 10  # the default's first round liquidates 123
    assert DEFAULT.rounds[0].accounts_liquidated > 10 * n
    capped = _run(ModelParams(liquidations_per_block=n))
    assert all(r.accounts_liquidated <= n for r in capped.rounds)
    assert any(r.skipped > 0 for r in capped.rounds)
    assert len(capped.rounds) > len(DEFAULT.rounds) and capped.duration_blocks > DEFAULT.duration_blocks
    assert capped.converged
    # a round cut short is followed by one at the next block
    blocks = [r.block for r in capped.rounds]
    assert any(b - a == 1 for a, b in itertools.pairwise(blocks))
    assert all(b > a for a, b in itertools.pairwise(blocks))
    # the same accounts in the end, close to the same price
    assert capped.accounts_liquidated == pytest.approx(DEFAULT.accounts_liquidated, rel=0.05)
    assert capped.debt_repaid_usd == pytest.approx(DEFAULT.debt_repaid_usd, rel=0.05)
    assert capped.final_prices_usd[mk.WETH] == pytest.approx(DEFAULT.final_prices_usd[mk.WETH], rel=0.02)
    # the most profitable first: the first round's calls are the N most profitable of the default's first round
    assert capped.rounds[0].accounts_liquidated == n
    assert capped.liquidated_first_minute_usd < DEFAULT.liquidated_first_minute_usd


def _small_book() -> CascadeBook:
    rng = np.random.default_rng(3)
    small = [(0, float(rng.uniform(50, 400)), 1, float(rng.uniform(1.01, 1.2))) for _ in range(200)]
    return mk.build(mk.population(300, seed=11) + small, RM)


def test_positions_too_small_to_pay_for_gas_stay_as_dust() -> None:
    book = _small_book()
    base = _run(ModelParams(), -0.3, book)
    assert (base.dust_accounts, base.dust_debt_usd, base.dust_shortfall_usd) == (0, 0.0, 0.0)
    # 400,000 gas at 50 gwei at the WETH oracle price: $28 a call after a 30% drop
    gas = ModelParams(gas_per_liquidation=400_000, gas_price_gwei=50.0)
    costly = _run(gas, -0.3, book)
    assert costly.dust_accounts > 100 and costly.dust_accounts <= costly.unliquidated_accounts
    assert 0 < costly.dust_debt_usd <= costly.unliquidated_debt_usd
    assert costly.dust_shortfall_usd <= costly.shortfall_usd
    # the same gas given in USD at the final WETH price leaves the same dust
    usd = 400_000 * 50e-9 * costly.final_prices_usd[mk.WETH]
    same = _run(ModelParams(gas_cost_usd=usd), -0.3, book)
    assert same.dust_accounts == costly.dust_accounts
    # a fixed native price
    fixed = _run(dataclasses.replace(gas, native_price_usd=1e-6), -0.3, book)
    assert fixed.dust_accounts == 0 and fixed.accounts_liquidated == base.accounts_liquidated


@pytest.mark.parametrize(
    "kw",
    [
        {"block_time_seconds": 0.0},
        {"oracle_update_blocks": -1},
        {"reaction_blocks": 1.5},
        {"liquidations_per_block": 0},
        {"gas_per_liquidation": -1},
        {"gas_price_gwei": float("nan")},
        {"horizon_seconds": 0.0},
        {"oracle_heartbeat_seconds": -5.0},
        {"native_price_usd": 0.0},
    ],
)
def test_bad_time_parameters_are_data_errors(kw: dict[str, object]) -> None:
    with pytest.raises(DataError):
        ModelParams(**kw)  # type: ignore[arg-type]


def test_gas_priced_at_an_asset_the_market_does_not_list_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="native_price_usd"):
        _run(ModelParams(gas_per_liquidation=1, gas_price_gwei=1.0, native_asset="MATIC"))


def test_the_system_projection_runs_on_the_same_clock() -> None:
    """Two markets as one cascade (tests/risk/test_system.py): the time fields, and a per-block limit over every
    market's liquidations together."""
    from monitor.risk.system import SystemProjector
    from tests.risk.test_system import _pair

    pair = _pair()
    whole = pair.project({"WETH": -0.1}).system
    assert [r.block for r in whole.rounds] == [2 * k for k in range(1, len(whole.rounds) + 1)]
    assert whole.duration_seconds == 24.0 * len(whole.rounds)
    limited = SystemProjector(pair.table, pair.venues, ModelParams(liquidations_per_block=4))
    capped = limited.project({"WETH": -0.1}).system
    assert all(r.accounts_liquidated <= 4 for r in capped.rounds) and capped.converged
    assert capped.duration_blocks > whole.duration_blocks
    assert capped.accounts_liquidated == whole.accounts_liquidated
