"""The system projection: every market of a config in one cascade, and the contagion between them (pure).

Markets that hold the same collateral sell it into the same pools. Projected alone, each market misses the
liquidations the other markets' sales cause. :class:`SystemProjector` runs them as one cascade through the
unchanged engine:

- **one table** (:class:`SystemTable`): the union of the markets' assets keyed by token address, one price slot
  per address (an asset's oracle price is shared by every market that lists it), each market's accounts appended
  after the previous market's, and each market's risk classes (its default class included) renumbered after the
  previous market's, so that a risk class belongs to exactly one market;
- **one model** (:class:`SystemModel`): a :class:`~monitor.risk.model.LiquidationModel` that splits every batch
  of accounts by market and hands each part, in that market's own columns, classes, slots and price unit, to
  the market's own model, then merges the answers. Each round every market liquidates under its own rules; the
  engine sells all the seized collateral into the shared venues and the new prices feed every market's oracle.

Per market the system reports the accounts liquidated, debt repaid, bad debt and dust (:class:`MarketFigures`), and its
**contagion**: its figures in the system minus its figures projected alone (same venues, the shocks that name
its assets). With one market the system projection is the market's own projection, bit for bit.

Where two markets price an asset differently at the start, the system uses the first market's price (one price
per asset). Prices are kept in the first market's price unit; a market with another unit sees them scaled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from monitor.dex import PoolState
from monitor.risk.baseline import Baseline
from monitor.risk.dust import Dust, dust
from monitor.risk.engine import Projector
from monitor.risk.health import unit_prices
from monitor.risk.market import RiskMarket
from monitor.risk.model import Liquidations
from monitor.risk.offchain import OffchainCurve
from monitor.risk.params import ModelParams, Scenario
from monitor.risk.results import CascadeResult
from monitor.risk.rounds import Run
from monitor.risk.system_model import SystemModel
from monitor.risk.system_table import SystemMember, SystemTable
from monitor.risk.venue_set import SaleBook, VenueSet, gather_venues
from monitor.risk.venues import Venue

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]

__all__ = [
    "Contagion",
    "MarketFigures",
    "SystemCascade",
    "SystemMember",
    "SystemModel",
    "SystemProjector",
    "SystemResult",
    "SystemTable",
]


@dataclass(frozen=True)
class MarketFigures:
    """One market's outcome in a projection (USD at the projection's prices)."""

    name: str
    protocol: str
    accounts_liquidated: int
    debt_repaid_usd: float
    bad_debt_usd: float
    bad_debt_accounts: int
    # liquidatable at the end but not worth liquidating (gas, minimum profit; monitor.risk.dust): the market's
    # share of the cascade's dust
    dust_accounts: int = 0
    dust_debt_usd: float = 0.0


@dataclass(frozen=True)
class Contagion:
    """A market's figures in the system minus its figures projected alone."""

    accounts_liquidated: int
    debt_repaid_usd: float
    bad_debt_usd: float


@dataclass(frozen=True)
class SystemCascade(CascadeResult):
    """A cascade of the combined table, with each market's share of it (``by_market``, member order) and each
    market's own part of the write-offs (``member_result(i)``: its deficits by asset and by its own risk class)."""

    by_market: tuple[MarketFigures, ...] = ()
    deficit_usd_by_market_reserve: tuple[Mapping[str, float], ...] = ()  # member -> asset address -> USD
    deficit_usd_by_market_class: tuple[Mapping[str, float], ...] = ()  # member -> its class name -> USD

    def member_result(self, i: int) -> CascadeResult:
        """This cascade with member ``i``'s deficits in place of the system's (by its own asset addresses and
        class names): what its view reads a projection's losses from (``scenario_losses_usd``)."""
        if not self.deficit_usd_by_market_reserve:
            return self  # one market: its deficits are the system's
        return replace(
            self,
            deficit_usd_by_reserve=self.deficit_usd_by_market_reserve[i],
            deficit_usd_by_class=self.deficit_usd_by_market_class[i],
        )


@dataclass(frozen=True)
class SystemResult:
    """The system projection (``system``: totals over every market), each market's share of it, each market
    projected alone (member order), and the contagion per market name."""

    system: SystemCascade
    markets: tuple[MarketFigures, ...]
    alone: tuple[CascadeResult, ...]
    contagion: Mapping[str, Contagion]


class _SystemRun(Run):
    """A run of the combined table that also records each member's write-offs per asset (the engine's run keeps
    them per asset and per class only, and an asset may be borrowed in several markets)."""

    def __init__(self, table: SystemTable, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = table
        self.deficit_by_member = np.zeros((len(table.members), self.m.size))  # USD at the round's prices

    def _apply(self, fpos: Idx, rows: Idx, c: F64, d: F64, jc: Idx, jd: Idx, out: Liquidations, sel: Idx) -> None:
        gone = np.flatnonzero(out.write_off[sel])
        if gone.size:
            # the debt each written-off account has left once this liquidation has repaid its part (what the
            # engine's run writes off, per asset), grouped by member
            left = d[:, gone].copy()
            k = np.arange(gone.size)
            left[jd[gone], k] = np.maximum(left[jd[gone], k] - out.debt[sel][gone], 0.0)
            own = self.prices[: self.m.size] / self.m.units
            written = own[:, None] * left / self.m.price_unit
            members = self.table.member_of(self.book.risk_class[rows[gone]])
            for i in np.unique(members).tolist():
                self.deficit_by_member[i] += written[:, members == i].sum(axis=1)
        super()._apply(fpos, rows, c, d, jc, jd, out, sel)


class _Projector(Projector):
    """The engine on the combined table; each result carries every member's share (:class:`SystemCascade`)."""

    def __init__(
        self,
        table: SystemTable,
        venues: Mapping[str, Venue | VenueSet] | None,
        params: ModelParams | None,
        arrange: bool = True,
    ) -> None:
        super().__init__(table.book, venues, params, model=SystemModel(table), arrange=arrange)
        self.table = table

    def result(
        self, run: Run, shocks: Mapping[int, float], shocked_prices: F64, left: Dust | None = None
    ) -> SystemCascade:
        left = dust(run) if left is None else left
        base = super().result(run, shocks, shocked_prices, left)
        values = {f.name: getattr(base, f.name) for f in fields(CascadeResult)}
        if len(self.table.members) == 1:
            # Branch: one market -> its figures are the system's (the split would only add float rounding).
            (member,) = self.table.members
            only = MarketFigures(member.name, member.protocol, base.accounts_liquidated, base.debt_repaid_usd,
                                 base.bad_debt_usd, base.bad_debt_accounts, base.dust_accounts,
                                 base.dust_debt_usd)  # fmt: skip
            return SystemCascade(**values, by_market=(only,))
        t, m = self.table, self.market
        assert isinstance(run, _SystemRun)
        by_reserve = tuple(
            {m.assets[j]: float(v) for j, v in enumerate(row.tolist()) if v > 0} for row in run.deficit_by_member
        )
        by_class: list[dict[str, float]] = [{} for _ in t.members]
        for cid, usd in enumerate(run.deficit_usd_by_class.tolist()):
            if usd > 0:
                i = int(t.class_member[cid])
                local = t.members[i].risk.book.market.class_names[int(t.class_local[cid])]
                by_class[i][local] = float(usd)
        return SystemCascade(**values, by_market=self.split(run, left), deficit_usd_by_market_reserve=by_reserve,
                             deficit_usd_by_market_class=tuple(by_class))  # fmt: skip

    def new_run(self, prices: F64, pools: dict[int, PoolState], base: Baseline, sales: SaleBook | None) -> Run:
        if len(self.table.members) == 1:
            return super().new_run(prices, pools, base, sales)
        return _SystemRun(self.table, self.exposure, self.venues, self.params, prices, pools, base, self._pos,
                          self.empty, self._buffers, sales=sales)  # fmt: skip

    def split(self, run: Run, found: Dust) -> tuple[MarketFigures, ...]:
        """Every member's accounts liquidated, debt repaid, bad debt and dust (``found``: the run's) in a finished
        run."""
        t, m, b = self.table, self.market, self.book
        count = len(t.members)
        touched = run.overlay.touched
        liquidated = np.bincount(t.member_of(b.risk_class[touched]), minlength=count)
        repaid = np.bincount(t.class_member, weights=run.repaid_usd_by_class, minlength=count)
        deficit = np.bincount(t.class_member, weights=run.deficit_usd_by_class, minlength=count)
        # bad debt: accounts with debt and no collateral (from the start, or left so) at the final prices ...
        c, d = run.overlay.balances
        left = (c.sum(axis=0) == 0) & (d.sum(axis=0) > 0)
        dead_rows = np.concatenate([self.empty, touched[left]])
        dead_debt = np.concatenate([b.debt[:, self.empty], d[:, left]], axis=1)
        classes = b.risk_class[dead_rows]
        bad = np.zeros(count)
        for cid in np.flatnonzero(np.bincount(classes, minlength=m.n_classes)).tolist():
            at = classes == cid
            value = float(unit_prices(m, run.prices, cid) @ dead_debt[:, at].sum(axis=1)) / m.price_unit
            bad[t.class_member[cid]] += value
        bad_accounts = np.bincount(t.member_of(classes), minlength=count)
        # ... plus the debt written off when collateral ran out (each such account once: its debt is zeroed then)
        if run.deficit_rows:
            written = np.concatenate(run.deficit_rows)
            bad_accounts = bad_accounts + np.bincount(t.member_of(b.risk_class[written]), minlength=count)
        dust_of = t.member_of(b.risk_class[found.rows])
        dust_accounts = np.bincount(dust_of, minlength=count)
        dust_debt = np.bincount(dust_of, weights=found.debt_usd_by_row, minlength=count)
        return tuple(
            MarketFigures(
                name=member.name,
                protocol=member.protocol,
                accounts_liquidated=int(liquidated[i]),
                debt_repaid_usd=float(repaid[i]),
                bad_debt_usd=float(bad[i] + deficit[i]),
                bad_debt_accounts=int(bad_accounts[i]),
                dust_accounts=int(dust_accounts[i]),
                dust_debt_usd=float(dust_debt[i]),
            )
            for i, member in enumerate(t.members)
        )

    def project(self, scenario: Scenario | Mapping[str, float]) -> SystemCascade:
        return cast(SystemCascade, super().project(scenario))  # self.result makes every result a SystemCascade


class SystemProjector:
    """Projections of scenarios on every member market as one cascade, with each market alone beside it.

    ``venues`` are the shared venues, one :class:`Venue` or :class:`VenueSet` per asset, keyed by asset address,
    with quote prices in the first market's price unit (e.g. ``choose_venues(table.market, pools)``, see
    :meth:`from_pools`). A market alone sells into the venues of its own assets among them (rescaled to its price
    unit). ``arrange``: as :class:`~monitor.risk.engine.Projector`'s, for the system's projector and each
    market's alone.
    """

    def __init__(
        self,
        members: Sequence[SystemMember] | SystemTable,
        venues: Mapping[str, Venue | VenueSet] | None = None,
        params: ModelParams | None = None,
        *,
        arrange: bool = True,
    ) -> None:
        self.table = members if isinstance(members, SystemTable) else SystemTable(members)
        self.params = params or ModelParams()
        self.venues = dict(venues or {})
        self._arrange = arrange
        self._system = _Projector(self.table, self.venues, self.params, arrange)
        self._alone: dict[int, Projector] = {}

    @classmethod
    def from_pools(
        cls,
        members: Sequence[SystemMember],
        pools: Iterable[PoolState],
        params: ModelParams | None = None,
        *,
        offchain: Mapping[str, OffchainCurve] | None = None,
        split: bool = False,
        arrange: bool = True,
    ) -> SystemProjector:
        """Shared venues chosen from ``pools`` for the combined table's assets (:func:`gather_venues`: one pool
        per asset as :func:`choose_venues` unless ``split`` or an ``offchain`` curve asks for venue sets)."""
        table = SystemTable(members)
        venues = gather_venues(table.market, list(pools), offchain=offchain, split=split)
        return cls(table, venues, params, arrange=arrange)

    @property
    def projector(self) -> Projector:
        """The engine on the combined table (``sweep`` takes it: the critical shocks of the system)."""
        return self._system

    @property
    def market(self) -> RiskMarket:
        """The combined table's market."""
        return self.table.market

    def alone(self, i: int) -> Projector:
        """Member ``i`` projected on its own, selling into the shared venues of its assets (with the oracle
        models of its assets)."""
        if i not in self._alone:
            member = self.table.members[i]
            mk = member.risk.book.market
            scale = self.table.scale[i]
            own: dict[str, Venue | VenueSet] = {}
            for a, v in self.venues.items():
                if a in mk.column:
                    if isinstance(v, VenueSet):
                        own[a] = v.rescaled(scale)
                    else:
                        own[a] = v if scale == 1.0 else Venue(v.asset, v.quote, v.pool, round(v.quote_price * scale))
            oracles = {
                self.market.resolve(a): o
                for a, o in self.params.oracles.items()
                if self.market.resolve(a) in mk.slot and (o.base is None or self.market.resolve(o.base) in mk.slot)
            }
            params = replace(self.params, oracles=oracles) if self.params.oracles else self.params
            self._alone[i] = Projector(member.risk.book, own, params, model=member.risk.model, arrange=self._arrange)
        return self._alone[i]

    def project(self, scenario: Scenario | Mapping[str, float]) -> SystemResult:
        """Project ``scenario`` (``{asset or symbol: change}``) on the system and on each market alone."""
        sc = scenario if isinstance(scenario, Scenario) else Scenario(scenario)
        system = self._system.project(sc)
        shocks = {self.market.resolve(a): change for a, change in sc.shocks.items()}
        alone: list[CascadeResult] = []
        contagion: dict[str, Contagion] = {}
        for i, fig in enumerate(system.by_market):
            proj = self.alone(i)
            own = {a: change for a, change in shocks.items() if a in proj.market.slot}
            # Branch: no shock names an asset of this market -> a no-op shock of an asset with no venue (its
            # oracle stays put): the market alone does only what was already due.
            result = proj.project(own or {_still(proj): 0.0})
            alone.append(result)
            contagion[fig.name] = Contagion(
                accounts_liquidated=fig.accounts_liquidated - result.accounts_liquidated,
                debt_repaid_usd=fig.debt_repaid_usd - result.debt_repaid_usd,
                bad_debt_usd=fig.bad_debt_usd - result.bad_debt_usd,
            )
        return SystemResult(system, system.by_market, tuple(alone), contagion)


def _still(projector: Projector) -> str:
    """A price slot a zero shock leaves exactly where it is: one without a venue (else the first asset, whose
    oracle is then set to its pool's spot price)."""
    m = projector.market
    for s, a in enumerate(m.slots):
        if s not in projector.venues:
            return a
    return m.slots[0]
