"""Combining depth curves: several pools of one pair, and routes through an intermediate token.

:func:`aggregate` merges curves that sell the same token for the same token (e.g. the fee tiers of a pair)
as an optimal router would: every increment goes where the marginal rate is best, so all pools in use end
at the same marginal rate ``r**2``. In ``r`` the effective liquidities simply add up.

:func:`compose_route` chains a curve selling A for B with one selling B for C. Inside a stretch where both
hops have constant liquidity the composition is again of the :class:`~monitor.dex.curve.DepthCurve` form,
with ``r = r1 * r2`` and ``K = K1 * K2 * r2 / (K2 + K1 * r1 * r2)`` (at the stretch's start), so a route is a
curve like any other and answers the same vectorized queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from monitor.dex.curve import DepthCurve, FloatArray, kept_breakpoints
from monitor.errors import DataError


def _same_pair(curves: Sequence[DepthCurve]) -> None:
    if not curves:
        raise DataError("aggregate needs at least one curve")
    first = curves[0]
    for curve in curves[1:]:
        if (curve.token_in, curve.token_out) != (first.token_in, first.token_out):
            raise DataError(
                f"cannot aggregate {curve.token_in}->{curve.token_out} with {first.token_in}->{first.token_out}"
            )


def _aggregate(curves: Sequence[DepthCurve]) -> tuple[DepthCurve, FloatArray, FloatArray]:
    """The aggregate curve, and each curve's cumulative input and liquidity on its breakpoints/segments."""
    _same_pair(curves)
    start = max(float(c.sqrt_rate[0]) for c in curves)
    end = max(float(c.sqrt_rate[-1]) for c in curves)
    # every breakpoint of every curve inside [end, start], highest rate first
    grid = np.unique(np.concatenate([c.sqrt_rate for c in curves] + [np.array([start, end])]))[::-1]
    grid = grid[(grid <= start) & (grid >= end)]
    parts_in = np.zeros((len(curves), len(grid)))
    parts_out = np.zeros((len(curves), len(grid)))
    parts_k = np.zeros((len(curves), max(len(grid) - 1, 0)))
    for i, c in enumerate(curves):
        at = c.quote_to_sqrt_rate(grid)
        parts_in[i] = at.amount_in
        parts_out[i] = at.amount_out
        if parts_k.shape[1] == 0 or c.segments == 0:
            continue
        # segment of c covering each grid segment: last breakpoint of c at or above its upper end
        seg = np.searchsorted(-c.sqrt_rate, -grid[:-1], side="right") - 1
        active = (seg >= 0) & (seg < c.segments)
        parts_k[i] = np.where(active, c.k_liquidity[np.clip(seg, 0, c.segments - 1)], 0.0)
    # sums of per-curve closed forms: guard against a last-ulp step backwards
    cum_in = np.maximum.accumulate(parts_in.sum(axis=0))
    cum_out = np.maximum.accumulate(parts_out.sum(axis=0))
    kept = kept_breakpoints(grid)
    first = curves[0]
    combined = DepthCurve(
        token_in=first.token_in,
        token_out=first.token_out,
        decimals_in=first.decimals_in,
        decimals_out=first.decimals_out,
        sqrt_rate=grid[kept],
        cum_in=cum_in[kept],
        cum_out=cum_out[kept],
        k_liquidity=parts_k.sum(axis=0)[kept[1:] - 1],
        complete=all(c.complete for c in curves),
    )
    return combined, parts_in[:, kept], parts_k[:, kept[1:] - 1]


def aggregate(curves: Sequence[DepthCurve]) -> DepthCurve:
    """One curve for selling into all ``curves`` at once, each increment routed to the best marginal rate.

    The result ends where the first of the curves ends (beyond it that curve's liquidity is unknown or gone).
    """
    _same_pair(curves)
    if len(curves) == 1:
        return curves[0]
    return _aggregate(curves)[0]


def split(curves: Sequence[DepthCurve], amount_in: npt.ArrayLike) -> FloatArray:
    """How :func:`aggregate` divides ``amount_in`` among ``curves``: shape ``(len(curves),) + amount.shape``.

    Within an aggregate segment each curve takes the share ``K_i / K`` of the input beyond the segment's
    start, which avoids going through the (ill-conditioned) marginal rate.
    """
    combined, parts_in, parts_k = _aggregate(curves)
    x = np.minimum(combined.quote(amount_in).amount_in, combined.capacity_in)
    if combined.segments == 0:
        return np.zeros((len(curves), *x.shape))
    seg = np.clip(np.searchsorted(combined.cum_in, x, side="left") - 1, 0, combined.segments - 1)
    k_total = combined.k_liquidity[seg]
    dx = x - combined.cum_in[seg]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(k_total > 0, parts_k[:, seg] / k_total, 0.0)
    return np.asarray(parts_in[:, seg] + share * dx, dtype=np.float64)


def compose_route(first: DepthCurve, second: DepthCurve) -> DepthCurve:
    """The curve of selling ``first.token_in`` through ``first`` and its output through ``second``."""
    if first.token_out != second.token_in:
        raise DataError(f"route hops do not connect: {first.token_out} is sold as {second.token_in}")
    r1, x1, y1, k1 = first.sqrt_rate, first.cum_in, first.cum_out, first.k_liquidity
    r2, x2, y2, k2 = second.sqrt_rate, second.cum_in, second.cum_out, second.k_liquidity
    i = j = 0
    a, b = float(r1[0]), float(r2[0])  # current sqrt rates of both hops
    x = y = z = 0.0  # route input, intermediate amount, route output
    rates, xs, zs, ks = [a * b], [0.0], [0.0], []
    while i < first.segments and j < second.segments:
        if k1[i] == 0:
            # gap in the first hop: its rate jumps, nothing trades
            i += 1
            a = float(r1[i])
            kc = 0.0
        elif k2[j] == 0:
            # gap in the second hop
            j += 1
            b = float(r2[j])
            kc = 0.0
        else:
            ka, kb = float(k1[i]), float(k2[j])
            kc = ka * kb * b / (kb + ka * a * b)
            to_first = float(y1[i + 1]) - y  # output the first hop gives before its next breakpoint
            to_second = float(x2[j + 1]) - y  # input the second hop takes before its next breakpoint
            if to_first <= to_second:
                # the first hop's breakpoint comes first; the second hop moves by the same amount
                dy = to_first
                z += kb * b * b * dy / (kb + b * dy)
                b = kb * b / (kb + b * dy)
                i += 1
                # resynchronise on the exact breakpoint (never stepping back by a rounding error)
                a, x, y = float(r1[i]), max(x, float(x1[i])), max(y, float(y1[i]))
                if to_first == to_second:
                    j += 1
                    b, z = float(r2[j]), max(z, float(y2[j]))
            else:
                # the second hop's breakpoint comes first; the first hop supplies exactly that much
                dy = to_second
                a_next = a - dy / ka
                x += dy / (a * a_next)
                a = a_next
                j += 1
                b, y, z = float(r2[j]), max(y, float(x2[j])), max(z, float(y2[j]))
        rates.append(a * b)
        xs.append(x)
        zs.append(z)
        ks.append(kc)
    return DepthCurve.from_breakpoints(
        token_in=first.token_in,
        token_out=second.token_out,
        decimals_in=first.decimals_in,
        decimals_out=second.decimals_out,
        sqrt_rate=np.array(rates),
        cum_in=np.array(xs),
        cum_out=np.array(zs),
        k_liquidity=np.array(ks),
        complete=first.complete and second.complete,
    )
