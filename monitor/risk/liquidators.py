"""What the liquidators of one round can send: at most a number of calls per block, and calls repaying at most
their capital (:class:`monitor.risk.params.ModelParams` ``liquidations_per_block`` and
``liquidator_capital_usd``); in both, the most profitable calls first (profit at the assets' own oracle prices).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.market import RiskMarket
from monitor.risk.model import Batch, LiquidationModel, Liquidations

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]


def within_count(out: Liquidations, ok: Bool, own_c: F64, own_d: F64, limit: int) -> tuple[Bool, int]:
    """Liquidations per block: the ``limit`` most profitable calls among ``ok``, and how many others wait for the
    next block (``own_c`` / ``own_d``: USD per token unit of each call's collateral and debt)."""
    cand = np.flatnonzero(ok)
    if cand.size <= limit:
        return ok, 0
    profit = out.received[cand] * own_c[cand] - out.debt[cand] * own_d[cand]
    keep = np.zeros(ok.size, dtype=bool)
    keep[cand[np.argsort(-profit, kind="stable")[:limit]]] = True
    return keep, int(cand.size - limit)


def within_capital(
    model: LiquidationModel,
    market: RiskMarket,
    batch: Batch,
    out: Liquidations,
    ok: Bool,
    own_c: F64,
    own_d: F64,
    budget_usd: float,
) -> Bool:
    """Capital per round: the most profitable calls first; the marginal call repays what is left of
    ``budget_usd`` (recomputed by ``model`` and written into ``out``)."""
    cand = np.flatnonzero(ok)
    profit = out.received[cand] * own_c[cand] - out.debt[cand] * own_d[cand]
    order = cand[np.argsort(-profit, kind="stable")]
    spend = np.cumsum(out.debt[order] * own_d[order])
    fits = int(np.searchsorted(spend, budget_usd, side="right"))
    keep = np.zeros(ok.size, dtype=bool)
    keep[order[:fits]] = True
    if fits < order.size:
        left = budget_usd - (float(spend[fits - 1]) if fits else 0.0)
        i = order[fits : fits + 1]
        units = np.floor(np.array([left]) / own_d[i])
        if units[0] >= 1.0:
            part = model.liquidate(market, batch.take(i), units)
            if part.ok[0]:
                out.replace(i, part)
                keep[i] = True
    return keep
