"""Piecewise depth curves: amounts and marginal prices of selling into constant-liquidity segments.

A :class:`DepthCurve` describes selling one token (``token_in``) for another as the price moves through
segments of constant liquidity. It is kept in terms of ``r``, the square root of the *marginal rate* (how
much ``token_out``, raw units, the next unit of ``token_in`` buys, fee included). Within a segment with
effective liquidity ``K`` the Uniswap v3 maths reduce to::

    amount_in(r)  = X_k + K * (1/r - 1/r_k)
    amount_out(r) = Y_k + K * (r_k - r)

For one pool selling token0 ``r = sqrt(price) * sqrt(1 - fee)`` and ``K = L / sqrt(1 - fee)``; selling token1
``r = sqrt(1 - fee) / sqrt(price)`` with the same ``K``. The same form covers several pools combined at equal
marginal rates (``K`` adds up) and a two-hop route (see :mod:`monitor.dex.combine`), so every query here is a
binary search over the breakpoints plus a closed form, vectorized over numpy arrays. ``K = 0`` segments are
gaps without liquidity: the rate jumps with no amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from monitor.errors import DataError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class CurveQuote(NamedTuple):
    """Vectorized answer of a curve query (arrays shaped like the query).

    ``filled`` is False where the curve ends first; then ``amount_in``/``amount_out`` are what the whole
    curve holds and ``sqrt_rate`` is its end.
    """

    amount_in: FloatArray
    amount_out: FloatArray
    sqrt_rate: FloatArray
    filled: BoolArray


def _readonly(name: str, values: npt.ArrayLike) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} must be finite")
    array.flags.writeable = False
    return array


def _query(name: str, values: npt.ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise DataError(f"{name} must be finite and >= 0")
    return array


def kept_breakpoints(sqrt_rate: FloatArray) -> npt.NDArray[np.intp]:
    """Indices of the breakpoints to keep so that the float sqrt rates strictly decrease.

    A breakpoint whose rate does not fall below the previous kept one bounds a segment of zero float width;
    it is dropped, except that the curve's end is kept in place of the breakpoint it collapsed onto. The
    segment ending at kept breakpoint ``j`` is the original segment ``j - 1``.
    """
    keep = np.ones(len(sqrt_rate), dtype=bool)
    if len(sqrt_rate) > 1:
        running_min = np.minimum.accumulate(sqrt_rate)
        keep[1:] = sqrt_rate[1:] < running_min[:-1]
    kept = np.flatnonzero(keep)
    if len(kept) > 1 and not keep[-1]:
        kept[-1] = len(sqrt_rate) - 1
    return kept


@dataclass(frozen=True, eq=False)
class DepthCurve:
    """Breakpoints ``k = 0..n`` (``sqrt_rate`` strictly decreasing, cumulative ``cum_in``/``cum_out``) and the
    effective liquidity ``k_liquidity`` of the ``n`` segments between them.

    ``complete`` is False when the curve was cut short (a tick window or price limit), not by running out of
    liquidity. Amounts are raw token units as floats.
    """

    token_in: str
    token_out: str
    decimals_in: int
    decimals_out: int
    sqrt_rate: FloatArray
    cum_in: FloatArray
    cum_out: FloatArray
    k_liquidity: FloatArray
    complete: bool = True

    @classmethod
    def from_breakpoints(
        cls,
        *,
        token_in: str,
        token_out: str,
        decimals_in: int,
        decimals_out: int,
        sqrt_rate: npt.ArrayLike,
        cum_in: npt.ArrayLike,
        cum_out: npt.ArrayLike,
        k_liquidity: npt.ArrayLike,
        complete: bool = True,
    ) -> DepthCurve:
        """Build a curve, merging breakpoints whose float sqrt rates do not decrease (zero-width segments)."""
        r = np.asarray(sqrt_rate, dtype=np.float64)
        k = np.asarray(k_liquidity, dtype=np.float64)
        kept = kept_breakpoints(r)
        return cls(
            token_in=token_in,
            token_out=token_out,
            decimals_in=decimals_in,
            decimals_out=decimals_out,
            sqrt_rate=r[kept],
            cum_in=np.asarray(cum_in, dtype=np.float64)[kept],
            cum_out=np.asarray(cum_out, dtype=np.float64)[kept],
            # the segment that ends at each kept breakpoint carries the width
            k_liquidity=k[kept[1:] - 1],
            complete=complete,
        )

    def __post_init__(self) -> None:
        for name in ("sqrt_rate", "cum_in", "cum_out", "k_liquidity"):
            object.__setattr__(self, name, _readonly(name, getattr(self, name)))
        n = len(self.k_liquidity)
        if not len(self.sqrt_rate) == len(self.cum_in) == len(self.cum_out) == n + 1:
            raise DataError(f"a curve of {n} segments needs {n + 1} breakpoints in each array")
        if np.any(self.sqrt_rate <= 0) or np.any(np.diff(self.sqrt_rate) >= 0):
            raise DataError("sqrt_rate must be positive and strictly decreasing")
        if self.cum_in[0] != 0 or self.cum_out[0] != 0:
            raise DataError("a curve starts with zero cumulative amounts")
        if np.any(np.diff(self.cum_in) < 0) or np.any(np.diff(self.cum_out) < 0) or np.any(self.k_liquidity < 0):
            raise DataError("cumulative amounts must not decrease and liquidity must be >= 0")

    @property
    def segments(self) -> int:
        """Number of constant-liquidity segments."""
        return len(self.k_liquidity)

    @property
    def spot_rate(self) -> float:
        """Marginal rate before any trade: raw ``token_out`` per raw ``token_in``, fee included."""
        return float(self.sqrt_rate[0] ** 2)

    @property
    def capacity_in(self) -> float:
        """All the input the curve can absorb before it ends."""
        return float(self.cum_in[-1])

    @property
    def capacity_out(self) -> float:
        """All the output the curve holds."""
        return float(self.cum_out[-1])

    def to_human_rate(self, rate: npt.ArrayLike) -> FloatArray:
        """Convert raw-unit rates (out per in) to whole-token rates using the decimals."""
        return np.asarray(rate, dtype=np.float64) * 10.0 ** (self.decimals_in - self.decimals_out)

    def quote(self, amount_in: npt.ArrayLike) -> CurveQuote:
        """Sell ``amount_in`` (raw, fee included): output, marginal sqrt rate after, and whether it all fits."""
        x = _query("amount_in", amount_in)
        if self.segments == 0:
            return self._empty(x, x <= 0)
        last = self.segments - 1
        # segment whose range (X_k, X_k+1] holds x; x = 0 stays at the start, a gap is only jumped when x > X_k
        seg = np.clip(np.searchsorted(self.cum_in, x, side="left") - 1, 0, last)
        beyond = x > self.cum_in[-1]
        k = self.k_liquidity[seg]
        r0 = self.sqrt_rate[seg]
        dx = np.where(beyond, 0.0, x - self.cum_in[seg])
        denom = k + r0 * dx
        with np.errstate(divide="ignore", invalid="ignore"):
            # r = K r0 / (K + r0 dx); out = K r0^2 dx / (K + r0 dx): no cancellation for small dx
            rate = np.where(denom > 0, k * r0 / denom, r0)
            out = self.cum_out[seg] + np.where(denom > 0, k * r0 * r0 * dx / denom, 0.0)
        # float noise must not leave the segment
        rate = np.clip(rate, self.sqrt_rate[seg + 1], r0)
        out = np.minimum(out, self.cum_out[seg + 1])
        rate = np.where(beyond, self.sqrt_rate[-1], rate)
        out = np.where(beyond, self.cum_out[-1], out)
        used = np.where(beyond, self.cum_in[-1], x)
        return CurveQuote(used, out, rate, ~beyond)

    def quote_output(self, amount_out: npt.ArrayLike) -> CurveQuote:
        """Buy ``amount_out`` (raw): the input needed (fee included) and the marginal sqrt rate after."""
        y = _query("amount_out", amount_out)
        if self.segments == 0:
            return self._empty(y, y <= 0)
        last = self.segments - 1
        seg = np.clip(np.searchsorted(self.cum_out, y, side="left") - 1, 0, last)
        beyond = y > self.cum_out[-1]
        k = self.k_liquidity[seg]
        r0 = self.sqrt_rate[seg]
        dy = np.where(beyond, 0.0, y - self.cum_out[seg])
        with np.errstate(divide="ignore", invalid="ignore"):
            # r = r0 - dy/K (kept inside the segment against float noise); dx = K (1/r - 1/r0) = dy / (r0 r)
            rate = np.clip(np.where(k > 0, r0 - dy / k, r0), self.sqrt_rate[seg + 1], r0)
            dx = np.where(k > 0, dy / (r0 * rate), 0.0)
        rate = np.where(beyond, self.sqrt_rate[-1], rate)
        used = np.where(beyond, self.cum_in[-1], np.minimum(self.cum_in[seg] + dx, self.cum_in[seg + 1]))
        out = np.where(beyond, self.cum_out[-1], y)
        return CurveQuote(used, out, rate, ~beyond)

    def quote_to_sqrt_rate(self, sqrt_rate: npt.ArrayLike) -> CurveQuote:
        """Amounts that push the marginal sqrt rate down to ``sqrt_rate``; ``filled`` is False past the end."""
        target = np.asarray(sqrt_rate, dtype=np.float64)
        if not np.all(np.isfinite(target)) or np.any(target <= 0):
            raise DataError("sqrt_rate must be finite and > 0")
        if self.segments == 0:
            return self._empty(target, target >= self.sqrt_rate[0])
        last = self.segments - 1
        # first breakpoint at or below the target, found on the increasing array -sqrt_rate
        idx = np.searchsorted(-self.sqrt_rate, -target, side="left")
        seg = np.clip(idx - 1, 0, last)
        beyond = target < self.sqrt_rate[-1]
        before = target >= self.sqrt_rate[0]
        k = self.k_liquidity[seg]
        r0 = self.sqrt_rate[seg]
        rate = np.clip(target, self.sqrt_rate[-1], self.sqrt_rate[0])
        # X = X_k + K (r_k - r) / (r_k r); Y = Y_k + K (r_k - r)
        dx = k * (r0 - rate) / (r0 * rate)
        dy = k * (r0 - rate)
        amount_in = np.where(before, 0.0, self.cum_in[seg] + dx)
        amount_out = np.where(before, 0.0, self.cum_out[seg] + dy)
        # exactly on a breakpoint: its stored cumulative amounts (keeps sums over curves monotone)
        hit = np.minimum(idx, self.segments)
        on_point = self.sqrt_rate[hit] == target
        amount_in = np.where(on_point, self.cum_in[hit], amount_in)
        amount_out = np.where(on_point, self.cum_out[hit], amount_out)
        amount_in = np.where(beyond, self.cum_in[-1], amount_in)
        amount_out = np.where(beyond, self.cum_out[-1], amount_out)
        return CurveQuote(amount_in, amount_out, np.where(before, self.sqrt_rate[0], rate), ~beyond)

    def quote_to_rate_factor(self, factor: npt.ArrayLike) -> CurveQuote:
        """Amounts that bring the marginal rate to ``factor`` times the spot rate (factor in (0, 1])."""
        f = np.asarray(factor, dtype=np.float64)
        if not np.all((f > 0) & (f <= 1)):
            raise DataError("rate factors must be in (0, 1]")
        return self.quote_to_sqrt_rate(self.sqrt_rate[0] * np.sqrt(f))

    def depth(self, pcts: npt.ArrayLike) -> CurveQuote:
        """Input that lowers the input token's marginal price (in ``token_out``) by ``pcts`` (0.02 = 2 %)."""
        p = np.asarray(pcts, dtype=np.float64)
        if not np.all((p >= 0) & (p < 1)):
            raise DataError("depth percentages must be in [0, 1)")
        return self.quote_to_rate_factor(1.0 - p)

    def _empty(self, like: FloatArray, filled: BoolArray) -> CurveQuote:
        # a curve without segments cannot trade at all
        zeros = np.zeros_like(like, dtype=np.float64)
        return CurveQuote(zeros, zeros.copy(), np.full_like(zeros, self.sqrt_rate[0]), np.asarray(filled))
