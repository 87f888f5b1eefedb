"""The order the engine keeps a book's accounts in: by sided exposure mask (:mod:`monitor.risk.masks`), then by
screening term ``tau`` at the market's prices, the accounts nearest liquidation first (without debt: last).

A projection reads the balances of the accounts a shock reaches: within the masks that hold the shocked asset,
those nearest liquidation. In a book in this order they are runs of neighbouring columns rather than columns
scattered over the whole book, so the engine's gathers read whole cache lines instead of one value per line.
The answers do not depend on the order (each account is liquidated by its own balances); only sums over
accounts may add in another order (float rounding). Measured in BENCHMARKS.md (the order costs a sort of the
book once per projector)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.screen import GUARD, Exposure

Idx = NDArray[np.intp]


#: ``tau`` is sorted on in steps of ``1 / TAU_STEPS`` up to 16 (above it, and without debt: one group): two
#: radix sorts of 16-bit keys instead of a comparison sort of the floats (which took most of the time at 1M).
TAU_STEPS = 4096
TAU_TOP = 2**16 / TAU_STEPS


def locality_order(ex: Exposure) -> Idx:
    """The columns of ``ex.book`` in the engine's order (module docstring)."""
    a, d = ex.terms(ex.w0, ex.d0)
    owes = d > 0
    tau = np.full(a.size, TAU_TOP)
    np.divide(a, d + ex.slack / GUARD, out=tau, where=owes)
    tau *= TAU_STEPS
    np.minimum(tau, 2**16 - 1, out=tau)
    step = tau.astype(np.uint16)
    # by mask, then tau's step: a stable sort by step, then a stable one by mask
    order: Idx = np.argsort(step, kind="stable")
    mask = ex.masks.sided_ids[order]
    small = mask.astype(np.int16) if ex.masks.sided_count < 2**15 else mask
    out: Idx = order[np.argsort(small, kind="stable")]
    return out
