"""One ``liquidationCall`` per account, vectorised: the liquidator's pick, the close factor and the amounts.

Amounts follow ``LiquidationLogic`` (aave-v3-core v3.0.2, ``_calculateDebt`` and
``_calculateAvailableCollateralToLiquidate``; aave-v3-origin v3.3 for the position-level close factor, the
dust rule and deficits) on float64 token units with the contracts' integer floors:

- base collateral = ``floor(debtPrice * cover * collUnit / (collPrice * debtUnit))``, times the bonus
  (``percentMul``); above the balance, the whole balance is taken and the debt needed is scaled down
  (``percentDiv`` of the balance's debt value);
- protocol fee = ``percentMul(collateral - percentDiv(collateral, bonus), fee)``, to the treasury; the
  liquidator receives the rest;
- a call whose debt repaid or collateral received is 0 reverts (a zero burn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.protocols.aave_v3.book.tables import FLOOR_NUDGE
from monitor.risk.health import own_unit_prices
from monitor.risk.market import RiskMarket
from monitor.risk.params import Rules

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

CLOSE_FACTOR_HF = 0.95
#: v3.3: a reserve position below this (base units, $2,000) may be closed at once.
MIN_BASE_MAX_CLOSE_FACTOR = 2000e8
#: v3.3: a partial liquidation must leave at least this much debt and collateral (base units, $1,000).
MIN_LEFTOVER_BASE = 1000e8


def percent_mul(v: F64, p: F64 | float) -> F64:
    """``v * p / 1e4`` rounded half up."""
    out: F64 = np.floor((v * p + 5000.0) / 10_000.0)
    return out


def percent_div(v: F64, p: F64) -> F64:
    """``v * 1e4 / p`` rounded half up."""
    out: F64 = np.floor((v * 10_000.0 + np.floor(p / 2.0)) / p)
    return out


def choose(market: RiskMarket, c: F64, d: F64, prices: F64) -> tuple[Idx, Idx]:
    """Per column: the collateral and the debt reserve with the largest USD value at their own oracle prices.

    The liquidator ranks ``(floor(value), symbol)``; ranking unfloored values differs only between positions
    within 1e-8 USD of each other."""
    up = own_unit_prices(market, prices)[:, None]
    jc: Idx = np.argmax(c * up, axis=0)
    jd: Idx = np.argmax(d * up, axis=0)
    return jc, jd


@dataclass
class Terms:
    """What one liquidation call reads, per account: balances of the chosen reserves (token units), the prices
    the pool uses (8 decimals), units, bonus and fee (bps), HF and the account totals (base units)."""

    bal: F64
    debt: F64
    pc: F64
    pd: F64
    uc: F64
    ud: F64
    bonus: F64
    fee: F64
    hf: F64
    total_collateral: F64
    total_debt: F64

    def take(self, rows: Idx) -> Terms:
        """The terms of ``rows`` only."""
        return Terms(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


@dataclass
class Amounts:
    """Per account: collateral taken (protocol fee included), debt repaid, fee, collateral the liquidator
    receives, whether the whole balance was taken, whether the call succeeds, and (v3.3) whether no collateral
    is left so the remaining debt becomes a deficit."""

    collateral: F64
    debt: F64
    fee: F64
    received: F64
    capped: Bool
    ok: Bool
    no_collateral_left: Bool


def max_cover(terms: Terms, rules: Rules) -> F64:
    """The most debt one call may repay: the close factor."""
    if rules == "v3.0":
        # Branch: 50% of the reserve's debt while HF > 0.95, 100% below.
        factor = np.where(terms.hf > CLOSE_FACTOR_HF, 5000.0, 10_000.0)
        return percent_mul(terms.debt, factor)
    coll_base = np.floor(terms.bal * terms.pc / terms.uc)
    debt_base = np.floor(terms.debt * terms.pd / terms.ud)
    # Branch (v3.3): 50% of the *total* debt only when both reserve positions are >= $2,000 and HF > 0.95.
    half = (coll_base >= MIN_BASE_MAX_CLOSE_FACTOR) & (debt_base >= MIN_BASE_MAX_CLOSE_FACTOR)
    half &= terms.hf > CLOSE_FACTOR_HF
    allowed = percent_mul(terms.total_debt, 5000.0)
    reduce = half & (debt_base > allowed)
    out: F64 = np.where(reduce, np.floor(allowed * terms.ud / terms.pd), terms.debt)
    return out


def amounts(terms: Terms, cover: F64, rules: Rules) -> Amounts:
    """``_calculateAvailableCollateralToLiquidate`` for ``cover`` debt, plus the v3.3 dust and deficit checks."""
    base = np.floor(terms.pd * cover * terms.uc / (terms.pc * terms.ud))
    wanted = percent_mul(base, terms.bonus)
    capped = wanted > terms.bal
    # Branch: more than the balance -> take it all and repay only what it is worth.
    coll = np.where(capped, terms.bal, wanted)
    worth = np.floor(terms.pc * terms.bal * terms.ud / (terms.pd * terms.uc))
    debt = np.where(capped, percent_div(worth, terms.bonus), cover)
    fee = np.where(terms.fee > 0, percent_mul(coll - percent_div(coll, terms.bonus), terms.fee), 0.0)
    received = coll - fee
    ok = (debt >= 1.0) & (received >= 1.0)
    no_left = np.zeros(coll.size, dtype=bool)
    if rules == "v3.3":
        partial = (debt < terms.debt) & (coll < terms.bal)
        debt_left = np.floor((terms.debt - debt) * terms.pd / terms.ud) >= MIN_LEFTOVER_BASE
        coll_left = np.floor((terms.bal - coll) * terms.pc / terms.uc) >= MIN_LEFTOVER_BASE
        # Branch (v3.3): a partial liquidation may not leave dust (MUST_NOT_LEAVE_DUST).
        ok &= ~partial | (debt_left & coll_left)
        # same expression as the health factor's per-position value, so equal integers compare equal
        no_left = terms.total_collateral == np.floor(coll * (terms.pc / terms.uc * FLOOR_NUDGE))
    return Amounts(coll, debt, fee, received, capped, ok, no_left)


def dust_free_cover(terms: Terms, cover: F64) -> F64:
    """v3.3: the largest cover below ``cover`` that leaves >= $1,000 of both debt and collateral."""
    debt_room = terms.debt - np.ceil(MIN_LEFTOVER_BASE * terms.ud / terms.pd)
    coll_room = terms.bal - np.ceil(MIN_LEFTOVER_BASE * terms.uc / terms.pc)
    by_coll = np.floor(coll_room * terms.pc * terms.ud * 10_000.0 / (terms.pd * terms.uc * terms.bonus)) - 1.0
    out: F64 = np.minimum(cover, np.minimum(debt_room, by_coll))
    return out


def liquidate(terms: Terms, cover_cap: F64, rules: Rules) -> Amounts:
    """Amounts of one call per account with ``debtToCover = min(max allowed, cover_cap)``, as a liquidator
    would send it (v3.3: reduced where the maximum would leave dust)."""
    cover = np.minimum(max_cover(terms, rules), cover_cap)
    out = amounts(terms, cover, rules)
    if rules == "v3.3" and not out.ok.all():
        redo = np.flatnonzero(~out.ok)
        sub = terms.take(redo)
        smaller = dust_free_cover(sub, cover[redo])
        again = amounts(sub, np.maximum(smaller, 0.0), rules)
        good = again.ok & (smaller >= 1.0)
        pos = redo[good]
        for name in ("collateral", "debt", "fee", "received", "capped", "no_collateral_left"):
            getattr(out, name)[pos] = getattr(again, name)[good]
        out.ok[pos] = True
    return out
