"""An off-chain venue (e.g. centralised-exchange order books) described by its USD depth below the mid price.

A curve lists, for a few price drops ``d`` (0.01 = 1%), the USD a seller receives while walking the price from
the mid down by ``d`` (``depth_usd``). Between the listed drops the depth is interpolated **linearly in the drop**
(through 0 USD at 0%), so within a segment every further 1% of price costs the same USD; past the deepest level
the book is empty (the venue takes nothing more). Selling the USD ``dD`` at price ``p = P0 (1 - d)`` takes
``dD / p`` tokens, so the tokens sold down to ``d`` inside a segment of slope ``s`` (USD per unit of drop) are
``s / P0 * ln((1 - d_k) / (1 - d))`` past its start: closed forms both ways. The proceeds of a sale are the
USD depth it walks through (the quote at the curve's average price).

Pure: the curve and its state (tokens sold since the mid ``P0`` was set) are plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from monitor.errors import DataError


@dataclass(frozen=True)
class OffchainCurve:
    """USD depth at increasing price drops: ``drops`` in (0, 1), strictly increasing; ``depth_usd`` the
    cumulative USD at each, positive and not decreasing."""

    drops: tuple[float, ...]
    depth_usd: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.drops or len(self.drops) != len(self.depth_usd):
            raise DataError("an off-chain depth curve needs at least one level and one depth per level")
        prev_d, prev_usd = 0.0, 0.0
        for d, usd in zip(self.drops, self.depth_usd, strict=True):
            if not (math.isfinite(d) and 0.0 < d < 1.0):
                raise DataError(f"an off-chain depth level must be a drop in (0, 1), got {d!r}")
            if d <= prev_d:
                raise DataError(f"off-chain depth levels must increase, got {d} after {prev_d}")
            if not (math.isfinite(usd) and usd > 0.0):
                raise DataError(f"off-chain depth must be a finite positive USD amount, got {usd} at {d}")
            if usd < prev_usd:
                raise DataError(f"off-chain depth must not decrease with the drop, got {usd} at {d} after {prev_usd}")
            prev_d, prev_usd = d, usd

    @classmethod
    def from_levels(cls, levels: Mapping[str, float] | Mapping[float, float]) -> OffchainCurve:
        """From ``{"0.01": usd, "0.02": usd, ...}`` (keys: drops as numbers or strings)."""
        try:
            pairs = sorted((float(k), float(v)) for k, v in levels.items())
        except (TypeError, ValueError) as exc:
            raise DataError(f"off-chain depth levels must map drops to USD amounts: {exc}") from exc
        return cls(tuple(d for d, _ in pairs), tuple(v for _, v in pairs))

    # -- the curve in the drop ------------------------------------------------------------------------------

    @property
    def max_drop(self) -> float:
        """The deepest level: past it the book is empty."""
        return self.drops[-1]

    def _points(self) -> tuple[tuple[float, float], ...]:
        return ((0.0, 0.0), *zip(self.drops, self.depth_usd, strict=True))

    def usd_at(self, drop: float) -> float:
        """USD received walking the price down by ``drop`` (linear between levels, flat past the last)."""
        pts = self._points()
        d = min(max(drop, 0.0), self.max_drop)
        for (d0, u0), (d1, u1) in pairwise(pts):
            if d <= d1:
                return u0 + (u1 - u0) * (d - d0) / (d1 - d0)
        return pts[-1][1]

    def tokens_at(self, drop: float, mid: float) -> float:
        """Whole tokens sold walking the price from ``mid`` (USD per token) down by ``drop``."""
        pts = self._points()
        d = min(max(drop, 0.0), self.max_drop)
        total = 0.0
        for (d0, u0), (d1, u1) in pairwise(pts):
            if d <= d0:
                break
            top = min(d, d1)
            slope = (u1 - u0) / (d1 - d0)
            total += slope / mid * math.log((1.0 - d0) / (1.0 - top))
        return total

    def tokens_at_array(self, drops: npt.NDArray[np.float64], mid: float) -> npt.NDArray[np.float64]:
        """:meth:`tokens_at` of many drops at once."""
        d = np.clip(drops, 0.0, self.max_drop)
        total = np.zeros_like(d)
        for (d0, u0), (d1, u1) in pairwise(self._points()):
            slope = (u1 - u0) / (d1 - d0)
            total += slope / mid * np.log((1.0 - d0) / (1.0 - np.clip(d, d0, d1)))
        return total

    def drop_at(self, tokens: float, mid: float) -> float:
        """The drop reached once ``tokens`` whole tokens are sold from ``mid`` (the smallest one: across a level
        with no depth the price jumps only when the next token is sold); the deepest level past the capacity."""
        pts = self._points()
        left = max(tokens, 0.0)
        for (d0, u0), (d1, u1) in pairwise(pts):
            slope = (u1 - u0) / (d1 - d0)
            if slope <= 0.0:
                continue
            span = slope / mid * math.log((1.0 - d0) / (1.0 - d1))
            if left <= span:
                return 1.0 - (1.0 - d0) * math.exp(-left * mid / slope)
            left -= span
        return self.max_drop

    def capacity_tokens(self, mid: float) -> float:
        """All the tokens the book takes from ``mid`` down to its deepest level."""
        return self.tokens_at(self.max_drop, mid)
