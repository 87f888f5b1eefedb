"""The state of one Uniswap v3 pool at a block, as the swap simulator and the depth curves read it.

Every field is an on-chain quantity: ``slot0().sqrtPriceX96`` and ``slot0().tick``,
``liquidity()``, ``fee()``, ``tickSpacing()``, ``token0()``/``token1()`` and their ``decimals()``, and for
each initialized tick (bit set in ``tickBitmap``) its ``ticks(t).liquidityNet``. Construction validates
the values and their consistency and raises :class:`~monitor.errors.DataError` naming the problem.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import SupportsIndex, cast

from monitor.dex.constants import FEE_DENOMINATOR, INT128_MAX, INT128_MIN, Q96, UINT128_MAX
from monitor.dex.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from monitor.errors import DataError

_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
#: the factory only enables tick spacings in (0, 16384)
MAX_TICK_SPACING = 16383


def _as_int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise DataError(f"{name} must be an integer, got a bool")
    if not isinstance(value, SupportsIndex):
        raise DataError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return operator.index(value)


@dataclass(frozen=True, slots=True)
class PoolState:
    """One pool at one block.

    ``ticks`` lists every initialized tick as ``(tick, liquidity_net)``, sorted by tick (a tick may be
    initialized with a zero net). If only the ticks in a range were read, pass that closed range as
    ``tick_window``: the simulator then stops at its edge instead of assuming no liquidity beyond it.
    """

    token0: str
    token1: str
    decimals0: int
    decimals1: int
    fee: int
    tick_spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks: tuple[tuple[int, int], ...]
    tick_window: tuple[int, int] | None = None
    tick_indices: tuple[int, ...] = field(init=False, repr=False, compare=False)
    liquidity_nets: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("token0", "token1"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
                raise DataError(f"{name} must be a lower-case 0x-prefixed 20-byte hex address, got {value!r}")
        if not self.token0 < self.token1:
            raise DataError(f"token0 {self.token0} must sort before token1 {self.token1}")
        for name in ("decimals0", "decimals1", "fee", "tick_spacing", "sqrt_price_x96", "tick", "liquidity"):
            object.__setattr__(self, name, _as_int(name, getattr(self, name)))
        for name in ("decimals0", "decimals1"):
            if not 0 <= getattr(self, name) <= 255:
                raise DataError(f"{name} must be a uint8, got {getattr(self, name)}")
        if not 0 <= self.fee < FEE_DENOMINATOR:
            raise DataError(f"fee must be in [0, 1000000) hundredths of a bip, got {self.fee}")
        if not 1 <= self.tick_spacing <= MAX_TICK_SPACING:
            raise DataError(f"tick_spacing must be in [1, {MAX_TICK_SPACING}], got {self.tick_spacing}")
        if not MIN_SQRT_RATIO <= self.sqrt_price_x96 < MAX_SQRT_RATIO:
            raise DataError(
                f"sqrt_price_x96 {self.sqrt_price_x96} is outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)"
                " (an uninitialized pool has sqrt_price_x96 = 0)"
            )
        self._check_tick()
        if not 0 <= self.liquidity <= UINT128_MAX:
            raise DataError(f"liquidity must be a uint128, got {self.liquidity}")
        object.__setattr__(self, "ticks", self._normalized_ticks(self.ticks))
        object.__setattr__(self, "tick_indices", tuple(t for t, _ in self.ticks))
        object.__setattr__(self, "liquidity_nets", dict(self.ticks))
        self._check_window()
        self._check_liquidity_walk()

    def _check_tick(self) -> None:
        price_tick = get_tick_at_sqrt_ratio(self.sqrt_price_x96)
        # after a downward swap that stops exactly on a tick's price the pool records that tick minus one
        on_boundary = get_sqrt_ratio_at_tick(price_tick) == self.sqrt_price_x96
        if self.tick != price_tick and not (on_boundary and self.tick == price_tick - 1):
            raise DataError(
                f"tick {self.tick} does not match sqrt_price_x96 {self.sqrt_price_x96} (its tick is {price_tick})"
            )

    def _normalized_ticks(self, ticks: Iterable[object]) -> tuple[tuple[int, int], ...]:
        out: list[tuple[int, int]] = []
        try:
            items = list(ticks)
        except TypeError:
            raise DataError("ticks must be a sequence of (tick, liquidity_net) pairs") from None
        for item in items:
            try:
                pair = tuple(cast(Iterable[object], item))
            except TypeError:
                pair = ()
            if len(pair) != 2:
                raise DataError(f"ticks entry {item!r} is not a (tick, liquidity_net) pair")
            raw_tick, raw_net = pair
            t = _as_int("tick in ticks", raw_tick)
            net = _as_int(f"liquidity_net of tick {t}", raw_net)
            if not MIN_TICK <= t <= MAX_TICK:
                raise DataError(f"initialized tick {t} is outside [{MIN_TICK}, {MAX_TICK}]")
            if t % self.tick_spacing:
                raise DataError(f"initialized tick {t} is not a multiple of tick_spacing {self.tick_spacing}")
            if not INT128_MIN < net <= INT128_MAX:
                raise DataError(f"liquidity_net {net} of tick {t} is not a valid int128")
            if out and t <= out[-1][0]:
                raise DataError(f"ticks must be sorted and unique: {t} follows {out[-1][0]}")
            out.append((t, net))
        return tuple(out)

    def _check_window(self) -> None:
        if self.tick_window is None:
            return
        try:
            lo, hi = (_as_int("tick_window bound", v) for v in self.tick_window)
        except (TypeError, ValueError):
            raise DataError(f"tick_window must be a (lower, upper) pair, got {self.tick_window!r}") from None
        object.__setattr__(self, "tick_window", (lo, hi))
        if not MIN_TICK <= lo <= self.tick <= hi <= MAX_TICK:
            raise DataError(f"tick_window ({lo}, {hi}) must lie in the tick range and contain tick {self.tick}")
        if self.ticks and not lo <= self.ticks[0][0] <= self.ticks[-1][0] <= hi:
            raise DataError(f"initialized ticks lie outside tick_window ({lo}, {hi})")

    def _check_liquidity_walk(self) -> None:
        # in-range liquidity walked across every listed tick must stay a uint128 ...
        below = [(t, n) for t, n in self.ticks if t <= self.tick]
        above = [(t, n) for t, n in self.ticks if t > self.tick]
        level = self.liquidity
        for t, net in reversed(below):
            level -= net
            if level < 0:
                raise DataError(f"liquidity goes negative ({level}) below initialized tick {t}")
        low_end = level
        level = self.liquidity
        for t, net in above:
            level += net
            if not 0 <= level <= UINT128_MAX:
                raise DataError(f"liquidity leaves the uint128 range ({level}) above initialized tick {t}")
        # ... and, when every initialized tick is listed, be zero outside all of them
        if self.tick_window is None and (low_end != 0 or level != 0):
            raise DataError(
                f"liquidity {self.liquidity} is inconsistent with the ticks (below the lowest tick it would"
                f" be {low_end}, above the highest {level}; both must be 0). If only some ticks were read, "
                "pass tick_window"
            )

    @property
    def price(self) -> float:
        """Spot price of token0 in token1, decimals applied (fee not included)."""
        return float((self.sqrt_price_x96 / Q96) ** 2 * 10.0 ** (self.decimals0 - self.decimals1))

    def liquidity_net(self, tick: int) -> int:
        """``ticks(tick).liquidityNet``: 0 for a tick that is not initialized."""
        return self.liquidity_nets.get(tick, 0)


def pool_from_positions(
    token0: str,
    token1: str,
    decimals0: int,
    decimals1: int,
    fee: int,
    tick_spacing: int,
    sqrt_price_x96: int,
    positions: Iterable[tuple[int, int, int]],
) -> PoolState:
    """A pool initialized at ``sqrt_price_x96`` holding ``positions`` ``(tick_lower, tick_upper, liquidity)``.

    Mirrors ``initialize`` (tick from the price) and ``mint`` (liquidityNet +L at the lower tick, -L at the
    upper one; in-range liquidity when ``lower <= tick < upper``). For scenarios and tests.
    """
    tick = get_tick_at_sqrt_ratio(_as_int("sqrt_price_x96", sqrt_price_x96))
    nets: dict[int, int] = {}
    liquidity = 0
    for lower, upper, amount in positions:
        if not (MIN_TICK <= lower < upper <= MAX_TICK) or lower % tick_spacing or upper % tick_spacing:
            raise DataError(f"position ({lower}, {upper}) needs spaced ticks with lower < upper in range")
        if not 0 < amount <= UINT128_MAX:
            raise DataError(f"position liquidity must be in (0, 2**128), got {amount}")
        nets[lower] = nets.get(lower, 0) + amount
        nets[upper] = nets.get(upper, 0) - amount
        if lower <= tick < upper:
            liquidity += amount
    return PoolState(
        token0=token0,
        token1=token1,
        decimals0=decimals0,
        decimals1=decimals1,
        fee=fee,
        tick_spacing=tick_spacing,
        sqrt_price_x96=sqrt_price_x96,
        tick=tick,
        liquidity=liquidity,
        ticks=tuple(sorted(nets.items())),
    )
