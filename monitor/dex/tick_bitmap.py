"""Tick-bitmap lookups of Uniswap v3 over a sorted list of initialized ticks.

The pool keeps one bit per usable tick (tick / tickSpacing) in 256-bit words. Its swap loop asks
``nextInitializedTickWithinOneWord``, which never looks past the current word: when the word holds no
initialized tick in the swap direction it returns the word's edge, and the swap takes an extra step there.
Those extra steps change how the integer amounts are rounded, so the simulator mirrors them exactly.
QuoterV2 counts ticks crossed with PoolTicksCounter, which walks the bitmap between the ticks before and
after; :func:`count_initialized_ticks_crossed` reproduces its count, quirks included.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence


def next_initialized_tick_within_one_word(
    ticks: Sequence[int], tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """The pool's ``nextInitializedTickWithinOneWord`` on sorted ``ticks``: (next tick, initialized).

    ``lte`` searches at or below ``tick`` (zeroForOne), otherwise strictly above it.
    """
    compressed = tick // tick_spacing  # floor: Solidity rounds negative non-multiples towards -infinity
    if lte:
        # word of the current compressed tick, searching down to its first bit
        word_first = (compressed >> 8) << 8
        i = bisect_right(ticks, compressed * tick_spacing) - 1
        if i >= 0 and ticks[i] >= word_first * tick_spacing:
            return ticks[i], True
        return word_first * tick_spacing, False
    # word of the next compressed tick, searching up to its last bit
    start = compressed + 1
    word_last = ((start >> 8) << 8) + 255
    i = bisect_left(ticks, start * tick_spacing)
    if i < len(ticks) and ticks[i] <= word_last * tick_spacing:
        return ticks[i], True
    return word_last * tick_spacing, False


def next_initialized_tick(ticks: Sequence[int], tick: int, lte: bool) -> int | None:
    """The nearest initialized tick at or below ``tick`` (``lte``) or strictly above it, across all words."""
    if lte:
        i = bisect_right(ticks, tick) - 1
        return ticks[i] if i >= 0 else None
    i = bisect_right(ticks, tick)
    return ticks[i] if i < len(ticks) else None


def _truncating_div(a: int, b: int) -> int:
    # Solidity integer division rounds towards zero
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def count_initialized_ticks_crossed(ticks: Sequence[int], tick_spacing: int, tick_before: int, tick_after: int) -> int:
    """QuoterV2's ``initializedTicksCrossed`` (PoolTicksCounter) for a swap from tick_before to tick_after.

    Counts initialized ticks whose compressed index lies between ``tick_before / tick_spacing`` and
    ``tick_after / tick_spacing`` (both truncated towards zero as Solidity does, inclusive), then drops the
    end tick when it is initialized, a multiple of the spacing and the swap went down, and the start tick
    when it is initialized, a multiple of the spacing and the swap went up.
    """
    compressed_before = _truncating_div(tick_before, tick_spacing)
    compressed_after = _truncating_div(tick_after, tick_spacing)
    lower, upper = sorted((compressed_before, compressed_after))
    count = bisect_right(ticks, upper * tick_spacing) - bisect_left(ticks, lower * tick_spacing)

    def initialized(compressed: int) -> bool:
        i = bisect_left(ticks, compressed * tick_spacing)
        return i < len(ticks) and ticks[i] == compressed * tick_spacing

    # the tick the swap ends on is not counted when moving down onto it
    if tick_before > tick_after and tick_after % tick_spacing == 0 and initialized(compressed_after):
        count -= 1
    # the tick the swap starts on is not counted when moving up from it
    if tick_before < tick_after and tick_before % tick_spacing == 0 and initialized(compressed_before):
        count -= 1
    return count
