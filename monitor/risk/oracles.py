"""How each asset's oracle updates in a projection (:class:`OracleModel`), and the look-ahead metric.

By default an asset's oracle follows its own pool: after a shock or a round's sales it is set to the pool's spot
price unless the move is within the deviation threshold (``ModelParams.oracle_deviation``). An asset may instead
have:

- ``kind="rate"``: the price of another asset (``base``) times an exchange rate, as the exchange-rate adapters of
  liquid staking tokens do (a wstETH-style asset whose oracle does not see its own pool). The rate is the one the
  market's prices hold at the start; the oracle moves whenever the base asset's oracle moves, never with its own
  pool;
- ``kind="fixed"``: a constant (a stablecoin some markets price at 1);
- its own ``deviation`` threshold instead of the default, and a ``heartbeat_seconds`` (the update that lands
  within the heartbeat whatever the move).

The **look-ahead** (:func:`look_ahead`): the debt that becomes liquidatable at the next oracle update given where
the pools already are: each market-following oracle moved to its pool's spot price (that update lands by the
heartbeat at the latest, even inside the deviation band), rate oracles following their base.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from monitor.errors import ConfigError, DataError
from monitor.risk.market import CascadeBook, RiskMarket
from monitor.risk.model import LiquidationModel
from monitor.risk.venue_set import VenueSet
from monitor.risk.venues import Venue

F64 = NDArray[np.float64]
OracleKind = Literal["market", "rate", "fixed"]
KINDS: tuple[OracleKind, ...] = ("market", "rate", "fixed")


@dataclass(frozen=True)
class OracleModel:
    """One asset's oracle (module docstring); ``deviation`` None keeps the projection's default threshold."""

    kind: OracleKind = "market"
    base: str | None = None
    deviation: float | None = None
    heartbeat_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"oracle kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if (self.kind == "rate") != (self.base is not None):
            raise DataError("an oracle of kind 'rate' needs a base asset, and only it has one")
        if self.deviation is not None and not 0.0 <= self.deviation < 1.0:
            raise DataError(f"an oracle's deviation threshold must be within [0, 1), got {self.deviation}")
        if not (math.isfinite(self.heartbeat_seconds) and self.heartbeat_seconds > 0):
            raise DataError(f"an oracle's heartbeat must be a positive number of seconds, got {self.heartbeat_seconds}")


def _lists(market: RiskMarket, asset: str) -> bool:
    try:
        market.resolve(asset)
    except DataError:
        return False
    return True


def models_for(market: RiskMarket, models: Mapping[str, OracleModel]) -> dict[str, OracleModel]:
    """The models of the assets ``market`` lists (a rate oracle also needs its base there): a config's
    ``oracles`` names the assets of every market, each market takes its own."""
    return {
        name: model
        for name, model in models.items()
        if _lists(market, name) and (model.base is None or _lists(market, model.base))
    }


def check_assets(markets: Sequence[RiskMarket], models: Mapping[str, OracleModel]) -> None:
    """ConfigError naming every asset (or rate base) of ``models`` that none of ``markets`` lists, and the
    symbols they do list."""
    named = [*models, *(m.base for m in models.values() if m.base is not None)]
    unknown = [a for a in dict.fromkeys(named) if not any(_lists(m, a) for m in markets)]
    if unknown:
        known = ", ".join(sorted({s for m in markets for s in m.symbols}))
        raise ConfigError(
            f"oracles.assets: unknown asset {', '.join(repr(a) for a in unknown)}: no market lists it "
            f"(symbols: {known})"
        )


class Oracles:
    """The oracle models of a market's price slots, resolved (``models`` keyed by asset address or symbol)."""

    def __init__(self, market: RiskMarket, models: Mapping[str, OracleModel], deviation: float) -> None:
        n = market.n_slots
        self.kind: list[OracleKind] = ["market"] * n
        self.deviation = [deviation] * n
        #: Per base slot: the slots that follow it at an exchange rate, with their rates.
        self.followers: dict[int, list[tuple[int, float]]] = {}
        for name, model in models.items():
            slot = market.slot[market.resolve(name)]
            self.kind[slot] = model.kind
            if model.deviation is not None:
                self.deviation[slot] = model.deviation
            if model.base is not None:
                base = market.slot[market.resolve(model.base)]
                if base == slot:
                    raise DataError(f"the oracle of {name} cannot follow its own price")
                rate = float(market.prices[slot] / market.prices[base])
                self.followers.setdefault(base, []).append((slot, rate))
        for base in self.followers:
            if self.kind[base] != "market":
                raise DataError(f"{market.slots[base]}: an exchange-rate oracle must follow a market-priced asset")

    def set(self, prices: F64, slot: int, new: float) -> None:
        """The oracle of ``slot`` sees its pool at ``new``: move it (and the oracles that follow it) if its model
        says so."""
        # Branch: rate and fixed oracles never read their own pool.
        if self.kind[slot] != "market":
            return
        old = prices[slot]
        deviation = self.deviation[slot]
        # Branch: with a threshold the oracle only follows moves larger than it.
        if deviation == 0.0 or abs(new / old - 1.0) > deviation:
            prices[slot] = new
            for follower, rate in self.followers.get(slot, ()):
                prices[follower] = max(math.floor(new * rate), 1.0)

    def pending(self, prices: F64, spot: Mapping[int, float]) -> F64:
        """The prices once every market oracle has taken its pool's ``spot`` price (the update that lands by the
        heartbeat whatever the threshold), rate oracles following."""
        out = prices.copy()
        for slot, new in spot.items():
            if self.kind[slot] == "market" and new != out[slot]:
                out[slot] = new
                for follower, rate in self.followers.get(slot, ()):
                    out[follower] = max(math.floor(new * rate), 1.0)
        return out


@dataclass(frozen=True)
class LookAhead:
    """Accounts and debt (USD) liquidatable once the pending oracle updates land, beyond those already so."""

    accounts: int
    debt_usd: float
    pending_prices_usd: Mapping[str, float]


def look_ahead(
    book: CascadeBook,
    model: LiquidationModel,
    venues: Mapping[str, Venue | VenueSet],
    oracles: Mapping[str, OracleModel] | None = None,
) -> LookAhead:
    """The debt waiting for the next oracle update: accounts not liquidatable at the oracle prices that are at
    the prices the pools already show (each venue's spot price, module docstring)."""
    m = book.market
    resolved = Oracles(m, oracles or {}, 0.0)
    spot = {}
    for v in venues.values():
        # a venue set's oracle reads its primary pool (one with only an off-chain book has no pool to read)
        pool = v.primary if isinstance(v, VenueSet) else v
        if pool is not None and v.asset in m.column:
            spot[m.column[v.asset]] = float(pool.spot_price(pool.pool))
    after = resolved.pending(m.prices, spot)
    moved = np.flatnonzero(after != m.prices)
    # only accounts holding an asset priced through a moved slot (in their risk class) can change
    cols = np.flatnonzero(np.isin(m.slot_table, moved).any(axis=0))
    if not cols.size:
        return LookAhead(0, 0.0, m.usd(after))
    rows = np.flatnonzero((book.collateral[cols] > 0).any(axis=0) | (book.debt[cols] > 0).any(axis=0))
    if rows.size > len(book) // 2:  # Branch: most accounts hold a moved asset -> the whole book (no copies)
        rows = np.arange(len(book))
        then = model.health(m, book.collateral, book.debt, book.risk_class, after)
    else:
        then = model.health(m, book.collateral[:, rows], book.debt[:, rows], book.risk_class[rows], after)
    hit = np.flatnonzero(then.liquidatable)  # liquidatable after the update: which of them are not yet
    now = model.health(m, book.collateral[:, rows[hit]], book.debt[:, rows[hit]], book.risk_class[rows[hit]], m.prices)
    waiting = hit[~now.liquidatable]
    return LookAhead(int(waiting.size), float(then.d[waiting].sum()) / m.price_unit, m.usd(after))
