"""The legs of a venue set and the state they trade on (see :mod:`monitor.risk.venue_set`).

A :class:`PoolLeg` is one pool pairing the asset with the quote (a fee tier); a :class:`RouteLeg` sells the
asset for a mid token in one pool and the mid token for the quote in another (SwapRouter ``exactInput``). Each
gives its float depth curve for the split (:func:`~monitor.dex.pool_curve`, :func:`~monitor.dex.compose_route`)
and executes its part exactly with the integer swap maths on a :class:`SaleBook`, where every pool's state lives
once, keyed by ``(token0, token1, fee)``, so that legs of different assets sharing a pool see each other's sales.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from monitor.dex import DepthCurve, PoolState, compose_route, pool_curve, swap_exact_input
from monitor.risk.venues import Venue, moved

if TYPE_CHECKING:
    from monitor.risk.venue_set import VenueSet

PoolKey = tuple[str, str, int]


def pool_key(state: PoolState) -> PoolKey:
    """A pool's identity: one pool per token pair and fee tier (Uniswap v3 factory)."""
    return (state.token0, state.token1, state.fee)


@dataclass
class SaleBook:
    """The state of every venue in a split projection: pools by key, and per asset the off-chain mid (price
    units) and the whole tokens sold into its book since the mid was set."""

    pools: dict[PoolKey, PoolState] = field(default_factory=dict)
    offchain_mid: dict[str, float] = field(default_factory=dict)
    offchain_sold: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, venues: Iterable[VenueSet]) -> SaleBook:
        """The starting state of ``venues`` (pools as the venues were built on, off-chain books at their mid)."""
        book = cls()
        for v in venues:
            for leg in v.legs:
                for p in leg.pools:
                    book.pools.setdefault(pool_key(p), p)
            if v.primary is not None:
                book.pools.setdefault(pool_key(v.primary.pool), v.primary.pool)
            if v.offchain is not None:
                book.offchain_sold[v.asset] = 0.0
                book.offchain_mid[v.asset] = v.price
                if v.primary is not None:
                    book.offchain_mid[v.asset] = float(v.spot_price(book))
        return book


def curve_price_scale(curve: DepthCurve, quote_price: int) -> float:
    """Market price units per whole token_in for a raw marginal rate of 1."""
    return quote_price * 10.0 ** (curve.decimals_in - curve.decimals_out)


@dataclass(frozen=True)
class PoolLeg:
    """One pool pairing the asset with the quote (a fee tier)."""

    venue: Venue
    label: str

    @property
    def pools(self) -> tuple[PoolState, ...]:
        return (self.venue.pool,)

    def curve(self, book: SaleBook) -> DepthCurve:
        return pool_curve(book.pools[pool_key(self.venue.pool)], self.venue.asset_is_token0).curve

    @property
    def quote_price(self) -> int:
        return self.venue.quote_price

    def execute(self, book: SaleBook, amount: int) -> int:
        """Sell ``amount`` exactly; returns the quote received (raw)."""
        key = pool_key(self.venue.pool)
        state = book.pools[key]
        res = swap_exact_input(state, self.venue.asset_is_token0, amount)
        book.pools[key] = moved(state, res)
        return res.amount_out


@dataclass(frozen=True)
class RouteLeg:
    """asset -> mid -> quote through two pools (``first`` sells the asset for mid, ``second`` mid for quote)."""

    first: Venue
    second: Venue
    label: str

    @property
    def pools(self) -> tuple[PoolState, ...]:
        return (self.first.pool, self.second.pool)

    @property
    def quote_price(self) -> int:
        return self.second.quote_price

    def curve(self, book: SaleBook) -> DepthCurve:
        a = pool_curve(book.pools[pool_key(self.first.pool)], self.first.asset_is_token0).curve
        b = pool_curve(book.pools[pool_key(self.second.pool)], self.second.asset_is_token0).curve
        return compose_route(a, b)

    def execute(self, book: SaleBook, amount: int) -> int:
        """Sell ``amount`` hop by hop (SwapRouter ``exactInput``); returns the quote received (raw)."""
        out = amount
        for hop in (self.first, self.second):
            if out <= 0:
                return 0
            key = pool_key(hop.pool)
            state = book.pools[key]
            res = swap_exact_input(state, hop.asset_is_token0, out)
            book.pools[key] = moved(state, res)
            out = res.amount_out
        return out


Leg = Union[PoolLeg, RouteLeg]  # noqa: UP007
