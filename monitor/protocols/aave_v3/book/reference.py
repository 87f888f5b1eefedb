"""Scalar reference of ``Pool.getUserAccountData`` (Aave v3.0.2 and v3.6 GenericLogic), one account at a time.

Walks the reserves in id order exactly as ``GenericLogic.calculateUserAccountData`` does. It is the readable
statement of the maths; the book's vectorised exact path must agree with it bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.inputs import AccountInput, EModeCategoryInput, MarketInputs, ReserveInput
from monitor.protocols.aave_v3.book.wadray import (
    PERCENTAGE_FACTOR,
    RAY,
    UINT256_MAX,
    WAD,
    percent_mul,
    ray_mul,
    wad_div,
)


@dataclass(frozen=True, slots=True)
class AccountData:
    """``getUserAccountData`` in its return order; amounts in base currency (8 decimals), HF in wad."""

    total_collateral_base: int
    total_debt_base: int
    available_borrows_base: int
    current_liquidation_threshold: int
    ltv: int
    health_factor: int

    @classmethod
    def from_totals(
        cls, collateral: int, debt: int, avg_ltv: int, avg_lt: int, hf: int, *, floor_available: bool = False
    ) -> AccountData:
        """Fill ``available_borrows_base`` as ``GenericLogic.calculateAvailableBorrows`` does.

        v3.0 takes ``percentMul`` (half up) of the collateral; v3.6 ``percentMulFloor`` (``floor_available``).
        """
        borrowable = collateral * avg_ltv // PERCENTAGE_FACTOR if floor_available else percent_mul(collateral, avg_ltv)
        available = borrowable - debt if borrowable >= debt else 0
        return cls(collateral, debt, available, avg_lt, avg_ltv, hf)


def user_account_data(
    market: MarketInputs, account: AccountInput, prices: Mapping[str, int] | None = None
) -> AccountData:
    """``getUserAccountData(account)`` for ``market`` (``prices`` overrides oracle prices by address)."""
    price_of = market.prices()
    if prices is not None:
        price_of.update({k.lower(): v for k, v in prices.items()})
    by_id = {r.reserve_id: r for r in market.reserves}
    categories = {c.category_id: c for c in market.emode_categories}
    config = account.user_configuration
    unknown = set(account.positions) - {r.asset for r in market.reserves}
    if unknown:
        raise DataError(f"account {account.address}: positions in unknown reserves {sorted(unknown)}")

    # Branch: empty configuration returns early with HF = max.
    if config == 0:
        return AccountData(0, 0, 0, 0, 0, UINT256_MAX)
    if market.maths == "v3.6":
        return _user_account_data_v36(account, by_id, categories, price_of)

    user_cat = account.emode_category
    emode_ltv = emode_lt = emode_price = 0
    if user_cat != 0:
        cat = categories.get(user_cat)
        if cat is None:
            raise DataError(f"account {account.address}: e-mode category {user_cat} not configured")
        emode_ltv, emode_lt = cat.ltv, cat.liquidation_threshold
        if cat.has_price_source:
            emode_price = price_of[cat.price_source]

    collateral = debt = sum_ltv = sum_lt = 0
    for i in range(128):
        bits = (config >> (2 * i)) & 3
        if bits == 0:
            continue
        reserve = by_id.get(i)
        if reserve is None:
            raise DataError(f"account {account.address}: configuration flags reserve id {i} unknown to the market")
        pos = account.position(reserve.asset)
        unit = 10**reserve.decimals
        in_category = user_cat != 0 and reserve.emode_category == user_cat
        # Branch: the e-mode price source replaces the oracle price only when it is set and non-zero.
        price = emode_price if emode_price != 0 and in_category else price_of[reserve.asset]

        # Branch: collateral counts only when flagged and the reserve's own LT is non-zero.
        if reserve.liquidation_threshold != 0 and bits & 2:
            value = ray_mul(pos.scaled_atoken, reserve.normalized_income) * price // unit
            collateral += value
            # Branch: a zero reserve LTV adds nothing to the LTV average, whatever the e-mode LTV.
            if reserve.ltv != 0:
                sum_ltv += value * (emode_ltv if in_category else reserve.ltv)
            sum_lt += value * (emode_lt if in_category else reserve.liquidation_threshold)

        if bits & 1:
            owed = ray_mul(pos.scaled_variable_debt, reserve.normalized_variable_debt) + pos.stable_debt
            debt += price * owed // unit

    avg_ltv = sum_ltv // collateral if collateral else 0
    avg_lt = sum_lt // collateral if collateral else 0
    # Branch: no debt means HF = type(uint256).max.
    hf = UINT256_MAX if debt == 0 else wad_div(percent_mul(collateral, avg_lt), debt)
    return AccountData.from_totals(collateral, debt, avg_ltv, avg_lt, hf)


def _user_account_data_v36(
    account: AccountInput,
    by_id: Mapping[int, ReserveInput],
    categories: Mapping[int, EModeCategoryInput],
    price_of: Mapping[str, int],
) -> AccountData:
    """Aave v3.6 ``GenericLogic.calculateUserAccountData``: liquid e-mode, v3.5 rounding, no stable debt."""
    user_cat = account.emode_category
    cat = categories.get(user_cat) if user_cat else None
    if user_cat and cat is None:
        raise DataError(f"account {account.address}: e-mode category {user_cat} not configured")
    config = account.user_configuration
    collateral = debt = sum_ltv = sum_lt = 0
    for i in range(128):
        bits = (config >> (2 * i)) & 3
        if bits == 0:
            continue
        reserve = by_id.get(i)
        if reserve is None:
            raise DataError(f"account {account.address}: configuration flags reserve id {i} unknown to the market")
        pos = account.position(reserve.asset)
        unit = 10**reserve.decimals
        price = price_of[reserve.asset]
        # Branch: every flagged collateral counts; its aToken balance and value round down.
        if bits & 2:
            value = pos.scaled_atoken * reserve.normalized_income // RAY * price // unit
            collateral += value
            in_category = cat is not None and cat.counts_as_collateral(i, reserve.emode_category)
            # Branch: the category's LT/LTV apply to reserves in its collateral bitmap (LTV 0 if in ltvzero).
            if cat is not None and in_category:
                sum_ltv += value * (0 if (cat.ltvzero_bitmap >> i) & 1 else cat.ltv)
                sum_lt += value * cat.liquidation_threshold
            else:
                sum_ltv += value * reserve.ltv
                sum_lt += value * reserve.liquidation_threshold
        # Branch: the debt balance and its value round up.
        if bits & 1:
            owed = -(-pos.scaled_variable_debt * reserve.normalized_variable_debt // RAY)
            debt += -(-owed * price // unit)
    avg_ltv = sum_ltv // collateral if collateral else 0
    avg_lt = sum_lt // collateral if collateral else 0
    hf = UINT256_MAX if debt == 0 else (sum_lt * WAD + debt // 2) // debt // PERCENTAGE_FACTOR
    return AccountData.from_totals(collateral, debt, avg_ltv, avg_lt, hf, floor_available=True)
