"""The exact path: ``getUserAccountData`` for many accounts at once on numpy object arrays of Python ints.

Arrays are reserve-major, shape ``(R, k)`` for ``k`` accounts. Element-wise integer operations run in numpy's
C loop (no per-account Python loop) with the protocol's rounding; the results equal
:func:`monitor.protocols.aave_v3.book.reference.user_account_data` bit for bit. The market's ``maths`` picks
Aave v3.0.2's rules or v3.6's (liquid e-mode, v3.5 rounding).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from monitor.protocols.aave_v3.book.reference import AccountData
from monitor.protocols.aave_v3.book.tables import MarketTables
from monitor.protocols.aave_v3.book.wadray import (
    HALF_PERCENTAGE_FACTOR,
    HALF_RAY,
    PERCENTAGE_FACTOR,
    RAY,
    UINT256_MAX,
    WAD,
)

Obj = NDArray[np.object_]
Bool = NDArray[np.bool_]


def _column(values: tuple[int, ...] | list[int]) -> Obj:
    col: Obj = np.empty((len(values), 1), dtype=object)
    col[:, 0] = list(values)
    return col


def _grid(rows: int, cols: int, column: Obj) -> Obj:
    out: Obj = np.empty((rows, cols), dtype=object)
    out[:] = column
    return out


def balances(tables: MarketTables, scaled_atoken: Obj, scaled_debt: Obj, stable_debt: Obj) -> tuple[Obj, Obj]:
    """Underlying aToken balances and total debts: ``scaled rayMul index`` (+ stable debt)."""
    income = _column(tables.income)
    debt_index = _column(tables.debt_index)
    supplied: Obj = (scaled_atoken * income + HALF_RAY) // RAY
    owed: Obj = (scaled_debt * debt_index + HALF_RAY) // RAY + stable_debt
    return supplied, owed


def account_data(
    tables: MarketTables,
    scaled_atoken: Obj,
    scaled_debt: Obj,
    stable_debt: Obj,
    collateral_flag: Bool,
    borrowing_flag: Bool,
    emode: NDArray[np.int64],
    prices: Mapping[str, int] | None = None,
) -> list[AccountData]:
    """``getUserAccountData`` of ``k`` accounts given their ``(R, k)`` raw arrays and flags."""
    n_res, k = scaled_atoken.shape
    if k == 0:
        return []
    price_of = tables.prices if prices is None else prices
    if tables.maths == "v3.6":
        return _account_data_v36(tables, scaled_atoken, scaled_debt, collateral_flag, borrowing_flag, emode, price_of)
    supplied, owed = balances(tables, scaled_atoken, scaled_debt, stable_debt)

    price = _grid(n_res, k, _column([price_of[a] for a in tables.assets]))
    lt = np.repeat(tables.lt[:, None], k, axis=1)
    ltv = np.repeat(tables.ltv[:, None], k, axis=1)
    # Branch: accounts in an e-mode category see its LT/LTV (and price source, when non-zero) on its assets.
    for cid in np.unique(emode).tolist():
        if cid == 0:
            continue
        cols = tables.category_columns(cid)
        members = np.flatnonzero(emode == cid)
        if cols.size == 0:
            continue
        cat = tables.categories[cid]
        grid = np.ix_(cols, members)
        lt[grid] = cat.liquidation_threshold
        ltv[grid] = cat.ltv
        source_price = tables.emode_price(cid, price_of)
        if source_price != 0:
            price[grid] = source_price
    # Branch: a reserve LTV of zero contributes nothing to the LTV average (e-mode or not).
    ltv = np.where(tables.ltv[:, None] != 0, ltv, 0)
    # Branch: collateral counts when the user flag is set and the reserve's own LT is non-zero.
    counted = collateral_flag & (tables.lt != 0)[:, None]
    unit = _column(tables.units)

    coll_value: Obj = np.where(counted, supplied * price // unit, 0)
    debt_value: Obj = np.where(borrowing_flag, owed * price // unit, 0)
    collateral: Obj = coll_value.sum(axis=0)
    debt: Obj = debt_value.sum(axis=0)
    sum_lt: Obj = (coll_value * lt.astype(object)).sum(axis=0)
    sum_ltv: Obj = (coll_value * ltv.astype(object)).sum(axis=0)

    # Branch: the averages are 0 when there is no collateral (integer division otherwise).
    has_coll = collateral != 0
    safe_coll = np.where(has_coll, collateral, 1)
    avg_lt: Obj = np.where(has_coll, sum_lt // safe_coll, 0)
    avg_ltv: Obj = np.where(has_coll, sum_ltv // safe_coll, 0)
    # Branch: HF = percentMul(collateral, avgLT) wadDiv debt, or uint256 max without debt.
    has_debt = debt != 0
    safe_debt = np.where(has_debt, debt, 1)
    adjusted = (collateral * avg_lt + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR
    hf: Obj = np.where(has_debt, (adjusted * WAD + safe_debt // 2) // safe_debt, UINT256_MAX)
    return [
        AccountData.from_totals(int(c), int(d), int(v), int(t), int(h))
        for c, d, v, t, h in zip(
            collateral.tolist(), debt.tolist(), avg_ltv.tolist(), avg_lt.tolist(), hf.tolist(), strict=True
        )
    ]


def balances_v36(tables: MarketTables, scaled_atoken: Obj, scaled_debt: Obj) -> tuple[Obj, Obj]:
    """v3.5+ balances: aToken ``rayMulFloor``, variable debt ``rayMulCeil`` (no stable debt)."""
    supplied: Obj = scaled_atoken * _column(tables.income) // RAY
    owed: Obj = -((-scaled_debt * _column(tables.debt_index)) // RAY)
    return supplied, owed


def _account_data_v36(
    tables: MarketTables,
    scaled_atoken: Obj,
    scaled_debt: Obj,
    collateral_flag: Bool,
    borrowing_flag: Bool,
    emode: NDArray[np.int64],
    price_of: Mapping[str, int],
) -> list[AccountData]:
    """``getUserAccountData`` of Aave v3.6 (GenericLogic of aave-v3-origin 3.6.0): liquid e-mode, v3.5 rounding."""
    n_res, k = scaled_atoken.shape
    supplied, owed = balances_v36(tables, scaled_atoken, scaled_debt)
    price = _grid(n_res, k, _column([price_of[a] for a in tables.assets]))
    lt = np.repeat(tables.lt[:, None], k, axis=1)
    ltv = np.repeat(tables.ltv[:, None], k, axis=1)
    # Branch: an account in a category sees its LT/LTV on the reserves of the category's collateral bitmap (LTV 0
    # on those of its ltvzero bitmap); prices are the oracle's (v3.2+ categories have no price source).
    for cid in np.unique(emode).tolist():
        if cid == 0:
            continue
        cols = tables.category_columns(cid)
        if cols.size == 0:
            continue
        cat = tables.categories[cid]
        grid = np.ix_(cols, np.flatnonzero(emode == cid))
        lt[grid] = cat.liquidation_threshold
        ltv[grid] = [[0 if (cat.ltvzero_bitmap >> int(tables.ids[j])) & 1 else cat.ltv] for j in cols]
    unit = _column(tables.units)
    # Branch: every flagged collateral counts (a reserve LT of 0 only adds nothing to the threshold sum);
    # collateral value rounds down, debt value up (mulDivCeil).
    coll_value: Obj = np.where(collateral_flag, supplied * price // unit, 0)
    debt_value: Obj = np.where(borrowing_flag, -((-owed * price) // unit), 0)
    collateral: Obj = coll_value.sum(axis=0)
    debt: Obj = debt_value.sum(axis=0)
    sum_lt: Obj = (coll_value * lt.astype(object)).sum(axis=0)
    sum_ltv: Obj = (coll_value * ltv.astype(object)).sum(axis=0)
    has_coll = collateral != 0
    safe_coll = np.where(has_coll, collateral, 1)
    avg_lt: Obj = np.where(has_coll, sum_lt // safe_coll, 0)
    avg_ltv: Obj = np.where(has_coll, sum_ltv // safe_coll, 0)
    # Branch: HF = sum(value * LT) wadDiv debt / 1e4 (no rounded average in between), uint256 max without debt.
    has_debt = debt != 0
    safe_debt = np.where(has_debt, debt, 1)
    hf: Obj = np.where(has_debt, (sum_lt * WAD + safe_debt // 2) // safe_debt // PERCENTAGE_FACTOR, UINT256_MAX)
    return [
        AccountData.from_totals(int(c), int(d), int(v), int(t), int(h), floor_available=True)
        for c, d, v, t, h in zip(
            collateral.tolist(), debt.tolist(), avg_ltv.tolist(), avg_lt.tolist(), hf.tolist(), strict=True
        )
    ]
