"""Aave v3 behind the protocol seam: :class:`AaveV3Tracker` follows one market, :class:`AaveV3View` is its book
at one block (the figures, price sources, risk input and snapshot report of :mod:`monitor.protocols.base`).

Only wraps the indexer, reader and book: the exact maths stay in :mod:`monitor.protocols.aave_v3.book`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.model import Log, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.errors import ChainError, ConfigError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.protocols.aave_v3.buffers import fixed_buffers, read_buffer_balances
from monitor.protocols.aave_v3.config import PROTOCOL, AaveV3MarketConfig
from monitor.protocols.aave_v3.discovery import RangeResult
from monitor.protocols.aave_v3.events import all_topics, digest_logs
from monitor.protocols.aave_v3.indexer import MarketIndexer
from monitor.protocols.aave_v3.reader import read_accounts, read_market
from monitor.protocols.aave_v3.risk_input import risk_input
from monitor.protocols.aave_v3.version import configured_override, detect_version
from monitor.protocols.base import (
    AT_RISK_DROPS,
    HealthFigures,
    MarketTracker,
    MarketView,
    PriceSource,
    Progress,
    Refresh,
    RiskyAccount,
)
from monitor.risk.model import RiskInput
from monitor.risk.results import CascadeResult as RiskResult


class AaveV3View(MarketView):
    """An Aave v3 book at one block, with the oracle that priced it, the reserve deficits (v3.3+, raw token units
    by asset), the config's explicit liquidation rules (None: those of the pool's detected revision) and its
    buffers (USD by reserve symbol)."""

    def __init__(
        self,
        name: str,
        block: int,
        book: Book,
        oracle: str,
        *,
        deficits: Mapping[str, int] | None = None,
        rules: str | None = None,
        buffers_usd: Mapping[str, float] | None = None,
        buffer_balances: Mapping[str, tuple[str, int]] | None = None,
    ) -> None:
        self.name = name
        self.deficits = dict(deficits or {})
        self.configured_buffers = dict(buffers_usd or {})
        self.buffer_balances = dict(buffer_balances or {})  # reserve symbol -> (token asset, raw balance read)
        self.rules = rules
        self.protocol = PROTOCOL
        self.block = block
        self.book = book
        self.oracle = oracle

    def figures(self, edges: Sequence[float], levels: Sequence[float], top_n: int) -> HealthFigures:
        """Distribution, liquidatable and toxic accounts, collateral at risk and the riskiest, from the book."""
        book = self.book
        debt = book.debt_usd()
        hf = book.health_factors()
        has_debt = debt > 0
        hf_d, debt_d = hf[has_debt], debt[has_debt]
        liquidatable = book.liquidatable_debt()
        at_risk: dict[str, Mapping[float, float]] = {}
        reserves = book.market.reserves
        for r, curve in zip(reserves, book.collateral_at_risk_each([r.asset for r in reserves], AT_RISK_DROPS),
                            strict=True):  # fmt: skip
            at_risk[r.symbol] = MappingProxyType(dict(zip(curve.drops, curve.collateral_now_usd, strict=True)))
        return HealthFigures(
            accounts=len(book),
            accounts_with_debt=int(has_debt.sum()),
            collateral_usd=float(book.collateral_usd().sum()),
            debt_usd=float(debt.sum()),
            hf_edges=tuple(edges),
            hf_counts_cumulative=tuple(int((hf_d < e).sum()) for e in edges),
            hf_debt_cumulative_usd=tuple(float(debt_d[hf_d < e].sum()) for e in edges),
            liquidatable_accounts=liquidatable.accounts,
            liquidatable_debt_usd=float(liquidatable.debt_usd),
            toxic_accounts=len(book.toxic_accounts()),
            collateral_at_risk_usd=MappingProxyType(at_risk),
            top_accounts=tuple(
                RiskyAccount(a.address, float(a.health_factor), float(a.debt_usd), float(a.collateral_usd))
                for a in book.riskiest(top_n)
            ),
            debt_below=MappingProxyType({lv: float(debt_d[hf_d < lv].sum()) for lv in levels}),
        )

    def price_sources(self) -> Mapping[str, PriceSource]:
        """The AaveOracle price of every reserve (base currency USD, 8 decimals)."""
        source = f"AaveOracle {self.oracle}"
        return MappingProxyType(
            {
                r.asset: PriceSource(r.asset, r.symbol, r.price / BASE_CURRENCY_UNIT, source)
                for r in self.book.market.reserves
            }
        )

    def risk_input(self, rules: str | None = None) -> RiskInput:
        """The book as the engine's risk table, with Aave's liquidation model: ``rules`` if given, else the
        config's explicit ``liquidation_rules``, else those of the pool's revision."""
        return risk_input(self.book, rules or self.rules)

    def reserve_deficits_usd(self) -> Mapping[str, float]:
        """``getReserveDeficit`` of each reserve that reports one, USD at the oracle price."""
        return {
            r.symbol: self.deficits[r.asset] * r.price / 10**r.decimals / BASE_CURRENCY_UNIT
            for r in self.book.market.reserves
            if r.asset in self.deficits
        }

    def buffers_usd(self) -> Mapping[str, float]:
        """The configured buffer of each reserve named (symbol as the reserve spells it), USD."""
        symbols = {r.symbol.lower(): r.symbol for r in self.book.market.reserves}
        out = {}
        for name, usd in self.configured_buffers.items():
            if name.lower() not in symbols:
                raise ConfigError(f"market {self.name}: buffers_usd names {name!r}, not a reserve of the market "
                                  f"(reserves: {', '.join(sorted(symbols.values()))})")  # fmt: skip
            out[symbols[name.lower()]] = usd
        reserves = {r.asset: r for r in self.book.market.reserves}
        for name, (asset, raw) in self.buffer_balances.items():
            r = reserves[asset]
            out[symbols[name.lower()]] = raw * r.price / 10**r.decimals / BASE_CURRENCY_UNIT
        return out

    def scenario_losses_usd(self, result: RiskResult) -> Mapping[str, float]:
        """The new deficit a projection burns in each reserve, USD by symbol."""
        symbol = {r.asset: r.symbol for r in self.book.market.reserves}
        return {symbol[a]: usd for a, usd in result.deficit_usd_by_reserve.items()}

    def document(self, edges: Sequence[float]) -> dict[str, Any]:
        """Accounts with debt (exact ``health_factor_wad``), HF distribution, collateral at risk per reserve."""
        book = self.book
        hfs = book.health_factors_wad()
        coll, debt = book.collateral_usd(), book.debt_usd()
        accounts = [
            {
                "address": a,
                "health_factor_wad": str(hfs[i]),
                "collateral_usd": float(coll[i]),
                "debt_usd": float(debt[i]),
            }
            for i, a in enumerate(book.addresses)
            if debt[i] > 0
        ]
        dist = book.distribution(edges)
        at_risk = {}
        for r in book.market.reserves:
            car = book.collateral_at_risk(r.asset)
            at_risk[r.asset] = {
                "symbol": r.symbol,
                "drops": list(car.drops),
                "accounts": list(car.accounts),
                "collateral_usd": list(car.collateral_usd),
                "collateral_now_usd": list(car.collateral_now_usd),
                "debt_usd": list(car.debt_usd),
            }
        return {
            "name": self.name,
            "protocol": self.protocol,
            "accounts": accounts,
            "distribution": {
                "edges": list(dist.edges),
                "counts": list(dist.counts),
                "debt_usd": list(dist.debt_usd),
                "collateral_usd": list(dist.collateral_usd),
                "accounts_without_debt": dist.accounts_without_debt,
            },
            "collateral_at_risk": at_risk,
        }

    def describe(self, edges: Sequence[float], top: int) -> str:
        """Totals, the HF histogram and the ``top`` riskiest accounts."""
        book = self.book
        debt = book.debt_usd()
        with_debt = int((debt > 0).sum())
        liq = book.liquidatable_debt()
        lines = [
            f"{self.name} ({self.protocol}) at block {self.block}: {len(book):,} accounts, {with_debt:,} with debt",
            f"  collateral ${book.collateral_usd().sum():,.0f}   debt ${debt.sum():,.0f}   "
            f"liquidatable now: {liq.accounts:,} accounts, ${liq.debt_usd:,.0f} debt",
            "  health factor distribution:",
        ]
        dist = book.distribution(edges)
        lows = [0.0, *dist.edges]
        highs = [*dist.edges, math.inf]
        biggest = max(dist.counts) if dist.counts else 1
        for lo, hi, n, d in zip(lows, highs, dist.counts, dist.debt_usd, strict=False):
            label = f"[{lo:.2f}, {hi:.2f})" if hi != math.inf else f">= {lo:.2f}"
            lines.append(f"    {label:>14} {n:7,d} accts  ${d:>15,.0f}  {'#' * (30 * n // max(biggest, 1))}")
        lines.append(f"  riskiest {top}:")
        for r in book.riskiest(top):
            lines.append(
                f"    {r.address}  HF {r.health_factor:8.4f}  collateral ${r.collateral_usd:>13,.0f}  "
                f"debt ${r.debt_usd:>13,.0f}"
            )
        return "\n".join(lines)


class AaveV3Tracker(MarketTracker):
    """One Aave v3 market: discovery, pinned-block reads and the book, through :class:`MarketIndexer`."""

    def __init__(
        self,
        rpc: RpcClient,
        checkpoint: Checkpoint,
        market: AaveV3MarketConfig,
        *,
        confirmations: int,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.name = market.name
        self.protocol = PROTOCOL
        self.config = market
        self.rpc = rpc
        self.checkpoint = checkpoint
        self.indexer = MarketIndexer(rpc, checkpoint, market, confirmations=confirmations,
                                     poll_interval_s=poll_interval_s)  # fmt: skip

    async def catch_up(self, progress: Progress | None = None) -> None:
        """Run discovery to the newest safe block, reporting each committed range."""
        safe = await self.rpc.block_number() - self.indexer.discovery.follower.confirmations
        async for update in self.indexer.discovery.updates():
            if progress is not None and isinstance(update, RangeResult):
                progress(update.to_block, self.config.start_block, safe)

    async def refresh(self) -> Refresh:
        """The indexer's refresh, as a view of its live book."""
        result = await self.indexer.refresh()
        read = result.market_read
        balances = await read_buffer_balances(self.rpc, self.config, result.book, result.block)
        view = AaveV3View(self.name, result.block, result.book, read.oracle, deficits=read.deficits,
                          rules=configured_override(self.config), buffers_usd=fixed_buffers(self.config),
                          buffer_balances=balances)  # fmt: skip
        return Refresh(view, result.fork_block)

    async def prefetch(self, head: int) -> None:
        """The indexer's reads ahead (see :meth:`MarketIndexer.prefetch`)."""
        await self.indexer.prefetch(head)

    async def read_at(self, block: int) -> MarketView:
        """Every account discovered up to ``block``, read at ``block`` into a book of its own."""
        if block < self.config.start_block:
            raise ChainError(f"--block {block} is before the market's start_block {self.config.start_block}")
        discovery = self.indexer.discovery
        if discovery.last_block < block:
            raise ChainError(f"market {self.name}: block {block} is past the newest discovered block")
        addresses = discovery.addresses
        users = sorted(a for a, first in self.checkpoint.first_seen(self.name).items() if first <= block)
        version = await detect_version(self.rpc, addresses.pool, block, override=configured_override(self.config))
        market_read = await read_market(self.rpc, addresses, block, version)
        book = Book.build(market_read.inputs, await read_accounts(self.rpc, addresses, users, block))
        balances = await read_buffer_balances(self.rpc, self.config, book, block)
        return AaveV3View(self.name, block, book, market_read.oracle, deficits=market_read.deficits,
                          rules=configured_override(self.config), buffers_usd=fixed_buffers(self.config),
                          buffer_balances=balances)  # fmt: skip

    def log_filter(self) -> LogFilter:
        """The pool, configurator and token logs discovery follows (after discovery has opened the market)."""
        return LogFilter(0, 0, self.indexer.discovery.addresses.log_sources, (all_topics(),))

    def touched_accounts(self, logs: Sequence[Log]) -> Mapping[str, int]:
        """Accounts named by the market's events in ``logs``, each with the first block naming it."""
        return digest_logs(logs, self.indexer.discovery.addresses).accounts
