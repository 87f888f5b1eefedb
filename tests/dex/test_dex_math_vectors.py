"""Known vectors for the integer ports: values the v3-core test suite asserts for the Solidity libraries."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dex import full_math, liquidity_math, sqrt_price_math, swap_math, tick_math
from monitor.dex.constants import Q96, UINT128_MAX, UINT160_MAX, UINT256_MAX
from monitor.dex.revert import RevertError
from monitor.dex.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from monitor.errors import DataError

E18 = 10**18
Q128 = 1 << 128


def encode_price_sqrt(reserve1: int, reserve0: int) -> int:
    """The test suite's encodePriceSqrt: bignumber.js with 40 decimal places, half-up, then floor(x * 2**96)."""
    with localcontext() as ctx:
        ctx.prec = 300
        places = Decimal(1).scaleb(-40)
        ratio = (Decimal(reserve1) / Decimal(reserve0)).quantize(places, ROUND_HALF_UP)
        root = ratio.sqrt().quantize(places, ROUND_HALF_UP)
        return int((root * Q96).to_integral_value(ROUND_FLOOR))


# --- TickMath -------------------------------------------------------------------------------------------


def test_sqrt_ratio_bounds() -> None:
    assert get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO == 4295128739
    assert get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(MIN_TICK + 1) == 4295343490
    assert get_sqrt_ratio_at_tick(MAX_TICK - 1) == 1461373636630004318706518188784493106690254656249
    assert get_sqrt_ratio_at_tick(0) == Q96


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (-50, 79030349367926598376800521322),
        (50, 79426470787362580746886972461),
        (-1000, 75364347830767020784054125655),
        (1000, 83290069058676223003182343270),
        (-3000, 68192822843687888778582228483),
        (4000, 96768528593268422080558758223),
        (-50000, 6504256538020985011912221507),
        (150000, 143194173941309278083010301478497),
        (-500000, 1101692437043807371),
        (500000, 5697689776495288729098254600827762987878),
        (-738203, 7409801140451),
        (738203, 847134979253254120489401328389043031315994541),
    ],
)
def test_sqrt_ratio_snapshot_values(tick: int, expected: int) -> None:
    assert get_sqrt_ratio_at_tick(tick) == expected


def test_factors_are_the_contract_constants() -> None:
    # derived from their definition in tick_math; the first and last equal the contract's literals
    factors = tick_math._FACTORS
    assert factors[0] == 0xFFFCB933BD6FAD37AA2D162D1A594001
    assert factors[19] == 0x48A170391F7DC42444E8FA2


@pytest.mark.parametrize("tick", [MIN_TICK - 1, MAX_TICK + 1])
def test_sqrt_ratio_reverts_out_of_range(tick: int) -> None:
    with pytest.raises(RevertError) as info:
        get_sqrt_ratio_at_tick(tick)
    assert info.value.reason == "T"
    assert isinstance(info.value, DataError)


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (MIN_SQRT_RATIO, MIN_TICK),
        (4295343490, MIN_TICK + 1),
        (1461373636630004318706518188784493106690254656249, MAX_TICK - 1),
        (MAX_SQRT_RATIO - 1, MAX_TICK - 1),
        (79228162514264337593543, -276325),
        (9903520314283042199192993792, -41591),
        (Q96, 0),
        (633825300114114700748351602688, 41590),
        (79228162514264337593543950336000000, 276324),
    ],
)
def test_tick_at_sqrt_ratio_vectors(ratio: int, expected: int) -> None:
    assert get_tick_at_sqrt_ratio(ratio) == expected


def test_encode_price_sqrt_matches_snapshot_ratios() -> None:
    # the test suite's ratios for prices 1/8 and 2 (as listed in its TickMath snapshot)
    assert encode_price_sqrt(1, 8) == 28011385487393069959365969113
    assert encode_price_sqrt(2, 1) == 112045541949572279837463876454


@pytest.mark.parametrize("ratio", [MIN_SQRT_RATIO - 1, MAX_SQRT_RATIO, 0])
def test_tick_at_sqrt_ratio_reverts(ratio: int) -> None:
    with pytest.raises(RevertError) as info:
        get_tick_at_sqrt_ratio(ratio)
    assert info.value.reason == "R"


@settings(max_examples=200, deadline=None)
@given(st.integers(MIN_TICK, MAX_TICK - 1))
def test_tick_math_round_trip(tick: int) -> None:
    ratio = get_sqrt_ratio_at_tick(tick)
    upper = get_sqrt_ratio_at_tick(tick + 1)
    assert ratio < upper
    assert get_tick_at_sqrt_ratio(ratio) == tick
    assert get_tick_at_sqrt_ratio(upper - 1) == tick
    # within 1/100th of a bip of the exact value, as the test suite requires
    exact = 1.0001 ** (tick / 2) * float(Q96)
    assert abs(ratio / exact - 1) < 1e-6


# --- FullMath / UnsafeMath / LiquidityMath -------------------------------------------------------------


def test_mul_div_vectors() -> None:
    assert full_math.mul_div(Q128, 50 * Q128 // 100, 150 * Q128 // 100) == Q128 // 3
    assert full_math.mul_div(Q128, 35 * Q128, 8 * Q128) == 4375 * Q128 // 1000
    assert full_math.mul_div(Q128, 1000 * Q128, 3000 * Q128) == Q128 // 3
    assert full_math.mul_div(UINT256_MAX, UINT256_MAX, UINT256_MAX) == UINT256_MAX
    assert full_math.mul_div_rounding_up(Q128, 50 * Q128 // 100, 150 * Q128 // 100) == Q128 // 3 + 1
    assert full_math.mul_div_rounding_up(Q128, 1000 * Q128, 3000 * Q128) == Q128 // 3 + 1
    assert full_math.mul_div_rounding_up(UINT256_MAX, UINT256_MAX, UINT256_MAX) == UINT256_MAX


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [(Q128, 5, 0), (Q128, Q128, 0), (Q128, Q128, 1), (UINT256_MAX, UINT256_MAX, UINT256_MAX - 1)],
)
def test_mul_div_reverts(a: int, b: int, d: int) -> None:
    with pytest.raises(RevertError):
        full_math.mul_div(a, b, d)
    with pytest.raises(RevertError):
        full_math.mul_div_rounding_up(a, b, d)


def test_mul_div_rounding_up_reverts_when_the_increment_overflows() -> None:
    # floor fits exactly in uint256 but a remainder forces +1
    a = 535006138814359
    b = 432862656469423142931042426214547535783388063929571229938474969
    d = 2
    assert full_math.mul_div(a, b, d) <= UINT256_MAX
    with pytest.raises(RevertError):
        full_math.mul_div_rounding_up(a, b, d)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, UINT256_MAX), st.integers(0, UINT256_MAX), st.integers(1, UINT256_MAX))
def test_mul_div_is_exact_floor_and_ceil(a: int, b: int, d: int) -> None:
    exact = Fraction(a * b, d)
    if exact > UINT256_MAX:
        with pytest.raises(RevertError):
            full_math.mul_div(a, b, d)
        return
    assert full_math.mul_div(a, b, d) == exact.numerator // exact.denominator
    if -(-exact.numerator // exact.denominator) <= UINT256_MAX:
        assert full_math.mul_div_rounding_up(a, b, d) == -(-exact.numerator // exact.denominator)


def test_div_rounding_up_like_the_evm() -> None:
    assert full_math.div_rounding_up(7, 2) == 4
    assert full_math.div_rounding_up(8, 2) == 4
    assert full_math.div_rounding_up(5, 0) == 0


def test_add_delta() -> None:
    assert liquidity_math.add_delta(1, 0) == 1
    assert liquidity_math.add_delta(1, -1) == 0
    assert liquidity_math.add_delta(1, 1) == 2
    assert liquidity_math.add_delta(UINT128_MAX - 15, 15) == UINT128_MAX
    with pytest.raises(RevertError) as info:
        liquidity_math.add_delta(2**128 - 15, 15)
    assert info.value.reason == "LA"
    with pytest.raises(RevertError) as info:
        liquidity_math.add_delta(0, -1)
    assert info.value.reason == "LS"
    with pytest.raises(RevertError):
        liquidity_math.add_delta(3, -4)


# --- SqrtPriceMath -------------------------------------------------------------------------------------

PRICE_1 = encode_price_sqrt(1, 1)


def test_next_sqrt_price_from_input_vectors() -> None:
    spm = sqrt_price_math
    assert spm.get_next_sqrt_price_from_input(PRICE_1, E18, E18 // 10, False) == 87150978765690771352898345369
    assert spm.get_next_sqrt_price_from_input(PRICE_1, E18, E18 // 10, True) == 72025602285694852357767227579
    assert spm.get_next_sqrt_price_from_input(PRICE_1, 10 * E18, 2**100, True) == 624999999995069620
    assert spm.get_next_sqrt_price_from_input(PRICE_1, 1, UINT256_MAX // 2, True) == 1
    assert spm.get_next_sqrt_price_from_input(1, 1, 2**255, True) == 1
    assert spm.get_next_sqrt_price_from_input(PRICE_1, E18 // 10, 0, True) == PRICE_1
    assert spm.get_next_sqrt_price_from_input(PRICE_1, E18 // 10, 0, False) == PRICE_1
    # the product overflows 256 bits: the fallback formula is used
    max_no_overflow = UINT256_MAX - (UINT128_MAX << 96) // UINT160_MAX
    assert spm.get_next_sqrt_price_from_input(UINT160_MAX, UINT128_MAX, max_no_overflow, True) == 1


def test_next_sqrt_price_from_input_overflow_checks() -> None:
    sqrt_p = 1025574284609383690408304870162715216695788925244
    liquidity = 50015962439936049619261659728067971248
    sqrt_q = sqrt_price_math.get_next_sqrt_price_from_input(sqrt_p, liquidity, 406, True)
    assert sqrt_q == 1025574284609383582644711336373707553698163132913
    assert sqrt_price_math.get_amount0_delta(sqrt_q, sqrt_p, liquidity, True) == 406


@pytest.mark.parametrize(
    ("price", "liquidity", "amount", "zero_for_one"),
    [(0, 0, E18 // 10, False), (1, 0, E18 // 10, True), (UINT160_MAX, 1024, 1024, False)],
)
def test_next_sqrt_price_from_input_reverts(price: int, liquidity: int, amount: int, zero_for_one: bool) -> None:
    with pytest.raises(RevertError):
        sqrt_price_math.get_next_sqrt_price_from_input(price, liquidity, amount, zero_for_one)


def test_next_sqrt_price_from_output_vectors() -> None:
    spm = sqrt_price_math
    price = 20282409603651670423947251286016
    assert spm.get_next_sqrt_price_from_output(price, 1024, 262143, True) == 77371252455336267181195264
    assert spm.get_next_sqrt_price_from_output(PRICE_1, E18, E18 // 10, False) == 88031291682515930659493278152
    assert spm.get_next_sqrt_price_from_output(PRICE_1, E18, E18 // 10, True) == 71305346262837903834189555302
    assert spm.get_next_sqrt_price_from_output(PRICE_1, E18 // 10, 0, True) == PRICE_1


@pytest.mark.parametrize(
    ("price", "liquidity", "amount", "zero_for_one"),
    [
        (20282409603651670423947251286016, 1024, 4, False),
        (20282409603651670423947251286016, 1024, 5, False),
        (20282409603651670423947251286016, 1024, 262144, True),
        (20282409603651670423947251286016, 1024, 262145, True),
        (PRICE_1, 1, UINT256_MAX, True),
        (PRICE_1, 1, UINT256_MAX, False),
        (0, 0, E18 // 10, False),
    ],
)
def test_next_sqrt_price_from_output_reverts(price: int, liquidity: int, amount: int, zero_for_one: bool) -> None:
    with pytest.raises(RevertError):
        sqrt_price_math.get_next_sqrt_price_from_output(price, liquidity, amount, zero_for_one)


def test_amount_deltas() -> None:
    spm = sqrt_price_math
    p121 = encode_price_sqrt(121, 100)
    assert spm.get_amount0_delta(PRICE_1, encode_price_sqrt(2, 1), 0, True) == 0
    assert spm.get_amount0_delta(PRICE_1, PRICE_1, 0, True) == 0
    assert spm.get_amount0_delta(PRICE_1, p121, E18, True) == 90909090909090910
    assert spm.get_amount0_delta(PRICE_1, p121, E18, False) == 90909090909090909
    assert spm.get_amount1_delta(PRICE_1, p121, E18, True) == 100000000000000000
    assert spm.get_amount1_delta(PRICE_1, p121, E18, False) == 99999999999999999
    lo, hi = encode_price_sqrt(2**90, 1), encode_price_sqrt(2**96, 1)
    assert spm.get_amount0_delta(lo, hi, E18, True) == spm.get_amount0_delta(lo, hi, E18, False) + 1
    # signed versions: rounded up when adding, down and negated when removing
    assert spm.get_amount0_delta_signed(PRICE_1, p121, E18) == 90909090909090910
    assert spm.get_amount0_delta_signed(PRICE_1, p121, -E18) == -90909090909090909
    assert spm.get_amount1_delta_signed(p121, PRICE_1, E18) == 100000000000000000
    assert spm.get_amount1_delta_signed(p121, PRICE_1, -E18) == -99999999999999999
    with pytest.raises(RevertError):
        spm.get_amount0_delta(0, PRICE_1, E18, True)


# --- SwapMath ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target", "liquidity", "remaining", "fee", "expected"),
    [
        # exact in capped at the target, one for zero
        (
            PRICE_1,
            encode_price_sqrt(101, 100),
            2 * E18,
            E18,
            600,
            (None, 9975124224178055, 9925619580021728, 5988667735148),
        ),
        # exact out capped at the target, one for zero
        (
            PRICE_1,
            encode_price_sqrt(101, 100),
            2 * E18,
            -E18,
            600,
            (None, 9975124224178055, 9925619580021728, 5988667735148),
        ),
        # exact in fully spent, one for zero
        (
            PRICE_1,
            encode_price_sqrt(1000, 100),
            2 * E18,
            E18,
            600,
            (None, 999400000000000000, 666399946655997866, 600000000000000),
        ),
        # exact out fully received, one for zero
        (PRICE_1, encode_price_sqrt(10000, 100), 2 * E18, -E18, 600, (None, 2 * E18, E18, 1200720432259356)),
        # output capped at the amount asked for
        (
            417332158212080721273783715441582,
            1452870262520218020823638996,
            159344665391607089467575320103,
            -1,
            1,
            (417332158212080721273783715441581, 1, 1, 1),
        ),
        # target price of 1 uses a partial input amount
        (
            2,
            1,
            1,
            3915081100057732413702495386755767,
            1,
            (1, 39614081257132168796771975168, 0, 39614120871253040049813),
        ),
        # the entire input is taken as fee
        (2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872, (2413, 0, 0, 10)),
        # insufficient intermediate liquidity, exact output
        (
            20282409603651670423947251286016,
            20282409603651670423947251286016 * 11 // 10,
            1024,
            -4,
            3000,
            (20282409603651670423947251286016 * 11 // 10, 26215, 0, 79),
        ),
        (
            20282409603651670423947251286016,
            20282409603651670423947251286016 * 9 // 10,
            1024,
            -263000,
            3000,
            (20282409603651670423947251286016 * 9 // 10, 1, 26214, 1),
        ),
    ],
)
def test_compute_swap_step_vectors(
    current: int, target: int, liquidity: int, remaining: int, fee: int, expected: tuple[int | None, ...]
) -> None:
    step = swap_math.compute_swap_step(current, target, liquidity, remaining, fee)
    price, amount_in, amount_out, fee_amount = expected
    assert (step.amount_in, step.amount_out, step.fee_amount) == (amount_in, amount_out, fee_amount)
    if price is not None:
        assert step.sqrt_ratio_next_x96 == price


def test_compute_swap_step_spend_and_target() -> None:
    # exact in that reaches the target leaves part of the amount; one that does not spends all of it
    capped = swap_math.compute_swap_step(PRICE_1, encode_price_sqrt(101, 100), 2 * E18, E18, 600)
    assert capped.sqrt_ratio_next_x96 == encode_price_sqrt(101, 100)
    assert capped.amount_in + capped.fee_amount < E18
    spent = swap_math.compute_swap_step(PRICE_1, encode_price_sqrt(1000, 100), 2 * E18, E18, 600)
    assert spent.amount_in + spent.fee_amount == E18
    assert spent.sqrt_ratio_next_x96 == sqrt_price_math.get_next_sqrt_price_from_input(
        PRICE_1, 2 * E18, E18 - spent.fee_amount, False
    )
