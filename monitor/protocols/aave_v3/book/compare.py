"""Structural comparison of two books (used to check that incremental updates equal a rebuild).

Works on :class:`BookParts`, what a book is made of, so that the book imports this module and not the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.protocols.aave_v3.book.inputs import MarketInputs
from monitor.protocols.aave_v3.book.store import AccountStore


@dataclass(frozen=True)
class BookParts:
    """A book's market, account rows and computed results, as :func:`book_diff` compares them."""

    market: MarketInputs
    store: AccountStore
    outputs: Mapping[str, NDArray[np.float64]]  # result name -> value per row
    liquidatable: NDArray[np.bool_]  # per row


def _same_float(a: NDArray[np.generic], b: NDArray[np.generic]) -> NDArray[np.bool_]:
    """Element-wise equality where NaN equals NaN (and +inf equals +inf)."""
    eq: NDArray[np.bool_] = np.asarray((a == b) | (np.isnan(a) & np.isnan(b)), dtype=bool)
    return eq


def book_diff(left: BookParts, right: BookParts, limit: int) -> list[str]:
    """Differences between ``left`` and ``right``: market, account sets, raw rows and computed results."""
    out: list[str] = []
    lm, rm = left.market, right.market
    if lm != rm:
        for a, b in zip(lm.reserves, rm.reserves, strict=False):
            if a != b:
                out.append(f"reserve {a.symbol or a.asset}: {a} != {b}")
        if len(lm.reserves) != len(rm.reserves):
            out.append("reserve counts differ")
        if lm.emode_categories != rm.emode_categories:
            out.append("e-mode categories differ")
        if lm.source_prices != rm.source_prices:
            out.append("e-mode source prices differ")
        if not out:
            out.append("markets differ")
    ls, rs = left.store, right.store
    only_left = sorted(set(ls.row) - set(rs.row))
    only_right = sorted(set(rs.row) - set(ls.row))
    out += [f"account {a} only in left" for a in only_left[:limit]]
    out += [f"account {a} only in right" for a in only_right[:limit]]
    common = [a for a in ls.addresses if a in rs.row]
    li = np.array([ls.row[a] for a in common], dtype=np.intp)
    ri = np.array([rs.row[a] for a in common], dtype=np.intp)

    def report(field: str, bad: object) -> None:
        for i in np.flatnonzero(np.asarray(bad, dtype=bool))[:limit].tolist():
            out.append(f"account {common[i]}: {field} differs")

    report("user configuration", np.array([ls.configs[i] != rs.configs[j] for i, j in zip(li, ri, strict=True)]))
    report("e-mode category", ls.emode[li] != rs.emode[ri])
    if len(lm.reserves) == len(rm.reserves) and lm.reserves == rm.reserves:
        for name in ("scaled_atoken", "scaled_debt", "stable_debt", "collateral_flag", "borrowing_flag"):
            x, y = getattr(ls, name)[:, li], getattr(rs, name)[:, ri]
            report(name, (x != y).any(axis=0) if li.size else np.zeros(0, dtype=bool))
        for name in ("fc", "fd"):
            x, y = getattr(ls, name)[:, li], getattr(rs, name)[:, ri]
            report(f"float {name}", ~_same_float(x, y).all(axis=0) if li.size else np.zeros(0, dtype=bool))
    for name in ("lt_uni", "t", "w", "d", "avg", "hf"):
        report(f"result {name}", ~_same_float(left.outputs[name][li], right.outputs[name][ri]))
    report("result liquidatable", left.liquidatable[li] != right.liquidatable[ri])
    return out[:limit]
