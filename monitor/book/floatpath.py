"""The float64 path: health factors of every account from dense reserve-major balance arrays.

``fc`` / ``fd`` (shape ``(R, N)``) hold each account's exact underlying collateral balance (zero where it does
not count) and total debt (zero where not borrowing), rounded to float64. A recompute mirrors the integer
steps of ``GenericLogic``: per-position values are floored, the average LT is floored to whole basis points and
``percentMul`` rounds half up. Sums run row by row in a fixed order, so a subset recompute gives the same bits
as a full one. Work is chunked along accounts to stay in cache.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from monitor.book.tables import MarketTables

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]

#: Accounts per chunk of the full recompute.
CHUNK = 65_536
#: A mixed-LT account whose ``sum(value * LT) / sum(value)`` lies this close (relative) to an integer gets its
#: average LT from the exact path: float64 cannot tell on which side of the integer it falls.
NEAR_INTEGER = 1e-12


class Sums:
    """Per-account float sums: counted collateral ``t``, LT-weighted collateral ``w`` and debt ``d`` (base units)."""

    __slots__ = ("d", "t", "w")

    def __init__(self, n: int) -> None:
        self.t: F64 = np.zeros(n)
        self.w: F64 = np.zeros(n)
        self.d: F64 = np.zeros(n)


def _rowsum(x: F64, out: F64) -> None:
    np.copyto(out, x[0])
    for r in range(1, x.shape[0]):
        np.add(out, x[r], out=out)


def block_sums(fc: F64, fd: F64, unit_price: F64, lt: F64, t: F64, w: F64, d: F64, scratch: F64) -> None:
    """Fill ``t, w, d`` for a ``(R, k)`` block; ``scratch`` is ``(2R, >= k)``."""
    n_res, k = fc.shape
    x = scratch[:n_res, :k]
    y = scratch[n_res : 2 * n_res, :k]
    up = unit_price[:, None]
    np.multiply(fc, up, out=x)
    np.floor(x, out=x)
    _rowsum(x, t)
    np.multiply(x, lt[:, None], out=y)
    _rowsum(y, w)
    np.multiply(fd, up, out=x)
    np.floor(x, out=x)
    _rowsum(x, d)


def category_groups(emode: NDArray[np.int64]) -> dict[int, Idx]:
    """Row indexes per e-mode category present in ``emode``."""
    return {int(cid): np.flatnonzero(emode == cid) for cid in np.unique(emode).tolist()}


def sums_all(
    tables: MarketTables,
    fc: F64,
    fd: F64,
    groups: Mapping[int, Idx],
    prices: Mapping[str, int] | None = None,
) -> Sums:
    """Sums for every account: one chunked pass with category-0 vectors, then e-mode members redone."""
    n_res, n = fc.shape
    out = Sums(n)
    up0 = tables.unit_price_vector(0, prices)
    lt0 = tables.lt_vector(0)
    scratch: F64 = np.empty((2 * n_res, min(CHUNK, max(n, 1))))
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        block_sums(fc[:, s:e], fd[:, s:e], up0, lt0, out.t[s:e], out.w[s:e], out.d[s:e], scratch)
    for cid, rows in groups.items():
        if tables.differs_from_base(cid) and rows.size:
            part = sums_rows(tables, fc, fd, np.full(rows.size, cid, dtype=np.int64), rows, prices)
            out.t[rows], out.w[rows], out.d[rows] = part.t, part.w, part.d
    return out


def sums_rows(
    tables: MarketTables,
    fc: F64,
    fd: F64,
    emode_rows: NDArray[np.int64],
    rows: Idx,
    prices: Mapping[str, int] | None = None,
) -> Sums:
    """Sums for ``rows`` (whose categories are ``emode_rows``), aligned with ``rows``."""
    out = Sums(rows.size)
    n_res = fc.shape[0]
    for cid, pos in category_groups(emode_rows).items():
        up = tables.unit_price_vector(cid, prices)
        lt = tables.lt_vector(cid)
        for s in range(0, pos.size, CHUNK):
            part = pos[s : s + CHUNK]
            sel = rows[part]
            k = sel.size
            t, w, d = np.empty(k), np.empty(k), np.empty(k)
            scratch: F64 = np.empty((2 * n_res, k))
            block_sums(fc[:, sel], fd[:, sel], up, lt, t, w, d, scratch)
            out.t[part], out.w[part], out.d[part] = t, w, d
    return out


def uniform_lt(tables: MarketTables, fc: F64, emode_rows: NDArray[np.int64], rows: Idx) -> F64:
    """Per row: the LT all its counted collateral positions share, 0 with none, NaN when they differ."""
    out: F64 = np.zeros(rows.size)
    for cid, pos in category_groups(emode_rows).items():
        lt = tables.lt_vector(cid)[:, None]
        held = fc[:, rows[pos]] > 0
        lo = np.where(held, lt, np.inf).min(axis=0)
        hi = np.where(held, lt, -np.inf).max(axis=0)
        out[pos] = np.where(lo == hi, lo, np.where(np.isinf(lo), 0.0, np.nan))
    return out


def average_lt(t: F64, w: F64, lt_uniform: F64) -> tuple[F64, Idx]:
    """Floored average LT per account, and the rows whose floor must come from the exact path."""
    mixed = np.isnan(lt_uniform) & (t > 0)
    avg = np.where(np.isnan(lt_uniform), 0.0, lt_uniform)
    if not mixed.any():
        return avg, np.zeros(0, dtype=np.intp)
    rows = np.flatnonzero(mixed)
    ratio = w[rows] / t[rows]
    avg[rows] = np.floor(ratio)
    # Branch: within float error of an integer the floor is ambiguous; defer to the exact path.
    near = np.abs(ratio - np.round(ratio)) <= NEAR_INTEGER * ratio
    return avg, rows[near]


def health_factors(t: F64, d: F64, avg_lt: F64) -> F64:
    """``percentMul(t, avgLT) / d`` with percentMul's half-up rounding; +inf without debt."""
    adjusted = np.floor((t * avg_lt + 5000.0) / 10_000.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        hf: F64 = np.where(d > 0, adjusted / np.where(d > 0, d, 1.0), np.inf)
    return hf
