"""The float64 path: health factors of every account from dense reserve-major balance arrays.

``fc`` / ``fd`` (shape ``(R, N)``) hold each account's exact underlying collateral balance (zero where it does
not count) and total debt (zero where not borrowing), rounded to float64. A recompute mirrors the integer
steps of ``GenericLogic``: per-position values are floored, the average LT is floored to whole basis points and
``percentMul`` rounds half up.

One fused pass runs over chunks of accounts (so the temporaries stay in cache) and, inside a chunk, over the
reserves in a fixed order; e-mode members get their category's LT and price per element. On Aave v3.6 the HF
is the LT-weighted sum over the debt (no floored average LT in between), and debt values round up. Every step is
element-wise, so recomputing a subset of accounts gives the same bits as a full recompute.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.protocols.aave_v3.book.tables import MarketTables

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]
I64 = NDArray[np.int64]

#: Accounts per chunk.
CHUNK = 65_536
#: Threads of the float pass (numpy ufuncs release the GIL); the machines this targets have 2 cores.
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: A mixed-LT account whose ``sum(value * LT) / sum(value)`` lies this close (relative) to an integer gets its
#: average LT from the exact path: float64 cannot tell on which side of the integer it falls.
NEAR_INTEGER = 1e-12
#: v3.6 debt values round up: the nudged-up unit price times this lands just below an exact integer product.
CEIL_UNNUDGE = 1.0 - 2.0**-48
#: Float HFs this close to 1 have their liquidatable flag decided by the exact path.
HF_BOUNDARY = 1e-9


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one reserve column is valued: nudged unit price and LT, and the e-mode overrides for members.

    ``overrides`` holds ``(category, unit price, LT)`` for every configured category that counts this column at
    its own LT (one at most on v3.0; on v3.2+ liquid e-mode a reserve may be in several categories).
    """

    unit_price: float
    lt: float
    overrides: tuple[tuple[int, float, float], ...] = ()


def plan(tables: MarketTables, prices: Mapping[str, int] | None = None) -> list[ColumnPlan]:
    """Per-column valuation plan at ``prices`` (default: the tables' current prices)."""
    base = tables.unit_price_vector(0, prices)
    overrides: list[list[tuple[int, float, float]]] = [[] for _ in range(tables.size)]
    # Branch: only configured categories override a column (no account can be in another one).
    for cid, cat in sorted(tables.categories.items()):
        cat_prices = tables.unit_price_vector(cid, prices)
        for j in tables.category_columns(cid).tolist():
            overrides[j].append((cid, float(cat_prices[j]), float(cat.liquidation_threshold)))
    return [ColumnPlan(float(base[j]), float(tables.lt[j]), tuple(overrides[j])) for j in range(tables.size)]


@dataclass
class Outputs:
    """Per-account results, length ``k``: collateral ``t``, LT-weighted collateral ``w``, debt ``d`` (base units),
    floored average LT ``avg``, health factor ``hf`` (+inf without debt) and ``liq`` (hf < 1)."""

    t: F64
    w: F64
    d: F64
    avg: F64
    hf: F64
    liq: Bool

    @classmethod
    def empty(cls, k: int) -> Outputs:
        """Fresh zeroed outputs for ``k`` accounts."""
        return cls(np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k, dtype=bool))


@dataclass
class Pending:
    """Rows the float pass cannot settle: ambiguous average-LT floors, HFs within 1e-9 of 1."""

    average: Idx
    boundary: Idx


def compute(
    fc: F64, fd: F64, emode: I64, lt_uniform: F64, cols: list[ColumnPlan], out: Outputs, *, maths: str = "v3.0"
) -> Pending:
    """Fill ``out`` for the ``k`` accounts of ``fc``/``fd`` (``(R, k)``); returns the rows needing the exact path.

    Chunks run on up to :data:`WORKERS` threads (numpy releases the GIL); each writes only its own slice.
    ``maths`` "v3.6" takes the HF from the LT-weighted sum (no floored average in between).
    """
    k = fc.shape[1]
    starts = list(range(0, k, CHUNK))

    def run(s: int) -> tuple[Idx, Idx]:
        return _chunk(fc, fd, emode, lt_uniform, cols, out, s, min(k, s + CHUNK), maths)

    threaded = WORKERS > 1 and len(starts) > 1
    parts = list(_executor().map(run, starts)) if threaded else [run(s) for s in starts]
    empty = np.zeros(0, dtype=np.intp)
    average = [a for a, _ in parts if a.size]
    boundary = [b for _, b in parts if b.size]
    return Pending(
        np.concatenate(average) if average else empty,
        np.concatenate(boundary) if boundary else empty,
    )


_POOL: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="book-float")
    return _POOL


def _chunk(
    fc: F64, fd: F64, emode: I64, lt_uniform: F64, cols: list[ColumnPlan], out: Outputs, s: int, e: int, maths: str
) -> tuple[Idx, Idx]:
    """One chunk ``[s, e)`` of :func:`compute`: sums, average LT, HF and liquidatable flag."""
    m = e - s
    xb, yb = np.empty(m), np.empty(m)
    t, w, d = out.t[s:e], out.w[s:e], out.d[s:e]
    t.fill(0.0)
    w.fill(0.0)
    d.fill(0.0)
    members = {cid: np.flatnonzero(emode[s:e] == cid) for c in cols for cid, _, _ in c.overrides}
    for j, c in enumerate(cols):
        fcj, fdj = fc[j, s:e], fd[j, s:e]
        # Branch: e-mode members of a category overriding this column are valued at its price and LT.
        groups = [(members[cid], up, lt) for cid, up, lt in c.overrides if members[cid].size > 0]
        np.multiply(fcj, c.unit_price, out=xb)
        for idx, up, _ in groups:
            if up != c.unit_price:
                xb[idx] = fcj[idx] * up
        np.floor(xb, out=xb)
        np.add(t, xb, out=t)
        np.multiply(xb, c.lt, out=yb)
        for idx, _, lt in groups:
            if lt != c.lt:
                yb[idx] = xb[idx] * lt
        np.add(w, yb, out=w)
        np.multiply(fdj, c.unit_price, out=xb)
        for idx, up, _ in groups:
            if up != c.unit_price:
                xb[idx] = fdj[idx] * up
        if maths == "v3.6":  # debt values round up (mulDivCeil): undo the floor nudge, twice over, then ceil
            np.multiply(xb, CEIL_UNNUDGE, out=xb)
            np.ceil(xb, out=xb)
        else:
            np.floor(xb, out=xb)
        np.add(d, xb, out=d)
    ambiguous = _average(t, w, lt_uniform[s:e], out.avg[s:e])
    if maths == "v3.6":
        _health_weighted(w, d, out.hf[s:e])
        ambiguous = np.zeros(0, dtype=np.intp)  # the floored average does not enter the v3.6 HF
    else:
        _health(t, d, out.avg[s:e], out.hf[s:e], xb)
    np.less(out.hf[s:e], 1.0, out=out.liq[s:e])
    np.subtract(out.hf[s:e], 1.0, out=xb)
    near = np.flatnonzero(np.abs(xb, out=xb) <= HF_BOUNDARY)
    return ambiguous + s, near + s


def _average(t: F64, w: F64, lt_uniform: F64, avg: F64) -> Idx:
    """``avg = lt_uniform`` where all collateral shares one LT, else ``floor(w / t)``; the ambiguous rows."""
    mixed = np.isnan(lt_uniform)
    np.copyto(avg, lt_uniform)
    if not mixed.any():
        return np.zeros(0, dtype=np.intp)
    rows = np.flatnonzero(mixed & (t > 0))
    avg[mixed] = 0.0
    ratio = w[rows] / t[rows]
    avg[rows] = np.floor(ratio)
    # Branch: within float error of an integer the floor is ambiguous; the exact path decides.
    near = np.abs(ratio - np.round(ratio)) <= NEAR_INTEGER * ratio
    return rows[near]


def _health(t: F64, d: F64, avg: F64, hf: F64, scratch: F64) -> None:
    """``hf = floor((t * avg + 5000) / 1e4) / d`` (percentMul half up), +inf where ``d == 0``."""
    np.multiply(t, avg, out=scratch)
    np.add(scratch, 5000.0, out=scratch)
    np.divide(scratch, 10_000.0, out=scratch)
    np.floor(scratch, out=scratch)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(scratch, d, out=hf)
    hf[d == 0] = np.inf


def _health_weighted(w: F64, d: F64, hf: F64) -> None:
    """v3.6: ``hf = sum(value * LT) / 1e4 / d``, +inf where ``d == 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(w, d * 10_000.0, out=hf)
    hf[d == 0] = np.inf


def health(t: F64, d: F64, avg: F64) -> F64:
    """:func:`_health` on fresh arrays (for the few rows the exact path corrected)."""
    hf: F64 = np.empty(t.size)
    _health(t, d, avg, hf, np.empty(t.size))
    return hf


def category_groups(emode: I64) -> dict[int, Idx]:
    """Row indexes per e-mode category present in ``emode``."""
    return {int(cid): np.flatnonzero(emode == cid) for cid in np.unique(emode).tolist()}


def uniform_lt(tables: MarketTables, fc: F64, emode_rows: I64, rows: Idx) -> F64:
    """Per row: the LT all its counted collateral positions share, 0 with none, NaN when they differ."""
    out: F64 = np.zeros(rows.size)
    for cid, pos in category_groups(emode_rows).items():
        lt = tables.lt_vector(cid)[:, None]
        held = fc[:, rows[pos]] > 0
        lo = np.where(held, lt, np.inf).min(axis=0)
        hi = np.where(held, lt, -np.inf).max(axis=0)
        out[pos] = np.where(lo == hi, lo, np.where(np.isinf(lo), 0.0, np.nan))
    return out
