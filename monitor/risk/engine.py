"""Cascade projection: shock, then liquidation rounds with DEX sales feeding the oracle (see the package
docstring for the model). :class:`Projector` keeps what several projections on one book share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import NDArray

from monitor.dex import PoolState
from monitor.errors import DataError
from monitor.risk.health import Health, evaluate
from monitor.risk.market import CascadeBook, resolve_shocks
from monitor.risk.params import ModelParams, Scenario
from monitor.risk.prune import at_risk
from monitor.risk.results import CascadeResult, Toxic
from monitor.risk.rounds import Run, set_oracle
from monitor.risk.venues import Venue

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]
Selector = Callable[[F64, F64], Idx]

#: First guess of how far prices may fall below the shocked prices: shocked assets, other assets with a pool.
MARGIN_SHOCKED = 0.10
MARGIN_OTHER = 0.03
#: Widening after a projection left its bounds, and how many tries before following every account with debt.
WIDEN = 0.10
ATTEMPTS = 3


class Projector:
    """Projections of scenarios on one book, with one venue per sold asset and one set of model parameters."""

    def __init__(
        self, book: CascadeBook, venues: Mapping[str, Venue] | None = None, params: ModelParams | None = None
    ) -> None:
        if not isinstance(book, CascadeBook):
            raise DataError("Projector needs a CascadeBook (CascadeBook.from_book(book))")
        self.book = book
        self.market = book.market
        self.params = params or ModelParams()
        self.venues: dict[int, Venue] = {}
        for v in (venues or {}).values():
            col = self.market.column.get(v.asset)
            if col is None:
                raise DataError(f"venue for {v.asset}: not a reserve of the market")
            if col in self.venues:
                raise DataError(f"two venues for {v.asset}")
            self.venues[col] = v
        self.owing: Idx = np.flatnonzero((book.debt > 0).any(axis=0))

    # -- shock ------------------------------------------------------------------------------------------------

    def shock(self, shocks: Mapping[int, float]) -> tuple[F64, dict[int, PoolState]]:
        """Oracle prices (per slot) and pool states right after the shocks."""
        prices = self.market.prices.copy()
        pools = {j: v.pool for j, v in self.venues.items()}
        for slot, change in sorted(shocks.items()):
            venue = self.venues.get(slot)
            if venue is not None:
                # Branch: an asset with a pool -> an outside trade moves the pool; the oracle follows it.
                pools[slot] = venue.shocked(pools[slot], change)
                set_oracle(prices, slot, float(venue.price_8dec(pools[slot])), self.params.oracle_deviation)
            else:
                # Branch: no pool -> the oracle price itself moves.
                prices[slot] = max(math.floor(prices[slot] * (1.0 + change)), 1.0)
        return prices, pools

    # -- projection -------------------------------------------------------------------------------------------

    def project(self, scenario: Scenario | Mapping[str, float]) -> CascadeResult:
        """Project one scenario (``{asset or symbol: change}``)."""
        sc = scenario if isinstance(scenario, Scenario) else Scenario(scenario)
        shocks = resolve_shocks(self.market, sc.shocks)
        prices, pools = self.shock(shocks)
        lo, hi = self.bounds(prices, shocks)
        run = self.run_bounded(prices, pools, lo, hi, lambda lo_, hi_: at_risk(self.book, lo_, hi_))
        return self.result(run, shocks, prices)

    def bounds(self, shocked: F64, shocks: Mapping[int, float]) -> tuple[F64, F64]:
        """First guess of the price range a projection from ``shocked`` stays in."""
        p0 = self.market.prices
        margin = np.zeros(p0.size)
        for j in self.venues:
            margin[j] = MARGIN_SHOCKED if j in shocks else MARGIN_OTHER
        lo = np.minimum(p0, shocked) * (1.0 - margin) * (1.0 - 1e-12)
        hi = np.maximum(p0, shocked) * (1.0 + margin / 3.0) * (1.0 + 1e-12)
        return lo, hi

    def run_bounded(self, prices: F64, pools: dict[int, PoolState], lo: F64, hi: F64, select: Selector) -> Run:
        """Run on the accounts ``select(lo, hi)`` finds at risk; widen until the run stays in its bounds."""
        for _ in range(ATTEMPTS):
            run = Run(self.book, self.venues, self.params, select(lo, hi), prices, pools)
            run.run()
            if np.all(run.seen_lo >= lo) and np.all(run.seen_hi <= hi):
                return run
            lo = np.minimum(lo, run.seen_lo * (1.0 - WIDEN))
            hi = np.maximum(hi, run.seen_hi * (1.0 + WIDEN))
        # Branch: still outside -> follow every account with debt (exact by construction).
        run = Run(self.book, self.venues, self.params, self.owing, prices, pools)
        run.run()
        return run

    # -- outputs ----------------------------------------------------------------------------------------------

    def result(self, run: Run, shocks: Mapping[int, float], shocked_prices: F64) -> CascadeResult:
        """Assemble the outputs of a finished run (``shocked_prices``: the oracle right after the shock)."""
        m = self.market
        c0, d0 = self.book.collateral[:, run.rows], self.book.debt[:, run.rows]
        before = evaluate(m, c0, d0, run.groups, m.prices)
        after = evaluate(m, c0, d0, run.groups, shocked_prices)
        h = run.health
        bad_usd, bad_n = run.bad_debt()
        empty0 = (before.t == 0) & (before.d > 0)
        liq_end = h.liquidatable
        extra: dict[str, float] = {}
        amp: dict[str, float] = {}
        for slot, change in shocks.items():
            if change >= 0:
                continue
            final_drop = 1.0 - float(run.prices[slot] / m.prices[slot])
            extra[m.slots[slot]] = final_drop + change
            amp[m.slots[slot]] = final_drop / -change
        return CascadeResult(
            shocks={m.slots[s]: c for s, c in shocks.items()},
            rules=self.params.rules,
            initial_prices_usd=self._usd(m.prices, shocks),
            shocked_prices_usd=self._usd(shocked_prices, shocks),
            final_prices_usd=self._usd(run.prices, shocks),
            rounds=tuple(run.rounds),
            debt_repaid_usd=sum(r.debt_repaid_usd for r in run.rounds),
            collateral_seized_usd=sum(r.collateral_seized_usd for r in run.rounds),
            protocol_fee_usd=sum(r.protocol_fee_usd for r in run.rounds),
            accounts_liquidated=int(np.count_nonzero(run.touched)),
            liquidations=run.liquidations,
            bad_debt_usd=bad_usd,
            bad_debt_accounts=bad_n,
            bad_debt_before_usd=float(before.d[empty0].sum()) / 1e8,
            deficit_usd=run.deficit_usd,
            unliquidated_accounts=int(np.count_nonzero(liq_end)),
            unliquidated_debt_usd=float(h.d[liq_end].sum()) / 1e8,
            shortfall_usd=float(np.maximum(h.d - h.t, 0.0).sum()) / 1e8,
            toxic_before_shock=self.toxic(c0, run.rows, before),
            toxic_after_shock=self.toxic(c0, run.rows, after),
            converged=run.converged,
            extra_drop=extra,
            amplification=amp,
        )

    def _usd(self, prices: F64, shocks: Mapping[int, float]) -> dict[str, float]:
        out = self.market.usd(prices)
        for slot in shocks:
            out[self.market.slots[slot]] = float(prices[slot]) / 1e8
        return out

    def toxic(self, c: F64, rows: Idx, h: Health) -> Toxic:
        """Liquidatable accounts with ``LT x bonus > HF`` on some held collateral."""
        m = self.market
        at = np.flatnonzero(h.liquidatable)
        cat = self.book.emode[rows[at]]
        edge = (m.lt_table[cat] * m.bonus_table[cat]).T / 1e8  # (R, k)
        tox = ((c[:, at] > 0) & (edge > h.hf[at])).any(axis=0)
        sel = at[tox]
        return Toxic(int(sel.size), float(h.d[sel].sum()) / 1e8, float(h.t[sel].sum()) / 1e8)


def project(
    book: CascadeBook,
    venues: Mapping[str, Venue] | None,
    scenario: Scenario | Mapping[str, float],
    params: ModelParams | None = None,
) -> CascadeResult:
    """One projection (see :class:`Projector` to run many on one book)."""
    return Projector(book, venues, params).project(scenario)
