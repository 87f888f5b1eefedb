"""The round loop of one projection over a set of followed accounts (see :mod:`monitor.risk.engine`).

Each round: the accounts liquidatable at the round's oracle prices (and eligible under the latency option)
are liquidated once each, all at those prices; the collateral the liquidators received is then sold into each
asset's pool in reserve order and each sold asset's oracle is set to its pool's new spot price. The loop ends
when no account is liquidatable, when a round achieves nothing, or at the round limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.dex import PoolState
from monitor.risk.health import Health, category_groups, evaluate
from monitor.risk.liquidation import Amounts, Terms, choose, liquidate
from monitor.risk.market import CascadeBook
from monitor.risk.params import ModelParams
from monitor.risk.results import RoundResult
from monitor.risk.venues import Venue

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]


@dataclass
class Outcome:
    """What one round's liquidations did (successful calls only)."""

    count: int
    debt_usd: float
    seized_usd: float
    fee_usd: float
    received: F64  # per reserve, token units
    skipped: int


def set_oracle(prices: F64, slot: int, new: float, deviation: float) -> None:
    """Move an oracle to ``new`` unless the move is within the deviation threshold."""
    old = prices[slot]
    # Branch: with a threshold the oracle only follows moves larger than it.
    if deviation == 0.0 or abs(new / old - 1.0) > deviation:
        prices[slot] = new


class Run:
    """Mutable state of one projection: followed accounts' balances, prices, pools, rounds so far."""

    def __init__(
        self,
        book: CascadeBook,
        venues: dict[int, Venue],
        params: ModelParams,
        rows: Idx,
        prices: F64,
        pools: dict[int, PoolState],
    ) -> None:
        self.m = book.market
        self.venues = venues
        self.params = params
        self.rows = rows
        self.c: F64 = book.collateral[:, rows]
        self.d: F64 = book.debt[:, rows]
        self.emode = book.emode[rows]
        self.groups = category_groups(self.emode)
        self.prices = prices.copy()
        self.pools = dict(pools)
        self.first = np.full(rows.size, -1, dtype=np.int64)
        self.touched = np.zeros(rows.size, dtype=bool)
        self.deficit = np.zeros(rows.size, dtype=bool)
        self.deficit_usd = 0.0
        self.liquidations = 0
        self.rounds: list[RoundResult] = []
        self.converged = False
        self.seen_lo = prices.copy()
        self.seen_hi = prices.copy()
        self.health = self.evaluate()

    def evaluate(self) -> Health:
        """Health of the followed accounts at the current prices (and remember the prices visited)."""
        np.minimum(self.seen_lo, self.prices, out=self.seen_lo)
        np.maximum(self.seen_hi, self.prices, out=self.seen_hi)
        return evaluate(self.m, self.c, self.d, self.groups, self.prices)

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Rounds until nothing is liquidatable, nothing happens, or the round limit."""
        p = self.params
        while True:
            liq = self.health.liquidatable
            if not liq.any():
                self.converged = True
                return
            if len(self.rounds) >= p.max_rounds:
                return
            number = len(self.rounds) + 1
            self.first[liq & (self.first < 0)] = number
            self.first[~liq] = -1
            # Branch: latency -> only accounts liquidatable for `latency_rounds` rounds already are eligible.
            eligible = liq & (number - self.first >= p.latency_rounds)
            waiting = int(np.count_nonzero(liq & ~eligible))
            outcome = self.liquidate(np.flatnonzero(eligible))
            sold = self.sell(outcome.received)
            self.health = self.evaluate()
            self.rounds.append(self.record(number, outcome, sold, waiting))
            if outcome.count == 0 and waiting == 0:
                return  # nothing can happen any more: every remaining call reverts or is skipped

    def record(self, number: int, o: Outcome, sold: F64, waiting: int) -> RoundResult:
        """The round's row of the rounds table."""
        m = self.m
        bad_usd, bad_n = self.bad_debt()
        return RoundResult(
            round=number,
            accounts_liquidated=o.count,
            debt_repaid_usd=o.debt_usd,
            collateral_seized={m.assets[j]: float(o.received[j] / m.units[j]) for j in np.flatnonzero(o.received)},
            collateral_seized_usd=o.seized_usd,
            protocol_fee_usd=o.fee_usd,
            collateral_sold={m.assets[j]: float(sold[j] / m.units[j]) for j in np.flatnonzero(sold)},
            oracle_prices_usd=m.usd(self.prices),
            bad_debt_usd=bad_usd,
            bad_debt_accounts=bad_n,
            skipped=o.skipped + waiting,
        )

    def bad_debt(self) -> tuple[float, int]:
        """Debt of accounts with no collateral (at current prices) plus deficits, and how many accounts."""
        h = self.health
        empty = (h.t == 0) & (h.d > 0)
        usd = float(h.d[empty].sum()) / 1e8 + self.deficit_usd
        return usd, int(np.count_nonzero(empty | self.deficit))

    # -- one round's liquidations -----------------------------------------------------------------------------

    def terms(self, at: Idx) -> tuple[Terms, Idx, Idx]:
        """The liquidator's pick and the call's inputs for followed positions ``at``."""
        m, prices = self.m, self.prices
        c, d = self.c[:, at], self.d[:, at]
        jc, jd = choose(m, c, d, prices)
        cols = np.arange(at.size)
        cat = self.emode[at]
        h = self.health
        terms = Terms(
            bal=c[jc, cols],
            debt=d[jd, cols],
            pc=prices[m.slot_table[cat, jc]],
            pd=prices[m.slot_table[cat, jd]],
            uc=m.units[jc],
            ud=m.units[jd],
            bonus=m.bonus_table[cat, jc],
            fee=m.protocol_fee[jc],
            hf=h.hf[at],
            total_collateral=h.t[at],
            total_debt=h.d[at],
        )
        return terms, jc, jd

    def liquidate(self, at: Idx) -> Outcome:
        """Liquidate positions ``at`` once each (those the options allow) and update balances."""
        m, p = self.m, self.params
        received = np.zeros(m.size)
        if at.size == 0:
            return Outcome(0, 0.0, 0.0, 0.0, received, 0)
        terms, jc, jd = self.terms(at)
        cap = np.full(at.size, np.inf)
        out = liquidate(terms, cap, p.rules)
        own_c = self.prices[jc] / m.units[jc] / 1e8  # USD per token unit at the assets' own oracle prices
        own_d = self.prices[jd] / m.units[jd] / 1e8
        ok = out.ok.copy()
        if p.profit_filter:
            # Branch: gas and minimum profit -> unprofitable calls are not sent.
            profit = out.received * own_c - out.debt * own_d - p.gas_cost_usd
            ok &= profit >= p.min_profit_usd
        if math.isfinite(p.liquidator_capital_usd):
            ok = self._within_capital(terms, out, ok, own_c, own_d)
        sel = np.flatnonzero(ok)
        self._apply(at[sel], jc[sel], jd[sel], out, sel)
        debt_usd = float((out.debt[sel] * own_d[sel]).sum())
        seized_usd = float((out.received[sel] * own_c[sel]).sum())
        fee_usd = float((out.fee[sel] * own_c[sel]).sum())
        received = np.bincount(jc[sel], weights=out.received[sel], minlength=m.size).astype(np.float64)
        return Outcome(int(sel.size), debt_usd, seized_usd, fee_usd, received, int(at.size - sel.size))

    def _within_capital(self, terms: Terms, out: Amounts, ok: Bool, own_c: F64, own_d: F64) -> Bool:
        """Capital per round: the most profitable calls first; the marginal call repays what is left."""
        budget = self.params.liquidator_capital_usd
        cand = np.flatnonzero(ok)
        profit = out.received[cand] * own_c[cand] - out.debt[cand] * own_d[cand]
        order = cand[np.argsort(-profit, kind="stable")]
        spend = np.cumsum(out.debt[order] * own_d[order])
        fits = int(np.searchsorted(spend, budget, side="right"))
        keep = np.zeros(ok.size, dtype=bool)
        keep[order[:fits]] = True
        if fits < order.size:
            left = budget - (float(spend[fits - 1]) if fits else 0.0)
            i = order[fits : fits + 1]
            units = np.floor(np.array([left]) / own_d[i])
            if units[0] >= 1.0:
                part = liquidate(terms.take(i), units, self.params.rules)
                if part.ok[0]:
                    for name in ("collateral", "debt", "fee", "received", "capped", "no_collateral_left"):
                        getattr(out, name)[i] = getattr(part, name)
                    keep[i] = True
        return keep

    def _apply(self, at: Idx, jc: Idx, jd: Idx, out: Amounts, sel: Idx) -> None:
        """Move the balances of successful calls (``sel`` indexes ``out``)."""
        coll = self.c[jc, at]
        self.c[jc, at] = np.where(out.capped[sel], 0.0, np.maximum(coll - out.collateral[sel], 0.0))
        self.d[jd, at] = np.maximum(self.d[jd, at] - out.debt[sel], 0.0)
        self.touched[at] = True
        self.liquidations += int(at.size)
        if self.params.rules == "v3.3":
            # Branch (v3.3): no collateral left -> the remaining debt is burned into reserve deficits.
            gone = at[out.no_collateral_left[sel]]
            if gone.size:
                left = self.d[:, gone]
                self.deficit_usd += float((left * (self.prices[: self.m.size] / self.m.units)[:, None]).sum()) / 1e8
                self.d[:, gone] = 0.0
                self.deficit[gone] = True

    # -- sales ------------------------------------------------------------------------------------------------

    def sell(self, received: F64) -> F64:
        """Sell the round's received collateral (the DEX share of it) into each asset's pool; move oracles."""
        sold = np.zeros(self.m.size)
        share = self.params.dex_sell_share
        for j in np.flatnonzero(received).tolist():
            venue = self.venues.get(j)
            if venue is None:
                continue  # Branch: no pool (e.g. the quote asset): held, no price impact
            amount = math.floor(received[j] * share)
            done = venue.sell(self.pools[j], amount)
            if done is None:
                continue
            self.pools[j] = done[0]
            sold[j] = float(amount)
            set_oracle(self.prices, j, float(venue.price_8dec(self.pools[j])), self.params.oracle_deviation)
        return sold
