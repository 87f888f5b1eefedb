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

Per market the system reports the accounts liquidated, debt repaid and bad debt (:class:`MarketFigures`), and its
**contagion**: its figures in the system minus its figures projected alone (same venues, the shocks that name
its assets). With one market the system projection is the market's own projection, bit for bit.

Where two markets price an asset differently at the start, the system uses the first market's price (one price
per asset). Prices are kept in the first market's price unit; a market with another unit sees them scaled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import cast

import numpy as np
from numpy.typing import NDArray

from monitor.dex import PoolState
from monitor.errors import DataError
from monitor.risk.engine import Projector
from monitor.risk.health import Health, unit_prices
from monitor.risk.market import AssetParams, CascadeBook, RiskClass, RiskMarket
from monitor.risk.model import Batch, Floors, LiquidationModel, Liquidations, RiskInput
from monitor.risk.params import ModelParams, Scenario
from monitor.risk.results import CascadeResult
from monitor.risk.rounds import Run
from monitor.risk.venues import Venue, choose_venues

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Idx = NDArray[np.intp]


@dataclass(frozen=True)
class SystemMember:
    """One market of the system: its config name, protocol and the engine's input for it."""

    name: str
    protocol: str
    risk: RiskInput


@dataclass(frozen=True)
class MarketFigures:
    """One market's outcome in a projection (USD at the projection's prices)."""

    name: str
    protocol: str
    accounts_liquidated: int
    debt_repaid_usd: float
    bad_debt_usd: float
    bad_debt_accounts: int


@dataclass(frozen=True)
class Contagion:
    """A market's figures in the system minus its figures projected alone."""

    accounts_liquidated: int
    debt_repaid_usd: float
    bad_debt_usd: float


@dataclass(frozen=True)
class SystemCascade(CascadeResult):
    """A cascade of the combined table, with each market's share of it (``by_market``, member order)."""

    by_market: tuple[MarketFigures, ...] = ()


@dataclass(frozen=True)
class SystemResult:
    """The system projection (``system``: totals over every market), each market's share of it, each market
    projected alone (member order), and the contagion per market name."""

    system: SystemCascade
    markets: tuple[MarketFigures, ...]
    alone: tuple[CascadeResult, ...]
    contagion: Mapping[str, Contagion]


class SystemTable:
    """The members' risk tables as one (see the module docstring) and the maps between them.

    ``columns[i]``: the combined asset column of each of member ``i``'s assets (its order); ``slots[i]``: the
    combined slot of each of its price slots; ``scale[i]``: its price units per combined price unit;
    ``rows[i]``: its first account row in the combined book; ``class_member`` / ``class_local``: per combined
    risk class, the member it belongs to and its index in that member's market; ``same_columns[i]`` /
    ``same_slots[i]``: whether the member's assets / slots are the combined ones in the same order."""

    def __init__(self, members: Sequence[SystemMember]) -> None:
        if not members:
            raise DataError("a system projection needs at least one market")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise DataError(f"market names must be unique in a system projection, got {names}")
        self.members = tuple(members)
        markets = [m.risk.book.market for m in members]
        first = markets[0]
        unit = first.price_unit
        self.scale: tuple[float, ...] = tuple(mk.price_unit / unit for mk in markets)
        assets: dict[str, AssetParams] = {}
        prices: dict[str, float] = {}
        for mk, scale in zip(markets, self.scale, strict=True):
            for j, a in enumerate(mk.assets):
                known = assets.get(a)
                if known is not None and known.decimals != mk.decimals[j]:
                    raise DataError(
                        f"asset {a} has {known.decimals} decimals in one market, {mk.decimals[j]} in another"
                    )
                if known is None:
                    own = mk is first
                    assets[a] = AssetParams(
                        a,
                        mk.symbols[j],
                        mk.decimals[j],
                        float(mk.lt[j]) if own else 0.0,
                        float(mk.bonus[j]) if own else 0.0,
                        float(mk.protocol_fee[j]),
                    )
            for s, a in enumerate(mk.slots):
                prices.setdefault(a, float(mk.prices[s]) if scale == 1.0 else float(mk.prices[s]) / scale)
        classes: list[RiskClass] = []
        class_member: list[int] = [0]
        class_local: list[int] = [0]
        for i, (member, mk) in enumerate(zip(members, markets, strict=True)):
            for k in range(0 if i else 1, mk.n_classes):
                classes.append(self._class(member.name, mk, k, assets))
                class_member.append(i)
                class_local.append(k)
        self.market = RiskMarket(list(assets.values()), prices, unit, classes)
        m = self.market
        self.columns: tuple[Idx, ...] = tuple(
            np.array([m.column[a] for a in mk.assets], dtype=np.intp) for mk in markets
        )
        self.slots: tuple[Idx, ...] = tuple(np.array([m.slot[a] for a in mk.slots], dtype=np.intp) for mk in markets)
        self.identity: tuple[bool, ...] = tuple(
            len(markets) == 1 and bool(np.array_equal(s, np.arange(m.n_slots))) and sc == 1.0
            for s, sc in zip(self.slots, self.scale, strict=True)
        )
        self.same_columns: tuple[bool, ...] = tuple(bool(np.array_equal(c, np.arange(m.size))) for c in self.columns)
        self.same_slots: tuple[bool, ...] = tuple(bool(np.array_equal(s, np.arange(m.n_slots))) for s in self.slots)
        self.class_member: I64 = np.array(class_member, dtype=np.int64)
        self.class_local: I64 = np.array(class_local, dtype=np.int64)
        offsets = np.flatnonzero(np.diff(self.class_member, prepend=-1))  # first combined class of each member
        self.book = self._book(offsets)

    @staticmethod
    def _class(name: str, mk: RiskMarket, k: int, assets: Mapping[str, AssetParams]) -> RiskClass:
        """Member market ``mk``'s class ``k`` over the combined assets (0 for assets it does not list)."""
        lt = dict.fromkeys(assets, 0.0)
        bonus = dict.fromkeys(assets, 0.0)
        source: dict[str, str] = {}
        for j, a in enumerate(mk.assets):
            lt[a] = float(mk.lt_of[k][j])
            bonus[a] = float(mk.bonus_of[k][j])
            slot = int(mk.slot_of[k][j])
            if slot != j:
                source[a] = mk.slots[slot]
        return RiskClass(f"{name}:{mk.class_names[k]}", lt, bonus, source)

    def _book(self, class_offsets: Idx) -> CascadeBook:
        m = self.market
        books = [member.risk.book for member in self.members]
        sizes = [len(b) for b in books]
        self.rows: tuple[int, ...] = tuple(int(x) for x in np.cumsum([0, *sizes[:-1]]))
        n = sum(sizes)
        c, d = np.zeros((m.size, n)), np.zeros((m.size, n))
        risk_class = np.zeros(n, dtype=np.int64)
        for i, b in enumerate(books):
            at = slice(self.rows[i], self.rows[i] + sizes[i])
            c[self.columns[i], at] = b.collateral
            d[self.columns[i], at] = b.debt
            risk_class[at] = b.risk_class + class_offsets[i]  # a member's classes are consecutive
        addresses: tuple[str, ...] = ()
        if all(b.addresses for b in books):
            addresses = tuple(a for b in books for a in b.addresses)
        return CascadeBook(m, c, d, risk_class, addresses)

    def member_of(self, rows: Idx) -> I64:
        """The member each combined book row belongs to."""
        out: I64 = self.class_member[self.book.risk_class[rows]]
        return out


class SystemModel(LiquidationModel):
    """Each member's own health check and liquidation rules, applied to its accounts of a combined batch."""

    def __init__(self, table: SystemTable) -> None:
        self.table = table
        self.models = tuple(m.risk.model for m in table.members)
        self.markets = tuple(m.risk.book.market for m in table.members)
        rules: list[str] = []
        for model in self.models:
            if model.rules not in rules:
                rules.append(model.rules)
        self.rules = "+".join(rules)

    def _parts(self, risk_class: I64) -> list[tuple[int, Idx | slice]]:
        """``(member, columns)`` of each member present among columns of classes ``risk_class``."""
        t = self.table
        if len(self.models) == 1:
            return [(0, slice(None))]
        owner = t.class_member[risk_class]
        present = np.flatnonzero(np.bincount(owner, minlength=len(self.models))).tolist()
        if len(present) == 1:
            return [(present[0], slice(None))]
        return [(i, np.flatnonzero(owner == i)) for i in present]

    def _local(
        self, i: int, c: F64, d: F64, risk_class: I64, prices: F64, cols: Idx | slice
    ) -> tuple[F64, F64, I64, F64]:
        """Member ``i``'s view of columns ``cols``: balances in its asset order, its classes, its slot prices."""
        t = self.table
        if t.identity[i]:
            return c[:, cols], d[:, cols], risk_class[cols], prices
        lp = prices if t.same_slots[i] else prices[t.slots[i]]
        if t.scale[i] != 1.0:
            lp = lp * t.scale[i]
        if t.same_columns[i]:
            # Branch: the member lists every asset of the system in its order -> its columns as they are.
            lc, ld = c[:, cols], d[:, cols]
        elif isinstance(cols, slice):
            lc, ld = c[t.columns[i]][:, cols], d[t.columns[i]][:, cols]
        else:
            at = np.ix_(t.columns[i], cols)
            lc, ld = c[at], d[at]
        return lc, ld, t.class_local[risk_class[cols]], lp

    def health(self, market: RiskMarket, c: F64, d: F64, risk_class: I64, prices: F64) -> Health:
        """Each member's exact health of its columns (sums in the combined price unit)."""
        parts = self._parts(risk_class)
        if len(parts) == 1 and self.table.identity[parts[0][0]]:
            return self.models[0].health(self.markets[0], c, d, risk_class, prices)
        k = risk_class.size
        out = Health(np.zeros(k), np.zeros(k), np.zeros(k), np.full(k, np.inf), np.zeros(k, dtype=bool))
        for i, cols in parts:
            lc, ld, lk, lp = self._local(i, c, d, risk_class, prices, cols)
            h = self.models[i].health(self.markets[i], lc, ld, lk, lp)
            scale = self.table.scale[i]
            out.t[cols], out.w[cols], out.d[cols] = (
                (h.t, h.w, h.d) if scale == 1.0 else (h.t / scale, h.w / scale, h.d / scale)
            )
            out.hf[cols], out.liquidatable[cols] = h.hf, h.liquidatable
        return out

    def floors(self, market: RiskMarket) -> Floors:
        """The loosest of the members' floors (in the combined price unit): a bound that holds for every one."""
        each = [
            (f, s)
            for f, s in (
                (model.floors(mk), scale)
                for model, mk, scale in zip(self.models, self.markets, self.table.scale, strict=True)
            )
        ]
        if len(each) == 1 and each[0][1] == 1.0:
            return each[0][0]
        return Floors(
            relative=max(f.relative for f, _ in each),
            slack=max(f.slack / s for f, s in each),
            debt_slack=max(f.debt_slack / s for f, s in each),
        )

    def liquidate(self, market: RiskMarket, batch: Batch, cover_cap: F64) -> Liquidations:
        """Each member's liquidation of its columns; assets given back as combined columns."""
        parts = self._parts(batch.risk_class)
        if len(parts) == 1 and self.table.identity[parts[0][0]]:
            return self.models[0].liquidate(self.markets[0], batch, cover_cap)
        k = batch.risk_class.size
        z = np.zeros(k)
        no = np.zeros(k, dtype=bool)
        out = Liquidations(np.zeros(k, dtype=np.intp), np.zeros(k, dtype=np.intp), z.copy(), z.copy(), z.copy(),
                           z.copy(), no.copy(), no.copy(), no.copy())  # fmt: skip
        t = self.table
        for i, cols in parts:
            lc, ld, lk, lp = self._local(i, batch.c, batch.d, batch.risk_class, batch.prices, cols)
            h = batch.health.take(cols) if isinstance(cols, np.ndarray) else batch.health
            if t.scale[i] != 1.0:
                s = t.scale[i]
                h = Health(h.t * s, h.w * s, h.d * s, h.hf, h.liquidatable)
            part = self.models[i].liquidate(self.markets[i], Batch(lc, ld, lk, h, lp), cover_cap[cols])
            columns = t.columns[i]
            out.collateral_asset[cols] = columns[part.collateral_asset]
            out.debt_asset[cols] = columns[part.debt_asset]
            for name in ("collateral", "debt", "fee", "received", "capped", "ok", "write_off"):
                getattr(out, name)[cols] = getattr(part, name)
        return out


class _Projector(Projector):
    """The engine on the combined table; each result carries every member's share (:class:`SystemCascade`)."""

    def __init__(self, table: SystemTable, venues: Mapping[str, Venue] | None, params: ModelParams | None) -> None:
        super().__init__(table.book, venues, params, model=SystemModel(table))
        self.table = table

    def result(self, run: Run, shocks: Mapping[int, float], shocked_prices: F64) -> SystemCascade:
        base = super().result(run, shocks, shocked_prices)
        values = {f.name: getattr(base, f.name) for f in fields(CascadeResult)}
        if len(self.table.members) == 1:
            # Branch: one market -> its figures are the system's (the split would only add float rounding).
            (member,) = self.table.members
            only = MarketFigures(member.name, member.protocol, base.accounts_liquidated, base.debt_repaid_usd,
                                 base.bad_debt_usd, base.bad_debt_accounts)  # fmt: skip
            return SystemCascade(**values, by_market=(only,))
        return SystemCascade(**values, by_market=self.split(run))

    def split(self, run: Run) -> tuple[MarketFigures, ...]:
        """Every member's accounts liquidated, debt repaid and bad debt in a finished run."""
        t, m, b = self.table, self.market, self.book
        count = len(t.members)
        touched = run.overlay.touched
        liquidated = np.bincount(t.member_of(touched), minlength=count)
        repaid = np.bincount(t.class_member, weights=run.repaid_usd_by_class, minlength=count)
        deficit = np.bincount(t.class_member, weights=run.deficit_usd_by_class, minlength=count)
        # bad debt: accounts with debt and no collateral (from the start, or left so) at the final prices ...
        c, d = run.overlay.balances
        left = (c.sum(axis=0) == 0) & (d.sum(axis=0) > 0)
        dead_rows = np.concatenate([self.empty, touched[left]])
        dead_debt = np.concatenate([b.debt[:, self.empty], d[:, left]], axis=1)
        classes = b.risk_class[dead_rows]
        bad = np.zeros(count)
        for cid in np.unique(classes).tolist():
            at = classes == cid
            value = float(unit_prices(m, run.prices, cid) @ dead_debt[:, at].sum(axis=1)) / m.price_unit
            bad[t.class_member[cid]] += value
        bad_accounts = np.bincount(t.member_of(dead_rows), minlength=count)
        # ... plus the debt written off when collateral ran out (each such account counted once)
        if run.deficit_rows:
            written = np.unique(np.concatenate(run.deficit_rows))
            bad_accounts = bad_accounts + np.bincount(t.member_of(written), minlength=count)
        return tuple(
            MarketFigures(
                name=member.name,
                protocol=member.protocol,
                accounts_liquidated=int(liquidated[i]),
                debt_repaid_usd=float(repaid[i]),
                bad_debt_usd=float(bad[i] + deficit[i]),
                bad_debt_accounts=int(bad_accounts[i]),
            )
            for i, member in enumerate(t.members)
        )

    def project(self, scenario: Scenario | Mapping[str, float]) -> SystemCascade:
        return cast(SystemCascade, super().project(scenario))  # self.result makes every result a SystemCascade


class SystemProjector:
    """Projections of scenarios on every member market as one cascade, with each market alone beside it.

    ``venues`` are the shared venues, one per asset, keyed by asset address, with quote prices in the first
    market's price unit (e.g. ``choose_venues(table.market, pools)``, see :meth:`from_pools`). A market alone
    sells into the venues of its own assets among them.
    """

    def __init__(
        self,
        members: Sequence[SystemMember] | SystemTable,
        venues: Mapping[str, Venue] | None = None,
        params: ModelParams | None = None,
    ) -> None:
        self.table = members if isinstance(members, SystemTable) else SystemTable(members)
        self.params = params or ModelParams()
        self.venues = dict(venues or {})
        self._system = _Projector(self.table, self.venues, self.params)
        self._alone: dict[int, Projector] = {}

    @classmethod
    def from_pools(
        cls, members: Sequence[SystemMember], pools: Iterable[PoolState], params: ModelParams | None = None
    ) -> SystemProjector:
        """Shared venues chosen from ``pools`` for the combined table's assets (:func:`choose_venues`)."""
        table = SystemTable(members)
        return cls(table, choose_venues(table.market, list(pools)), params)

    @property
    def projector(self) -> Projector:
        """The engine on the combined table (``sweep`` takes it: the critical shocks of the system)."""
        return self._system

    @property
    def market(self) -> RiskMarket:
        """The combined table's market."""
        return self.table.market

    def alone(self, i: int) -> Projector:
        """Member ``i`` projected on its own, selling into the shared venues of its assets."""
        if i not in self._alone:
            member = self.table.members[i]
            mk = member.risk.book.market
            scale = self.table.scale[i]
            own = {}
            for a, v in self.venues.items():
                if a in mk.column:
                    own[a] = v if scale == 1.0 else Venue(v.asset, v.quote, v.pool, round(v.quote_price * scale))
            self._alone[i] = Projector(member.risk.book, own, self.params, model=member.risk.model)
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
