"""Columnar storage of the accounts: raw integers (object arrays) and their float64 balances.

Arrays are reserve-major, ``(R, capacity)``; the first ``n`` columns are live. Rows are appended at the end and
removed by moving the last row into the hole, so a row index is stable only until the next removal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.tables import MarketTables
from monitor.protocols.aave_v3.book.wadray import HALF_RAY, RAY

Obj = NDArray[np.object_]
Bool = NDArray[np.bool_]
F64 = NDArray[np.float64]
Idx = NDArray[np.intp]
_WORD = (1 << 64) - 1
#: Up to this many rows are refreshed in plain Python.
_FEW = 8
#: Raw balances are uint256.
_BALANCE_BITS = 256


def max_bits(values: Obj) -> NDArray[np.int64]:
    """Per row of a ``(R, k)`` object array of non-negative ints, the most bits any of its ints has."""
    return np.array([max(map(int.bit_length, row), default=0) for row in values.tolist()], dtype=np.int64)


def ray_mul_floats(values: Obj, index: int, add: int, extra: Obj | None = None, value_bits: int = _BALANCE_BITS) -> F64:
    """``float((v * index + add) // RAY + e)`` for each ``v`` of ``values`` (non-negative ints below
    ``2**value_bits``) and ``e`` of ``extra`` (none: 0): the exact integer, rounded to float64 once.

    ``add`` picks the rounding (0: down, ``HALF_RAY``: half up, ``RAY - 1``: up). The division by RAY is a
    multiplication by its reciprocal ``m = ceil(2**s / RAY)`` and a shift by ``s``: with ``s`` at least the
    dividend's bits plus RAY's, ``(x * m) >> s == x // RAY`` for every dividend ``x`` below ``2**bits`` (the
    error ``x * (m * RAY - 2**s) / (RAY * 2**s)`` stays under ``1 / RAY``). The index is folded into the
    reciprocal, so an element costs one multiplication and one shift, not a multiplication and a division.
    """
    bits = max(value_bits + index.bit_length(), add.bit_length()) + 1  # v * index + add < 2**bits
    shift = bits + (RAY - 1).bit_length()
    m = -(-(1 << shift) // RAY)
    scaled = values * (index * m)
    if add:
        scaled = scaled + add * m
    exact = scaled >> shift
    if extra is not None:
        exact = exact + extra
    out: F64 = exact.astype(np.float64)
    return out


def config_flags(configs: Sequence[int], reserve_ids: NDArray[np.int64]) -> tuple[Bool, Bool]:
    """``(collateral, borrowing)`` flags, shape ``(R, k)``, of ``k`` user-configuration bitmaps."""
    if len(configs) <= _FEW:
        ids = reserve_ids.tolist()
        few_coll = np.array([[(c >> (2 * i + 1)) & 1 for c in configs] for i in ids], dtype=bool)
        few_borr = np.array([[(c >> (2 * i)) & 1 for c in configs] for i in ids], dtype=bool)
        return few_coll.reshape(len(ids), len(configs)), few_borr.reshape(len(ids), len(configs))
    cfg: Obj = np.empty(len(configs), dtype=object)
    cfg[:] = list(configs)
    words = [((cfg >> (64 * i)) & _WORD).astype(np.uint64) for i in range(4)]
    coll = np.zeros((reserve_ids.size, len(configs)), dtype=bool)
    borr = np.zeros_like(coll)
    for j, rid in enumerate(reserve_ids.tolist()):
        for flags, bit in ((borr, 2 * rid), (coll, 2 * rid + 1)):
            flags[j] = (words[bit // 64] >> np.uint64(bit % 64)) & np.uint64(1) != 0
    return coll, borr


class AccountStore:
    """Addresses, configuration, e-mode, raw balances and derived float balances of every account."""

    def __init__(self, n_reserves: int) -> None:
        self.n = 0
        self.addresses: list[str] = []
        self.row: dict[str, int] = {}
        self.configs: list[int] = []
        r = n_reserves
        self.emode: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.scaled_atoken: Obj = np.zeros((r, 0), dtype=object)
        self.scaled_debt: Obj = np.zeros((r, 0), dtype=object)
        self.stable_debt: Obj = np.zeros((r, 0), dtype=object)
        self.collateral_flag: Bool = np.zeros((r, 0), dtype=bool)
        self.borrowing_flag: Bool = np.zeros((r, 0), dtype=bool)
        #: Which raw balances are non-zero: scaled aToken, any debt (variable or stable), stable debt.
        self.supplies: Bool = np.zeros((r, 0), dtype=bool)
        self.owes: Bool = np.zeros((r, 0), dtype=bool)
        self.owes_stable: Bool = np.zeros((r, 0), dtype=bool)
        #: Per reserve, at least the bits of every scaled aToken / variable debt balance it ever held (a bound
        #: that keeps the re-derivation's ints small; never lowered).
        self.atoken_bits: NDArray[np.int64] = np.zeros(r, dtype=np.int64)
        self.debt_bits: NDArray[np.int64] = np.zeros(r, dtype=np.int64)
        #: Exact collateral balance as float where it counts (flag set and reserve LT > 0), else 0.
        self.fc: F64 = np.zeros((r, 0))
        #: Exact total debt as float where the borrowing flag is set, else 0.
        self.fd: F64 = np.zeros((r, 0))

    @property
    def capacity(self) -> int:
        """Allocated columns."""
        return int(self.emode.size)

    def reserve(self, n: int) -> None:
        """Make room for ``n`` live rows (amortised doubling)."""
        if n <= self.capacity:
            return
        cap = max(n, 2 * self.capacity, 16)
        live = self.n

        def grow2(a: NDArray[np.generic], fill: object) -> NDArray[np.generic]:
            out = np.full((a.shape[0], cap), fill, dtype=a.dtype)
            out[:, :live] = a[:, :live]
            return out

        emode = np.zeros(cap, dtype=np.int64)
        emode[:live] = self.emode[:live]
        self.emode = emode
        self.scaled_atoken = grow2(self.scaled_atoken, 0)  # type: ignore[assignment]
        self.scaled_debt = grow2(self.scaled_debt, 0)  # type: ignore[assignment]
        self.stable_debt = grow2(self.stable_debt, 0)  # type: ignore[assignment]
        self.collateral_flag = grow2(self.collateral_flag, False)  # type: ignore[assignment]
        self.borrowing_flag = grow2(self.borrowing_flag, False)  # type: ignore[assignment]
        self.supplies = grow2(self.supplies, False)  # type: ignore[assignment]
        self.owes = grow2(self.owes, False)  # type: ignore[assignment]
        self.owes_stable = grow2(self.owes_stable, False)  # type: ignore[assignment]
        self.fc = grow2(self.fc, 0.0)  # type: ignore[assignment]
        self.fd = grow2(self.fd, 0.0)  # type: ignore[assignment]

    def add_addresses(self, addresses: Sequence[str]) -> Idx:
        """Append rows for new addresses (raw data left zero); their row indexes."""
        start = self.n
        self.reserve(start + len(addresses))
        for i, a in enumerate(addresses):
            if a in self.row:
                raise DataError(f"account {a} appears twice")
            self.row[a] = start + i
        self.addresses.extend(addresses)
        self.configs.extend([0] * len(addresses))
        self.n = start + len(addresses)
        return np.arange(start, self.n, dtype=np.intp)

    def write(
        self,
        tables: MarketTables,
        rows: Idx,
        configs: Sequence[int],
        emode: Sequence[int] | NDArray[np.int64],
        scaled_atoken: Obj,
        scaled_debt: Obj,
        stable_debt: Obj,
    ) -> None:
        """Store raw data for ``rows`` (``(R, k)`` object arrays) and refresh their float balances."""
        for i, cfg in zip(rows.tolist(), configs, strict=True):
            self.configs[i] = cfg
        self.emode[rows] = np.asarray(emode, dtype=np.int64)
        self.scaled_atoken[:, rows] = scaled_atoken
        self.scaled_debt[:, rows] = scaled_debt
        self.stable_debt[:, rows] = stable_debt
        self.supplies[:, rows] = scaled_atoken != 0
        self.owes_stable[:, rows] = stable_debt != 0
        self.owes[:, rows] = (scaled_debt != 0) | self.owes_stable[:, rows]
        self.atoken_bits = np.maximum(self.atoken_bits, max_bits(scaled_atoken))
        self.debt_bits = np.maximum(self.debt_bits, max_bits(scaled_debt))
        coll, borr = config_flags(configs, tables.ids)
        self.collateral_flag[:, rows] = coll
        self.borrowing_flag[:, rows] = borr
        self.refresh_floats(tables, rows)

    def refresh_floats(
        self, tables: MarketTables, rows: Idx | None = None, columns: Sequence[int] | None = None
    ) -> None:
        """Recompute ``fc``/``fd`` from the raw data for ``rows`` (default all) and ``columns`` (default all).

        Only non-zero balances are multiplied (big-int work is the cost here; :func:`ray_mul_floats`).
        """
        if rows is not None and rows.size <= _FEW and columns is None:
            self._refresh_few(tables, rows.tolist())
            return
        sel = np.arange(self.n, dtype=np.intp) if rows is None else rows
        # Branch: v3.0 balances round half up; v3.5+ aToken balances round down and debt balances up.
        v36 = tables.maths == "v3.6"
        half = 0 if v36 else HALF_RAY
        # v3.6 debt rounds up: ceil(p / RAY) == (p + RAY - 1) // RAY
        debt_add = RAY - 1 if v36 else HALF_RAY
        for j in range(tables.size) if columns is None else columns:
            self.fc[j, sel] = 0.0
            self.fd[j, sel] = 0.0
            # Branch: collateral counts when flagged and the reserve's LT is non-zero (v3.0), or always (v3.6:
            # an e-mode category may count a reserve of LT 0 at its own LT).
            if tables.lt[j] != 0 or v36:
                live = sel[self.collateral_flag[j, sel] & self.supplies[j, sel]]
                coll = self.scaled_atoken[j, live]
                self.fc[j, live] = ray_mul_floats(coll, tables.income[j], half, None, int(self.atoken_bits[j]))
            live = sel[self.borrowing_flag[j, sel] & self.owes[j, sel]]
            stable = self.stable_debt[j, live] if self.owes_stable[j, live].any() else None
            owed = self.scaled_debt[j, live]
            self.fd[j, live] = ray_mul_floats(owed, tables.debt_index[j], debt_add, stable, int(self.debt_bits[j]))

    def _refresh_few(self, tables: MarketTables, rows: list[int]) -> None:
        """:meth:`refresh_floats` for a handful of rows, in plain Python (numpy call overhead dominates)."""
        for j in range(tables.size):
            v36 = tables.maths == "v3.6"
            counts = tables.lt[j] != 0 or v36
            half = 0 if v36 else HALF_RAY
            income, debt_index = tables.income[j], tables.debt_index[j]
            for i in rows:
                sc = self.scaled_atoken[j, i]
                coll = counts and self.collateral_flag[j, i] and sc != 0
                self.fc[j, i] = float((sc * income + half) // RAY) if coll else 0.0
                sv, st = self.scaled_debt[j, i], self.stable_debt[j, i]
                owes = self.borrowing_flag[j, i] and (sv != 0 or st != 0)
                owed = -(-(sv * debt_index) // RAY) if v36 else (sv * debt_index + HALF_RAY) // RAY
                self.fd[j, i] = float(owed + st) if owes else 0.0

    def remove(self, address: str) -> tuple[int, int]:
        """Drop ``address``; returns ``(hole, moved_from)``: the last row moved into the hole (equal if none)."""
        hole = self.row.pop(address)
        last = self.n - 1
        if hole != last:
            moved = self.addresses[last]
            self.addresses[hole] = moved
            self.row[moved] = hole
            self.configs[hole] = self.configs[last]
            self.emode[hole] = self.emode[last]
            for a in self._matrices():
                a[:, hole] = a[:, last]
        self.addresses.pop()
        self.configs.pop()
        for a in self._matrices():
            a[:, last] = 0
        self.emode[last] = 0
        self.n = last
        return hole, last

    def _matrices(self) -> list[NDArray[np.generic]]:
        return [
            self.scaled_atoken,
            self.scaled_debt,
            self.stable_debt,
            self.collateral_flag,
            self.borrowing_flag,
            self.supplies,
            self.owes,
            self.owes_stable,
            self.fc,
            self.fd,
        ]

    def copy(self) -> AccountStore:
        """A deep copy (object arrays share the immutable ints)."""
        out = AccountStore(self.fc.shape[0])
        out.n = self.n
        out.addresses = list(self.addresses)
        out.row = dict(self.row)
        out.configs = list(self.configs)
        out.emode = self.emode.copy()
        out.scaled_atoken = self.scaled_atoken.copy()
        out.scaled_debt = self.scaled_debt.copy()
        out.stable_debt = self.stable_debt.copy()
        out.collateral_flag = self.collateral_flag.copy()
        out.borrowing_flag = self.borrowing_flag.copy()
        out.supplies = self.supplies.copy()
        out.owes = self.owes.copy()
        out.owes_stable = self.owes_stable.copy()
        out.atoken_bits = self.atoken_bits.copy()
        out.debt_bits = self.debt_bits.copy()
        out.fc = self.fc.copy()
        out.fd = self.fd.copy()
        return out
