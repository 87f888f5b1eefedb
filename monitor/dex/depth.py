"""Market depth: how much can be sold before the price moves by 1 %, 2 %, 5 %, 10 %, 25 %.

:func:`curve_depth` answers for any :class:`~monitor.dex.curve.DepthCurve` (a pool, a set of fee tiers,
a route): the input that lowers the input token's marginal price, in output-token terms, by each
percentage. :func:`pair_depth` gives both sides of a pair in the pool's own quote (token1 per token0):
selling token0 until that price is down by p, selling token1 until it is up by p. Several pools of the pair
are combined with :func:`~monitor.dex.combine.aggregate`. Amounts are in whole tokens (decimals applied),
and in USD when a price is given; moves are measured on the marginal rate, which includes the fee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.dex.combine import aggregate
from monitor.dex.curve import BoolArray, CurveQuote, DepthCurve, FloatArray
from monitor.dex.pool import PoolState
from monitor.dex.pool_curve import pool_curve
from monitor.errors import DataError

DEFAULT_PCTS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.25)


@dataclass(frozen=True, eq=False)
class DepthLevels:
    """Depth at each of ``pcts``: whole-token input and output, USD value of the input, and whether the
    liquidity reached that far (if not, the amounts are all there is)."""

    token_in: str
    token_out: str
    pcts: FloatArray
    amount_in: FloatArray
    amount_out: FloatArray
    usd: FloatArray | None
    reached: BoolArray


@dataclass(frozen=True, eq=False)
class PairDepth:
    """Both sides of a pair. ``bid``: sell token0, pool price (token1/token0) down by p.
    ``ask``: sell token1, pool price up by p."""

    token0: str
    token1: str
    bid: DepthLevels
    ask: DepthLevels


def _pcts(pcts: npt.ArrayLike) -> FloatArray:
    p = np.asarray(pcts, dtype=np.float64)
    if p.ndim != 1 or not np.all((p >= 0) & (p < 1)):
        raise DataError("depth percentages must be a 1-d array of values in [0, 1)")
    return p


def _levels(curve: DepthCurve, pcts: FloatArray, q: CurveQuote, usd_price_in: float | None) -> DepthLevels:
    amount_in = q.amount_in / 10.0**curve.decimals_in
    amount_out = q.amount_out / 10.0**curve.decimals_out
    if usd_price_in is not None and not (np.isfinite(usd_price_in) and usd_price_in >= 0):
        raise DataError(f"USD price must be finite and >= 0, got {usd_price_in}")
    usd = None if usd_price_in is None else amount_in * usd_price_in
    return DepthLevels(curve.token_in, curve.token_out, pcts, amount_in, amount_out, usd, q.filled)


def curve_depth(
    curve: DepthCurve, pcts: npt.ArrayLike = DEFAULT_PCTS, usd_price_in: float | None = None
) -> DepthLevels:
    """Input needed to lower the input token's marginal price by each of ``pcts`` (0.02 = 2 %)."""
    p = _pcts(pcts)
    return _levels(curve, p, curve.depth(p), usd_price_in)


def pair_depth(
    states: Sequence[PoolState],
    pcts: npt.ArrayLike = DEFAULT_PCTS,
    usd_price0: float | None = None,
    usd_price1: float | None = None,
) -> PairDepth:
    """Depth of one pair over all its pools (fee tiers) in ``states``, both sides, in the pool's quote."""
    if not states:
        raise DataError("pair_depth needs at least one pool state")
    pair = (states[0].token0, states[0].token1)
    if any((s.token0, s.token1) != pair for s in states):
        raise DataError("pair_depth: all pool states must be of the same token pair")
    p = _pcts(pcts)
    sell0 = aggregate([pool_curve(s, True).curve for s in states])
    sell1 = aggregate([pool_curve(s, False).curve for s in states])
    # token1 sellers receive token0 per token1 = 1 / price: a price up by p is a rate factor 1 / (1 + p)
    bid = _levels(sell0, p, sell0.quote_to_rate_factor(1.0 - p), usd_price0)
    ask = _levels(sell1, p, sell1.quote_to_rate_factor(1.0 / (1.0 + p)), usd_price1)
    return PairDepth(pair[0], pair[1], bid, ask)
