"""``cascade-monitor simulate --config F --shock ASSET=-0.2 [--shock ...] [--json]``: project a liquidation cascade.

Reads the market and the configured Uniswap v3 pools at the newest block, shocks the given assets (ASSET is a
reserve symbol or token address, the change a signed share, ``-0.2`` or ``-20%``) and runs the cascade engine
(:mod:`monitor.risk`): the rounds table, final prices, extra drop and amplification, totals and bad debt. A config
with several markets projects them as one system (:mod:`monitor.commands.system`): the same fields for the whole
system, plus ``markets`` and ``contagion``; ``--market NAME`` projects one market alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import re
import sys
from dataclasses import replace
from typing import Any

from monitor.chain.rpc import RpcClient
from monitor.commands import system
from monitor.commands.cascade_json import rounds_json, time_json, time_text
from monitor.config import MarketConfig, MonitorConfig, load_config
from monitor.errors import ConfigError, DataError
from monitor.logs import protect_config
from monitor.params_config import params_from_config
from monitor.protocols.aave_v3.version import configured_override
from monitor.risk import CascadeResult, ModelParams, Projector, gather_venues
from monitor.risk.oracles import check_assets, models_for
from monitor.snapshot import MarketSnapshot, load_snapshot
from monitor.venues.offchain_file import load_offchain

HELP = "project the liquidation cascade of a price shock: rounds, final prices, amplification, bad debt"

_SHOCK = re.compile(r"^\s*([^=\s]+)\s*=\s*([+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|[+-]?\.\d+)\s*(%?)\s*$")


def parse_shock(text: str) -> tuple[str, float]:
    """``ASSET=CHANGE`` -> ``(asset, change)``; CHANGE is a share (``-0.2``) or a percentage (``-20%``)."""
    m = _SHOCK.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected ASSET=CHANGE such as WETH=-0.2 or WETH=-20%, got {text!r}")
    asset, value, pct = m.group(1), float(m.group(2)), m.group(3)
    change = value / 100.0 if pct else value
    if not (math.isfinite(change) and -1.0 < change <= 10.0) or change == 0.0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the change must be a non-zero share above -1 (a drop of 20% is -0.2), got {change:g}"
        )
    return asset, change


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``sweep``: which market and block, and the model's departures from the default."""
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    market_help = "project this market alone (default: every market of the config as one system)"
    parser.add_argument("--market", default=None, help=market_help)
    parser.add_argument("--block", type=int, default=None, help="block number (default: the newest safe block)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    g = parser.add_argument_group(
        "model options (defaults: the config's liquidators section and chain block time, else the on-chain model)"
    )
    rules_help = "liquidation rules (default: the pool's detected version, or the config's override)"
    g.add_argument("--rules", choices=("v3.0", "v3.3"), default=None, help=rules_help)
    g.add_argument("--capital-usd", type=float, default=None, help="debt liquidators can repay per block")
    g.add_argument("--dex-share", type=float, default=None, help="share of seized collateral sold on the DEX")
    g.add_argument("--gas-usd", type=float, default=None, help="gas cost of one liquidation, USD")
    g.add_argument("--gas-per-liquidation", type=int, default=None, help="gas units of one liquidation")
    g.add_argument("--gas-price-gwei", type=float, default=None, help="gas price, gwei (x the native token's price)")
    g.add_argument("--min-profit-usd", type=float, default=None, help="minimum profit of a liquidation, USD")
    deviation_help = "oracle follows pool moves beyond this share (default: the config's oracles.defaults.market)"
    g.add_argument("--oracle-deviation", type=float, default=None, help=deviation_help)
    heartbeat_help = "an oracle held inside its band takes the pool price this long after its last update"
    g.add_argument("--oracle-heartbeat-seconds", type=float, default=None, help=heartbeat_help)
    g.add_argument("--latency-rounds", type=int, default=None, help="rounds an account waits before liquidation")
    g.add_argument("--max-rounds", type=int, default=None, help="round limit (default 50)")
    g.add_argument("--block-time-seconds", type=float, default=None, help="seconds per block (default: the chain's)")
    g.add_argument(
        "--oracle-update-blocks", type=int, default=None, help="blocks from a pool move to its oracle update"
    )
    g.add_argument("--reaction-blocks", type=int, default=None, help="blocks from an oracle update to liquidations")
    g.add_argument("--liquidations-per-block", type=int, default=None, help="liquidations per block (default: any)")
    g.add_argument("--horizon-seconds", type=float, default=None, help="no round after this (default one day)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument(
        "--shock",
        action="append",
        required=True,
        type=parse_shock,
        metavar="ASSET=CHANGE",
        help="initial price change of an asset (symbol or address), e.g. WETH=-0.2; repeatable",
    )
    add_model_arguments(parser)


def liquidation_rules(args: argparse.Namespace, market: MarketConfig) -> str | None:
    """The liquidation rules asked for: ``--rules``, else the config's explicit ``liquidation_rules`` (an
    override), else None: those of the pool's revision, detected when the market is read."""
    rules: str | None = args.rules or configured_override(market)
    return rules


#: Command-line option -> the model parameter it sets (None: the config's value or the engine's default).
OPTIONS = {
    "capital_usd": "liquidator_capital_usd",
    "dex_share": "dex_sell_share",
    "gas_usd": "gas_cost_usd",
    "gas_per_liquidation": "gas_per_liquidation",
    "gas_price_gwei": "gas_price_gwei",
    "min_profit_usd": "min_profit_usd",
    "oracle_deviation": "oracle_deviation",
    "oracle_heartbeat_seconds": "oracle_heartbeat_seconds",
    "latency_rounds": "latency_rounds",
    "max_rounds": "max_rounds",
    "block_time_seconds": "block_time_seconds",
    "oracle_update_blocks": "oracle_update_blocks",
    "reaction_blocks": "reaction_blocks",
    "liquidations_per_block": "liquidations_per_block",
    "horizon_seconds": "horizon_seconds",
}


def model_params(args: argparse.Namespace, cfg: MonitorConfig | None = None) -> ModelParams:
    """The model parameters of the config (``--config`` when ``cfg`` is not given), with the options given on
    the command line in place of its values."""
    base = params_from_config(cfg if cfg is not None else load_config(args.config))
    given = {param: getattr(args, opt) for opt, param in OPTIONS.items() if getattr(args, opt, None) is not None}
    try:
        return dataclasses.replace(base, **given)
    except DataError as exc:
        raise ConfigError(f"model options: {exc}") from None


def select_market(cfg: MonitorConfig, name: str | None) -> MarketConfig:
    """The ``--market`` (default: the first configured)."""
    if name is None:
        return cfg.markets[0]
    for m in cfg.markets:
        if m.name == name:
            return m
    raise ConfigError(f"--market {name!r} is not in the config (markets: {', '.join(m.name for m in cfg.markets)})")


async def _read(cfg: MonitorConfig, market: MarketConfig, block: int | None) -> MarketSnapshot:
    async with RpcClient(cfg.chain) as rpc:
        return await load_snapshot(rpc, cfg, market, block)


def projector_for(args: argparse.Namespace) -> tuple[MarketSnapshot, Projector]:
    """Read the chain and set the engine up as the options say."""
    cfg = load_config(args.config)
    protect_config(cfg)
    market = select_market(cfg, args.market)
    params = model_params(args, cfg)
    snap = asyncio.run(_read(cfg, market, args.block))
    risk = snap.view.risk_input(liquidation_rules(args, market))
    book = risk.book
    if len(cfg.markets) == 1:
        check_assets([book.market], params.oracles)
    # Branch: --market on a config of several markets -> the oracle models of this market's assets only (the
    # others may name the other markets' assets)
    params = replace(params, oracles=models_for(book.market, params.oracles))
    venues = gather_venues(book.market, snap.pools, offchain=load_offchain(cfg.dex), split=cfg.dex.split_sales)
    return snap, Projector(book, venues, params, model=risk.model)


def document(snap: MarketSnapshot, result: CascadeResult) -> dict[str, Any]:
    """The ``--json`` document (field names are a public interface)."""
    symbols = {a: p.symbol for a, p in snap.view.price_sources().items()}
    return {
        "block": snap.block,
        "market": snap.config.name,
        "rounds": rounds_json(result),
        "final_prices_usd": dict(result.final_prices_usd),
        "debt_repaid_usd": result.debt_repaid_usd,
        "bad_debt_usd": result.bad_debt_usd,
        "bad_debt_accounts": result.bad_debt_accounts,
        "rules": result.rules,
        "deficit_usd": result.deficit_usd,
        "deficit_usd_by_reserve": {symbols[a]: usd for a, usd in result.deficit_usd_by_reserve.items()},
        "buffers": {key: c.to_json() for key, c in snap.view.buffer_coverage(result).items()},
        **time_json(result),
        **snap.view.scenario_fields(result),
    }


def text(snap: MarketSnapshot, projector: Projector, result: CascadeResult) -> str:
    """The human-readable report: rounds table, prices, totals."""
    m = projector.market
    sym = {a: m.symbols[j] for j, a in enumerate(m.assets)}
    moved = [a for a in m.assets if result.final_prices_usd[a] != result.initial_prices_usd[a]]
    shocks = ", ".join(f"{sym.get(a, a)} {c:+.1%}" for a, c in result.shocks.items())
    lines = [
        f"{snap.config.name} at block {snap.block}: {len(projector.book):,} accounts, rules {result.rules}",
        f"  shock: {shocks}",
        "",
        "  round  liquidated   debt repaid $   seized $    bad debt $  " + "  ".join(f"{sym[a]:>12}" for a in moved),
    ]
    lines.append(
        f"  {'0':>5}  {'':>10}  {'':>14}  {'':>10}  {result.bad_debt_before_usd:>12,.0f}  "
        + "  ".join(f"{result.shocked_prices_usd[a]:>12,.4f}" for a in moved)
    )
    for r in result.rounds:
        lines.append(
            f"  {r.round:>5}  {r.accounts_liquidated:>10,}  {r.debt_repaid_usd:>14,.0f}  "
            f"{r.collateral_seized_usd:>10,.0f}  {r.bad_debt_usd:>12,.0f}  "
            + "  ".join(f"{r.oracle_prices_usd[a]:>12,.4f}" for a in moved)
        )
    lines.append("")
    for a, change in result.shocks.items():
        if a in result.amplification:
            lines.append(
                f"  {sym.get(a, a)}: ${result.initial_prices_usd[a]:,.4f} -> ${result.final_prices_usd[a]:,.4f}"
                f" (shock {change:+.1%}, final {-result.drop(a):+.2%}, extra {-result.extra_drop[a]:+.2%},"
                f" amplification {result.amplification[a]:.3f})"
            )
    tb, ta = result.toxic_before_shock, result.toxic_after_shock
    lines += [
        f"  liquidated: {result.accounts_liquidated:,} accounts in {result.liquidations:,} calls, "
        f"debt repaid ${result.debt_repaid_usd:,.0f}, collateral seized ${result.collateral_seized_usd:,.0f} "
        f"(protocol fee ${result.protocol_fee_usd:,.0f})",
        f"  bad debt: ${result.bad_debt_usd:,.0f} on {result.bad_debt_accounts:,} accounts "
        f"(new ${result.new_bad_debt_usd:,.0f}; shortfall ${result.shortfall_usd:,.0f})",
        f"  toxic (LT x bonus > HF): {tb.accounts:,} accounts / ${tb.debt_usd:,.0f} debt before the shock, "
        f"{ta.accounts:,} / ${ta.debt_usd:,.0f} right after it",
    ]
    lines += time_text(result)
    if result.deficit_usd_by_reserve:
        parts = ", ".join(f"{sym[a]} ${usd:,.0f}" for a, usd in result.deficit_usd_by_reserve.items())
        lines.append(f"  new reserve deficits: ${result.deficit_usd:,.0f} ({parts})")
    for key, losses in snap.view.scenario_fields(result).get("lender_loss_by_market", {}).items():
        if losses["usd"] > 0:
            lines.append(
                f"  lenders of market {key}: ${losses['usd']:,.0f} lost ({losses['pct_of_supply']:.2f}% of supply)"
            )
    if not result.converged:
        lines.append(
            f"  stopped with {result.unliquidated_accounts:,} accounts still liquidatable "
            f"(${result.unliquidated_debt_usd:,.0f} debt): round limit or nothing more the model's liquidators do"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Read, project, print."""
    names = [a.lower() for a, _ in args.shock]
    if len(set(names)) != len(names):
        raise ConfigError("--shock names an asset twice")
    cfg = load_config(args.config)
    if system.is_system(cfg, args):
        # Branch: several markets and no --market -> one cascade across them all.
        protect_config(cfg)
        snaps, whole = system.system_projector(cfg, args, liquidation_rules, model_params(args, cfg))
        projected = whole.project(dict(args.shock))
        block = snaps[0].block
        if args.json:
            json.dump(system.simulate_document(block, whole, projected, snaps), sys.stdout)
            sys.stdout.write("\n")
        else:
            print(system.simulate_text(block, whole, projected))
        return 0
    snap, projector = projector_for(args)
    result = projector.project(dict(args.shock))
    if args.json:
        json.dump(document(snap, result), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(text(snap, projector, result))
    return 0
