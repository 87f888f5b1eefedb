"""The exact swap simulator: v3-core pool swap vectors, bitmap stepping, QuoterV2 counting, validation."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.dex import (
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    PoolState,
    RevertError,
    StopReason,
    apply_swap,
    quote_exact_input_single,
    quote_exact_output_single,
    swap,
    swap_exact_input,
    swap_exact_output,
)
from monitor.dex.tick_bitmap import count_initialized_ticks_crossed, next_initialized_tick_within_one_word
from monitor.dex.tick_math import get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio
from monitor.errors import DataError

from .dex_math_strategies import TOKEN_A, TOKEN_B, full_range, make_pool
from .test_dex_math_vectors import encode_price_sqrt

E18 = 10**18
INT256_MAX = 2**255 - 1


def _max_liquidity_per_tick(spacing: int) -> int:
    lo, hi = full_range(spacing)
    return (2**128 - 1) // ((hi - lo) // spacing + 1)


# The pools of v3-core's test/UniswapV3Pool.swaps.spec.ts: (fee, spacing, sqrt price, positions)
_FULL = {fee: (*full_range(sp), 2 * E18) for fee, sp in ((500, 10), (3000, 60), (10000, 200))}
SPEC_POOLS = [
    (500, 10, encode_price_sqrt(1, 1), [_FULL[500]]),
    (3000, 60, encode_price_sqrt(1, 1), [_FULL[3000]]),
    (10000, 200, encode_price_sqrt(1, 1), [_FULL[10000]]),
    (3000, 60, encode_price_sqrt(10, 1), [_FULL[3000]]),
    (3000, 60, encode_price_sqrt(1, 10), [_FULL[3000]]),
    (3000, 60, encode_price_sqrt(1, 1), [(full_range(60)[0], -60, 2 * E18), (60, full_range(60)[1], 2 * E18)]),
    (
        3000,
        60,
        encode_price_sqrt(1, 1),
        [_FULL[3000], (full_range(60)[0], -60, 2 * E18), (60, full_range(60)[1], 2 * E18)],
    ),
    (500, 10, encode_price_sqrt(1, 1), [(-10, 10, 2 * E18)]),
    (3000, 60, encode_price_sqrt(1, 1), [(0, 120000, 2 * E18)]),
    (3000, 60, encode_price_sqrt(1, 1), [(-120000, 0, 2 * E18)]),
    (3000, 60, encode_price_sqrt(2**127, 1), [_FULL[3000]]),
    (3000, 60, encode_price_sqrt(1, 2**127), [_FULL[3000]]),
    (3000, 60, encode_price_sqrt(1, 1), [(*full_range(60), _max_liquidity_per_tick(60))]),
    (3000, 60, MAX_SQRT_RATIO - 1, [_FULL[3000]]),
    (3000, 60, MIN_SQRT_RATIO, [_FULL[3000]]),
]
# The spec's swaps: (zeroForOne, amountSpecified, sqrtPriceLimitX96 or None for the default)
SPEC_SWAPS = [
    (True, E18, None),
    (False, E18, None),
    (True, -E18, None),
    (False, -E18, None),
    (True, E18, encode_price_sqrt(50, 100)),
    (False, E18, encode_price_sqrt(200, 100)),
    (True, -E18, encode_price_sqrt(50, 100)),
    (False, -E18, encode_price_sqrt(200, 100)),
    (True, 1000, None),
    (False, 1000, None),
    (True, -1000, None),
    (False, -1000, None),
    (False, INT256_MAX, encode_price_sqrt(5, 2)),
    (True, INT256_MAX, encode_price_sqrt(2, 5)),
    (True, INT256_MAX, encode_price_sqrt(5, 2)),
    (False, INT256_MAX, encode_price_sqrt(2, 5)),
]
# A sample of the spec's snapshot: (pool, swap, amount0 delta, amount1 delta, tick after) or (pool, swap, error)
SPEC_RESULTS: list[tuple[int, int, int, int, int] | tuple[int, int, str]] = [
    (0, 2, 2001000500250125077, -1000000000000000000, -13864),
    (0, 6, 828841545518949575, -585786437626904950, -6932),
    (0, 10, 1002, -1000, -1),
    (0, 15, "SPL"),
    (1, 1, -665331998665331998, 1000000000000000000, 8089),
    (1, 8, 1000, -996, -1),
    (1, 13, 1165774985123750584, -735088935932648267, -9164),
    (1, 15, "SPL"),
    (2, 0, 1000000000000000000, -662207357859531772, -8043),
    (2, 3, -1000000000000000000, 2020202020202020203, 13863),
    (2, 5, -585786437626904951, 836795075501202120, 6931),
    (2, 9, -989, 1000, 0),
    (3, 0, 1000000000000000000, -3869747612262812754, 4098),
    (3, 1, -86123526743846551, 1000000000000000000, 25954),
    (3, 6, 119138326055954425, -1000000000000000000, 19584),
    (3, 15, "SPL"),
    (4, 1, -3869747612262812753, 1000000000000000000, -4099),
    (4, 3, -1000000000000000000, 119138326055954425, -19585),
    (4, 13, "SPL"),
    (4, 14, "SPL"),
    (5, 0, 1000000000000000000, -662011820624678025, -8130),
    (5, 9, -991, 1000, 60),
    (5, 13, 1159748196632793863, -729098226020826705, -9164),
    (5, 15, "SPL"),
    (6, 3, -1000000000000000000, 1342022152495072924, 5793),
    (6, 10, 1005, -1000, -1),
    (6, 13, 2325523181756544449, -1464187161953474971, -9164),
    (6, 15, "SPL"),
    (7, 1, -999700069986002, 1000700370186095, 887271),
    (7, 6, 1000700370186095, -999700069986002, -6932),
    (7, 9, -998, 1000, 0),
    (7, 14, "SPL"),
    (8, 0, 0, 0, -887272),
    (8, 1, -665331998665331998, 1000000000000000000, 8089),
    (8, 3, -1000000000000000000, 2006018054162487463, 13863),
    (8, 8, 0, 0, -887272),
    (9, 2, 2006018054162487463, -1000000000000000000, -13864),
    (9, 4, 830919884399388263, -585786437626904951, -6932),
    (9, 6, 830919884399388263, -585786437626904951, -6932),
    (9, 15, "SPL"),
    (10, 3, 0, 10740898373457544742072477595619363803, 887271),
    (10, 4, 1000000000000000000, -26087635650665564420687107504180041533, 13923),
    (10, 8, 1000, -26083549850867114346332688477747755628, 705098),
    (10, 9, 0, 1000, 880340),
    (11, 1, -26037782196502120271413746514214063808, 1000000000000000000, -13924),
    (11, 5, -26037782196502120271413746514214063808, 1000000000000000000, -13924),
    (11, 9, -26033697540846965126433148994127431276, 1000, -705093),
    (11, 13, "SPL"),
    (12, 1, -996999999999999232, 1000000000000000000, 0),
    (12, 5, -996999999999999232, 1000000000000000000, 0),
    (12, 6, 1003009027081361181, -1000000000000000000, -1),
    (12, 8, 1000, 0, -1),
    (13, 0, 1000000000000000000, -36796311329002736528533367667012547243, 13923),
    (13, 2, 2, -1000000000000000000, 887219),
    (13, 9, "SPL"),
    (13, 14, 1268717215714495281, -36796311329002736529383126115169143088, 9163),
    (14, 6, "SPL"),
    (14, 7, -1000000000000000000, 2, -887220),
    (14, 8, "SPL"),
    (14, 10, "SPL"),
]


@pytest.mark.parametrize("case", SPEC_RESULTS, ids=lambda c: f"pool{c[0]}-swap{c[1]}")
def test_pool_swap_spec_vectors(case: tuple[int, int, int, int, int] | tuple[int, int, str]) -> None:
    fee, spacing, price, positions = SPEC_POOLS[case[0]]
    zero_for_one, amount, limit = SPEC_SWAPS[case[1]]
    state = make_pool(fee, spacing, price, positions)
    if len(case) == 3:
        with pytest.raises(RevertError) as info:
            swap(state, zero_for_one, amount, limit)
        assert info.value.reason == case[2]
        return
    result = swap(state, zero_for_one, amount, limit)
    assert (result.amount0, result.amount1, result.tick_after) == case[2:]


def test_pool_state_matches_the_spec_ticks_before() -> None:
    # the snapshot's tickBefore for the extreme pools (checks the price encoding used above)
    assert make_pool(*SPEC_POOLS[10]).tick == 880340
    assert make_pool(*SPEC_POOLS[11]).tick == -880303
    assert make_pool(*SPEC_POOLS[13]).tick == 887271


def test_swap_result_fields_and_apply() -> None:
    state = make_pool(3000, 60, encode_price_sqrt(1, 1), [(-600, 600, 500 * E18), (-1200, -600, 3 * E18)])
    result = swap_exact_input(state, True, 10**18)
    assert result.filled and result.stop is StopReason.FILLED
    assert result.amount_in == 10**18 and result.amount0 == 10**18 and result.amount1 == -result.amount_out
    assert 0 < result.fee_amount <= result.amount_in * 3000 // 10**6 + 2
    after = apply_swap(state, result)
    assert (after.sqrt_price_x96, after.tick, after.liquidity) == (
        result.sqrt_price_x96_after,
        result.tick_after,
        result.liquidity_after,
    )
    assert after.ticks == state.ticks
    with pytest.raises(DataError):
        apply_swap(after, result)


def test_crossing_into_a_gap_and_back() -> None:
    # liquidity only above the price: selling token0 finds nothing, buying moves across ticks
    state = make_pool(3000, 60, encode_price_sqrt(1, 1), [(60, 600, 10**20), (600, 1200, 10**19)])
    assert state.liquidity == 0
    empty = swap_exact_input(state, True, 10**18)
    assert (empty.amount_in, empty.amount_out, empty.filled) == (0, 0, False)
    assert empty.stop is StopReason.NO_LIQUIDITY and empty.sqrt_price_x96_after == MIN_SQRT_RATIO + 1
    up = swap_exact_input(state, False, 10**20)
    assert up.crossings == 3 and up.liquidity_after == 0 and up.stop is StopReason.NO_LIQUIDITY
    assert up.sqrt_price_x96_after == MAX_SQRT_RATIO - 1
    assert up.amount_in < 10**20


def test_price_limit_and_tick_window_stops() -> None:
    positions = [(*full_range(60), 10**21), (-6000, 6000, 10**22)]
    state = make_pool(3000, 60, encode_price_sqrt(1, 1), positions)
    limit = get_sqrt_ratio_at_tick(-300)
    limited = swap_exact_input(state, True, 10**30, limit)
    assert limited.stop is StopReason.PRICE_LIMIT and limited.sqrt_price_x96_after == limit
    windowed = dataclasses.replace(state, ticks=((-6000, 10**22), (6000, -(10**22))), tick_window=(-6000, 6000))
    assert windowed.liquidity == state.liquidity
    stopped = swap_exact_input(windowed, True, 10**30)
    assert stopped.stop is StopReason.TICK_WINDOW
    assert stopped.sqrt_price_x96_after == get_sqrt_ratio_at_tick(-6000)
    # up to the window's edge the result is the pool's, swapping with that edge as the limit
    same = swap_exact_input(state, True, 10**30, get_sqrt_ratio_at_tick(-6000))
    assert (stopped.amount_in, stopped.amount_out) == (same.amount_in, same.amount_out)
    # a swap that fills inside the window is unaffected
    small = swap_exact_input(windowed, False, 10**18)
    assert small == swap_exact_input(state, False, 10**18)


def test_zero_amounts_and_bad_inputs() -> None:
    state = make_pool(500, 10, encode_price_sqrt(1, 1), [(-100, 100, E18)])
    assert swap_exact_input(state, True, 0).amount_out == 0
    assert swap_exact_output(state, False, 0).amount_in == 0
    with pytest.raises(RevertError) as info:
        swap(state, True, 0)
    assert info.value.reason == "AS"
    with pytest.raises(DataError):
        swap_exact_input(state, True, -1)
    with pytest.raises(RevertError) as info:
        swap(state, True, 10, state.sqrt_price_x96 + 1)
    assert info.value.reason == "SPL"
    with pytest.raises(RevertError):
        swap(state, False, 10, MAX_SQRT_RATIO)


def test_next_initialized_tick_within_one_word() -> None:
    # the cases of v3-core's TickBitmap.spec.ts (spacing 1, ticks -200, -55, -4, 70, 78, 84, 139, 240, 535)
    ticks = [-200, -55, -4, 70, 78, 84, 139, 240, 535]
    above = [(78, 84, True), (-55, -4, True), (77, 78, True), (-56, -55, True), (255, 511, False)]
    above += [(-257, -200, True), (508, 511, False), (383, 511, False)]
    for tick, expected, initialized in above:
        assert next_initialized_tick_within_one_word(ticks, tick, 1, False) == (expected, initialized)
    below = [(78, 78, True), (79, 78, True), (258, 256, False), (256, 256, False), (72, 70, True)]
    below += [(-257, -512, False), (1023, 768, False), (900, 768, False)]
    for tick, expected, initialized in below:
        assert next_initialized_tick_within_one_word(ticks, tick, 1, True) == (expected, initialized)
    # spacing 60: negative non-multiples round towards -infinity
    assert next_initialized_tick_within_one_word([-120, 600], -61, 60, True) == (-120, True)
    assert next_initialized_tick_within_one_word([-120, 600], -61, 60, False) == (-60, False)


def test_quoter_ticks_crossed_counting() -> None:
    # PoolTicksCounter semantics: start tick counted only going down, end tick only going up
    ticks = [-120, -60, 0, 60, 120]
    assert count_initialized_ticks_crossed(ticks, 60, 0, 130) == 2  # 60 and 120; 0 is where it starts
    assert count_initialized_ticks_crossed(ticks, 60, 130, 0) == 2  # 120 and 60; 0 is where it ends
    assert count_initialized_ticks_crossed(ticks, 60, 0, -61) == 2  # 0 and -60
    assert count_initialized_ticks_crossed(ticks, 60, 59, 59) == 1  # same tick: its bit is counted
    # truncating division: tick -5 counts as compressed 0, so tick 0 is included going down to -5
    assert count_initialized_ticks_crossed(ticks, 60, 30, -5) == 1
    assert count_initialized_ticks_crossed(ticks, 60, -5, -125) == 3


def test_simulator_reports_quoter_counts() -> None:
    positions = [(-120, 120, 10**20), (-60, 60, 10**20), (0, 180, 10**19)]
    state = make_pool(3000, 60, get_sqrt_ratio_at_tick(0), positions)
    assert state.tick == 0
    up = swap_exact_input(state, False, 10**22, get_sqrt_ratio_at_tick(150))
    assert up.tick_after == 150 and up.crossings == 2  # 60 and 120 (and the price started on 0)
    assert up.ticks_crossed == 2
    down = swap_exact_input(state, True, 10**22, get_sqrt_ratio_at_tick(-90))
    assert down.crossings == 2 and down.ticks_crossed == 2  # 0 and -60
    quote = quote_exact_input_single(state, True, 10**18)
    exact = swap_exact_input(state, True, 10**18)
    assert quote == (exact.amount_out, exact.sqrt_price_x96_after, exact.ticks_crossed)


def test_quoter_reverts() -> None:
    state = make_pool(3000, 60, encode_price_sqrt(1, 1), [(60, 600, 10**20)])
    with pytest.raises(RevertError):
        quote_exact_input_single(state, True, 10**18)  # nothing at all to swap against
    with pytest.raises(RevertError):
        quote_exact_output_single(state, False, 10**30)  # cannot fill the whole output
    partial = quote_exact_output_single(state, False, 10**30, get_sqrt_ratio_at_tick(300))
    assert partial.amount > 0


def _valid_kwargs() -> dict[str, object]:
    return {
        "token0": TOKEN_A,
        "token1": TOKEN_B,
        "decimals0": 18,
        "decimals1": 6,
        "fee": 3000,
        "tick_spacing": 60,
        "sqrt_price_x96": get_sqrt_ratio_at_tick(10),
        "tick": 10,
        "liquidity": 5,
        "ticks": ((-60, 5), (60, -5)),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token0": TOKEN_A.upper()}, "lower-case"),
        ({"token0": TOKEN_B, "token1": TOKEN_A}, "sort before"),
        ({"decimals0": 256}, "uint8"),
        ({"fee": 10**6}, "fee"),
        ({"tick_spacing": 0}, "tick_spacing"),
        ({"sqrt_price_x96": 0}, "uninitialized"),
        ({"tick": 11}, "does not match"),
        ({"liquidity": -1}, "uint128"),
        ({"liquidity": 4}, "negative"),
        ({"ticks": ((60, -5), (-60, 5))}, "sorted"),
        ({"ticks": ((-61, 5), (60, -5))}, "multiple"),
        ({"ticks": ((-60, 5, 1),)}, "pair"),
        ({"ticks": ((-60, 5), (60, -4))}, "inconsistent"),
        ({"ticks": ((-60, 5), (60, -6))}, "uint128"),
        ({"decimals0": 1.5}, "integer"),
        ({"tick_window": (20, 30)}, "contain"),
        ({"tick_window": (0, 30)}, "outside tick_window"),
    ],
)
def test_pool_state_validation(change: dict[str, object], message: str) -> None:
    kwargs = _valid_kwargs() | change
    with pytest.raises(DataError, match=message):
        PoolState(**kwargs)  # type: ignore[arg-type]


def test_pool_state_accepts_boundary_tick_and_windows() -> None:
    kwargs = _valid_kwargs()
    PoolState(**kwargs)  # type: ignore[arg-type]
    # after a downward swap ending exactly on a tick the pool stores tick - 1
    at_tick = kwargs | {"sqrt_price_x96": get_sqrt_ratio_at_tick(0), "tick": -1}
    assert PoolState(**at_tick).tick == -1  # type: ignore[arg-type]
    # a partial tick list is fine with a window
    partial = kwargs | {"ticks": ((-60, 5),), "tick_window": (-600, 600)}
    assert PoolState(**partial).tick_window == (-600, 600)  # type: ignore[arg-type]
    assert get_tick_at_sqrt_ratio(PoolState(**kwargs).sqrt_price_x96) == 10  # type: ignore[arg-type]
