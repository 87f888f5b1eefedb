"""Cascade projection: shock, then liquidation rounds with DEX sales feeding the oracle (see the package
docstring for the model). :class:`Projector` keeps what several projections on one book share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from monitor.dex import PoolState
from monitor.errors import DataError
from monitor.risk.baseline import Baseline, baseline
from monitor.risk.dust import Dust, dust
from monitor.risk.health import toxic
from monitor.risk.locality import locality_order
from monitor.risk.market import CascadeBook, resolve_shocks
from monitor.risk.model import LiquidationModel
from monitor.risk.oracles import Oracles
from monitor.risk.params import ModelParams, Scenario
from monitor.risk.results import CascadeResult, Toxic
from monitor.risk.rounds import Run
from monitor.risk.screen import Exposure, may_liquidate
from monitor.risk.venue_set import SaleBook, VenueSet
from monitor.risk.venues import Venue

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]


class Projector:
    """Projections of scenarios on one book, with one venue (or venue set) per sold asset and one set of model
    parameters.

    ``model`` is the protocol's health check and liquidation rules. The first projection pays for what every
    later one reuses: the accounts' linear sums at the market's prices and, per shocked price, its share of them,
    and (unless ``arrange`` is False) the accounts put in an order that makes each projection cheaper
    (:meth:`arrange`).
    """

    #: The round loop a projection runs (a benchmark may replay a given price path instead of selling).
    run_type: type[Run] = Run

    def __init__(
        self,
        book: CascadeBook,
        venues: Mapping[str, Venue | VenueSet] | None = None,
        params: ModelParams | None = None,
        *,
        model: LiquidationModel,
        arrange: bool = True,
    ) -> None:
        if not isinstance(book, CascadeBook):
            raise DataError("Projector needs a CascadeBook (the protocol's risk table)")
        if not isinstance(model, LiquidationModel):
            raise DataError("Projector needs the protocol's LiquidationModel")
        #: The accounts the engine works on: the book given, or its accounts rearranged (:meth:`arrange`).
        self.book = book
        #: After :meth:`arrange`: ``order[i]`` is the column of the book given that column ``i`` of :attr:`book`
        #: holds (None: the given order).
        self.order: Idx | None = None
        self.model = model
        self.market = book.market
        self.params = params or ModelParams()
        self.venues: dict[int, Venue | VenueSet] = {}
        for v in (venues or {}).values():
            col = self.market.column.get(v.asset)
            if col is None:
                raise DataError(f"venue for {v.asset}: not an asset of the market")
            if col in self.venues:
                raise DataError(f"two venues for {v.asset}")
            self.venues[col] = v
        self._exposure: Exposure | None = None
        self._arrange_on_first_use = arrange
        self._pos: NDArray[np.int64] | None = None
        self._buffers: tuple[F64, F64] | None = None
        self._empty: Idx | None = None
        self._before: tuple[Toxic, float] | None = None

    @property
    def exposure(self) -> Exposure:
        """Linear sums of every account (computed on first use, when the accounts are arranged unless the
        projector was made with ``arrange=False``)."""
        if self._exposure is None:
            self._exposure = Exposure(self.book, self.model)
            if self._arrange_on_first_use:
                self._rearrange(self._exposure)
        return self._exposure

    def arrange(self) -> None:
        """Put the accounts in the engine's locality order (:mod:`monitor.risk.locality`) for the projections
        that follow; :attr:`order` maps them back. It costs a sort and a copy of the book once (about 0.25 s of
        CPU at 1,000,000 accounts, 20 ms at 100,000) and saves 20-30% of each later projection on a book of 1M
        (about 10% at 100,000: BENCHMARKS.md). A projector does it on first use unless made with
        ``arrange=False`` (the daemon's block path: a new book every block and a handful of projections on
        it); a sweep does it in any case. The answers do not depend on it, but sums over accounts add in
        another order, so two projectors agree to the last digit only when both are arranged or neither is.
        The projector lets go of the book given (the caller's reference, if it keeps one, stays valid)."""
        ex = self.exposure  # (on first use, this arranges already unless the projector was made not to)
        if self.order is None:
            self._rearrange(ex)

    def _rearrange(self, ex: Exposure) -> None:
        """The book and its sums ``ex`` in the engine's order."""
        order = locality_order(ex)
        self.book = self.book.take(order)
        self._exposure = ex.take(order, self.book)
        self.order = order
        self._empty = None  # (rows of the given order)
        self._before = None

    @property
    def empty(self) -> Idx:
        """Accounts with debt and no collateral at all (bad debt before any shock)."""
        if self._empty is None:
            b = self.book
            self._empty = np.flatnonzero((b.collateral.sum(axis=0) == 0) & (b.debt.sum(axis=0) > 0))
        return self._empty

    def before(self) -> tuple[Toxic, float]:
        """Toxic positions and bad debt (USD) at the market's prices, before any shock."""
        if self._before is None:
            ex, m, b = self.exposure, self.market, self.book
            rows = np.flatnonzero(may_liquidate(*ex.terms(ex.w0, ex.d0), ex.slack, 1.0, 1.0))
            c, d, e = b.collateral[:, rows], b.debt[:, rows], b.risk_class[rows]
            h = self.model.health(m, c, d, e, m.prices)
            empty = self.empty
            dead = b.debt[:, empty]
            bad_units = self.model.health(m, np.zeros_like(dead), dead, b.risk_class[empty], m.prices).d
            bad = float(bad_units.sum()) / m.price_unit
            self._before = (toxic(m, c, e, h), bad)
        return self._before

    # -- shock ------------------------------------------------------------------------------------------------

    def shock(self, shocks: Mapping[int, float]) -> tuple[F64, dict[int, PoolState], SaleBook | None]:
        """Oracle prices (per slot), pool states (single venues) and the split venues' state right after the
        shocks."""
        prices = self.market.prices.copy()
        pools = {j: v.pool for j, v in self.venues.items() if isinstance(v, Venue)}
        sets = [v for v in self.venues.values() if isinstance(v, VenueSet)]
        book = SaleBook.of(sets) if sets else None
        oracles = Oracles(self.market, self.params.oracles, self.params.oracle_deviation)
        for slot, change in sorted(shocks.items()):
            venue = self.venues.get(slot)
            if isinstance(venue, VenueSet):
                # Branch: several venues -> every one moves to the target price; the oracle sees the primary.
                assert book is not None
                oracles.set(prices, slot, float(venue.shocked(book, change)))
            elif venue is not None:
                # Branch: an asset with a pool -> an outside trade moves the pool; the oracle follows it (as its
                # oracle model says).
                pools[slot] = venue.shocked(pools[slot], change)
                oracles.set(prices, slot, float(venue.spot_price(pools[slot])))
            else:
                # Branch: no pool -> the oracle price itself moves.
                prices[slot] = max(math.floor(prices[slot] * (1.0 + change)), 1.0)
        return prices, pools, book

    # -- projection -------------------------------------------------------------------------------------------

    def project(self, scenario: Scenario | Mapping[str, float]) -> CascadeResult:
        """Project one scenario (``{asset or symbol: change}``, ``-0.2`` = a 20% drop)."""
        sc = scenario if isinstance(scenario, Scenario) else Scenario(scenario)
        shocks = resolve_shocks(self.market, sc.shocks)
        prices, pools, book = self.shock(shocks)
        # the shocked slots, then any other oracle that moved with them (one that follows another asset's price)
        moved = [*shocks, *(s for s in np.flatnonzero(prices != self.market.prices).tolist() if s not in shocks)]
        ratios = {s: float(prices[s] / self.market.prices[s]) for s in moved}
        base = baseline(self.exposure, ratios)
        if self._pos is None:
            n, r = len(self.book), self.market.size
            self._pos = np.full(n, -1, dtype=np.int64)
            self._buffers = (np.empty((r, max(n, 1))), np.empty((r, max(n, 1))))
        run = self.new_run(prices, pools, base, book)
        run.run()
        if book is not None:
            # split sales: each round's split across the venues (one ``sell`` per recorded round)
            run.rounds = [replace(r, sold_by_venue=s) for r, s in zip(run.rounds, run.sold_by_venue, strict=True)]
        return self.result(run, shocks, prices)

    def new_run(self, prices: F64, pools: dict[int, PoolState], base: Baseline, sales: SaleBook | None) -> Run:
        """The mutable state of one projection (a subclass may return a run that records more)."""
        assert self._pos is not None  # project() sizes the position map first
        return self.run_type(self.exposure, self.venues, self.params, prices, pools, base, self._pos, self.empty,
                             self._buffers, sales=sales)  # fmt: skip

    # -- outputs ----------------------------------------------------------------------------------------------

    def result(
        self, run: Run, shocks: Mapping[int, float], shocked_prices: F64, left: Dust | None = None
    ) -> CascadeResult:
        """Assemble the outputs of a finished run (``shocked_prices``: the oracle right after the shock;
        ``left``: the run's :func:`~monitor.risk.dust.dust` if the caller has it already)."""
        m = self.market
        toxic_before, bad_before = self.before()
        h = run.last_health
        bad_usd, bad_n = run.bad_debt()
        liq_end = h.liquidatable
        extra: dict[str, float] = {}
        amp: dict[str, float] = {}
        for slot, change in shocks.items():
            if change >= 0:
                continue
            final_drop = 1.0 - float(run.prices[slot] / m.prices[slot])
            extra[m.slots[slot]] = final_drop + change
            amp[m.slots[slot]] = final_drop / -change
        short = float(np.maximum(h.d[h.t > 0] - h.t[h.t > 0], 0.0).sum()) / m.price_unit
        if left is None:
            left = dust(run)
        last = run.rounds[-1] if run.rounds else None
        return CascadeResult(
            shocks={m.slots[s]: c for s, c in shocks.items()},
            rules=self.model.rules,
            initial_prices_usd=self._usd(m.prices, shocks),
            shocked_prices_usd=self._usd(shocked_prices, shocks),
            final_prices_usd=self._usd(run.prices, shocks),
            rounds=tuple(run.rounds),
            debt_repaid_usd=sum(r.debt_repaid_usd for r in run.rounds),
            collateral_seized_usd=sum(r.collateral_seized_usd for r in run.rounds),
            protocol_fee_usd=sum(r.protocol_fee_usd for r in run.rounds),
            accounts_liquidated=run.overlay.n,
            liquidations=run.liquidations,
            bad_debt_usd=bad_usd,
            bad_debt_accounts=bad_n,
            bad_debt_before_usd=bad_before,
            deficit_usd=run.deficit_usd,
            unliquidated_accounts=int(np.count_nonzero(liq_end)),
            unliquidated_debt_usd=float(h.d[liq_end].sum()) / m.price_unit,
            shortfall_usd=short + bad_usd,
            toxic_before_shock=toxic_before,
            toxic_after_shock=run.toxic_after or Toxic(0, 0.0, 0.0),
            converged=run.converged,
            extra_drop=extra,
            amplification=amp,
            deficit_usd_by_reserve={
                m.assets[j]: float(v) for j, v in enumerate(run.deficit_by_asset.tolist()) if v > 0
            },
            deficit_usd_by_class={
                m.class_names[k]: float(v) for k, v in enumerate(run.deficit_usd_by_class.tolist()) if v > 0
            },
            duration_blocks=last.block if last else 0,
            duration_seconds=last.seconds if last else 0.0,
            liquidated_first_minute_usd=sum(r.debt_repaid_usd for r in run.rounds if r.seconds <= 60.0) + 0.0,
            liquidated_first_hour_usd=sum(r.debt_repaid_usd for r in run.rounds if r.seconds <= 3600.0) + 0.0,
            dust_accounts=left.accounts,
            dust_debt_usd=left.debt_usd,
            dust_shortfall_usd=left.shortfall_usd,
        )

    def _usd(self, prices: F64, shocks: Mapping[int, float]) -> dict[str, float]:
        out = self.market.usd(prices)
        for slot in shocks:
            out[self.market.slots[slot]] = float(prices[slot]) / self.market.price_unit
        return out


def project(
    book: CascadeBook,
    venues: Mapping[str, Venue | VenueSet] | None,
    scenario: Scenario | Mapping[str, float],
    params: ModelParams | None = None,
    *,
    model: LiquidationModel,
) -> CascadeResult:
    """One projection (see :class:`Projector` to run many on one book)."""
    return Projector(book, venues, params, model=model).project(scenario)
