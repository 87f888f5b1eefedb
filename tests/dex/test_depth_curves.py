"""Float depth curves against the exact integer simulator: single pools, fee-tier aggregates, routes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from monitor.dex import (
    DepthCurve,
    PoolState,
    StopReason,
    SwapResult,
    aggregate,
    compose_route,
    curve_depth,
    pair_depth,
    pool_curve,
    split,
    swap_exact_input,
    swap_exact_output,
)
from monitor.dex.tick_math import get_sqrt_ratio_at_tick
from monitor.errors import DataError

from .dex_math_strategies import TOKEN_A, TOKEN_B, TOKEN_C, amounts, full_range, make_pool, pools

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REL = 1e-9


def _spot_rate(state: PoolState, zero_for_one: bool) -> float:
    return float(pool_curve(state, zero_for_one).curve.spot_rate)


@PROPERTY
@given(pools(), st.booleans(), amounts())
def test_curve_quote_brackets_the_exact_swap(state: PoolState, zero_for_one: bool, amount: int) -> None:
    exact = swap_exact_input(state, zero_for_one, amount)
    pc = pool_curve(state, zero_for_one)
    # the contract rounds by up to a wei per step; allow that (and float error) on the input side
    slack = REL * amount + 2 * (exact.steps + 2)
    lo, hi = pc.quote(max(amount - slack, 0.0)), pc.quote(amount + slack)
    rate = max(_spot_rate(state, zero_for_one), 1.0)
    tol_out = REL * exact.amount_out + 2 * (exact.steps + 2) * rate
    assert float(lo.amount_out) - tol_out <= exact.amount_out <= float(hi.amount_out) + tol_out
    price = float(exact.sqrt_price_x96_after)
    a, b = float(lo.sqrt_price_x96_after), float(hi.sqrt_price_x96_after)
    assert min(a, b) * (1 - 1e-12) <= price <= max(a, b) * (1 + 1e-12)
    assert bool(pc.quote(amount).filled) == exact.filled or lo.filled != hi.filled


def _gap_then_far_range() -> PoolState:
    """Price in a gap, a thin range just above it and a far range about 20x higher (fee 1 %, spacing 200).

    Hypothesis found this shape: a swap that empties the near range and ends in the far one.
    """
    return make_pool(10000, 200, get_sqrt_ratio_at_tick(0), [(1800, 2000, 100_000_046), (30600, 30800, 10**8)])


def _exact_output_tolerance(exact: SwapResult, end_sqrt_rate: float) -> float:
    """How far the float input for an exact output may be from the contract's.

    Per step the contract rounds the input and the fee up (a wei each) and, on a step that reaches its
    target, rounds the output down: the lost output wei is bought later, at the marginal rate where the swap
    ends (the worst rate of the path, ``end_sqrt_rate**2`` output per input), not at the spot rate.
    """
    wei_of_output = 1 / max(end_sqrt_rate**2, 1e-30)
    return REL * exact.amount_in + 2 * (exact.steps + 2) * (1 + wei_of_output)


@PROPERTY
@given(pools(), st.booleans(), amounts())
@example(_gap_then_far_range(), False, 1_000_001)
def test_curve_exact_output_brackets_the_exact_swap(state: PoolState, zero_for_one: bool, wanted: int) -> None:
    exact = swap_exact_output(state, zero_for_one, wanted)
    assume(exact.filled)
    pc = pool_curve(state, zero_for_one)
    q = pc.curve.quote_output(wanted)
    tol = _exact_output_tolerance(exact, float(q.sqrt_rate))
    assert float(q.amount_in) == pytest.approx(exact.amount_in, rel=0, abs=tol)
    assert bool(q.filled)


def test_exact_output_pays_the_floored_wei_at_the_final_rate() -> None:
    # the regression behind the example above: the curve holds the real amounts; the contract floors the
    # near range's output (909335.99 -> 909335) and buys the missing wei in the far range, ~21.5x dearer
    state, wanted = _gap_then_far_range(), 1_000_001
    exact = swap_exact_output(state, False, wanted)
    q = pool_curve(state, False).curve.quote_output(wanted)
    near = pool_curve(state, False).curve.cum_out[2]
    lost_output = float(near) - math.floor(float(near))
    assert exact.filled and exact.steps == 4 and 0.99 < lost_output < 1
    priced_at_end = lost_output / float(q.sqrt_rate) ** 2
    assert priced_at_end > 21
    # what is left is the per-step rounding of the input and the fee (a wei each, 4 steps)
    assert 0 <= exact.amount_in - float(q.amount_in) - priced_at_end <= 2 * exact.steps


@PROPERTY
@given(pools(), st.booleans(), st.floats(0.0001, 0.9))
def test_amount_to_reach_a_price(state: PoolState, zero_for_one: bool, move: float) -> None:
    pc = pool_curve(state, zero_for_one)
    factor = math.sqrt(1 - move) if zero_for_one else math.sqrt(1 + move)
    target = int(state.sqrt_price_x96 * factor)
    exact = swap_exact_input(state, zero_for_one, 10**40, target)
    q = pc.quote_to_sqrt_price(target)
    assert float(q.amount_in) == pytest.approx(exact.amount_in, rel=REL, abs=2 * (exact.steps + 2))
    assert float(q.amount_out) == pytest.approx(
        exact.amount_out, rel=REL, abs=2 * (exact.steps + 2) * max(pc.curve.spot_rate, 1.0)
    )
    assert bool(q.filled) == (exact.stop is StopReason.PRICE_LIMIT)


def test_curve_agrees_to_1e9_on_a_realistic_pool() -> None:
    # a USDC/WETH-like pool (6 and 18 decimals, 0.05 %), many ranges around 3000 USDC per WETH
    center = 196_260
    positions = [(*full_range(10), 10**17)]
    rng = np.random.default_rng(5)
    for _ in range(60):
        lower = (center + int(rng.integers(-8000, 6000))) // 10 * 10
        positions.append((lower, lower + 10 * int(rng.integers(1, 900)), int(10 ** rng.uniform(15, 20))))
    state = make_pool(500, 10, get_sqrt_ratio_at_tick(center) + 12345, positions, decimals=(6, 18))
    for zero_for_one in (True, False):
        pc = pool_curve(state, zero_for_one)
        unit = 10**6 if zero_for_one else 10**18
        for tokens in (1, 10, 1e3, 1e5, 1e6, 3e7):
            amount = int(tokens * unit)
            exact = swap_exact_input(state, zero_for_one, amount)
            q = pc.quote(float(amount))
            # 1e-9 relative, plus the contract's rounding: up to a wei of input per step, worth `rate` output
            wei = 2 * (exact.steps + 2) * pc.curve.spot_rate
            assert float(q.amount_out) == pytest.approx(exact.amount_out, rel=REL, abs=wei)
            assert float(q.sqrt_price_x96_after) == pytest.approx(exact.sqrt_price_x96_after, rel=REL)
            assert bool(q.filled) == exact.filled


def test_vectorized_queries_keep_shapes() -> None:
    state = make_pool(3000, 60, get_sqrt_ratio_at_tick(30), [(-600, 600, 10**20), (-6000, 60, 10**19)])
    pc = pool_curve(state, True)
    grid = np.array([[0.0, 1e15], [1e18, 1e30]])
    q = pc.quote(grid)
    assert q.amount_out.shape == grid.shape and q.filled.tolist() == [[True, True], [True, False]]
    assert q.amount_out[0, 0] == 0 and float(q.sqrt_price_x96_after[0, 0]) == pytest.approx(state.sqrt_price_x96)
    assert q.amount_in[1, 1] == pytest.approx(pc.curve.capacity_in)
    # the end of the curve is where the liquidity ends: the exact swap stops there too
    exact = swap_exact_input(state, True, 10**30)
    assert exact.stop is StopReason.NO_LIQUIDITY
    assert pc.curve.capacity_in == pytest.approx(exact.amount_in, rel=REL)
    assert pc.curve.capacity_out == pytest.approx(exact.amount_out, rel=REL)
    with pytest.raises(DataError):
        pc.quote(-1.0)
    with pytest.raises(DataError):
        pc.curve.depth([1.5])


def test_empty_and_windowed_pools() -> None:
    empty = pool_curve(make_pool(3000, 60, get_sqrt_ratio_at_tick(0), []), True).curve
    assert empty.capacity_in == 0 and not bool(empty.quote(1e18).filled)
    state = make_pool(3000, 60, get_sqrt_ratio_at_tick(5), [(*full_range(60), 10**20), (-1200, 1200, 10**21)])
    inside = tuple((t, n) for t, n in state.ticks if -3000 <= t <= 3000)
    windowed = dataclasses.replace(state, ticks=inside, tick_window=(-3000, 3000))
    curve = pool_curve(windowed, True).curve
    assert not curve.complete and pool_curve(state, True).curve.complete
    exact = swap_exact_input(windowed, True, 10**30)
    assert exact.stop is StopReason.TICK_WINDOW
    assert curve.capacity_in == pytest.approx(exact.amount_in, rel=REL)


@st.composite
def fee_tier_pools(draw: st.DrawFn) -> list[PoolState]:
    """Two or three pools of one pair at slightly different prices (as fee tiers are)."""
    center = draw(st.integers(-100_000, 100_000))
    tiers = draw(st.lists(st.sampled_from([(100, 1), (500, 10), (3000, 60), (10000, 200)]), min_size=2, max_size=3))
    return [draw(pools(tiers=(tier,), center=center)) for tier in tiers]


@PROPERTY
@given(fee_tier_pools(), st.booleans(), st.floats(0.001, 0.5))
def test_aggregate_matches_exact_swaps_to_a_common_rate(
    states: list[PoolState], zero_for_one: bool, move: float
) -> None:
    curves = [pool_curve(s, zero_for_one) for s in states]
    combined = aggregate([c.curve for c in curves])
    target = combined.sqrt_rate[0] * math.sqrt(1 - move)
    assume(target > combined.sqrt_rate[-1])
    total = combined.quote_to_sqrt_rate(target)
    expected = 0
    for pc, state in zip(curves, states, strict=True):
        if target >= pc.curve.sqrt_rate[0]:
            continue  # this pool's marginal rate is already worse: the router leaves it alone
        limit = int(float(pc.sqrt_price_x96_at(target)))
        expected += swap_exact_input(state, zero_for_one, 10**40, limit).amount_in
    assert float(total.amount_in) == pytest.approx(expected, rel=1e-8, abs=100)


@PROPERTY
@given(fee_tier_pools(), st.booleans(), amounts(10**6), st.floats(0.0, 1.0))
def test_aggregate_routes_at_least_as_well_as_any_fixed_split(
    states: list[PoolState], zero_for_one: bool, amount: int, share: float
) -> None:
    curves = [pool_curve(s, zero_for_one).curve for s in states]
    combined = aggregate(curves)
    q = combined.quote(float(amount))
    assume(bool(q.filled))
    parts = split(curves, float(amount))
    assert float(parts.sum()) == pytest.approx(amount, rel=1e-9)
    # every other split (all in one pool, or a share between two) gives no more output
    alternative = max(float(c.quote(float(amount)).amount_out) for c in curves)
    two_way = float(curves[0].quote(amount * share).amount_out + curves[1].quote(amount * (1 - share)).amount_out)
    tol = 1e-9 * float(q.amount_out) + 1e-6
    assert float(q.amount_out) >= max(alternative, two_way) - tol


def test_aggregate_of_one_curve_and_mismatched_pairs() -> None:
    state = make_pool(500, 10, get_sqrt_ratio_at_tick(0), [(-100, 100, 10**20)])
    curve = pool_curve(state, True).curve
    assert aggregate([curve]) is curve
    with pytest.raises(DataError):
        aggregate([curve, pool_curve(state, False).curve])
    with pytest.raises(DataError):
        compose_route(curve, curve)


@st.composite
def routes(draw: st.DrawFn) -> tuple[PoolState, PoolState]:
    """Pools A/B and B/C with a few ranges each."""
    first = draw(pools(tiers=((500, 10), (3000, 60)), min_positions=2))
    second = draw(pools(tiers=((500, 10), (3000, 60)), min_positions=2))
    ab = dataclasses.replace(first, token0=TOKEN_A, token1=TOKEN_B)
    bc = dataclasses.replace(second, token0=TOKEN_B, token1=TOKEN_C)
    return ab, bc


@PROPERTY
@given(routes(), st.booleans(), amounts())
def test_route_matches_sequential_exact_swaps(pair: tuple[PoolState, PoolState], forward: bool, amount: int) -> None:
    ab, bc = pair
    # A->B->C sells token0 twice; C->B->A sells token1 twice
    first, second = (ab, bc) if forward else (bc, ab)
    c1, c2 = pool_curve(first, forward).curve, pool_curve(second, forward).curve
    route = compose_route(c1, c2)
    assert (route.token_in, route.token_out) == ((TOKEN_A, TOKEN_C) if forward else (TOKEN_C, TOKEN_A))
    hop1 = swap_exact_input(first, forward, amount)
    hop2 = swap_exact_input(second, forward, hop1.amount_out)
    # rounding: a few wei (of input, worth up to the spot rate, or of output) per step of each hop
    slack = REL * amount
    lo, hi = route.quote(max(amount - slack, 0.0)), route.quote(amount + slack)
    rate1, rate2 = max(c1.spot_rate, 1.0), max(c2.spot_rate, 1.0)
    tol = REL * hop2.amount_out + 2 * (hop1.steps + 2) * rate1 * rate2 + 2 * (hop2.steps + 2) * rate2
    assert float(lo.amount_out) - tol <= hop2.amount_out <= float(hi.amount_out) + tol
    # the closed form equals feeding one curve's output into the other
    chained = c2.quote(c1.quote(float(amount)).amount_out).amount_out
    assert float(route.quote(float(amount)).amount_out) == pytest.approx(float(chained), rel=1e-10, abs=1e-6)


@PROPERTY
@given(routes(), st.floats(0.0, 1e25))
def test_route_queries_are_consistent(pair: tuple[PoolState, PoolState], amount: float) -> None:
    route = compose_route(pool_curve(pair[0], True).curve, pool_curve(pair[1], True).curve)
    q = route.quote(amount)
    back = route.quote_to_sqrt_rate(q.sqrt_rate)
    assume(bool(q.filled) and float(q.amount_out) > 0)
    # through the marginal rate: an ulp of r is worth K * r * eps of output
    ulp = 8 * np.finfo(float).eps * float(route.k_liquidity.max()) * float(route.sqrt_rate[0])
    assert float(back.amount_out) == pytest.approx(float(q.amount_out), rel=1e-9, abs=ulp)
    # buying that output back needs an input that sells for the same output (the well-conditioned check)
    out = route.quote_output(q.amount_out)
    again = route.quote(out.amount_in)
    assert float(again.amount_out) == pytest.approx(float(q.amount_out), rel=1e-9, abs=1e-6)


def test_pair_depth_against_exact_swaps() -> None:
    positions = [(*full_range(60), 10**21), (-3000, 3000, 10**22), (-600, 1200, 10**22)]
    medium = make_pool(3000, 60, get_sqrt_ratio_at_tick(7), positions, decimals=(18, 6))
    low = make_pool(500, 10, get_sqrt_ratio_at_tick(3), [(-1000, 1000, 5 * 10**21)], decimals=(18, 6))
    pcts = [0.01, 0.02, 0.05, 0.10, 0.25]
    single = pair_depth([medium], pcts, usd_price0=2.0, usd_price1=3.0)
    for i, p in enumerate(pcts):
        down = swap_exact_input(medium, True, 10**40, int(medium.sqrt_price_x96 * math.sqrt(1 - p)))
        up = swap_exact_input(medium, False, 10**40, int(medium.sqrt_price_x96 * math.sqrt(1 + p)))
        assert single.bid.amount_in[i] == pytest.approx(down.amount_in / 1e18, rel=1e-8)
        assert single.ask.amount_in[i] == pytest.approx(up.amount_in / 1e6, rel=1e-8)
        assert single.bid.amount_out[i] == pytest.approx(down.amount_out / 1e6, rel=1e-8)
    assert single.bid.usd is not None and single.ask.usd is not None
    assert np.allclose(single.bid.usd, single.bid.amount_in * 2.0)
    assert np.allclose(single.ask.usd, single.ask.amount_in * 3.0)
    assert single.bid.reached.all() and np.all(np.diff(single.bid.amount_in) > 0)
    both = pair_depth([medium, low], pcts)
    assert both.bid.usd is None
    combined = aggregate([pool_curve(medium, True).curve, pool_curve(low, True).curve])
    assert np.allclose(both.bid.amount_in, combined.depth(pcts).amount_in / 1e18)
    # the same absolute price needs more input when two pools absorb it
    alone = pool_curve(medium, True).curve
    targets = alone.sqrt_rate[0] * np.sqrt(1 - np.array(pcts))
    assert np.all(combined.quote_to_sqrt_rate(targets).amount_in > alone.quote_to_sqrt_rate(targets).amount_in)
    levels = curve_depth(pool_curve(medium, True).curve, pcts, usd_price_in=2.0)
    assert np.allclose(levels.amount_in, single.bid.amount_in)
    with pytest.raises(DataError):
        pair_depth([medium, dataclasses.replace(low, token1=TOKEN_C)])
    with pytest.raises(DataError):
        pair_depth([])


def test_depth_curve_validation() -> None:
    good = {
        "token_in": TOKEN_A,
        "token_out": TOKEN_B,
        "decimals_in": 18,
        "decimals_out": 18,
        "sqrt_rate": [2.0, 1.0],
        "cum_in": [0.0, 1.0],
        "cum_out": [0.0, 1.0],
        "k_liquidity": [2.0],
    }
    DepthCurve(**good)  # type: ignore[arg-type]
    for change in (
        {"sqrt_rate": [1.0, 2.0]},
        {"cum_in": [1.0, 2.0]},
        {"k_liquidity": [-1.0]},
        {"k_liquidity": [1.0, 1.0]},
        {"cum_out": [0.0, float("nan")]},
    ):
        with pytest.raises(DataError):
            DepthCurve(**(good | change))  # type: ignore[arg-type]
