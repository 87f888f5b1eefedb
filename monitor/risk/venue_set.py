"""Split sales: every venue of an asset at once, with the marginal prices kept equal (arbitrage between venues).

A :class:`VenueSet` sells one asset into all its venues (its *legs*): every configured pool pairing it with the
quote (the fee tiers), two-hop routes through another reserve (asset -> mid in the deepest asset/mid pool, mid
-> quote in the deepest mid/quote pool, e.g. LINK -> WETH -> USDC) and an optional off-chain depth curve
(:mod:`monitor.risk.offchain`). A sale of ``X`` is split as an optimal router would: a float split from the
legs' depth curves (:mod:`monitor.dex.combine`: a pool's :func:`~monitor.dex.pool_curve`, a route's
:func:`~monitor.dex.compose_route`) finds the common marginal price at which the legs together absorb ``X``
(a grid search on the price, narrowed a few times); each leg takes what brings it to that price (floored to
integer units, the rest to the primary leg) and each pool leg is then simulated **exactly** with the integer
swap maths (a route hop by hop, as ``exactInput`` does), so every on-chain leg's output equals QuoterV2 for its
amount.

The **oracle** of the asset sees its *primary* pool's spot price (the deepest pool, :func:`choose_venues`'
choice), as with one venue per asset; after a split all legs sit at about the same marginal price (fee
included), so the primary's spot stands for the market price. An asset with no pool but an off-chain curve
sees the off-chain mid after the sales.

Pools are shared: a route moves the mid asset's pools too, so every pool's state lives once in a
:class:`SaleBook` keyed by ``(token0, token1, fee)``; an asset whose primary pool moved has its oracle updated.

A shock moves every leg of the shocked asset to the target price: each direct pool and each route's first hop
by the same change (an outside trade), and the off-chain book is re-centred at the shocked primary price (the
order books follow the market); the liquidators' sales then walk down it without refill.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Union

import numpy as np
import numpy.typing as npt

from monitor.dex import PoolState
from monitor.errors import DataError
from monitor.risk.market import RiskMarket
from monitor.risk.offchain import OffchainCurve
from monitor.risk.venue_legs import Leg, PoolKey, PoolLeg, RouteLeg, SaleBook, curve_price_scale, pool_key
from monitor.risk.venues import Venue, choose_venues, depth_to, quote_of

#: Label of the off-chain leg in per-venue figures.
OFFCHAIN = "offchain"
#: the common price is narrowed ``_NARROWINGS`` times on a geometric grid of ``_GRID`` prices (relative
#: precision of about (1/_GRID)**_NARROWINGS of the initial factor-2 bracket)
_GRID = 64
_NARROWINGS = 5

__all__ = [
    "OFFCHAIN",
    "Leg",
    "PoolKey",
    "PoolLeg",
    "RouteLeg",
    "Sale",
    "SaleBook",
    "VenueSet",
    "Venues",
    "gather_venues",
    "pool_key",
]


@dataclass(frozen=True)
class Sale:
    """One split sale: asset units per leg label (raw) and what each leg paid (quote raw; USD off-chain)."""

    amount: int
    legs: dict[str, int]
    proceeds: dict[str, float]


@dataclass(frozen=True)
class VenueSet:
    """All venues of ``asset``: pool legs and routes (``legs``, primary first) and an optional off-chain curve.

    ``primary`` (None only for an asset with no pool) is the pool whose spot price the oracle sees;
    ``unit``: token units per whole token; ``price_unit``: price units per USD; ``price``: the asset's price
    (market units) used to centre an off-chain book when there is no primary pool.
    """

    asset: str
    primary: Venue | None
    legs: tuple[Leg, ...]
    offchain: OffchainCurve | None = None
    unit: float = 1.0
    price_unit: float = 1.0
    price: float = 0.0

    def __post_init__(self) -> None:
        if self.primary is None and self.offchain is None:
            raise DataError(f"venue set of {self.asset}: neither a pool nor an off-chain curve")

    # -- what the single-venue code reads -------------------------------------------------------------------

    @property
    def quote(self) -> str:
        return self.primary.quote if self.primary is not None else ""

    @property
    def pool(self) -> PoolState | None:
        return self.primary.pool if self.primary is not None else None

    @property
    def quote_price(self) -> int:
        return self.primary.quote_price if self.primary is not None else 0

    def rescaled(self, scale: float) -> VenueSet:
        """The same venues with every quote price (and the fallback price) in a price unit ``scale`` times
        this one's."""
        if scale == 1.0:
            return self

        def sc(v: Venue) -> Venue:
            return Venue(v.asset, v.quote, v.pool, round(v.quote_price * scale))

        legs: list[Leg] = [
            PoolLeg(sc(g.venue), g.label) if isinstance(g, PoolLeg) else RouteLeg(sc(g.first), sc(g.second), g.label)
            for g in self.legs
        ]
        primary = sc(self.primary) if self.primary is not None else None
        return replace(self, primary=primary, legs=tuple(legs), price_unit=self.price_unit * scale,
                       price=self.price * scale)  # fmt: skip

    # -- prices -----------------------------------------------------------------------------------------------

    def spot_price(self, book: SaleBook) -> int:
        """The oracle's view: the primary pool's spot price, or the off-chain mid moved by what was sold."""
        if self.primary is not None:
            return self.primary.spot_price(book.pools[pool_key(self.primary.pool)])
        return max(math.floor(self._offchain_price(book)), 1)

    def oracle_moved(self, book: SaleBook | None) -> bool:
        """True when the venue the oracle reads (the primary pool, else the off-chain book) is no longer as the
        set was built: a shock or a sale moved it."""
        if book is None:
            return False
        if self.primary is not None:
            return book.pools.get(pool_key(self.primary.pool), self.primary.pool) is not self.primary.pool
        return (
            book.offchain_mid.get(self.asset, self.price) != self.price or book.offchain_sold.get(self.asset, 0.0) > 0
        )

    def _offchain_price(self, book: SaleBook) -> float:
        assert self.offchain is not None
        mid = book.offchain_mid[self.asset]
        drop = self.offchain.drop_at(book.offchain_sold[self.asset], mid / self.price_unit)
        return mid * (1.0 - drop)

    def shocked(self, book: SaleBook, change: float) -> int:
        """Move every leg by ``change`` (see the module docstring); returns the oracle's new view."""
        # every pool that sells the asset itself (direct pools, routes' first hops, a primary against another
        # reserve), each moved once
        hops = [leg.venue if isinstance(leg, PoolLeg) else leg.first for leg in self.legs]
        if self.primary is not None:
            hops.append(self.primary)
        done: set[PoolKey] = set()
        for hop in hops:
            key = pool_key(hop.pool)
            if key not in done:
                done.add(key)
                book.pools[key] = hop.shocked(book.pools[key], change)
        if self.offchain is not None:
            if self.primary is not None:
                mid = float(self.primary.spot_price(book.pools[pool_key(self.primary.pool)]))
            else:
                mid = max(math.floor(book.offchain_mid[self.asset] * (1.0 + change)), 1.0)
            book.offchain_mid[self.asset] = mid
            book.offchain_sold[self.asset] = 0.0
        return self.spot_price(book)

    # -- the split sale ---------------------------------------------------------------------------------------

    def split(self, book: SaleBook, amount: int) -> dict[str, int]:
        """How ``amount`` (raw) is divided among the legs (labels) so that their marginal prices end equal."""
        curves = [leg.curve(book) for leg in self.legs]
        scales = [curve_price_scale(c, leg.quote_price) for c, leg in zip(curves, self.legs, strict=True)]
        mid = sold = 0.0
        if self.offchain is not None:
            mid, sold = book.offchain_mid[self.asset], book.offchain_sold[self.asset]

        def taken(prices: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            """Raw amount each leg (rows) takes to bring its marginal price down to each of ``prices``."""
            rows = []
            for c, s in zip(curves, scales, strict=True):
                rows.append(c.quote_to_sqrt_rate(np.sqrt(prices / s)).amount_in if c.segments else 0.0 * prices)
            if self.offchain is not None:
                more = self.offchain.tokens_at_array(1.0 - prices / mid, mid / self.price_unit) - sold
                rows.append(np.maximum(more, 0.0) * self.unit)
            return np.vstack(rows)

        tops = [c.spot_rate * s for c, s in zip(curves, scales, strict=True) if c.segments]
        if self.offchain is not None:
            tops.append(self._offchain_price(book))
        hi = max(tops) if tops else 0.0
        labels = [leg.label for leg in self.legs] + ([OFFCHAIN] if self.offchain is not None else [])
        if hi <= 0.0:
            return {}
        # bracket the common marginal price (halving down from the best venue's), then narrow the bracket on a
        # geometric grid a few times: the total taken grows as the price falls
        floor = hi * 1e-12
        lo = hi / 2.0
        while float(taken(np.array([lo])).sum()) < amount and lo > floor:
            hi, lo = lo, lo / 2.0
        for _ in range(_NARROWINGS):
            grid = np.geomspace(hi, lo, _GRID)
            total = taken(grid).sum(axis=0)
            k = int(np.searchsorted(total, float(amount), side="left"))  # first grid price taking enough
            if k >= _GRID:
                hi = lo  # Branch: even the lowest price takes too little (the venues' capacity): sell down to it
                break
            if k == 0:
                break  # Branch: float noise at the top of the bracket: the floors below are scaled to fit
            hi, lo = float(grid[k - 1]), float(grid[k])
        parts = np.floor(taken(np.array([hi]))[:, 0])
        if parts.sum() > amount:
            parts = np.floor(parts * (amount / parts.sum()))
        out = {lab: int(p) for lab, p in zip(labels, parts.tolist(), strict=True)}
        rest = amount - sum(out.values())
        # the remainder goes to the primary (first) leg, or off-chain when there is no pool
        first = labels[0]
        out[first] = out.get(first, 0) + rest
        if out[first] < 0:
            raise DataError("split sale: legs took more than the amount")
        return {k: v for k, v in out.items() if v > 0}

    def sell(self, book: SaleBook, amount: int) -> Sale | None:
        """Sell ``amount`` split across the venues (exact integer swaps per pool leg); None if nothing sells."""
        if amount <= 0:
            return None
        if len(self.legs) == 1 and self.offchain is None and isinstance(self.legs[0], PoolLeg):
            # Branch: one pool -> the single-venue sale, bit for bit.
            leg = self.legs[0]
            key = pool_key(leg.venue.pool)
            done = leg.venue.sell(book.pools[key], amount)
            if done is None:
                return None
            book.pools[key] = done[0]
            return Sale(amount, {leg.label: amount}, {leg.label: float(done[1].amount_out)})
        parts = self.split(book, amount)
        legs: dict[str, int] = {}
        proceeds: dict[str, float] = {}
        by_label = {leg.label: leg for leg in self.legs}
        for label, part in parts.items():
            if label == OFFCHAIN:
                assert self.offchain is not None
                mid = book.offchain_mid[self.asset] / self.price_unit
                before = book.offchain_sold[self.asset]
                # past the deepest level the book is empty: what does not fit stays with the seller
                after = min(before + part / self.unit, max(self.offchain.capacity_tokens(mid), before))
                taken_usd = self.offchain.usd_at(self.offchain.drop_at(after, mid)) - self.offchain.usd_at(
                    self.offchain.drop_at(before, mid)
                )
                book.offchain_sold[self.asset] = after
                took = min(part, math.floor((after - before) * self.unit + 0.5))
                if took > 0:
                    legs[label] = took
                    proceeds[label] = taken_usd
                continue
            got = by_label[label].execute(book, part)
            legs[label] = part
            proceeds[label] = float(got)
        if not any(proceeds.values()):
            return None  # pools already moved by legs that paid nothing stay moved, as on chain
        return Sale(sum(legs.values()), legs, proceeds)


Venues = Mapping[str, Union[Venue, VenueSet]]  # noqa: UP007


def gather_venues(
    market: RiskMarket,
    pools: Mapping[str, PoolState] | Iterable[PoolState],
    quote: str | None = None,
    *,
    offchain: Mapping[str, OffchainCurve] | None = None,
    split: bool = False,
) -> dict[str, Venue | VenueSet]:
    """Every venue of each asset: :func:`choose_venues` unless ``split`` or an off-chain curve asks for more.

    With ``split`` (or any ``offchain`` curve, keyed by symbol or address) each asset gets a :class:`VenueSet`:
    every pool pairing it with the quote (primary first), the two-hop routes through other reserves (all of
    them where there is no direct pool), and its off-chain curve if any. Without either, the result is
    :func:`choose_venues`' (one pool per asset), unchanged.
    """
    states = list(pools.values()) if isinstance(pools, Mapping) else list(pools)
    base = choose_venues(market, states, quote)
    curves = {market.resolve(k): c for k, c in (offchain or {}).items()}
    if not split and not curves:
        return dict(base)
    reserves = set(market.assets)
    usable = [p for p in states if p.token0 in reserves and p.token1 in reserves]
    q = quote_of(market, usable, quote)
    # one state per pool key: pools of the same pair and fee from another factory (a fork) would share it, so
    # only the primary (or the first listed) of them is used
    chosen = {pool_key(v.pool): v.pool for v in base.values()}
    for p in usable:
        chosen.setdefault(pool_key(p), p)
    usable = [p for p in usable if chosen[pool_key(p)] is p]
    sym = dict(zip(market.assets, market.symbols, strict=True))

    def price(a: str) -> int:
        return int(market.prices[market.column[a]])

    def deepest(a: str, b: str) -> PoolState | None:
        found = [p for p in usable if {p.token0, p.token1} == {a, b}]
        return max(found, key=lambda p: depth_to(p, p.token0 == a)) if found else None

    out: dict[str, Venue | VenueSet] = {}
    for asset in market.assets:
        if asset == q:
            continue
        primary = base.get(asset)
        legs: list[Leg] = []
        direct = [p for p in usable if {p.token0, p.token1} == {asset, q}]
        direct.sort(key=lambda p: primary is None or p is not primary.pool)
        for p in direct:
            legs.append(PoolLeg(Venue(asset, q, p, price(q)), f"{sym[asset]}/{sym[q]} {p.fee / 1e4:g}%"))
        for mid in market.assets:
            if mid in (asset, q):
                continue
            first, second = deepest(asset, mid), deepest(mid, q)
            if first is None or second is None:
                continue
            route = RouteLeg(Venue(asset, mid, first, price(mid)), Venue(mid, q, second, price(q)),
                             f"{sym[asset]}>{sym[mid]}>{sym[q]}")  # fmt: skip
            legs.append(route)
        if not legs and primary is not None:
            legs.append(PoolLeg(primary, f"{sym[asset]}/{sym[primary.quote]} {primary.pool.fee / 1e4:g}%"))
        curve = curves.get(asset)
        if not legs and curve is None:
            continue
        j = market.column[asset]
        out[asset] = VenueSet(asset, primary, tuple(legs), curve, float(market.units[j]), market.price_unit,
                              float(market.prices[j]))  # fmt: skip
    return out
