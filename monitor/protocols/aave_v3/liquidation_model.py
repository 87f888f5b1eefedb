"""Aave v3's health check and ``liquidationCall`` for the cascade engine (:class:`AaveV3Liquidation`).

Health follows ``GenericLogic`` on float balances with its integer steps; accounts of a risk class (an e-mode
category) are redone with their class's vectors. The maths of the pool's code (``maths``):

- ``v3.0``: per position the base-currency value is floored (``balance * price / 10**decimals``), the
  average LT is floored to whole basis points, ``percentMul`` rounds half up, and HF < 1 is
  ``adjusted < debt`` in base units;
- ``v3.6`` (v3.5 rounding): collateral values floored, debt values rounded up (``mulDivCeil``), and
  ``HF = sum(value * LT) / debt / 1e4`` without an average LT (HF < 1 is ``sum(value * LT) < debt * 1e4``).

Liquidation amounts follow ``LiquidationLogic`` (aave-v3-core v3.0.2, ``_calculateDebt`` and
``_calculateAvailableCollateralToLiquidate``; aave-v3-origin v3.3 for the position-level close factor, the
dust rule and deficits) on float64 token units with the contracts' integer floors:

- the liquidator picks the collateral and the debt reserve with the largest value at their own oracle prices
  (``floor(balance * price / 10**decimals)``, a tie going to the larger symbol: the devnet liquidator's rule);
- base collateral = ``floor(debtPrice * cover * collUnit / (collPrice * debtUnit))``, times the bonus
  (``percentMul``); above the balance, the whole balance is taken and the debt needed is scaled down
  (``percentDiv`` of the balance's debt value; v3.6: ``percentDivCeil``);
- protocol fee = ``percentMul(collateral - percentDiv(collateral, bonus), fee)``, to the treasury; the
  liquidator receives the rest;
- a call whose debt repaid or collateral received is 0 reverts (a zero burn);
- v3.0: close factor 50% of the reserve's debt while HF > 0.95, 100% below; v3.3: 50% of the total debt only
  when both reserve positions are >= $2,000 (v3.6: the reserve's debt value rounded up), the remaining debt of
  every reserve burned into its deficit when the collateral runs out, and no partial liquidation leaving less
  than $1,000 of the reserve's debt or collateral (``MustNotLeaveDust``). A liquidator sending
  ``debtToCover = type(uint256).max`` gets that call reverted: the account waits for the next round (by then
  prices may have moved it below HF 0.95 and the whole reserve may go). Only a call limited by the engine's
  ``cover_cap`` (liquidator capital) is reduced to the largest amount that leaves no dust.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.risk.health import FLOOR_NUDGE, Health, members, own_unit_prices, unit_prices
from monitor.risk.market import RiskMarket
from monitor.risk.model import Batch, Floors, LiquidationModel, Liquidations

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

Rules = Literal["v3.0", "v3.3"]
Maths = Literal["v3.0", "v3.6"]
#: The maths that goes with each rule set when none is given (v3.3 rules are modelled on v3.6's code).
DEFAULT_MATHS: dict[str, Maths] = {"v3.0": "v3.0", "v3.3": "v3.6"}
#: ``price / 10**decimals`` (floor-nudged up) times this, then rounded up, gives ``mulDivCeil``.
CEIL_UNNUDGE = 1.0 - 2.0**-48
#: A ratio ``sum(value * LT) / sum(value)`` within this of the next integer is taken as that integer.
AVERAGE_EPS = 1e-7
CLOSE_FACTOR_HF = 0.95
#: v3.3: a reserve position below this (base units, $2,000) may be closed at once.
MIN_BASE_MAX_CLOSE_FACTOR = 2000 * BASE_CURRENCY_UNIT
#: v3.3: a partial liquidation must leave at least this much debt and collateral (base units, $1,000).
MIN_LEFTOVER_BASE = 1000 * BASE_CURRENCY_UNIT


def as_rules(value: str) -> Rules:
    """``value`` as a rule set name, or :class:`DataError`."""
    for rules in get_args(Rules):
        if value == rules:
            return rules  # type: ignore[no-any-return]
    raise DataError(f"liquidation rules must be 'v3.0' or 'v3.3', got {value!r}")


# -- health -----------------------------------------------------------------------------------------------------


def _sums(c: F64, d: F64, up: F64, lt: F64, maths: Maths) -> tuple[F64, F64, F64]:
    x = np.multiply(c, up[:, None])
    np.floor(x, out=x)
    t: F64 = x.sum(axis=0)
    w: F64 = lt @ x
    np.multiply(d, up[:, None], out=x)
    if maths == "v3.6":
        # Branch (v3.5 rounding): debt values round up; undo the floor nudge first.
        x *= CEIL_UNNUDGE
        np.ceil(x, out=x)
    else:
        np.floor(x, out=x)
    return t, w, x.sum(axis=0)


def evaluate(market: RiskMarket, c: F64, d: F64, risk_class: I64, prices: F64, maths: Maths = "v3.0") -> Health:
    """Health of every column of ``c`` / ``d`` (accounts of classes ``risk_class``) at slot ``prices``."""
    t, w, debt = _sums(c, d, unit_prices(market, prices), market.lt, maths)
    for k, cols in members(market, risk_class).items():
        upc, ltc = unit_prices(market, prices, k), market.lt_of[k]
        t[cols], w[cols], debt[cols] = _sums(c[:, cols], d[:, cols], upc, ltc, maths)
    if maths == "v3.6":
        return health_from_weighted_sums(t, w, debt)
    return health_from_sums(t, w, debt)


def health_from_sums(t: F64, w: F64, d: F64) -> Health:
    """HF from counted collateral, LT-weighted collateral and debt (base units)."""
    has_coll = t > 0
    # Branch: the average LT is 0 without collateral, else floor(sum(value * LT) / total).
    avg = np.where(has_coll, np.floor(w / np.where(has_coll, t, 1.0) + AVERAGE_EPS), 0.0)
    adjusted = np.floor((t * avg + 5000.0) / 10_000.0)
    has_debt = d > 0
    # Branch: HF = adjusted / debt, or +inf (uint max) without debt.
    hf: F64 = np.where(has_debt, adjusted / np.where(has_debt, d, 1.0), np.inf)
    liq: Bool = has_debt & has_coll & (adjusted < d)
    return Health(t, w, d, hf, liq)


def health_from_weighted_sums(t: F64, w: F64, d: F64) -> Health:
    """v3.6: HF = ``sum(value * LT) / debt / 1e4`` (no average LT); HF < 1 is ``w < debt * 1e4``."""
    has_coll = t > 0
    has_debt = d > 0
    scaled = d * 10_000.0
    hf: F64 = np.where(has_debt, w / np.where(has_debt, scaled, 1.0), np.inf)
    liq: Bool = has_debt & has_coll & (w < scaled)
    return Health(t, w, d, hf, liq)


# -- one liquidationCall per account ----------------------------------------------------------------------------


def percent_mul(v: F64, p: F64 | float) -> F64:
    """``v * p / 1e4`` rounded half up."""
    out: F64 = np.floor((v * p + 5000.0) / 10_000.0)
    return out


def percent_div(v: F64, p: F64) -> F64:
    """``v * 1e4 / p`` rounded half up."""
    out: F64 = np.floor((v * 10_000.0 + np.floor(p / 2.0)) / p)
    return out


def percent_div_ceil(v: F64, p: F64) -> F64:
    """``v * 1e4 / p`` rounded up (``percentDivCeil``)."""
    num = v * 10_000.0
    q = np.floor(num / p)
    out: F64 = q + (num - q * p > 0)
    return out


def _largest(market: RiskMarket, x: F64, up: F64) -> Idx:
    """Per column, the held asset (balance > 0) ranked first by ``(floor(value), symbol)``.

    The rows are visited largest symbol first and a later row wins only with a strictly larger value, so a tie
    of values goes to the larger symbol; a column holding nothing gets the largest symbol, as a tie of -1s.
    One row at a time: a few temporaries of one row's length instead of a copy of every row (and no ``argmax``
    across rows, which numpy does on a transposed copy)."""
    order = market.symbol_order.tolist()
    n = x.shape[1]
    out: Idx = np.full(n, order[0], dtype=np.intp)
    best: F64 | None = None
    wins, step = np.empty(n, dtype=bool), np.empty(n, dtype=np.intp)
    for j in order:
        row = x[j]
        value = np.multiply(row, up[j])
        np.floor(value, out=value)
        value = np.where(row > 0, value, -1.0)  # not held: -1
        if best is None:
            best = value
            continue
        # the row wins where strictly larger; the index moves there by arithmetic (no masked assignment, which
        # costs about ten times as much on a scattered mask)
        np.greater(value, best, out=wins)
        np.subtract(j, out, out=step)
        step *= wins
        out += step
        np.maximum(best, value, out=best)
    return out


def choose(market: RiskMarket, c: F64, d: F64, prices: F64) -> tuple[Idx, Idx]:
    """Per column: the collateral and the debt reserve with the largest value at their own oracle prices.

    The liquidator ranks the held positions by ``(floor(balance * price / 10**decimals), symbol)``: the larger
    value, on a tie the larger symbol (``max`` over tuples, as monitor.devnet.liquidator does)."""
    up = own_unit_prices(market, prices)
    return _largest(market, c, up), _largest(market, d, up)


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


def debt_value(debt: F64, price: F64, unit: F64, maths: Maths) -> F64:
    """A debt's base-currency value: floored (v3.0) or ``mulDivCeil`` (v3.6)."""
    if maths == "v3.6":
        up: F64 = np.ceil(debt * (price / unit * FLOOR_NUDGE) * CEIL_UNNUDGE)
        return up
    down: F64 = np.floor(debt * price / unit)
    return down


def max_cover(terms: Terms, rules: Rules, maths: Maths = "v3.0") -> F64:
    """The most debt one call may repay: the close factor."""
    if rules == "v3.0":
        # Branch: 50% of the reserve's debt while HF > 0.95, 100% below.
        factor = np.where(terms.hf > CLOSE_FACTOR_HF, 5000.0, 10_000.0)
        return percent_mul(terms.debt, factor)
    coll_base = np.floor(terms.bal * terms.pc / terms.uc)
    debt_base = debt_value(terms.debt, terms.pd, terms.ud, maths)
    # Branch (v3.3): 50% of the *total* debt only when both reserve positions are >= $2,000 and HF > 0.95.
    half = (coll_base >= MIN_BASE_MAX_CLOSE_FACTOR) & (debt_base >= MIN_BASE_MAX_CLOSE_FACTOR)
    half &= terms.hf > CLOSE_FACTOR_HF
    allowed = percent_mul(terms.total_debt, 5000.0)
    reduce = half & (debt_base > allowed)
    out: F64 = np.where(reduce, np.floor(allowed * terms.ud / terms.pd), terms.debt)
    return out


def amounts(terms: Terms, cover: F64, rules: Rules, maths: Maths = "v3.0") -> Amounts:
    """``_calculateAvailableCollateralToLiquidate`` for ``cover`` debt, plus the v3.3 dust and deficit checks."""
    # nudged like the health factor's values: a quotient that is an exact integer must not floor one below it
    # (its float64 products pass 2**53; one unit less flips the capped branch where ``wanted`` meets ``bal``);
    # the price is that a quotient within 2**-50 relative below an integer floors to it (float64 cannot
    # tell those apart from the integer anyway)
    base = np.floor(terms.pd * cover * terms.uc / (terms.pc * terms.ud) * FLOOR_NUDGE)
    wanted = percent_mul(base, terms.bonus)
    capped = wanted > terms.bal
    # Branch: more than the balance -> take it all and repay only what it is worth.
    coll = np.where(capped, terms.bal, wanted)
    worth = np.floor(terms.pc * terms.bal * terms.ud / (terms.pd * terms.uc) * FLOOR_NUDGE)
    # Branch: v3.6 rounds the debt needed for the whole balance up (percentDivCeil), v3.0 half up.
    need = percent_div_ceil(worth, terms.bonus) if maths == "v3.6" else percent_div(worth, terms.bonus)
    debt = np.where(capped, need, cover)
    fee = np.where(terms.fee > 0, percent_mul(coll - percent_div(coll, terms.bonus), terms.fee), 0.0)
    received = coll - fee
    ok = (debt >= 1.0) & (received >= 1.0)
    no_left = np.zeros(coll.size, dtype=bool)
    if rules == "v3.3":
        partial = (debt < terms.debt) & (coll < terms.bal)
        debt_left = debt_value(terms.debt - debt, terms.pd, terms.ud, maths) >= MIN_LEFTOVER_BASE
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


def liquidate(terms: Terms, cover_cap: F64, rules: Rules, maths: Maths = "v3.0") -> Amounts:
    """Amounts of one call per account with ``debtToCover = min(max allowed, cover_cap)``, as a liquidator
    would send it. v3.3: the maximum the pool allows reverts where it would leave dust (the account waits);
    a call limited by ``cover_cap`` is reduced to the largest cover that leaves no dust."""
    most = max_cover(terms, rules, maths)
    cover = np.minimum(most, cover_cap)
    out = amounts(terms, cover, rules, maths)
    if rules == "v3.3" and not out.ok.all():
        redo = np.flatnonzero(~out.ok & (cover < most))
        sub = terms.take(redo)
        smaller = dust_free_cover(sub, cover[redo])
        again = amounts(sub, np.maximum(smaller, 0.0), rules, maths)
        good = again.ok & (smaller >= 1.0)
        pos = redo[good]
        for name in ("collateral", "debt", "fee", "received", "capped", "no_collateral_left"):
            getattr(out, name)[pos] = getattr(again, name)[good]
        out.ok[pos] = True
    return out


# -- the model the engine calls ---------------------------------------------------------------------------------


class AaveV3Liquidation(LiquidationModel):
    """Aave v3's health and liquidation rules (``v3.0`` or ``v3.3``) for the engine."""

    def __init__(self, rules: Rules = "v3.0", maths: Maths | None = None) -> None:
        if rules not in get_args(Rules):
            raise DataError(f"rules must be 'v3.0' or 'v3.3', got {rules!r}")
        if maths is not None and maths not in get_args(Maths):
            raise DataError(f"maths must be 'v3.0' or 'v3.6', got {maths!r}")
        self.rules: Rules = rules
        #: The pool's health-factor and seize rounding (default: the code the rules come from).
        self.maths: Maths = maths or DEFAULT_MATHS[rules]

    def health(self, market: RiskMarket, c: F64, d: F64, risk_class: I64, prices: F64) -> Health:
        """See :func:`evaluate`."""
        return evaluate(market, c, d, risk_class, prices, self.maths)

    def floors(self, market: RiskMarket) -> Floors:
        """Per position < 1 base unit floored away; the whole-bps average LT loses < 1 bps out of at least the
        smallest LT; ``percentMul`` half a unit; the debt < 1 unit per position (v3.6: debt values round up,
        < 1 unit per position more, taken on the collateral side)."""
        lts = np.concatenate([v[v > 0] for v in market.lt_of.values()])
        rel = 1.0 / float(lts.min()) if lts.size else 0.0
        up = float(market.size) if self.maths == "v3.6" else 0.0
        return Floors(relative=rel, slack=market.size * (1.0 - rel) + 0.5 + up, debt_slack=float(market.size))

    def liquidate(self, market: RiskMarket, batch: Batch, cover_cap: F64) -> Liquidations:
        """The bot's pick and one ``liquidationCall`` per account (see the module docstring)."""
        jc, jd = choose(market, batch.c, batch.d, batch.prices)
        cols = np.arange(jc.size)
        cls = batch.risk_class * market.size
        h = batch.health
        # one flat index per (reserve, column): a 1-D take, about twice as fast as indexing by two arrays
        terms = Terms(
            bal=np.take(batch.c.reshape(-1), jc * jc.size + cols),
            debt=np.take(batch.d.reshape(-1), jd * jd.size + cols),
            pc=batch.prices[market.slot_flat[cls + jc]],
            pd=batch.prices[market.slot_flat[cls + jd]],
            uc=market.units[jc],
            ud=market.units[jd],
            bonus=market.bonus_flat[cls + jc],
            fee=market.protocol_fee[jc],
            hf=h.hf,
            total_collateral=h.t,
            total_debt=h.d,
        )
        a = liquidate(terms, cover_cap, self.rules, self.maths)
        return Liquidations(jc, jd, a.collateral, a.debt, a.fee, a.received, a.capped, a.ok, a.no_collateral_left)
