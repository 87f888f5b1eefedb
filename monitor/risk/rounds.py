"""The round loop of one projection (see :mod:`monitor.risk.engine` for the model).

Each round: the accounts liquidatable at the round's oracle prices (and eligible under the latency option)
are liquidated once each, all at those prices; the collateral the liquidators received is then sold into each
asset's pool in reserve order and each sold asset's oracle follows its pool's new spot price as its model says
(:mod:`monitor.risk.oracles`; with venue sets: split across the asset's venues, and the oracles of the assets
whose primary pool moved follow it). The loop ends when no account is liquidatable (and no oracle update is in
flight or due by its heartbeat), when a round can achieve nothing, at the round limit or past the time horizon.
Each round has a block and a second after the shock (:mod:`monitor.risk.clock`: when the oracle updates land and
the liquidators see them).

Only the *watch* set (:mod:`monitor.risk.watch`) gets exact health factors each round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.dex import PoolState
from monitor.errors import DataError
from monitor.risk.baseline import Baseline
from monitor.risk.clock import Clock
from monitor.risk.health import Health, toxic, unit_prices
from monitor.risk.liquidators import within_capital, within_count
from monitor.risk.market import CascadeBook
from monitor.risk.model import Batch, Liquidations
from monitor.risk.oracles import Oracles
from monitor.risk.params import ModelParams
from monitor.risk.results import RoundResult, Toxic
from monitor.risk.screen import Exposure
from monitor.risk.state import Overlay
from monitor.risk.venue_set import SaleBook, VenueSet, pool_key
from monitor.risk.venues import Venue
from monitor.risk.watch import Watch

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


class Run:
    """Mutable state of one projection from the post-shock ``prices`` and ``pools``; ``baseline`` gives the
    accounts' screening terms there; ``empty`` lists accounts with debt and no collateral at the start."""

    def __init__(
        self,
        exposure: Exposure,
        venues: dict[int, Venue | VenueSet],
        params: ModelParams,
        prices: F64,
        pools: dict[int, PoolState],
        baseline: Baseline,
        pos: NDArray[np.int64],
        empty: Idx,
        buffers: tuple[F64, F64] | None = None,
        *,
        sales: SaleBook | None = None,
    ) -> None:
        self.book: CascadeBook = exposure.book
        self.m = self.book.market
        self.ex = exposure
        self.model = exposure.model
        self.venues = venues
        self.params = params
        self.prices = prices.copy()
        self.ref = prices.copy()
        self.pools = dict(pools)
        self.sales = sales  # the split venues' state (pools shared by routes, off-chain books)
        self.sold_by_venue: list[dict[str, dict[str, float]]] = []  # per round: {symbol: {venue label: tokens}}
        self.oracles = Oracles(self.m, params.oracles, params.oracle_deviation)
        self.clock = Clock(self.m, params, self.oracles, prices)
        # heartbeat candidates: the assets whose oracle venue the shock moved (a single pool, a split venue's
        # primary pool or its off-chain book); an untouched venue stays out, as with one pool per asset
        self.clock.moved.update(
            j
            for j, v in venues.items()
            if (v.oracle_moved(self.sales) if isinstance(v, VenueSet) else j in pools and pools[j] is not v.pool)
        )
        self.native = self._native_slot()
        self.deferred = 0  # liquidatable accounts of the last round left to the next block by the per-block limit
        self.last_screen: tuple[Idx, F64, F64, Health] | None = None  # watch rows, balances, health
        self.overlay = Overlay(self.book, pos, buffers)
        self.dead_units: dict[int, F64] = {}  # per risk class: debt of accounts with no collateral
        self.dead_count = 0
        self._bury(self.book.debt[:, empty], self.book.risk_class[empty])
        self.deficit_rows: list[Idx] = []
        self.deficit_usd = 0.0
        self.deficit_by_asset = np.zeros(self.m.size)  # USD written off per asset (at the round's prices)
        # per risk class: debt repaid and debt written off, USD at the round's prices (for a split by class)
        self.repaid_usd_by_class = np.zeros(self.m.n_classes)
        self.deficit_usd_by_class = np.zeros(self.m.n_classes)
        self.liquidations = 0
        self.rounds: list[RoundResult] = []
        self.converged = False
        self.toxic_after: Toxic | None = None
        self.first: NDArray[np.int64] | None = None
        self.prev: Idx = np.zeros(0, dtype=np.intp)
        self.watch = Watch(exposure, baseline, self.overlay, self.ref)
        self.last_health: Health = self.model.health(self.m, np.zeros((self.m.size, 0)), np.zeros((self.m.size, 0)),
                                                     np.zeros(0, dtype=np.int64), prices)  # fmt: skip

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Rounds until nothing is liquidatable, nothing can happen, the round limit or the time horizon."""
        p, clock = self.params, self.clock
        try:
            while True:
                wpos, watch, c, d, h = self.watch.screen(self.prices)
                self.last_health = h
                self.last_screen = (watch, c, d, h)
                if self.toxic_after is None:
                    self.toxic_after = toxic(self.m, c, self.book.risk_class[watch], h)
                liq = np.flatnonzero(h.liquidatable)
                if liq.size == 0:
                    waited = self._wait()
                    if waited is None:
                        self.converged = True
                    if waited:
                        continue
                    return
                if len(self.rounds) >= p.max_rounds or clock.past_horizon:
                    return
                number = len(self.rounds) + 1
                eligible = self._eligible(watch[liq], number)
                waiting = int(liq.size - np.count_nonzero(eligible))
                outcome = self.liquidate(wpos, watch, c, d, h, liq[eligible])
                if outcome.count == 0 and waiting == 0:
                    # Branch: every remaining call reverts or is not worth sending at these prices: only an
                    # oracle update can change that.
                    if self._wait():
                        continue
                    return
                self.prices = clock.latest()  # the sales' updates build on those already in flight
                sold = self.sell(outcome.received)
                self.rounds.append(self.record(number, outcome, sold, waiting))
                clock.after_round(self.prices, sold, self.deferred > 0)
                self.prices = clock.visible()
        finally:
            self.overlay.release()

    def _wait(self) -> bool | None:
        """Move the clock to the next oracle update that may make accounts liquidatable (:meth:`Clock.wait`)."""
        clock = self.clock
        spot = {j: self._spot(j) for j in sorted(clock.moved) if j in self.venues}
        waited = clock.wait(spot)
        if waited:
            self.prices = clock.visible()
        return waited

    def _spot(self, j: int) -> float:
        """The spot price the oracle of slot ``j`` would take from its venue now."""
        venue = self.venues[j]
        if isinstance(venue, VenueSet):
            assert self.sales is not None
            return float(venue.spot_price(self.sales))
        return float(venue.spot_price(self.pools[j]))

    def _native_slot(self) -> int | None:
        """The price slot that prices gas (None when gas is not given in gas units or has a fixed price)."""
        p = self.params
        if not p.gas_units_cost or p.native_price_usd is not None:
            return None
        try:
            return self.m.slot[self.m.resolve(p.native_asset)]
        except DataError:
            raise DataError(
                f"gas is priced at the native token {p.native_asset!r}, which the market does not list: set "
                "native_asset to an asset it lists (e.g. the wrapped native token) or native_price_usd"
            ) from None

    def gas_usd(self) -> float:
        """Gas cost of one liquidation at the current prices, USD."""
        p = self.params
        if not p.gas_units_cost:
            return p.gas_cost_usd
        if self.native is None:
            native = float(p.native_price_usd or 0.0)
        else:
            native = float(self.prices[self.native]) / self.m.price_unit
        return p.gas_cost_usd + p.gas_per_liquidation * p.gas_price_gwei * 1e-9 * native

    def _eligible(self, rows: Idx, number: int) -> Bool:
        """Latency: accounts liquidatable for ``latency_rounds`` rounds already (all without latency)."""
        lag = self.params.latency_rounds
        if lag == 0:
            return np.ones(rows.size, dtype=bool)
        if self.first is None:
            self.first = np.full(len(self.book), -1, dtype=np.int64)
        first = self.first
        first[np.setdiff1d(self.prev, rows, assume_unique=True)] = -1  # recovered: the clock restarts
        fresh = rows[first[rows] < 0]
        first[fresh] = number
        self.prev = rows
        out: Bool = number - first[rows] >= lag
        return out

    def record(self, number: int, o: Outcome, sold: F64, waiting: int) -> RoundResult:
        """The round's row of the rounds table (prices and bad debt after its sales)."""
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
            block=self.clock.block,
            seconds=self.clock.seconds(self.clock.block),
        )

    def _bury(self, d: F64, risk_class: NDArray[np.int64]) -> None:
        """Accounts left with debt and no collateral: their debt never changes again."""
        self.dead_count += risk_class.size
        # classes that see the default prices are priced as the default class
        own = np.where(np.isin(risk_class, self.m.differing), risk_class, 0) if self.m.differing else risk_class
        for cid in {0, *self.m.differing}:
            part = d
            if self.m.differing:
                mine = own == cid
                if not mine.all():
                    part = d[:, mine]  # Branch: accounts of several classes: this class's columns
            if part.size:
                self.dead_units[cid] = self.dead_units.get(cid, np.zeros(self.m.size)) + part.sum(axis=1)

    def bad_debt(self) -> tuple[float, int]:
        """Debt of accounts with no collateral (at current prices, unfloored) plus deficits, and how many."""
        value = sum(float(units @ unit_prices(self.m, self.prices, cid)) for cid, units in self.dead_units.items())
        # an account is written off at most once: its debt is zeroed then, and no debt is never liquidatable
        deficits = sum(rows.size for rows in self.deficit_rows)
        return value / self.m.price_unit + self.deficit_usd, self.dead_count + deficits

    # -- one round's liquidations -----------------------------------------------------------------------------

    def liquidate(self, wpos: Idx, watch: Idx, c: F64, d: F64, h: Health, at: Idx) -> Outcome:
        """Liquidate watch positions ``at`` once each (those the options allow) and store the new balances
        (``c`` / ``d``, the watch set's balances of this round, may be overwritten)."""
        m, p = self.m, self.params
        received = np.zeros(m.size)
        if at.size == 0:
            return Outcome(0, 0.0, 0.0, 0.0, received, 0)
        if at.size == c.shape[1]:
            # Branch: every watched account is liquidated (``at`` is all columns): no copy
            ca, da, ha = c, d, h
        else:
            ca, da, ha = np.take(c, at, axis=1), np.take(d, at, axis=1), h.take(at)
        batch = Batch(ca, da, self.book.risk_class[watch[at]], ha, self.prices)
        out = self.model.liquidate(m, batch, np.full(at.size, np.inf))
        jc, jd = out.collateral_asset, out.debt_asset
        unit = m.price_unit
        own_c = self.prices[jc] / m.units[jc] / unit  # USD per token unit at the assets' own oracle prices
        own_d = self.prices[jd] / m.units[jd] / unit
        ok = out.ok.copy()
        if p.profit_filter:
            # Branch: gas and minimum profit -> unprofitable calls are not sent.
            profit = out.received * own_c - out.debt * own_d - self.gas_usd()
            ok &= profit >= p.min_profit_usd
        self.deferred = 0
        if p.liquidations_per_block is not None:
            ok, self.deferred = within_count(out, ok, own_c, own_d, p.liquidations_per_block)
        if math.isfinite(p.liquidator_capital_usd):
            ok = within_capital(self.model, m, batch, out, ok, own_c, own_d, p.liquidator_capital_usd)
        sel = np.flatnonzero(ok)
        if sel.size == at.size:
            # Branch: every call goes through: the batch's balances (private to this round) are updated in place.
            self._apply(wpos[at], watch[at], ca, da, jc, jd, out, sel)
        elif sel.size:
            self._apply(wpos[at[sel]], watch[at[sel]], np.take(ca, sel, axis=1), np.take(da, sel, axis=1), jc[sel],
                        jd[sel], out, sel)  # fmt: skip
        every = sel.size == at.size

        def of_sent(x: NDArray[Any]) -> NDArray[Any]:
            """``x`` of the calls sent (no gather when every call was)."""
            return x if every else x[sel]

        jc_sent, own_c_sent, received_sent = of_sent(jc), of_sent(own_c), of_sent(out.received)
        received = np.bincount(jc_sent, weights=received_sent, minlength=m.size).astype(np.float64)
        repaid_usd = of_sent(out.debt) * of_sent(own_d)
        risk_class = of_sent(batch.risk_class)
        self.repaid_usd_by_class += np.bincount(risk_class, weights=repaid_usd, minlength=m.n_classes)
        return Outcome(
            count=int(sel.size),
            debt_usd=float(repaid_usd.sum()),
            seized_usd=float((received_sent * own_c_sent).sum()),
            fee_usd=float((of_sent(out.fee) * own_c_sent).sum()),
            received=received,
            skipped=int(at.size - sel.size),
        )

    def _apply(self, fpos: Idx, rows: Idx, c: F64, d: F64, jc: Idx, jd: Idx, out: Liquidations, sel: Idx) -> None:
        """New balances of the liquidated ``rows`` (followed positions ``fpos``; ``c`` / ``d`` their copies;
        ``sel`` indexes ``out``), and their screening bounds."""
        c, d = np.ascontiguousarray(c), np.ascontiguousarray(d)
        cf, df = c.reshape(-1), d.reshape(-1)  # views: one flat index per (asset, column)
        # Branch: every call of the batch went through -> its arrays as they are (no gather by ``sel``).
        every = sel.size == out.ok.size
        seized, repaid = (out.collateral, out.debt) if every else (out.collateral[sel], out.debt[sel])
        capped, write_off = (out.capped, out.write_off) if every else (out.capped[sel], out.write_off[sel])
        cols = np.arange(rows.size)
        at_c = jc * rows.size
        at_c += cols
        at_d = jd * rows.size
        at_d += cols
        seized_left = cf[at_c]
        seized_left -= seized
        np.maximum(seized_left, 0.0, out=seized_left)
        seized_left = np.where(capped, 0.0, seized_left)
        cf[at_c] = seized_left
        debt_left = df[at_d]
        debt_left -= repaid
        np.maximum(debt_left, 0.0, out=debt_left)
        df[at_d] = debt_left
        self.liquidations += int(rows.size)
        # Branch: no collateral left and the protocol writes the remaining debt off (e.g. Aave v3.3 deficits).
        gone = np.flatnonzero(write_off)
        if gone.size:
            own = self.prices[: self.m.size] / self.m.units
            written = own * d[:, gone].sum(axis=1) / self.m.price_unit
            self.deficit_by_asset += written
            each = own @ d[:, gone] / self.m.price_unit
            classes = self.book.risk_class[rows[gone]]
            self.deficit_usd_by_class += np.bincount(classes, weights=each, minlength=self.m.n_classes)
            self.deficit_usd += float(written.sum())
            d[:, gone] = 0.0
            self.deficit_rows.append(rows[gone])
        self.overlay.put(rows, c, d)
        risk_class = self.book.risk_class[rows]
        # only an account whose seized reserve is now empty can have no collateral left
        live = np.ones(rows.size, dtype=bool)
        empty = np.flatnonzero(seized_left == 0)
        if empty.size:
            # the empty columns' sums taken from the sums of every column (the same sums, without gathering the
            # empty columns first)
            live[empty] = c.sum(axis=0)[empty] > 0
            dead = empty[~live[empty] & (d.sum(axis=0)[empty] > 0)]
        else:
            dead = empty
        if dead.size:
            self._bury(d[:, dead], risk_class[dead])
        self.watch.moved(fpos, c, d, risk_class, live)

    # -- sales ------------------------------------------------------------------------------------------------

    def sell(self, received: F64) -> F64:
        """Sell the round's received collateral (the DEX share of it) into each asset's pool, or split it across
        its venue set; move oracles."""
        sold = np.zeros(self.m.size)
        share = self.params.dex_sell_share
        split: dict[str, dict[str, float]] = {}
        touched: set[tuple[str, str, int]] = set()
        for j in np.flatnonzero(received).tolist():
            venue = self.venues.get(j)
            if venue is None:
                continue  # Branch: no pool (e.g. the quote asset): held, no price impact
            amount = math.floor(received[j] * share)
            if isinstance(venue, VenueSet):
                # Branch: several venues -> the sale is split at equal marginal prices; oracles move below.
                assert self.sales is not None
                sale = venue.sell(self.sales, amount)
                if sale is None:
                    continue
                sold[j] = float(sale.amount)
                unit = float(self.m.units[j])
                split[self.m.symbols[j]] = {label: part / unit for label, part in sale.legs.items()}
                touched.update(pool_key(p) for leg in venue.legs if sale.legs.get(leg.label) for p in leg.pools)
                continue
            done = venue.sell(self.pools[j], amount)
            if done is None:
                continue
            self.pools[j] = done[0]
            sold[j] = float(amount)
            self.oracles.set(self.prices, j, float(venue.spot_price(self.pools[j])))
        if self.sales is not None:
            # split venues: each sold asset's oracle, and that of any asset whose primary pool a route moved,
            # follows its primary pool (reserve order)
            for k in sorted(self.venues):
                other = self.venues[k]
                if not isinstance(other, VenueSet):
                    continue
                primary_moved = other.primary is not None and pool_key(other.primary.pool) in touched
                if sold[k] or primary_moved:
                    self.oracles.set(self.prices, k, float(other.spot_price(self.sales)))
                if primary_moved:
                    # a route through this asset moved its pool: its oracle may now wait inside its band for
                    # the heartbeat, as a sold asset's does (the clock adds the sold ones after the round)
                    self.clock.moved.add(k)
        self.sold_by_venue.append(split)
        return sold
