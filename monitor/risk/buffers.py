"""What absorbs bad debt, how much of a projected loss it covers, and the smallest drop that exhausts it.

A protocol names, per loss-bearing unit (an Aave reserve by symbol, a Morpho Blue market by id), the *buffer*
that absorbs that unit's losses before anyone else does (Aave: the treasury offset / Umbrella stake configured
per reserve; Morpho: none, the market's lenders take the loss at once). A projection's *loss* of a unit is what
it leaves written off there (Aave: the reserve's current deficit plus the new one the cascade burns; Morpho:
the lenders' write-off). Per unit: ``uncovered = max(loss - buffer, 0)`` and ``coverage_ratio = buffer / loss``
(None when there is no loss: nothing to cover).

The *buffer-exhausting shock* of an asset is the smallest drop whose projected loss exceeds the buffer of some
unit, found like the critical shock (:mod:`monitor.risk.sweep`): the first exhausting step of the coarse grid,
bracketed and narrowed by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.risk.engine import Projector
from monitor.risk.params import SweepSpec
from monitor.risk.results import CascadeResult
from monitor.risk.sweep import first_shock

EXHAUSTED = "buffer"  # the reason a buffer-exhausting step gives


@dataclass(frozen=True)
class Coverage:
    """One unit's buffer against one projection's loss there (USD)."""

    buffer_usd: float
    loss_usd: float

    @property
    def uncovered_usd(self) -> float:
        """The loss beyond the buffer (0 when the buffer covers it)."""
        return max(self.loss_usd - self.buffer_usd, 0.0)

    @property
    def coverage_ratio(self) -> float | None:
        """Buffer / loss; None when there is no loss."""
        return self.buffer_usd / self.loss_usd if self.loss_usd > 0 else None

    @property
    def exhausted(self) -> bool:
        """Whether the loss exceeds the buffer."""
        return self.loss_usd > self.buffer_usd

    def to_json(self) -> dict[str, Any]:
        """``{buffer_usd, loss_usd, uncovered_usd, coverage_ratio}`` (the public JSON fields)."""
        return {
            "buffer_usd": self.buffer_usd,
            "loss_usd": self.loss_usd,
            "uncovered_usd": self.uncovered_usd,
            "coverage_ratio": self.coverage_ratio,
        }


def coverage(
    buffers: Mapping[str, float], current_loss: Mapping[str, float], new_loss: Mapping[str, float]
) -> dict[str, Coverage]:
    """Per unit that has a buffer or a loss: the buffer (0 when none is configured) against the loss, the one
    already written off (``current_loss``) plus the one a projection adds (``new_loss``)."""
    keys = [*buffers, *(k for k in current_loss if k not in buffers)]
    keys += [k for k in new_loss if k not in buffers and k not in current_loss]
    out = {}
    for key in keys:
        loss = current_loss.get(key, 0.0) + new_loss.get(key, 0.0)
        if key in buffers or loss > 0:
            out[key] = Coverage(buffer_usd=buffers.get(key, 0.0), loss_usd=loss)
    return out


def exhaustion(units: Mapping[str, Coverage]) -> float:
    """How near the losses come to exhausting a buffer: the largest loss / buffer (1 = at a buffer; a loss
    against no buffer is infinitely near; 0 without losses)."""
    worst = 0.0
    for c in units.values():
        if c.loss_usd > 0:
            worst = max(worst, c.loss_usd / c.buffer_usd if c.buffer_usd > 0 else math.inf)
    return worst


def buffer_exhausting_shock(
    projector: Projector,
    asset: str,
    spec: SweepSpec,
    coverage_of: Callable[[CascadeResult], Mapping[str, Coverage]],
) -> float | None:
    """The smallest drop of ``asset`` whose projected loss exceeds some unit's buffer (``coverage_of``: a
    projection's coverage per unit, the market view's); None when no step of ``spec`` exhausts one."""

    def judge(r: CascadeResult) -> tuple[str | None, float]:
        units = coverage_of(r)
        return (EXHAUSTED if any(c.exhausted for c in units.values()) else None), exhaustion(units)

    shock, _ = first_shock(projector, asset, judge, spec)
    return shock
