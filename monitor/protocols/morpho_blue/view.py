"""A group of Morpho Blue markets at one block behind the protocol seam (:class:`MorphoBlueView`): health
figures, price sources, the engine's input, the ``snapshot`` report and lenders' losses of a projection."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from monitor.protocols.base import AT_RISK_DROPS, HealthFigures, MarketView, PriceSource, RiskyAccount
from monitor.protocols.morpho_blue.book import MorphoBook, Row
from monitor.protocols.morpho_blue.config import PROTOCOL
from monitor.protocols.morpho_blue.risk_input import risk_input
from monitor.protocols.morpho_blue.shares import WAD
from monitor.risk.model import RiskInput
from monitor.risk.results import CascadeResult


class MorphoBlueView(MarketView):
    """The configured markets of one Morpho contract at one block; ``suppliers``: lenders whose losses a
    projection reports. Every figure, the risk input and the report cover the markets priced at the block; the
    others are named by :meth:`unpriced_markets`."""

    def __init__(self, name: str, block: int, book: MorphoBook, suppliers: Sequence[str] = ()) -> None:
        self.name = name
        self.protocol = PROTOCOL
        self.block = block
        self.book = book
        self.suppliers = tuple(suppliers)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self.book.rows()
        hf = np.array([r.health_factor for r in rows], dtype=np.float64)
        return hf, np.array([r.debt_usd for r in rows]), np.array([r.collateral_usd for r in rows])

    def figures(self, edges: Sequence[float], levels: Sequence[float], top_n: int) -> HealthFigures:
        """The health distribution of every borrowing position of the priced markets (health factor = maxBorrow /
        borrowed); an unpriced market (:meth:`unpriced_markets`) counts in no figure."""
        rows = self.book.rows()
        hf, debt, coll = self._arrays()
        liq = np.array([not r.health.healthy and r.position.collateral > 0 for r in rows], dtype=bool)
        edge = np.array([self.book.markets[r.market_id].lltv * self.book.markets[r.market_id].lif / WAD / WAD
                         for r in rows])  # fmt: skip
        at_risk: dict[str, Mapping[float, float]] = {}
        for m in self.book.markets.values():
            in_market = np.array([r.market_id == m.market_id for r in rows], dtype=bool)
            for symbol, held in ((m.collateral.symbol, in_market), (m.loan.symbol, np.zeros(len(rows), bool))):
                curve = dict(at_risk.get(symbol, dict.fromkeys(AT_RISK_DROPS, 0.0)))
                for drop in AT_RISK_DROPS:
                    curve[drop] += float(coll[held & (hf * (1 - drop) < 1.0) & ~liq].sum())
                at_risk[symbol] = MappingProxyType(curve)
        return HealthFigures(
            accounts=self.book.accounts(),
            accounts_with_debt=len(rows),
            collateral_usd=float(coll.sum()),
            debt_usd=float(debt.sum()),
            hf_edges=tuple(edges),
            hf_counts_cumulative=tuple(int((hf < e).sum()) for e in edges),
            hf_debt_cumulative_usd=tuple(float(debt[hf < e].sum()) for e in edges),
            liquidatable_accounts=int(liq.sum()),
            liquidatable_debt_usd=float(debt[liq].sum()),
            toxic_accounts=int((liq & (edge > hf)).sum()),
            collateral_at_risk_usd=MappingProxyType(at_risk),
            top_accounts=tuple(
                RiskyAccount(r.address, r.health_factor, r.debt_usd, r.collateral_usd)
                for r in self.book.riskiest(top_n)
            ),
            debt_below=MappingProxyType({lv: float(debt[hf < lv].sum()) for lv in levels}),
        )

    def price_sources(self) -> Mapping[str, PriceSource]:
        """Loan tokens at their USD source; collateral through the oracle of the first market taking it."""
        out: dict[str, PriceSource] = {}
        for m in self.book.markets.values():
            out.setdefault(m.loan.address, PriceSource(m.loan.address, m.loan.symbol, m.loan_usd, m.loan_usd_source))
        for m in self.book.markets.values():
            source = f"Morpho oracle {m.snapshot.params.oracle} x {m.loan_usd_source}"
            out.setdefault(m.collateral.address, PriceSource(m.collateral.address, m.collateral.symbol,
                                                             m.collateral_usd, source))  # fmt: skip
        return MappingProxyType(out)

    def risk_input(self, rules: str | None = None) -> RiskInput:
        """Every position as one account of the table, each market a risk class; Morpho has one set of rules."""
        return risk_input(self.book)

    def unpriced_markets(self) -> Mapping[str, str]:
        """The markets of the group left out of this block's figures and risk input, each with why (its oracle or
        IRM reverted, its price is 0, a token of it has no readable decimals)."""
        return MappingProxyType(dict(self.book.unpriced))

    def lender_losses(self, result: CascadeResult) -> dict[str, Any]:
        """What a projection costs lenders: ``lender_loss_by_market`` (market id -> USD written off and its share
        of the market's supply, in %) and, with suppliers configured, ``supplier_loss_usd`` (their pro-rata part)."""
        by_market: dict[str, dict[str, float]] = {}
        supplier_loss = 0.0
        for mid, m in self.book.markets.items():
            lost = float(result.deficit_usd_by_class.get(mid, 0.0))
            supply = m.loan_units_usd(m.accrued.total_supply_assets)
            by_market[mid] = {"usd": lost, "pct_of_supply": 100.0 * lost / supply if supply > 0 else 0.0}
            total = m.accrued.total_supply_assets
            for s in self.suppliers:
                if total > 0:
                    supplier_loss += lost * self.book.supplied(mid, s) / total
        out: dict[str, Any] = {"lender_loss_by_market": by_market}
        if self.suppliers:
            out["supplier_loss_usd"] = supplier_loss
        return out

    def scenario_losses_usd(self, result: CascadeResult) -> Mapping[str, float]:
        """Lenders' loss per market id (no buffer: the lenders absorb it)."""
        return {mid: float(result.deficit_usd_by_class.get(mid, 0.0)) for mid in self.book.markets}

    def scenario_fields(self, result: CascadeResult) -> dict[str, Any]:
        """Lenders' losses (:meth:`lender_losses`) and the markets the projection left out (``unpriced_markets``:
        market id -> why) as extra fields of the scenario's JSON."""
        return self.lender_losses(result) | {"unpriced_markets": dict(self.book.unpriced)}

    def document(self, edges: Sequence[float]) -> dict[str, Any]:
        """One row per borrowing position (exact ``health_factor_wad``) of the priced markets, the markets read and
        ``unpriced_markets`` (market id -> why it is left out at this block)."""
        rows = self.book.rows()
        hf, debt, _ = self._arrays()
        lows = [0.0, *edges]
        highs = [*edges, math.inf]
        return {
            "name": self.name,
            "protocol": self.protocol,
            "block": self.block,
            "accounts": [_row(r) for r in rows],
            "distribution": {
                "edges": list(edges),
                "counts": [int(((hf >= lo) & (hf < hi)).sum()) for lo, hi in zip(lows, highs, strict=True)],
                "debt_usd": [float(debt[(hf >= lo) & (hf < hi)].sum()) for lo, hi in zip(lows, highs, strict=True)],
            },
            "markets": {
                mid: {
                    "name": m.name,
                    "loan_token": m.loan.address,
                    "collateral_token": m.collateral.address,
                    "lltv_wad": str(m.lltv),
                    "lif_wad": str(m.lif),
                    "oracle_price": str(m.price),
                    "total_supply_assets": str(m.accrued.total_supply_assets),
                    "total_borrow_assets": str(m.accrued.total_borrow_assets),
                }
                for mid, m in self.book.markets.items()
            },
            "unpriced_markets": dict(self.book.unpriced),
        }

    def describe(self, edges: Sequence[float], top: int) -> str:
        """Totals per market and the ``top`` riskiest positions."""
        rows = self.book.rows()
        _, debt, coll = self._arrays()
        lines = [f"{self.name} ({self.protocol}) at block {self.block}: {len(rows):,} borrowing positions in "
                 f"{len(self.book.markets)} markets, collateral ${coll.sum():,.0f}, "
                 f"debt ${debt.sum():,.0f}"]  # fmt: skip
        for mid, m in self.book.markets.items():
            mine = [r for r in rows if r.market_id == mid]
            bad = sum(1 for r in mine if not r.health.healthy)
            lines.append(f"  {m.name} {mid[:10]}..: {len(mine):,} borrowers, {bad:,} liquidatable, supply "
                         f"${m.loan_units_usd(m.accrued.total_supply_assets):,.0f}")  # fmt: skip
        for mid, why in self.book.unpriced.items():
            lines.append(f"  unpriced, left out: {mid[:10]}..: {why}")
        lines.append(f"  riskiest {top}:")
        for r in self.book.riskiest(top):
            lines.append(f"    {r.address} {self.book.markets[r.market_id].name:>14}  HF {r.health_factor:8.4f}  "
                         f"collateral ${r.collateral_usd:>13,.0f}  debt ${r.debt_usd:>13,.0f}")  # fmt: skip
        return "\n".join(lines)


def _row(r: Row) -> dict[str, Any]:
    return {
        "address": r.address,
        "market_id": r.market_id,
        "collateral_usd": r.collateral_usd,
        "debt_usd": r.debt_usd,
        "health_factor_wad": str(r.health.health_factor_wad),
        "ltv": r.ltv,
    }
