"""The system's liquidation model (:class:`SystemModel`): each member's own health check and liquidation rules,
applied to its accounts of a batch of the combined table (see :mod:`monitor.risk.system`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.health import Health
from monitor.risk.market import RiskMarket
from monitor.risk.model import Batch, Floors, LiquidationModel, Liquidations
from monitor.risk.system_table import SystemTable

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Idx = NDArray[np.intp]


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
            lc, ld = (c[:, cols], d[:, cols]) if isinstance(cols, slice) else (np.take(c, cols, axis=1),
                                                                                  np.take(d, cols, axis=1))  # fmt: skip
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
