"""The cascade engine's model (:mod:`monitor.risk.engine`) with Aave v3's rules (:mod:`.liquidation_model`),
written as a straightforward loop over accounts in plain Python: every round recomputes every account's health
factor, then liquidates the liquidatable ones one by one.

It is the yardstick of the benchmark (vectorised vs per-account loop) and an independent oracle for the tests:
on small markets both must agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.dex import PoolState
from monitor.protocols.aave_v3.liquidation_model import (
    CEIL_UNNUDGE,
    CLOSE_FACTOR_HF,
    AaveV3Liquidation,
)
from monitor.protocols.aave_v3.liquidation_model import MIN_BASE_MAX_CLOSE_FACTOR as MIN_BASE
from monitor.protocols.aave_v3.liquidation_model import MIN_LEFTOVER_BASE as MIN_LEFTOVER
from monitor.risk.health import FLOOR_NUDGE
from monitor.risk.market import CascadeBook, resolve_shocks
from monitor.risk.params import ModelParams, Scenario
from monitor.risk.venues import Venue


@dataclass
class LoopRound:
    """One round of the loop."""

    accounts_liquidated: int
    debt_repaid_usd: float
    oracle_prices_usd: dict[str, float]


@dataclass
class LoopResult:
    """What the loop reports (a subset of :class:`~monitor.risk.results.CascadeResult`)."""

    rounds: list[LoopRound] = field(default_factory=list)
    final_prices_usd: dict[str, float] = field(default_factory=dict)
    debt_repaid_usd: float = 0.0
    bad_debt_usd: float = 0.0
    bad_debt_accounts: int = 0
    accounts_liquidated: int = 0
    deficit_usd_by_reserve: dict[str, float] = field(default_factory=dict)


def _pmul(v: float, p: float) -> float:
    return math.floor((v * p + 5000.0) / 10_000.0)


def _pdiv(v: float, p: float) -> float:
    return math.floor((v * 10_000.0 + math.floor(p / 2.0)) / p)


def _largest(balances: list[float], unit_prices: list[float], symbols: tuple[str, ...]) -> int:
    """Index of the held position with the largest ``(floor(value), symbol)``."""
    best, key = 0, (-1.0, "")
    for j, (x, up) in enumerate(zip(balances, unit_prices, strict=True)):
        k = (math.floor(x * up), symbols[j])
        if x > 0 and k > key:
            best, key = j, k
    return best


class Loop:
    """Per-account state as Python lists (``c[i][j]``, ``d[i][j]``)."""

    def __init__(
        self, book: CascadeBook, venues: Mapping[str, Venue], params: ModelParams, model: AaveV3Liquidation
    ) -> None:
        self.m = book.market
        self.p = params
        self.rules = model.rules
        self.maths = model.maths
        self.c = book.collateral.T.tolist()
        self.d = book.debt.T.tolist()
        self.e = book.risk_class.tolist()
        self.venues = {self.m.column[v.asset]: v for v in venues.values()}
        self.prices = self.m.prices.tolist()
        self.pools: dict[int, PoolState] = {j: v.pool for j, v in self.venues.items()}
        self.deficit_usd = 0.0
        self.deficit_by_asset = [0.0] * self.m.size
        self.deficit: set[int] = set()
        self.first: dict[int, int] = {}
        self.touched: set[int] = set()

    def health(self, i: int) -> tuple[float, float, float, bool]:
        """``(t, d, hf, liquidatable)`` of account ``i`` at the current prices."""
        m, cat = self.m, self.e[i]
        slots, lts = m.slot_of[cat], m.lt_of[cat]
        t = w = dd = 0.0
        for j in range(m.size):
            up = self.prices[slots[j]] / m.units[j] * FLOOR_NUDGE
            x = math.floor(self.c[i][j] * up)
            t += x
            w += x * lts[j]
            dd += self._debt_value(self.d[i][j], up)
        if self.maths == "v3.6":
            hf = w / (dd * 10_000.0) if dd > 0 else math.inf
            return t, dd, hf, dd > 0 and t > 0 and w < dd * 10_000.0
        avg = math.floor(w / t + 1e-7) if t > 0 else 0.0
        adjusted = math.floor((t * avg + 5000.0) / 10_000.0)
        hf = adjusted / dd if dd > 0 else math.inf
        return t, dd, hf, dd > 0 and t > 0 and adjusted < dd

    def _debt_value(self, debt: float, up: float) -> float:
        """A debt's value from the nudged unit price: floored (v3.0) or rounded up (v3.6)."""
        if self.maths == "v3.6":
            return math.ceil(debt * up * CEIL_UNNUDGE)
        return math.floor(debt * up)

    def amounts(self, i: int, jc: int, jd: int, hf: float, t: float, dd: float, cap: float) -> tuple[float, ...]:
        """``(collateral, debt, fee, received, capped, ok, no_collateral_left)`` of one call."""
        m, cat, rules = self.m, self.e[i], self.rules
        bal, debt = self.c[i][jc], self.d[i][jd]
        pc, pd = self.prices[m.slot_table[cat, jc]], self.prices[m.slot_table[cat, jd]]
        uc, ud = m.units[jc], m.units[jd]
        bonus, fee_pct = m.bonus_table[cat, jc], m.protocol_fee[jc]
        if rules == "v3.0":
            cover = _pmul(debt, 5000.0 if hf > CLOSE_FACTOR_HF else 10_000.0)
        else:
            cover = debt
            debt_base = self._debt_value(debt, pd / ud * FLOOR_NUDGE)
            half = math.floor(bal * pc / uc) >= MIN_BASE and debt_base >= MIN_BASE
            allowed = _pmul(dd, 5000.0)
            if half and hf > CLOSE_FACTOR_HF and debt_base > allowed:
                cover = math.floor(allowed * ud / pd)
        most = cover
        cover = min(cover, cap)
        out = self._calc(bal, debt, pc, pd, uc, ud, bonus, fee_pct, t, cover)
        if rules == "v3.3" and not out[5] and cover < most:
            by_debt = debt - math.ceil(MIN_LEFTOVER * ud / pd)
            by_coll = math.floor(
                (bal - math.ceil(MIN_LEFTOVER * uc / pc)) * pc * ud * 10_000.0 / (pd * uc * bonus)
            ) - 1.0  # fmt: skip
            smaller = min(cover, by_debt, by_coll)
            again = self._calc(bal, debt, pc, pd, uc, ud, bonus, fee_pct, t, max(smaller, 0.0))
            if again[5] and smaller >= 1.0:
                out = again
        return out

    def _calc(self, bal: float, debt: float, pc: float, pd: float, uc: float, ud: float, bonus: float,
              fee_pct: float, t: float, cover: float) -> tuple[float, ...]:  # fmt: skip
        base = math.floor(pd * cover * uc / (pc * ud))
        wanted = _pmul(base, bonus)
        capped = wanted > bal
        coll = bal if capped else wanted
        worth = math.floor(pc * bal * ud / (pd * uc))
        if not capped:
            need = cover
        elif self.maths == "v3.6":
            need = math.floor(worth * 10_000.0 / bonus)
            need += float(worth * 10_000.0 - need * bonus > 0)
        else:
            need = _pdiv(worth, bonus)
        fee = _pmul(coll - _pdiv(coll, bonus), fee_pct) if fee_pct > 0 else 0.0
        received = coll - fee
        ok = need >= 1.0 and received >= 1.0
        no_left = False
        if self.rules == "v3.3":
            if need < debt and coll < bal:
                ok = ok and (
                    self._debt_value(debt - need, pd / ud * FLOOR_NUDGE) >= MIN_LEFTOVER
                    and math.floor((bal - coll) * pc / uc) >= MIN_LEFTOVER
                )
            no_left = t == math.floor(coll * (pc / uc * FLOOR_NUDGE))
        return coll, need, fee, received, float(capped), float(ok), float(no_left)

    def run_round(self, number: int) -> tuple[int, float, list[float], int] | None:
        """One round; None when nothing is liquidatable."""
        m, p = self.m, self.p
        liq = []
        for i in range(len(self.e)):
            t, dd, hf, is_liq = self.health(i)
            if is_liq:
                liq.append((i, t, dd, hf))
        live = {i for i, *_ in liq}
        for i in list(self.first):
            if i not in live:
                del self.first[i]
        if not liq:
            return None
        calls = []
        waiting = 0
        for i, t, dd, hf in liq:
            self.first.setdefault(i, number)
            if number - self.first[i] < p.latency_rounds:
                waiting += 1
                continue
            up = [self.prices[j] / m.units[j] * FLOOR_NUDGE for j in range(m.size)]
            jc = _largest(self.c[i], up, m.symbols)
            jd = _largest(self.d[i], up, m.symbols)
            out = self.amounts(i, jc, jd, hf, t, dd, math.inf)
            own_c = self.prices[jc] / m.units[jc] / m.price_unit
            own_d = self.prices[jd] / m.units[jd] / m.price_unit
            profit = out[3] * own_c - out[1] * own_d
            if not out[5] or (p.profit_filter and profit - p.gas_cost_usd < p.min_profit_usd):
                continue
            calls.append((profit, i, jc, jd, hf, t, dd, out, own_d))
        if math.isfinite(p.liquidator_capital_usd):
            calls = self._budget(calls)
        received = [0.0] * m.size
        repaid = 0.0
        for _, i, jc, jd, _, _, _, out, own_d in calls:
            coll, need, _, got, capped, _, no_left = out
            self.c[i][jc] = 0.0 if capped else max(self.c[i][jc] - coll, 0.0)
            self.d[i][jd] = max(self.d[i][jd] - need, 0.0)
            received[jc] += got
            repaid += need * own_d
            self.touched.add(i)
            if self.rules == "v3.3" and no_left:
                for j in range(m.size):
                    usd = self.d[i][j] * self.prices[j] / m.units[j] / m.price_unit
                    self.deficit_by_asset[j] += usd
                    self.deficit_usd += usd
                self.d[i] = [0.0] * m.size
                self.deficit.add(i)
        return len(calls), repaid, received, waiting

    def _budget(self, calls: list[tuple]) -> list[tuple]:  # type: ignore[type-arg]
        left = self.p.liquidator_capital_usd
        kept = []
        for call in sorted(calls, key=lambda x: -x[0]):
            profit, i, jc, jd, hf, t, dd, out, own_d = call
            cost = out[1] * own_d
            if cost <= left:
                kept.append(call)
                left -= cost
                continue
            units = math.floor(left / own_d)
            if units >= 1.0:
                part = self.amounts(i, jc, jd, hf, t, dd, units)
                if part[5]:
                    kept.append((profit, i, jc, jd, hf, t, dd, part, own_d))
            break
        return kept

    def sell(self, received: list[float]) -> None:
        """Sales and oracle moves after a round."""
        for j in range(self.m.size):
            v = self.venues.get(j)
            if v is None or received[j] <= 0:
                continue
            done = v.sell(self.pools[j], math.floor(received[j] * self.p.dex_sell_share))
            if done is None:
                continue
            self.pools[j] = done[0]
            self._oracle(j, float(v.spot_price(self.pools[j])))

    def _oracle(self, slot: int, new: float) -> None:
        dev = self.p.oracle_deviation
        if dev == 0.0 or abs(new / self.prices[slot] - 1.0) > dev:
            self.prices[slot] = new


def run_loop(
    book: CascadeBook,
    venues: Mapping[str, Venue],
    scenario: Scenario | Mapping[str, float],
    params: ModelParams | None = None,
    model: AaveV3Liquidation | None = None,
) -> LoopResult:
    """Project ``scenario`` with the per-account loop (``model``: the rules, default v3.0)."""
    p = params or ModelParams()
    sc = scenario if isinstance(scenario, Scenario) else Scenario(scenario)
    loop = Loop(book, venues, p, model or AaveV3Liquidation())
    m = loop.m
    for slot, change in sorted(resolve_shocks(m, sc.shocks).items()):
        v = loop.venues.get(slot)
        if v is not None:
            loop.pools[slot] = v.shocked(loop.pools[slot], change)
            loop._oracle(slot, float(v.spot_price(loop.pools[slot])))
        else:
            loop.prices[slot] = max(math.floor(loop.prices[slot] * (1.0 + change)), 1.0)
    res = LoopResult()
    for number in range(1, p.max_rounds + 1):
        out = loop.run_round(number)
        if out is None:
            break
        count, repaid, received, waiting = out
        if count == 0 and waiting == 0:
            break
        loop.sell(received)
        res.rounds.append(LoopRound(count, repaid, {a: loop.prices[j] / m.price_unit for j, a in enumerate(m.assets)}))
    res.final_prices_usd = {a: loop.prices[j] / m.price_unit for j, a in enumerate(m.assets)}
    res.debt_repaid_usd = sum(r.debt_repaid_usd for r in res.rounds)
    bad = 0.0
    n_bad = 0
    for i in range(len(loop.e)):
        if not any(x > 0 for x in loop.c[i]) and any(x > 0 for x in loop.d[i]):
            cat = loop.e[i]
            slots = m.slot_of[cat]
            bad += sum(loop.d[i][j] * loop.prices[slots[j]] / m.units[j] for j in range(m.size)) * FLOOR_NUDGE
            n_bad += 1
    res.bad_debt_usd = bad / m.price_unit + loop.deficit_usd
    res.bad_debt_accounts = n_bad + len(loop.deficit)
    res.accounts_liquidated = len(loop.touched)
    res.deficit_usd_by_reserve = {a: v for a, v in zip(m.assets, loop.deficit_by_asset, strict=True) if v > 0}
    return res
