"""Risk analytics on the float path: HF distribution, liquidatable debt, liquidation prices, collateral at risk,
riskiest and toxic accounts. All vectorised over accounts; amounts in USD (base currency / 1e8).

Price shocks use a linear model: scaling one oracle price by ``f`` scales the value of every position priced by
it, so ``HF(f) = (W_other + f * W_x) / 1e4 / (D_other + f * D_x)`` with ``W`` the LT-weighted collateral and
``D`` the debt (base units). It ignores the integer floors of the exact formula (an error of ~1e-4 relative at
most, from the whole-bps average LT).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.inputs import normalize_address
from monitor.protocols.aave_v3.book.tables import MarketTables
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]

#: Drops of the collateral-at-risk curves: 1% .. 90% in 1% steps.
DEFAULT_DROPS: tuple[float, ...] = tuple(i / 100 for i in range(1, 91))
_USD = float(BASE_CURRENCY_UNIT)


@dataclass(frozen=True)
class BookArrays:
    """Read-only float state of a book, row ``i`` = ``addresses[i]`` (see :meth:`Book.arrays`)."""

    tables: MarketTables
    addresses: Sequence[str]
    fc: F64
    fd: F64
    emode: NDArray[np.int64]
    groups: Mapping[int, Idx]
    collateral_base: F64
    weighted_collateral: F64
    debt_base: F64
    avg_lt: F64
    health_factor: F64
    liquidatable: Bool


@dataclass(frozen=True)
class HfDistribution:
    """Accounts with debt per HF bucket: bucket 0 is ``hf < edges[0]``, bucket ``i`` is
    ``edges[i-1] <= hf < edges[i]``, the last is ``hf >= edges[-1]``."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    debt_usd: tuple[float, ...]
    collateral_usd: tuple[float, ...]
    accounts_without_debt: int

    def labels(self) -> list[str]:
        """Human labels of the buckets, e.g. ``<1``, ``[1,1.01)``, ``>=5``."""
        e = [f"{x:g}" for x in self.edges]
        return [f"<{e[0]}"] + [f"[{a},{b})" for a, b in itertools.pairwise(e)] + [f">={e[-1]}"]


@dataclass(frozen=True)
class LiquidatableDebt:
    """Accounts with HF < 1 now; ``close_factor_debt_usd`` is what liquidators may repay at once (v3.0:
    50% of the debt while HF > 0.95, all of it below)."""

    accounts: int
    debt_usd: float
    collateral_usd: float
    close_factor_debt_usd: float


@dataclass(frozen=True)
class LiquidationPrices:
    """Per account, the ``asset`` price (oracle units, 8 decimals) at which HF reaches 1, others fixed.

    ``net_long`` accounts are liquidated when the price falls below ``prices`` (0.0: no fall of this price
    alone does it); the others when it rises above. NaN: no debt or no exposure to this price.
    """

    asset: str
    current_price: int
    prices: F64
    net_long: Bool


@dataclass(frozen=True)
class CollateralAtRisk:
    """Accounts healthy now that turn liquidatable when ``asset`` alone drops by each of ``drops``.

    ``*_now_usd`` value those accounts at current prices (non-decreasing in the drop); ``collateral_usd`` /
    ``debt_usd`` at the shocked price; ``asset_collateral_usd`` is their collateral in ``asset`` itself at the
    shocked price.
    """

    asset: str
    drops: tuple[float, ...]
    accounts: tuple[int, ...]
    collateral_usd: tuple[float, ...]
    debt_usd: tuple[float, ...]
    asset_collateral_usd: tuple[float, ...]
    collateral_now_usd: tuple[float, ...]
    debt_now_usd: tuple[float, ...]


@dataclass(frozen=True)
class AccountRisk:
    """One account's float-path summary."""

    address: str
    health_factor: float
    collateral_usd: float
    debt_usd: float
    liquidatable: bool


def distribution(arr: BookArrays, edges: Sequence[float]) -> HfDistribution:
    """Counts, debt and collateral per HF bucket, for accounts with debt."""
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)) or e[0] <= 0 or np.any(np.diff(e) <= 0):
        raise DataError("HF bucket edges must be positive, finite and strictly increasing")
    owing = arr.debt_base > 0
    hf = arr.health_factor[owing]
    idx = np.searchsorted(e, hf, side="right")
    # Branch: with a first edge of 1, bucket 0 is exactly the liquidatable set (exact near HF = 1).
    if e[0] == 1.0:
        liq = arr.liquidatable[owing]
        idx = np.where(liq, 0, np.maximum(idx, 1))
    buckets = e.size + 1
    counts = np.bincount(idx, minlength=buckets)
    debt = np.bincount(idx, weights=arr.debt_base[owing], minlength=buckets) / _USD
    coll = np.bincount(idx, weights=arr.collateral_base[owing], minlength=buckets) / _USD
    return HfDistribution(
        edges=tuple(float(x) for x in e),
        counts=tuple(int(c) for c in counts),
        debt_usd=tuple(float(x) for x in debt),
        collateral_usd=tuple(float(x) for x in coll),
        accounts_without_debt=int(owing.size - np.count_nonzero(owing)),
    )


def liquidatable_debt(arr: BookArrays) -> LiquidatableDebt:
    """Debt and collateral of accounts with HF < 1."""
    liq = arr.liquidatable
    debt = arr.debt_base[liq]
    factor = np.where(arr.health_factor[liq] > 0.95, 0.5, 1.0)
    return LiquidatableDebt(
        accounts=int(np.count_nonzero(liq)),
        debt_usd=float(debt.sum() / _USD),
        collateral_usd=float(arr.collateral_base[liq].sum() / _USD),
        close_factor_debt_usd=float((debt * factor).sum() / _USD),
    )


@dataclass(frozen=True)
class _Column:
    """One reserve column as every account sees it."""

    collateral: F64  # floored collateral value, base units
    debt: F64  # floored debt value, base units
    lt: F64  # effective liquidation threshold, bps
    bonus: F64  # effective liquidation bonus, bps
    via_source: Bool  # priced by the e-mode price source instead of the asset's own price
    source: str  # that price source (zero address when none)


def _column(arr: BookArrays, j: int) -> _Column:
    tab = arr.tables
    n = arr.emode.size
    base_up = tab.unit_price_vector(0)[j]
    coll = np.floor(arr.fc[j] * base_up)
    debt = np.floor(arr.fd[j] * base_up)
    lt = np.full(n, float(tab.lt[j]))
    bonus = np.full(n, float(tab.bonus[j]))
    via = np.zeros(n, dtype=bool)
    cid = int(tab.category[j])
    members = arr.groups.get(cid) if cid != 0 else None
    source = "0x" + "0" * 40
    if members is not None and members.size:
        cat = tab.categories[cid]
        lt[members] = float(cat.liquidation_threshold)
        bonus[members] = float(cat.liquidation_bonus)
        # Branch: a category price source replaces the asset's price for the category's members.
        if tab.emode_price(cid) != 0:
            up = tab.unit_price_vector(cid)[j]
            coll[members] = np.floor(arr.fc[j, members] * up)
            debt[members] = np.floor(arr.fd[j, members] * up)
            via[members] = True
            source = cat.price_source
    return _Column(coll, debt, lt, bonus, via, source)


def _columns(arr: BookArrays) -> list[_Column]:
    """Every reserve column (built once for the curves of several assets)."""
    return [_column(arr, j) for j in range(arr.tables.size)]


def _exposure(arr: BookArrays, address: str, columns: Sequence[_Column] | None = None) -> tuple[F64, F64, F64]:
    """Per account: (collateral value, LT-weighted collateral, debt value) priced by ``address`` (``columns``:
    :func:`_columns` of ``arr``, when the caller has them)."""
    n = arr.emode.size
    cx, wx, dx = np.zeros(n), np.zeros(n), np.zeros(n)
    for j, asset in enumerate(arr.tables.assets):
        col = _column(arr, j) if columns is None else columns[j]
        sel = np.zeros(n, dtype=bool)
        if asset == address:
            sel |= ~col.via_source
        if col.source == address:
            sel |= col.via_source
        if not sel.any():
            continue
        cx += np.where(sel, col.collateral, 0.0)
        wx += np.where(sel, col.collateral * col.lt, 0.0)
        dx += np.where(sel, col.debt, 0.0)
    return cx, wx, dx


def _priced(arr: BookArrays, asset: str) -> tuple[str, int]:
    key = normalize_address(asset, "asset")
    if key not in arr.tables.prices:
        raise DataError(f"{key} is not a priced address of the market")
    return key, arr.tables.prices[key]


def _threshold_factor(arr: BookArrays, wx: F64, dx: F64) -> tuple[F64, F64]:
    """``(f*, slope)``: the price factor at which HF = 1 and ``W_x / 1e4 - D_x`` (> 0: net long)."""
    slope = wx / 1e4 - dx
    other = (arr.debt_base - dx) - (arr.weighted_collateral - wx) / 1e4
    with np.errstate(divide="ignore", invalid="ignore"):
        factor: F64 = np.where(slope != 0, other / np.where(slope != 0, slope, 1.0), np.nan)
    factor[arr.debt_base <= 0] = np.nan
    return factor, slope


def liquidation_prices(arr: BookArrays, asset: str) -> LiquidationPrices:
    """Per account, the price of ``asset`` at which HF reaches 1 (see :class:`LiquidationPrices`)."""
    key, price = _priced(arr, asset)
    _, wx, dx = _exposure(arr, key)
    factor, slope = _threshold_factor(arr, wx, dx)
    prices = np.where(np.isnan(factor), np.nan, np.maximum(factor, 0.0) * float(price))
    return LiquidationPrices(asset=key, current_price=price, prices=prices, net_long=slope > 0)


def collateral_at_risk(arr: BookArrays, asset: str, drops: Sequence[float] = DEFAULT_DROPS) -> CollateralAtRisk:
    """What turns liquidatable when ``asset`` alone drops by each fraction in ``drops``."""
    return _collateral_at_risk(arr, asset, drops, None)


def collateral_at_risk_each(
    arr: BookArrays, assets: Sequence[str], drops: Sequence[float] = DEFAULT_DROPS
) -> list[CollateralAtRisk]:
    """:func:`collateral_at_risk` of each of ``assets`` (the same figures; the reserve columns built once)."""
    columns = _columns(arr)
    return [_collateral_at_risk(arr, a, drops, columns) for a in assets]


def _collateral_at_risk(
    arr: BookArrays, asset: str, drops: Sequence[float], columns: Sequence[_Column] | None
) -> CollateralAtRisk:
    key, _ = _priced(arr, asset)
    d = np.asarray(drops, dtype=np.float64)
    if d.ndim != 1 or d.size == 0 or np.any(d <= 0) or np.any(d >= 1) or np.any(np.diff(d) <= 0):
        raise DataError("drops must be strictly increasing fractions in (0, 1)")
    cx, wx, dx = _exposure(arr, key, columns)
    factor, slope = _threshold_factor(arr, wx, dx)
    # Branch: only accounts with debt, healthy now and net long the asset turn liquidatable on a drop.
    cand = np.flatnonzero((arr.debt_base > 0) & ~arr.liquidatable & (slope > 0) & ~np.isnan(factor))
    critical = 1.0 - factor[cand]
    order = np.argsort(critical, kind="stable")
    critical = critical[order]
    rows = cand[order]

    def cum(x: F64) -> F64:
        return np.concatenate(([0.0], np.cumsum(x[rows])))

    coll, debt, c_x, d_x = cum(arr.collateral_base), cum(arr.debt_base), cum(cx), cum(dx)
    k = np.searchsorted(critical, d, side="left")
    return CollateralAtRisk(
        asset=key,
        drops=tuple(float(x) for x in d),
        accounts=tuple(int(x) for x in k),
        collateral_usd=_usd(coll[k] - d * c_x[k]),
        debt_usd=_usd(debt[k] - d * d_x[k]),
        asset_collateral_usd=_usd((1.0 - d) * c_x[k]),
        collateral_now_usd=_usd(coll[k]),
        debt_now_usd=_usd(debt[k]),
    )


def _usd(x: F64) -> tuple[float, ...]:
    return tuple(float(v) for v in x / _USD)


def riskiest(arr: BookArrays, n: int) -> list[AccountRisk]:
    """The ``n`` accounts with debt and the lowest HF (ties: larger debt first, then address)."""
    if n < 0:
        raise DataError("n must be >= 0")
    owing = np.flatnonzero(arr.debt_base > 0)
    if n == 0 or owing.size == 0:
        return []
    hf = arr.health_factor[owing]
    if n < owing.size:
        cut = np.partition(hf, n - 1)[n - 1]
        keep = hf <= cut
        owing, hf = owing[keep], hf[keep]
    addrs = np.array([arr.addresses[i] for i in owing.tolist()])
    order = np.lexsort((addrs, -arr.debt_base[owing], hf))[:n]
    return [
        AccountRisk(
            address=arr.addresses[i],
            health_factor=float(arr.health_factor[i]),
            collateral_usd=float(arr.collateral_base[i] / _USD),
            debt_usd=float(arr.debt_base[i] / _USD),
            liquidatable=bool(arr.liquidatable[i]),
        )
        for i in owing[order].tolist()
    ]


def toxic_mask(arr: BookArrays) -> Bool:
    """Liquidatable accounts where seizing some held collateral lowers HF further: ``LT * bonus > HF``.

    Repaying ``x`` of debt seizes ``x * bonus`` of a collateral with threshold ``LT``; the new HF is below the
    old one exactly when ``LT * bonus > HF`` (Warmuz et al., "Toxic Liquidation Spirals").
    """
    n = arr.emode.size
    toxic = np.zeros(n, dtype=bool)
    hf = arr.health_factor
    for j in range(arr.tables.size):
        col = _column(arr, j)
        toxic |= (col.collateral > 0) & (col.lt * col.bonus / 1e8 > hf)
    out: Bool = toxic & arr.liquidatable
    return out
