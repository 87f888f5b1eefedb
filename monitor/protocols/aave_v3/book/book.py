"""The health-factor book: every account of one Aave v3 market (v3.0.2 or v3.6 maths), columnar, with exact and
float paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import analytics, exact
from monitor.protocols.aave_v3.book.analytics import BookArrays
from monitor.protocols.aave_v3.book.columns import check_config, position_matrices, resized, uint_matrix
from monitor.protocols.aave_v3.book.compare import BookParts, book_diff
from monitor.protocols.aave_v3.book.floatpath import (
    HF_BOUNDARY,
    Outputs,
    Pending,
    category_groups,
    compute,
    health,
    plan,
    uniform_lt,
)
from monitor.protocols.aave_v3.book.inputs import (
    AccountInput,
    MarketInputs,
    PositionInput,
    check_uint,
    normalize_address,
)
from monitor.protocols.aave_v3.book.reference import AccountData
from monitor.protocols.aave_v3.book.store import AccountStore
from monitor.protocols.aave_v3.book.tables import MarketTables
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT, HALF_RAY, WAD

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]
Obj = NDArray[np.object_]


class Book:
    """Accounts x reserves of one market. See the package docstring for the API and its guarantees."""

    def __init__(self, market: MarketInputs) -> None:
        if not isinstance(market, MarketInputs):
            raise DataError("Book needs MarketInputs")
        self._set_tables(MarketTables(market))
        self._store = AccountStore(self._tables.size)
        self._out: dict[str, F64] = {}
        self._liq: Bool = np.zeros(0, dtype=bool)
        self._groups: dict[int, Idx] | None = None
        self._resize_outputs()

    # -- construction -----------------------------------------------------------------------------------------

    @classmethod
    def build(cls, market: MarketInputs, accounts: Iterable[AccountInput]) -> Book:
        """A book of ``accounts`` (each address once)."""
        book = cls(market)
        accs = list(accounts)
        if len({a.address for a in accs}) != len(accs):
            raise DataError("an account address appears twice")
        book.upsert_accounts(accs)
        return book

    @classmethod
    def from_columns(
        cls,
        market: MarketInputs,
        addresses: Sequence[str],
        user_configurations: Sequence[int],
        emode_categories: Sequence[int] | NDArray[np.integer],
        scaled_atoken: NDArray[np.generic],
        scaled_variable_debt: NDArray[np.generic],
        stable_debt: NDArray[np.generic] | None = None,
    ) -> Book:
        """A book from columns: balance arrays are ``(accounts, reserves)`` ints, reserves in market order."""
        book = cls(market)
        tab = book._tables
        n = len(addresses)
        addrs = [normalize_address(a, "account address") for a in addresses]
        configs = [check_uint(c, "user_configuration") for c in user_configurations]
        emode = np.asarray(emode_categories, dtype=np.int64).reshape(-1)
        if len(configs) != n or emode.size != n:
            raise DataError("addresses, user_configurations and emode_categories differ in length")
        for cid in np.unique(emode).tolist():
            tab.check_category(int(cid), "from_columns")
        for a, c in zip(addrs, configs, strict=True):
            check_config(tab, a, c)
        shape = (n, tab.size)
        sc = uint_matrix(scaled_atoken, shape, "scaled_atoken")
        sv = uint_matrix(scaled_variable_debt, shape, "scaled_variable_debt")
        st = (
            np.zeros((tab.size, n), dtype=object)
            if stable_debt is None
            else uint_matrix(stable_debt, shape, "stable_debt")
        )
        rows = book._store.add_addresses(addrs)
        book._resize_outputs()
        book._store.write(tab, rows, configs, emode, sc, sv, st)
        book._groups = None
        book._recompute_all(refresh_uniform=True)
        return book

    # -- identity ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._store.n

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and address.lower() in self._store.row

    @property
    def addresses(self) -> tuple[str, ...]:
        """Account addresses in row order (rows move when an account is removed)."""
        return tuple(self._store.addresses)

    def index_of(self, address: str) -> int:
        """Row of ``address`` in every per-account array."""
        key = normalize_address(address, "account address")
        try:
            return self._store.row[key]
        except KeyError:
            raise DataError(f"account {key} is not in the book") from None

    @property
    def market(self) -> MarketInputs:
        """The market with the current prices and indexes."""
        return self._tables.market

    @property
    def prices(self) -> dict[str, int]:
        """Oracle price of every priced address (base currency, 8 decimals)."""
        return dict(self._tables.prices)

    # -- updates ----------------------------------------------------------------------------------------------

    def upsert_account(self, account: AccountInput) -> None:
        """Add ``account`` or replace its row."""
        self.upsert_accounts([account])

    def upsert_accounts(self, accounts: Iterable[AccountInput]) -> None:
        """Add or replace several accounts (the last wins for a repeated address); recomputes only them."""
        latest: dict[str, AccountInput] = {}
        for acc in accounts:
            if not isinstance(acc, AccountInput):
                raise DataError("upsert_accounts takes AccountInput")
            latest[acc.address] = acc
        if not latest:
            return
        tab, store = self._tables, self._store
        accs = list(latest.values())
        for acc in accs:
            tab.check_category(acc.emode_category, f"account {acc.address}")
            check_config(tab, acc.address, acc.user_configuration)
        sc, sv, st = position_matrices(tab, accs)
        new = [a.address for a in accs if a.address not in store.row]
        if new:
            store.add_addresses(new)
            self._resize_outputs()
        rows = np.array([store.row[a.address] for a in accs], dtype=np.intp)
        emode = np.array([a.emode_category for a in accs], dtype=np.int64)
        if new or np.any(store.emode[rows] != emode):
            self._groups = None
        store.write(tab, rows, [a.user_configuration for a in accs], emode, sc, sv, st)
        self._recompute_rows(rows)

    def remove_account(self, address: str) -> None:
        """Drop ``address``; the last row moves into its place."""
        key = normalize_address(address, "account address")
        if key not in self._store.row:
            raise DataError(f"account {key} is not in the book")
        hole, last = self._store.remove(key)
        for arr in [*self._out.values(), self._liq]:
            arr[hole] = arr[last]
            arr[last] = 0
        self._groups = None

    def set_prices(self, prices: Mapping[str, int]) -> None:
        """Replace oracle prices (by asset or e-mode price source) and recompute every HF, vectorised."""
        self._set_tables(self._tables.with_prices(prices))
        self._recompute_all(refresh_uniform=False)

    def set_indexes(self, indexes: Mapping[str, tuple[int, int]]) -> None:
        """Replace ``{asset: (normalized_income, normalized_variable_debt)}`` and recompute, vectorised."""
        old = self._tables
        self._set_tables(old.with_indexes(indexes))
        cols = sorted({self._tables.column[normalize_address(a, "asset")] for a in indexes})
        self._store.refresh_floats(self._tables, columns=cols)
        # Branch: with income indexes >= 0.5 ray a non-zero scaled balance stays non-zero, so which positions
        # hold collateral (and the per-account shared LT) cannot change.
        low = any(min(t.income[j] for t in (old, self._tables)) < HALF_RAY for j in cols)
        self._recompute_all(refresh_uniform=low)

    def copy(self) -> Book:
        """An independent copy."""
        out = Book.__new__(Book)
        out._set_tables(self._tables)
        out._store = self._store.copy()
        out._out = {k: v.copy() for k, v in self._out.items()}
        out._liq = self._liq.copy()
        out._groups = None
        return out

    # -- exact path -------------------------------------------------------------------------------------------

    def account_data(self, address: str) -> AccountData:
        """Exact ``getUserAccountData(address)``."""
        return self._exact(self._tables, np.array([self.index_of(address)], dtype=np.intp))[0]

    def account_data_all(self) -> list[AccountData]:
        """Exact ``getUserAccountData`` of every account, in row order."""
        return self._exact(self._tables, np.arange(len(self), dtype=np.intp))

    def health_factors_wad(self) -> list[int]:
        """Exact health factors (wad; ``2**256 - 1`` without debt), in row order."""
        return [a.health_factor for a in self.account_data_all()]

    # -- float path -------------------------------------------------------------------------------------------

    def health_factors(self) -> F64:
        """Float health factors (1.0 = 1e18 wad; +inf without debt), in row order."""
        return self._view("hf").copy()

    def collateral_base(self) -> F64:
        """Counted collateral per account, base units (8 decimals)."""
        return self._view("t").copy()

    def debt_base(self) -> F64:
        """Debt per account, base units (8 decimals)."""
        return self._view("d").copy()

    def collateral_usd(self) -> F64:
        """Counted collateral per account in USD."""
        return self._view("t") / float(BASE_CURRENCY_UNIT)

    def debt_usd(self) -> F64:
        """Debt per account in USD."""
        return self._view("d") / float(BASE_CURRENCY_UNIT)

    def liquidatable(self) -> Bool:
        """HF < 1 per account (decided exactly within 1e-9 of 1)."""
        return self._liq[: self._store.n].copy()

    def health_factors_at(self, prices: Mapping[str, int]) -> F64:
        """Float HFs if ``prices`` replaced the current ones; the book is not changed."""
        tables = self._tables.with_prices(prices)
        n, s = len(self), self._store
        out = Outputs.empty(n)
        pending = compute(s.fc[:, :n], s.fd[:, :n], s.emode[:n], self._view("lt_uni"), plan(tables), out,
                          maths=tables.maths)  # fmt: skip
        self._settle(tables, None, out, pending)
        return out.hf

    # -- analytics --------------------------------------------------------------------------------------------

    def arrays(self) -> BookArrays:
        """Read-only views of the float state, for :mod:`monitor.protocols.aave_v3.book.analytics`.

        The views are invalid after the next update of the book.
        """
        n = len(self)

        def ro(a: Any) -> Any:
            v = a.view()
            v.flags.writeable = False
            return v

        s = self._store
        return BookArrays(
            tables=self._tables,
            addresses=s.addresses,
            fc=ro(s.fc[:, :n]),
            fd=ro(s.fd[:, :n]),
            emode=ro(s.emode[:n]),
            groups=self._category_groups(),
            collateral_base=ro(self._view("t")),
            weighted_collateral=ro(self._view("w")),
            debt_base=ro(self._view("d")),
            avg_lt=ro(self._view("avg")),
            health_factor=ro(self._view("hf")),
            liquidatable=ro(self._liq[:n]),
        )

    def distribution(self, edges: Sequence[float]) -> analytics.HfDistribution:
        """HF histogram of accounts with debt (counts, debt and collateral USD per bucket)."""
        return analytics.distribution(self.arrays(), edges)

    def liquidatable_debt(self) -> analytics.LiquidatableDebt:
        """Debt of accounts with HF < 1 now."""
        return analytics.liquidatable_debt(self.arrays())

    def liquidation_prices(self, asset: str) -> analytics.LiquidationPrices:
        """Per account, the price of ``asset`` at which HF reaches 1."""
        return analytics.liquidation_prices(self.arrays(), asset)

    def collateral_at_risk(
        self, asset: str, drops: Sequence[float] = analytics.DEFAULT_DROPS
    ) -> analytics.CollateralAtRisk:
        """Collateral and debt turning liquidatable when ``asset`` alone drops by each of ``drops``."""
        return analytics.collateral_at_risk(self.arrays(), asset, drops)

    def collateral_at_risk_each(
        self, assets: Sequence[str], drops: Sequence[float] = analytics.DEFAULT_DROPS
    ) -> list[analytics.CollateralAtRisk]:
        """:meth:`collateral_at_risk` of each of ``assets``, sharing the per-reserve work (one figure set per
        block)."""
        return analytics.collateral_at_risk_each(self.arrays(), assets, drops)

    def riskiest(self, n: int) -> list[analytics.AccountRisk]:
        """The ``n`` lowest-HF accounts with debt."""
        return analytics.riskiest(self.arrays(), n)

    def toxic_accounts(self) -> list[str]:
        """Liquidatable accounts in the toxic region (``LT * bonus > HF`` for some held collateral)."""
        mask = analytics.toxic_mask(self.arrays())
        return [self._store.addresses[i] for i in np.flatnonzero(mask).tolist()]

    # -- export and comparison --------------------------------------------------------------------------------

    def account_input(self, address: str) -> AccountInput:
        """The stored raw data of ``address`` as an :class:`AccountInput` (non-zero positions only)."""
        i = self.index_of(address)
        s = self._store
        positions = {}
        for j, asset in enumerate(self._tables.assets):
            pos = PositionInput(int(s.scaled_atoken[j, i]), int(s.scaled_debt[j, i]), int(s.stable_debt[j, i]))
            if not pos.is_empty:
                positions[asset] = pos
        return AccountInput(s.addresses[i], s.configs[i], int(s.emode[i]), positions)

    def account_inputs(self) -> list[AccountInput]:
        """Every account as :class:`AccountInput`, in row order."""
        return [self.account_input(a) for a in self._store.addresses]

    def equals(self, other: Book) -> bool:
        """True when both books hold the same market and accounts and computed the same results."""
        return not self.diff(other, limit=1)

    def diff(self, other: Book, limit: int = 10) -> list[str]:
        """Human-readable differences (market, account set, raw rows, float results), at most ``limit``."""
        return book_diff(self._parts(), other._parts(), limit)

    def _parts(self) -> BookParts:
        return BookParts(self.market, self._store, self._out, self._liq)

    # -- internals --------------------------------------------------------------------------------------------

    _OUTPUTS = ("lt_uni", "t", "w", "d", "avg", "hf")

    def _resize_outputs(self) -> None:
        cap = self._store.capacity
        n = self._store.n
        for name in self._OUTPUTS:
            self._out[name] = resized(self._out.get(name), cap, n, np.float64)  # type: ignore[assignment]
        self._liq = resized(self._liq, cap, n, np.bool_)  # type: ignore[assignment]

    def _view(self, name: str) -> F64:
        return self._out[name][: self._store.n]

    def _category_groups(self) -> dict[int, Idx]:
        if self._groups is None:
            self._groups = category_groups(self._store.emode[: self._store.n])
        return self._groups

    def _exact(self, tables: MarketTables, rows: Idx) -> list[AccountData]:
        s = self._store
        return exact.account_data(
            tables,
            s.scaled_atoken[:, rows],
            s.scaled_debt[:, rows],
            s.stable_debt[:, rows],
            s.collateral_flag[:, rows],
            s.borrowing_flag[:, rows],
            s.emode[rows],
        )

    def _set_tables(self, tables: MarketTables) -> None:
        self._tables = tables
        self._plan = plan(tables)

    def _live_outputs(self) -> Outputs:
        n = self._store.n
        o = self._out
        return Outputs(o["t"][:n], o["w"][:n], o["d"][:n], o["avg"][:n], o["hf"][:n], self._liq[:n])

    def _settle(self, tables: MarketTables, rows: Idx | None, out: Outputs, pending: Pending) -> None:
        """Resolve what the float pass left open with the exact path (``rows`` maps positions to book rows)."""
        boundary = pending.boundary
        if pending.average.size:
            pos = pending.average
            data = self._exact(tables, pos if rows is None else rows[pos])
            out.avg[pos] = [x.current_liquidation_threshold for x in data]
            out.hf[pos] = health(out.t[pos], out.d[pos], out.avg[pos])
            out.liq[pos] = out.hf[pos] < 1.0
            boundary = np.union1d(boundary, pos[np.abs(out.hf[pos] - 1.0) <= HF_BOUNDARY])
        if boundary.size:
            data = self._exact(tables, boundary if rows is None else rows[boundary])
            out.liq[boundary] = [x.health_factor < WAD for x in data]

    def _recompute_rows(self, rows: Idx) -> None:
        s, tab = self._store, self._tables
        em = s.emode[rows]
        lt_uni = uniform_lt(tab, s.fc, em, rows)
        self._out["lt_uni"][rows] = lt_uni
        out = Outputs.empty(rows.size)
        pending = compute(s.fc[:, rows], s.fd[:, rows], em, lt_uni, self._plan, out, maths=tab.maths)
        self._settle(tab, rows, out, pending)
        for name in ("t", "w", "d", "avg", "hf"):
            self._out[name][rows] = getattr(out, name)
        self._liq[rows] = out.liq

    def _recompute_all(self, *, refresh_uniform: bool) -> None:
        s, tab, n = self._store, self._tables, self._store.n
        if refresh_uniform:
            self._out["lt_uni"][:n] = uniform_lt(tab, s.fc, s.emode[:n], np.arange(n, dtype=np.intp))
        out = self._live_outputs()
        pending = compute(s.fc[:, :n], s.fd[:, :n], s.emode[:n], self._view("lt_uni"), self._plan, out,
                          maths=tab.maths)  # fmt: skip
        self._settle(tab, None, out, pending)
