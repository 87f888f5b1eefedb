"""Time in a projection: each round at a block and a second after the shock, oracle updates that land late, and
heartbeats (the time options of :class:`~monitor.risk.params.ModelParams`).

The shock moves the pools at block 0. An oracle update set off by a pool move (the shock, a round's sales) lands
``oracle_update_blocks`` (``o``) blocks after it; liquidators act ``reaction_blocks`` (``r``) after an update
lands: a round at block ``x`` sees the oracle as it was at block ``x - r``. So round 1 is at block ``o + r`` and,
with nothing in the way, round k+1 at ``block_k + o + r``. A round cut short by ``liquidations_per_block`` is
followed by one at the next block, at the prices the liquidators saw (unless an update became visible meanwhile).

When nothing is liquidatable at the visible prices, the next update still in flight (sales not landed yet) is
waited for. When none is in flight but the pool of a market-priced oracle moved during the projection and its
oracle stayed inside its deviation band, the heartbeat update lands ``heartbeat`` seconds after that oracle's
last update (an oracle the projection has not updated is taken to have updated at the shock: the longest wait);
the oracle takes its pool's price then (oracles that follow it at an exchange rate with it) and the cascade goes
on. Nothing happens after ``horizon_seconds``. With the defaults (no deviation band, no heartbeat, no per-block
limit) the rounds and prices are exactly the round-based model's; only their blocks and seconds are added.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from monitor.risk.market import RiskMarket
from monitor.risk.oracles import Oracles
from monitor.risk.params import ModelParams

F64 = NDArray[np.float64]


class Clock:
    """The block of the next round and the oracle states landed or in flight (``(landing block, prices)``).

    ``shocked``: the oracle prices right after the shock (its update lands at block ``o``).
    """

    def __init__(self, market: RiskMarket, params: ModelParams, oracles: Oracles, shocked: F64) -> None:
        self.market = market
        self.oracles = oracles
        self.block_time = params.block_time_seconds
        self.o, self.r = params.oracle_update_blocks, params.reaction_blocks
        self.horizon_seconds = params.horizon_seconds
        self.states: list[tuple[int, F64]] = [(self.o, shocked.copy())]
        #: Seconds of each oracle's last update (the shock's for the oracles it moved, else the shock itself).
        self.last_update = np.where(shocked != market.prices, self.o * self.block_time, 0.0)
        self.heartbeat = np.full(market.n_slots, params.oracle_heartbeat_seconds)
        for name, model in params.oracles.items():
            self.heartbeat[market.slot[market.resolve(name)]] = model.heartbeat_seconds
        #: Slots whose pool the projection moved (shock or sales): candidates for a heartbeat update.
        self.moved: set[int] = set()
        self.block = self.o + self.r

    def seconds(self, block: int) -> float:
        """Seconds after the shock of ``block``."""
        return block * self.block_time

    @property
    def past_horizon(self) -> bool:
        """True when the next round would be after the horizon."""
        return self.seconds(self.block) > self.horizon_seconds

    def latest(self) -> F64:
        """The oracle once every update landed or in flight has landed (a copy)."""
        return self.states[-1][1].copy()

    def visible(self) -> F64:
        """The oracle the liquidators of the next round see (a copy)."""
        seen = self.block - self.r
        return next(p for land, p in reversed(self.states) if land <= seen).copy()

    def after_round(self, prices: F64, sold: F64, busy: bool) -> None:
        """A round at ``self.block`` left the oracle at ``prices`` once its sales' updates land (``sold``: per
        reserve, amounts sold into pools); ``busy``: liquidatable accounts wait for the per-block limit."""
        self.moved.update(np.flatnonzero(sold).tolist())
        self._land(self.block + self.o, prices)
        self.block += 1 if busy else self.o + self.r

    def _land(self, block: int, prices: F64) -> None:
        changed = prices != self.states[-1][1]
        if changed.any():
            self.states.append((block, prices.copy()))
            self.last_update[changed] = self.seconds(block)

    def wait(self, spot: Mapping[int, float]) -> bool | None:
        """Nothing is liquidatable at the visible prices: move to the next update that may change that (True),
        or say there is none (None) or that the next lands after the horizon (False). ``spot``: the pool price
        of each slot in :attr:`moved`."""
        seen = self.block - self.r
        flight = [land for land, _ in self.states if land > seen]
        if flight:
            # Branch: sales whose updates have not landed yet -> the first of them.
            self.block = min(flight) + self.r
            return not self.past_horizon
        latest = self.states[-1][1]
        due = {
            s: float(self.last_update[s] + self.heartbeat[s])
            for s, price in spot.items()
            if self.oracles.kind[s] == "market" and price != latest[s] and math.isfinite(self.heartbeat[s])
        }
        if not due:
            return None
        when = min(due.values())
        land = max(math.ceil(when / self.block_time - 1e-9), seen + 1)
        if self.seconds(land + self.r) > self.horizon_seconds:
            return False
        # Branch: a heartbeat update: every oracle due by then takes its pool's price.
        self._land(land, self.oracles.pending(latest, {s: spot[s] for s, t in due.items() if t <= when}))
        self.block = land + self.r
        return True
