"""``simulate`` and ``sweep`` on a config with several markets: the system projection (:mod:`monitor.risk.system`).

Every market of the config is read at one block, their risk tables are joined and projected as one cascade into
the configured pools; ``--market NAME`` projects one market alone instead (the one-market commands). Two config
entries of one market would count its accounts twice and are refused.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.chain.rpc import RpcClient
from monitor.commands.cascade_json import assets_json, rounds_json, time_json, time_text
from monitor.config import MarketConfig, MonitorConfig
from monitor.errors import ConfigError
from monitor.risk import CascadeResult, ModelParams, SweepResult, SweepSpec
from monitor.risk.buffers import Coverage, buffer_exhausting_shock
from monitor.risk.oracles import check_assets
from monitor.risk.system import SystemCascade, SystemMember, SystemProjector, SystemResult
from monitor.snapshot import MarketSnapshot, load_snapshot
from monitor.venues.offchain_file import load_offchain

#: The liquidation rules the options ask for a market (None: its detected version's).
Rules = Callable[[argparse.Namespace, MarketConfig], str | None]
#: Config keys that do not say which market an entry is (its name, where indexing starts, a rules override).
NOT_IDENTITY = frozenset({"name", "start_block", "liquidation_rules"})


def is_system(cfg: MonitorConfig, args: argparse.Namespace) -> bool:
    """True when the command projects the system: several markets and no ``--market``."""
    return args.market is None and len(cfg.markets) > 1


def check_distinct(markets: Sequence[MarketConfig]) -> None:
    """Refuse two entries of one market (same protocol and contracts): the system would count it twice."""
    seen: dict[tuple[str, str], str] = {}
    for m in markets:
        ident = {k: v for k, v in m.model_dump(mode="json").items() if k not in NOT_IDENTITY}
        key = (m.protocol, repr(sorted(ident.items())))
        if key in seen:
            where = ", ".join(f"{k} {v}" for k, v in sorted(ident.items()) if k != "protocol")
            raise ConfigError(
                f"markets {seen[key]!r} and {m.name!r} are the same {m.protocol} market ({where}): a system "
                "projection would count its accounts twice; remove one entry or pick one with --market"
            )
        seen[key] = m.name


async def _read_all(cfg: MonitorConfig, block: int | None) -> list[MarketSnapshot]:
    async with RpcClient(cfg.chain) as rpc:
        if block is None:
            block = await rpc.block_number() - cfg.chain.confirmations
        return [await load_snapshot(rpc, cfg, m, block) for m in cfg.markets]


def system_projector(
    cfg: MonitorConfig, args: argparse.Namespace, rules: Rules, params: ModelParams
) -> tuple[list[MarketSnapshot], SystemProjector]:
    """Read every market at one block and set the system projection up (``rules(args, market)``: the rules
    asked for a market; ``params``: the model parameters)."""
    check_distinct(cfg.markets)
    snaps = asyncio.run(_read_all(cfg, args.block))
    members = [SystemMember(s.config.name, s.config.protocol, s.view.risk_input(rules(args, s.config))) for s in snaps]
    check_assets([m.risk.book.market for m in members], params.oracles)
    offchain = load_offchain(cfg.dex)
    system = SystemProjector.from_pools(members, snaps[0].pools.values(), params, offchain=offchain,
                                        split=cfg.dex.split_sales)  # fmt: skip
    return snaps, system


def system_buffers(snaps: Sequence[MarketSnapshot], result: SystemResult) -> dict[str, dict[str, Any]]:
    """Per market, per loss-bearing unit (as the one-market ``buffers``): its buffer against the loss the system
    projection leaves there (written off now plus the market's own part of the cascade's write-offs)."""
    return {
        snap.config.name: {
            unit: c.to_json() for unit, c in snap.view.buffer_coverage(result.system.member_result(i)).items()
        }
        for i, snap in enumerate(snaps)
    }


def simulate_document(
    block: int, system: SystemProjector, result: SystemResult, snaps: Sequence[MarketSnapshot] = ()
) -> dict[str, Any]:
    """``simulate --json`` of the system: the one-market fields for the whole system, ``markets`` (each with its
    share of the dust),
    ``contagion`` and, given the markets' snapshots, ``buffers`` per market (field names are a public
    interface)."""
    s, m = result.system, system.market
    buffers = {"buffers": system_buffers(snaps, result)} if snaps else {}
    return {
        "block": block,
        "rounds": rounds_json(s),
        "final_prices_usd": dict(s.final_prices_usd),
        "debt_repaid_usd": s.debt_repaid_usd,
        "bad_debt_usd": s.bad_debt_usd,
        "bad_debt_accounts": s.bad_debt_accounts,
        "rules": s.rules,
        "deficit_usd": s.deficit_usd,
        "deficit_usd_by_reserve": {m.symbols[m.column[a]]: usd for a, usd in s.deficit_usd_by_reserve.items()},
        **time_json(s),
        "markets": [
            {
                "name": f.name,
                "protocol": f.protocol,
                "accounts_liquidated": f.accounts_liquidated,
                "debt_repaid_usd": f.debt_repaid_usd,
                "bad_debt_usd": f.bad_debt_usd,
                "bad_debt_accounts": f.bad_debt_accounts,
                "dust_accounts": f.dust_accounts,
                "dust_debt_usd": f.dust_debt_usd,
            }
            for f in result.markets
        ],
        "contagion": {
            name: {
                "accounts_liquidated": c.accounts_liquidated,
                "debt_repaid_usd": c.debt_repaid_usd,
                "bad_debt_usd": c.bad_debt_usd,
            }
            for name, c in result.contagion.items()
        },
        **buffers,
    }


def simulate_text(block: int, system: SystemProjector, result: SystemResult) -> str:
    """The human-readable system report: rounds, per market (in the system, alone, contagion), totals."""
    s, m = result.system, system.market
    sym = {a: m.symbols[j] for j, a in enumerate(m.assets)}
    names = ", ".join(f.name for f in result.markets)
    moved = [a for a in m.assets if s.final_prices_usd[a] != s.initial_prices_usd[a]]
    shocks = ", ".join(f"{sym.get(a, a)} {c:+.1%}" for a, c in s.shocks.items())
    lines = [
        f"system of {len(result.markets)} markets ({names}) at block {block}: {len(system.table.book):,} accounts, "
        f"rules {s.rules}",
        f"  shock: {shocks}",
        "",
        "  round  liquidated   debt repaid $    bad debt $  " + "  ".join(f"{sym[a]:>12}" for a in moved),
    ]
    for r in s.rounds:
        lines.append(
            f"  {r.round:>5}  {r.accounts_liquidated:>10,}  {r.debt_repaid_usd:>14,.0f}  {r.bad_debt_usd:>12,.0f}  "
            + "  ".join(f"{r.oracle_prices_usd[a]:>12,.4f}" for a in moved)
        )
    lines += ["", "  market            liquidated (alone)    debt repaid $ (alone)     bad debt $ (alone)"]
    for f, alone in zip(result.markets, result.alone, strict=True):
        lines.append(
            f"  {f.name:<16}  {f.accounts_liquidated:>10,} ({alone.accounts_liquidated:>6,})"
            f"  {f.debt_repaid_usd:>14,.0f} ({alone.debt_repaid_usd:>14,.0f})"
            f"  {f.bad_debt_usd:>12,.0f} ({alone.bad_debt_usd:>12,.0f})"
        )
    lines.append("")
    for a in moved:
        lines.append(f"  {sym[a]}: ${s.initial_prices_usd[a]:,.4f} -> ${s.final_prices_usd[a]:,.4f}")
    lines.append(
        f"  system: {s.accounts_liquidated:,} accounts liquidated, debt repaid ${s.debt_repaid_usd:,.0f}, "
        f"bad debt ${s.bad_debt_usd:,.0f} on {s.bad_debt_accounts:,} accounts"
    )
    lines += time_text(s)
    hit = {n: c for n, c in result.contagion.items() if c.accounts_liquidated or c.debt_repaid_usd or c.bad_debt_usd}
    for name, c in hit.items():
        lines.append(
            f"  contagion into {name}: {c.accounts_liquidated:+,} accounts, debt repaid ${c.debt_repaid_usd:+,.0f}, "
            f"bad debt ${c.bad_debt_usd:+,.0f} (vs the market projected alone)"
        )
    if not hit:
        lines.append("  contagion: none (every market liquidates the same as alone)")
    return "\n".join(lines)


def system_coverage(snaps: Sequence[MarketSnapshot]) -> Callable[[CascadeResult], dict[str, Coverage]]:
    """A system projection's coverage per loss-bearing unit of every market, keyed ``market:unit`` (what the
    buffer-exhausting shock of the system judges: the first drop exhausting any market's buffer)."""

    def coverage_of(result: CascadeResult) -> dict[str, Coverage]:
        assert isinstance(result, SystemCascade)
        return {
            f"{snap.config.name}:{unit}": c
            for i, snap in enumerate(snaps)
            for unit, c in snap.view.buffer_coverage(result.member_result(i)).items()
        }

    return coverage_of


def buffer_exhausting_shocks(
    snaps: Sequence[MarketSnapshot], system: SystemProjector, result: SweepResult, spec: SweepSpec
) -> dict[str, float | None]:
    """Per swept asset, the smallest drop whose system projection leaves some market's unit with a loss beyond
    its buffer (None: no step up to the largest does)."""
    judge = system_coverage(snaps)
    return {a.asset: buffer_exhausting_shock(system.projector, a.asset, spec, judge) for a in result.assets}


def sweep_document(
    block: int,
    system: SystemProjector,
    result: SweepResult,
    seconds: float,
    exhausting: Mapping[str, float | None] | None = None,
) -> dict[str, Any]:
    """``sweep --json`` of the system: the one-market fields (curves and critical shocks of the whole system)
    with ``markets`` in place of ``market``; ``exhausting``: :func:`buffer_exhausting_shocks`
    (``buffer_exhausting_shock`` per asset)."""
    assets = assets_json(result)
    if exhausting is not None:
        assets = [{**a, "buffer_exhausting_shock": exhausting.get(a["asset"])} for a in assets]
    return {
        "block": block,
        "markets": [{"name": m.name, "protocol": m.protocol} for m in system.table.members],
        "limits": {"amplification": result.limits.amplification, "bad_debt_usd": result.limits.bad_debt_usd},
        "seconds": seconds,
        "assets": assets,
    }
