"""``cascade-monitor quote --config F --pool ADDR --token-in ADDR --amount-in INT [--json]``: an exact-input
swap on a Uniswap v3 pool computed by our own maths (equal to QuoterV2) from the pool state read at one block."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.chain.erc20 import SYMBOL, decode_symbol
from monitor.chain.rpc import RpcClient
from monitor.config import MonitorConfig, load_config
from monitor.dex import PoolState, StopReason, SwapResult, swap_exact_input
from monitor.dex.constants import INT256_MAX, Q96
from monitor.errors import ChainError, ConfigError, DataError, RpcResponseError
from monitor.logs import protect_config
from monitor.venues.uniswap_v3 import read_pool

HELP = "exact output of selling an amount into a Uniswap v3 pool (our maths, equal to QuoterV2) at the latest block"

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_UINT = re.compile(r"[0-9]+")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    parser.add_argument("--pool", required=True, help="Uniswap v3 pool address (need not be in the config)")
    parser.add_argument("--token-in", required=True, help="address of the token sold: token0 or token1 of the pool")
    parser.add_argument("--amount-in", required=True, help="amount sold, an integer in the token's smallest unit")
    parser.add_argument("--block", type=int, default=None, help="block number (default: the latest block)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")


def parse_address(option: str, value: str) -> str:
    """A 0x-prefixed 20-byte hex address, lower-cased; anything else is a ConfigError naming the option."""
    value = value.strip()
    if not _ADDRESS.fullmatch(value):
        raise ConfigError(f"{option} must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value.lower()


def parse_amount(option: str, value: str) -> int:
    """A positive integer amount in raw token units that fits a swap's int256 amountSpecified."""
    text = value.strip()
    if not _UINT.fullmatch(text):
        raise ConfigError(f"{option} must be a positive integer in the token's smallest unit (e.g. wei), got {value!r}")
    amount = int(text)
    if amount == 0:
        raise ConfigError(f"{option} must be positive, got 0")
    if amount > INT256_MAX:
        raise ConfigError(f"{option} must be at most 2**255 - 1 (a swap's int256 amount), got {text}")
    return amount


async def token_symbols(rpc: RpcClient, tokens: Sequence[str], block: int) -> dict[str, str]:
    """ERC20 ``symbol()`` of each token (a short address where a token has none)."""
    raw = await rpc.eth_calls([(t, SYMBOL.encode()) for t in tokens], block, return_errors=True)
    out = {}
    for token, answer in zip(tokens, raw, strict=True):
        symbol = "" if isinstance(answer, RpcResponseError) else decode_symbol(answer)
        out[token] = symbol.strip() or token[:10]
    return out


async def pinned_block(rpc: RpcClient, block: int | None) -> int:
    """``block``, checked against the head, or the latest block when None."""
    head = await rpc.block_number()
    if block is None:
        return head
    if not 0 <= block <= head:
        raise ChainError(f"--block {block} is not in the chain yet: the latest block is {head}")
    return block


@dataclass(frozen=True)
class QuoteOutcome:
    """A quote and what is needed to describe it."""

    block: int
    pool: str
    state: PoolState
    zero_for_one: bool
    symbols: dict[str, str]
    result: SwapResult


async def compute_quote(
    cfg: MonitorConfig, pool: str, token_in: str, amount_in: int, block: int | None = None
) -> QuoteOutcome:
    """Read the pool at ``block`` (default: latest) and sell ``amount_in`` of ``token_in`` into it."""
    async with RpcClient(cfg.chain) as rpc:
        at = await pinned_block(rpc, block)
        state = await read_pool(rpc, pool, at)
        if token_in not in (state.token0, state.token1):
            raise DataError(
                f"--token-in {token_in} is not a token of pool {pool} (token0 {state.token0}, token1 {state.token1})"
            )
        symbols = await token_symbols(rpc, [state.token0, state.token1], at)
    zero_for_one = token_in == state.token0
    result = swap_exact_input(state, zero_for_one, amount_in)
    if result.amount_in <= 0:
        # QuoterV2 reverts here too: the swap pays nothing in
        raise DataError(f"pool {pool} has no liquidity in the direction of selling {symbols[token_in]} at block {at}")
    return QuoteOutcome(at, pool, state, zero_for_one, symbols, result)


def quote_document(outcome: QuoteOutcome) -> dict[str, object]:
    """The JSON answer: QuoterV2's ``amountOut``, ``sqrtPriceX96After`` and ``initializedTicksCrossed``."""
    r = outcome.result
    return {
        "amount_out": str(r.amount_out),
        "sqrt_price_x96_after": str(r.sqrt_price_x96_after),
        "ticks_crossed": r.ticks_crossed,
    }


def _whole(raw: int, decimals: int) -> str:
    x = raw / 10**decimals
    return f"{x:,.{min(decimals, 6)}f}" if x < 1e12 else f"{x:.6e}"


def _price(sqrt_price_x96: int, state: PoolState) -> float:
    """token1 per token0 in whole tokens."""
    return float((sqrt_price_x96 / Q96) ** 2 * 10.0 ** (state.decimals0 - state.decimals1))


def quote_text(outcome: QuoteOutcome, configured: bool) -> str:
    """The human-readable answer, with units."""
    s, r, sym = outcome.state, outcome.result, outcome.symbols
    t_in, t_out = (s.token0, s.token1) if outcome.zero_for_one else (s.token1, s.token0)
    d_in, d_out = (s.decimals0, s.decimals1) if outcome.zero_for_one else (s.decimals1, s.decimals0)
    before, after = _price(r.sqrt_price_x96_before, s), _price(r.sqrt_price_x96_after, s)
    pair = f"{sym[s.token0]}/{sym[s.token1]}"
    lines = [
        f"quote at block {outcome.block}: pool {outcome.pool} {pair} fee {s.fee / 10_000:g}%"
        + ("" if configured else " (not in the config's dex.pools)"),
        f"  sell {_whole(r.amount_in, d_in)} {sym[t_in]} ({r.amount_in} raw, fee {_whole(r.fee_amount, d_in)})",
        f"  get  {_whole(r.amount_out, d_out)} {sym[t_out]} ({r.amount_out} raw)",
        f"  pool price {before:,.6g} -> {after:,.6g} {sym[s.token1]} per {sym[s.token0]} "
        f"({(after / before - 1) * 100:+.4g}%), sqrtPriceX96 after {r.sqrt_price_x96_after}",
        f"  initialized ticks crossed: {r.ticks_crossed}",
    ]
    if r.stop is not StopReason.FILLED:
        lines.append(
            f"  PARTIAL FILL: the pool's liquidity ran out at the price limit; only {r.amount_in} of "
            f"{r.amount_specified} raw {sym[t_in]} can be sold"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate the options, read the pool, print the quote."""
    cfg = load_config(args.config)
    protect_config(cfg)
    pool = parse_address("--pool", args.pool)
    token_in = parse_address("--token-in", args.token_in)
    amount_in = parse_amount("--amount-in", args.amount_in)
    if args.block is not None and args.block < 0:
        raise ConfigError(f"--block must be >= 0, got {args.block}")
    outcome = asyncio.run(compute_quote(cfg, pool, token_in, amount_in, args.block))
    if args.json:
        json.dump(quote_document(outcome), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(quote_text(outcome, pool in cfg.dex.pools))
    return 0
