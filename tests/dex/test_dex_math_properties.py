"""Property tests of the exact swap simulator on random pools."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from monitor.dex import (
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    PoolState,
    StopReason,
    apply_swap,
    swap_exact_input,
    swap_exact_output,
)
from monitor.dex.swap import _simulate, default_sqrt_price_limit
from monitor.dex.tick_math import MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick

from .dex_math_strategies import amounts, make_pool, pools, sqrt_prices_near

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(pools(), st.booleans(), amounts(), amounts())
def test_output_is_monotone_in_input(state: PoolState, zero_for_one: bool, a: int, b: int) -> None:
    small, large = sorted((a, b))
    low = swap_exact_input(state, zero_for_one, small)
    high = swap_exact_input(state, zero_for_one, large)
    assert low.amount_out <= high.amount_out
    assert low.amount_in <= high.amount_in


@PROPERTY
@given(pools(), st.booleans(), amounts())
def test_exact_input_invariants(state: PoolState, zero_for_one: bool, amount: int) -> None:
    result = swap_exact_input(state, zero_for_one, amount)
    assert result.amount_in <= amount
    assert result.fee_amount <= result.amount_in
    assert result.filled == (result.amount_in == amount)
    if zero_for_one:
        assert result.sqrt_price_x96_after <= state.sqrt_price_x96
    else:
        assert result.sqrt_price_x96_after >= state.sqrt_price_x96
    # the new state passes PoolState's checks: tick matches price, liquidity matches the crossed ticks
    after = apply_swap(state, result)
    assert after.liquidity == result.liquidity_after


@PROPERTY
@given(pools(), st.booleans(), amounts())
def test_selling_then_buying_back_never_profits(state: PoolState, zero_for_one: bool, amount: int) -> None:
    sold = swap_exact_input(state, zero_for_one, amount)
    assume(sold.amount_out > 0)
    back = swap_exact_input(apply_swap(state, sold), not zero_for_one, sold.amount_out)
    assert back.amount_out <= sold.amount_in


@PROPERTY
@given(pools(), st.booleans(), amounts())
def test_exact_output_then_exact_input(state: PoolState, zero_for_one: bool, wanted: int) -> None:
    bought = swap_exact_output(state, zero_for_one, wanted)
    assert bought.amount_out <= wanted
    assume(bought.filled)
    assert bought.amount_out == wanted
    again = swap_exact_input(state, zero_for_one, bought.amount_in)
    # paying what the exact-output swap asked for buys at least the wanted amount
    assert again.amount_out >= wanted
    assert again.amount_in == bought.amount_in


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([(500, 10), (3000, 60)]), st.integers(-100_000, 100_000), st.booleans(), amounts())
def test_no_liquidity_gives_no_fill(tier: tuple[int, int], tick: int, zero_for_one: bool, amount: int) -> None:
    state = make_pool(tier[0], tier[1], get_sqrt_ratio_at_tick(tick), [])
    result = swap_exact_input(state, zero_for_one, amount)
    assert (result.amount_in, result.amount_out, result.filled) == (0, 0, False)
    assert result.stop is StopReason.NO_LIQUIDITY
    assert result.sqrt_price_x96_after == default_sqrt_price_limit(zero_for_one)
    out = swap_exact_output(state, zero_for_one, amount)
    assert (out.amount_in, out.amount_out, out.filled) == (0, 0, False)


@settings(max_examples=30, deadline=None)
@given(
    pools(tiers=((100, 1), (500, 10)), max_positions=3, min_positions=0),
    st.booleans(),
    amounts(),
    st.integers(1, 60_000),
    st.booleans(),
)
def test_skipping_empty_words_matches_word_by_word_steps(
    state: PoolState, zero_for_one: bool, amount: int, distance: int, exact_in: bool
) -> None:
    # a limit within reach so that plain stepping stays fast even with spacing 1
    target = state.tick - distance if zero_for_one else state.tick + distance
    target = min(max(target, MIN_TICK + 1), MAX_TICK - 1)
    limit = get_sqrt_ratio_at_tick(target)
    assume(limit < state.sqrt_price_x96 if zero_for_one else limit > state.sqrt_price_x96)
    specified = amount if exact_in else -amount
    fast = _simulate(state, zero_for_one, specified, limit, True, fast_forward=True)
    slow = _simulate(state, zero_for_one, specified, limit, True, fast_forward=False)
    assert fast == slow


@settings(max_examples=15, deadline=None)
@given(st.integers(-1000, 1000), st.booleans(), st.data())
def test_skipping_to_the_default_limit(tick: int, zero_for_one: bool, data: st.DataObject) -> None:
    # a pool whose only liquidity is near the price, spacing 60: the rest of the range is empty words
    price = data.draw(sqrt_prices_near(tick))
    state = make_pool(3000, 60, price, [(-1200, 1200, 10**18)])
    limit = default_sqrt_price_limit(zero_for_one)
    fast = _simulate(state, zero_for_one, 10**30, limit, False, fast_forward=True)
    slow = _simulate(state, zero_for_one, 10**30, limit, False, fast_forward=False)
    assert fast == slow
    assert fast.sqrt_price_x96_after == limit and fast.steps > 50


@pytest.mark.parametrize("zero_for_one", [True, False])
def test_repeated_sales_stay_consistent(zero_for_one: bool) -> None:
    # the projection engine sells into a pool again and again
    state = make_pool(3000, 60, get_sqrt_ratio_at_tick(0), [(-6000, 6000, 10**21), (-600, 600, 10**22)])
    total_in = total_out = 0
    for _ in range(20):
        result = swap_exact_input(state, zero_for_one, 10**19)
        state = apply_swap(state, result)
        total_in += result.amount_in
        total_out += result.amount_out
    one_shot = swap_exact_input(apply_swap_identity(), zero_for_one, total_in)
    # twenty small sales never get more than one big one, and not much less (rounding per step only)
    assert total_out <= one_shot.amount_out + 40
    assert total_out >= one_shot.amount_out - 40
    assert MIN_SQRT_RATIO < state.sqrt_price_x96 < MAX_SQRT_RATIO
    # drain the pool, then keep selling: empty fills, not reverts
    drained = apply_swap(state, swap_exact_input(state, zero_for_one, 10**30))
    again = swap_exact_input(drained, zero_for_one, 10**18)
    assert (again.amount_out, again.filled, again.stop) == (0, False, StopReason.NO_LIQUIDITY)


def apply_swap_identity() -> PoolState:
    return make_pool(3000, 60, get_sqrt_ratio_at_tick(0), [(-6000, 6000, 10**21), (-600, 600, 10**22)])
