"""``cascade-monitor depth --config F [--json]``: the liquidity depth of every configured Uniswap v3 pool.

For each pool and direction: how much must be sold to move the pool price by 1 %, 2 %, 5 %, 10 %, 25 %
(whole tokens, and USD where the token has a price), read at one block; then the same for each pair over all
its configured fee tiers, selling where the marginal price (fee included) is best. USD prices come from the
price source of a configured market that lists the token (Aave: its oracle); otherwise USDC, USDT and DAI count
as $1 and a token paired with one of them (or with a market-priced token) is priced through that pool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.chain.rpc import RpcClient
from monitor.commands.quote import pinned_block, token_symbols
from monitor.config import MonitorConfig, load_config
from monitor.dex import DEFAULT_PCTS, DepthLevels, PairDepth, PoolState, pair_depth
from monitor.errors import ConfigError
from monitor.logs import protect_config
from monitor.protocols.registry import read_prices
from monitor.venues.uniswap_v3 import read_pool

HELP = "amounts that move each configured Uniswap v3 pool's price by 1 to 25 percent, per pool and pair, tokens and USD"

STABLECOINS = frozenset({"USDC", "USDT", "DAI"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    parser.add_argument("--block", type=int, default=None, help="block number (default: the latest block)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")


@dataclass(frozen=True)
class UsdPrice:
    """A token's USD price per whole token and where it comes from."""

    usd: float
    source: str


@dataclass(frozen=True)
class DepthReport:
    """Everything the depth table shows, read at ``block``."""

    block: int
    pools: dict[str, PoolState]  # config order
    symbols: dict[str, str]
    prices: dict[str, UsdPrice]
    per_pool: dict[str, PairDepth]
    pairs: list[tuple[list[str], PairDepth]]  # the pools of each pair, and their combined depth


# -- prices ----------------------------------------------------------------------------------------------------


async def oracle_prices(rpc: RpcClient, cfg: MonitorConfig, tokens: Sequence[str], block: int) -> dict[str, UsdPrice]:
    """The prices of the ``tokens`` that a configured market prices (the first market listing a token wins)."""
    out: dict[str, UsdPrice] = {}
    for market in cfg.markets:
        wanted = sorted(set(tokens) - set(out))
        if not wanted:
            break
        for asset, price in (await read_prices(rpc, market, wanted, block)).items():
            out[asset] = UsdPrice(price.usd, price.source)
    return out


def derive_prices(
    states: Sequence[PoolState], symbols: dict[str, str], known: dict[str, UsdPrice]
) -> dict[str, UsdPrice]:
    """``known`` plus USDC/USDT/DAI at $1 plus tokens priced through a pool against a priced token."""
    out = dict(known)
    for token, symbol in symbols.items():
        if token not in out and symbol.upper() in STABLECOINS:
            out[token] = UsdPrice(1.0, f"{symbol} taken as $1")
    anchors = dict(out)  # one hop only: never price through a derived price
    for s in states:
        for token, other in ((s.token0, s.token1), (s.token1, s.token0)):
            if token in out or other not in anchors:
                continue
            # s.price is token1 per token0 in whole tokens
            usd = s.price * anchors[other].usd if token == s.token0 else anchors[other].usd / s.price
            out[token] = UsdPrice(usd, f"pool price against {symbols[other]} ({anchors[other].source})")
    return out


# -- the report ------------------------------------------------------------------------------------------------


async def compute_depth(cfg: MonitorConfig, block: int | None = None) -> DepthReport:
    """Read every configured pool at ``block`` (default: latest), price the tokens, compute the depth."""
    if not cfg.dex.pools:
        raise ConfigError("the config lists no Uniswap v3 pools: add their addresses under dex.pools")
    async with RpcClient(cfg.chain) as rpc:
        at = await pinned_block(rpc, block)
        states = {p: await read_pool(rpc, p, at) for p in dict.fromkeys(cfg.dex.pools)}
        tokens = sorted({t for s in states.values() for t in (s.token0, s.token1)})
        symbols = await token_symbols(rpc, tokens, at)
        known = await oracle_prices(rpc, cfg, tokens, at)
    prices = derive_prices(list(states.values()), symbols, known)

    def usd(token: str) -> float | None:
        return prices[token].usd if token in prices else None

    per_pool = {a: pair_depth([s], DEFAULT_PCTS, usd(s.token0), usd(s.token1)) for a, s in states.items()}
    groups: dict[tuple[str, str], list[str]] = {}
    for address, s in states.items():
        groups.setdefault((s.token0, s.token1), []).append(address)
    pairs = [
        (members, pair_depth([states[a] for a in members], DEFAULT_PCTS, usd(t0), usd(t1)))
        for (t0, t1), members in groups.items()
    ]
    return DepthReport(at, states, symbols, prices, per_pool, pairs)


def _levels_doc(levels: DepthLevels, direction: str, decimals: dict[str, int], symbols: dict[str, str]) -> Any:
    d_in, d_out = decimals[levels.token_in], decimals[levels.token_out]
    rows = []
    for i, pct in enumerate(levels.pcts):
        amount_in, amount_out = float(levels.amount_in[i]), float(levels.amount_out[i])
        rows.append(
            {
                "move": float(pct),
                "amount_in": amount_in,
                "amount_in_raw": str(round(amount_in * 10**d_in)),
                "amount_out": amount_out,
                "amount_out_raw": str(round(amount_out * 10**d_out)),
                "usd": None if levels.usd is None else float(levels.usd[i]),
                "reached": bool(levels.reached[i]),
            }
        )
    return {
        "token_in": levels.token_in,
        "symbol_in": symbols[levels.token_in],
        "token_out": levels.token_out,
        "symbol_out": symbols[levels.token_out],
        "price_move": direction,
        "levels": rows,
    }


def _sides_doc(depth: PairDepth, decimals: dict[str, int], symbols: dict[str, str]) -> list[Any]:
    return [_levels_doc(depth.bid, "down", decimals, symbols), _levels_doc(depth.ask, "up", decimals, symbols)]


def depth_document(report: DepthReport) -> dict[str, Any]:
    """The JSON document: prices with their sources, per-pool and per-pair depth.

    Amounts are whole tokens (``*_raw``: integer strings in the token's smallest unit); ``move`` is the price
    change as a fraction; a side's ``price_move`` says whether selling ``token_in`` moves the pool price (token1 per
    token0) ``down`` or ``up``; ``reached`` is False when the liquidity ends first (the amounts are then all
    there is).
    """
    decimals: dict[str, int] = {}
    for s in report.pools.values():
        decimals[s.token0], decimals[s.token1] = s.decimals0, s.decimals1
    sym = report.symbols
    pools = [
        {
            "address": address,
            "token0": s.token0,
            "token1": s.token1,
            "symbol0": sym[s.token0],
            "symbol1": sym[s.token1],
            "decimals0": s.decimals0,
            "decimals1": s.decimals1,
            "fee": s.fee,
            "tick_spacing": s.tick_spacing,
            "sqrt_price_x96": str(s.sqrt_price_x96),
            "tick": s.tick,
            "liquidity": str(s.liquidity),
            "initialized_ticks": len(s.ticks),
            "price": s.price,
            "sides": _sides_doc(report.per_pool[address], decimals, sym),
        }
        for address, s in report.pools.items()
    ]
    pairs = [
        {
            "token0": depth.token0,
            "token1": depth.token1,
            "symbol0": sym[depth.token0],
            "symbol1": sym[depth.token1],
            "pools": members,
            "fees": [report.pools[a].fee for a in members],
            "sides": _sides_doc(depth, decimals, sym),
        }
        for members, depth in report.pairs
    ]
    return {
        "block": report.block,
        "moves": list(DEFAULT_PCTS),
        "prices": {t: {"symbol": sym[t], "usd": p.usd, "source": p.source} for t, p in sorted(report.prices.items())},
        "pools": pools,
        "pairs": pairs,
    }


# -- text ------------------------------------------------------------------------------------------------------

_COL = 15


def _tokens(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:,.0f}" if x >= 1_000 else f"{x:.4g}"


def _fee(fee: int) -> str:
    return f"{fee / 10_000:g}%"


def _side_rows(levels: DepthLevels, direction: str, symbols: dict[str, str]) -> list[str]:
    symbol = symbols[levels.token_in]
    mark = ["" if r else "*" for r in levels.reached]
    label = f"  sell {symbol} (price {direction})"
    lines = [
        f"{label:<34}{symbol:>6}"
        + "".join(f"{_tokens(float(a)) + m:>{_COL}}" for a, m in zip(levels.amount_in, mark, strict=True))
    ]
    if levels.usd is not None:
        lines.append(
            f"{'':<34}{'USD':>6}"
            + "".join(f"{f'${float(u):,.0f}' + m:>{_COL}}" for u, m in zip(levels.usd, mark, strict=True))
        )
    return lines


def _table(depth: PairDepth, symbols: dict[str, str]) -> list[str]:
    header = f"  {'amount sold to move the price by':<38}" + "".join(f"{f'{p:.0%}':>{_COL}}" for p in depth.bid.pcts)
    return [header, *_side_rows(depth.bid, "down", symbols), *_side_rows(depth.ask, "up", symbols)]


def depth_text(report: DepthReport) -> str:
    """The human-readable depth table with units."""
    sym = report.symbols
    moves = ", ".join(f"{p:.0%}" for p in DEFAULT_PCTS)
    lines = [
        f"Uniswap v3 depth at block {report.block}: the amount to sell into each pool to move its price by {moves}"
        " (whole tokens and USD)"
    ]
    lines.append("USD prices:")
    for token in sorted(report.symbols, key=lambda t: sym[t]):
        p = report.prices.get(token)
        lines.append(
            f"  {sym[token]:<8} " + (f"${p.usd:,.6g}  ({p.source})" if p else "unknown (amounts in tokens only)")
        )
    for address, s in report.pools.items():
        lines += [
            "",
            f"{sym[s.token0]}/{sym[s.token1]} {_fee(s.fee)}  pool {address}  price {s.price:,.6g} {sym[s.token1]} per "
            f"{sym[s.token0]}  {len(s.ticks)} initialized ticks",
            *_table(report.per_pool[address], sym),
        ]
    for members, depth in report.pairs:
        if len(members) < 2:
            continue
        fees = ", ".join(_fee(report.pools[a].fee) for a in members)
        lines += [
            "",
            f"pair {sym[depth.token0]}/{sym[depth.token1]} over {len(members)} fee tiers ({fees}): sold where the"
            " marginal price (fee included) is best; moves of that marginal price",
            *_table(depth, sym),
        ]
    if any(not bool(lv.reached.all()) for d in report.per_pool.values() for lv in (d.bid, d.ask)) or any(
        not bool(lv.reached.all()) for _, d in report.pairs for lv in (d.bid, d.ask)
    ):
        lines += ["", "* the liquidity ends before this move: the amount is all the pool can absorb"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Read the pools, print the depth table (text or JSON)."""
    cfg = load_config(args.config)
    protect_config(cfg)
    if args.block is not None and args.block < 0:
        raise ConfigError(f"--block must be >= 0, got {args.block}")
    report = asyncio.run(compute_depth(cfg, args.block))
    if args.json:
        json.dump(depth_document(report), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(depth_text(report))
    return 0
