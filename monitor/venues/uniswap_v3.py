"""Read Uniswap v3 pools at a pinned block into :class:`~monitor.dex.pool.PoolState`, and keep them fresh
from their Swap / Mint / Burn events — *build call -> execute -> decode*.

A full read asks for slot0, liquidity, fee, tick spacing, tokens and decimals, then every tick-bitmap word
of the pool's whole tick range, then ``ticks(t)`` of every initialized tick (all batched). An incremental
refresh reads only what the events can have changed: slot0 and liquidity after a Swap; after a Mint or Burn
also the two ticks the position names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from eth_utils.crypto import keccak

from monitor.chain.abi import AbiFunction
from monitor.chain.model import Log, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.dex.pool import PoolState
from monitor.dex.tick_math import MAX_TICK, MIN_TICK
from monitor.errors import MalformedResponseError, ProtocolError, RpcResponseError

SLOT0 = AbiFunction("slot0", (), ("uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"))
LIQUIDITY = AbiFunction("liquidity", (), ("uint128",))
FEE = AbiFunction("fee", (), ("uint24",))
TICK_SPACING = AbiFunction("tickSpacing", (), ("int24",))
TOKEN0 = AbiFunction("token0", (), ("address",))
TOKEN1 = AbiFunction("token1", (), ("address",))
DECIMALS = AbiFunction("decimals", (), ("uint8",))
TICK_BITMAP = AbiFunction("tickBitmap", ("int16",), ("uint256",))
TICKS = AbiFunction(
    "ticks", ("int24",), ("uint128", "int128", "uint256", "uint256", "int56", "uint160", "uint32", "bool")
)

SWAP_TOPIC = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()
MINT_TOPIC = "0x" + keccak(text="Mint(address,address,int24,int24,uint128,uint256,uint256)").hex()
BURN_TOPIC = "0x" + keccak(text="Burn(address,int24,int24,uint128,uint256,uint256)").hex()


# -- pure ------------------------------------------------------------------------------------------------------


def bitmap_words(tick_spacing: int) -> range:
    """Every tick-bitmap word index a pool with ``tick_spacing`` can use (compressed ticks >> 8, floored)."""
    lo = (MIN_TICK // tick_spacing) >> 8
    hi = (MAX_TICK // tick_spacing) >> 8
    return range(lo, hi + 1)


def ticks_in_word(word: int, bitmap: int, tick_spacing: int) -> list[int]:
    """Initialized ticks encoded by one bitmap word."""
    out = []
    while bitmap:
        low = bitmap & -bitmap
        bit = low.bit_length() - 1
        out.append((word * 256 + bit) * tick_spacing)
        bitmap ^= low
    return out


def _signed24(word: str) -> int:
    value = int(word, 16) & (2**24 - 1)
    return value - 2**24 if value >= 2**23 else value


def touched_ticks(logs: Iterable[Log]) -> dict[str, set[int]]:
    """Pool address -> ticks whose liquidityNet a Mint or Burn changed (tickLower/tickUpper are indexed)."""
    out: dict[str, set[int]] = {}
    for lg in logs:
        if lg.topics and lg.topics[0] in (MINT_TOPIC, BURN_TOPIC):
            if len(lg.topics) != 4:
                raise MalformedResponseError(f"pool {lg.address}: Mint/Burn log with {len(lg.topics)} topics")
            out.setdefault(lg.address, set()).update({_signed24(lg.topics[2]), _signed24(lg.topics[3])})
        elif lg.topics and lg.topics[0] == SWAP_TOPIC:
            out.setdefault(lg.address, set())
    return out


def merged_ticks(ticks: Sequence[tuple[int, int]], updates: dict[int, int]) -> tuple[tuple[int, int], ...]:
    """``ticks`` with the liquidityNet of some ticks replaced (0 removes a tick that is no longer initialized)."""
    nets = dict(ticks)
    for tick, net in updates.items():
        if net == 0:
            nets.pop(tick, None)
        else:
            nets[tick] = net
    return tuple(sorted(nets.items()))


@dataclass(frozen=True)
class PoolMeta:
    """What never changes about a pool."""

    address: str
    token0: str
    token1: str
    decimals0: int
    decimals1: int
    fee: int
    tick_spacing: int


# -- async executors -------------------------------------------------------------------------------------------


async def read_pool_meta(rpc: RpcClient, address: str, block: int) -> PoolMeta:
    """Tokens, decimals, fee and spacing; a non-pool address is a ProtocolError naming it."""
    address = address.lower()
    try:
        if await rpc.get_code(address, block) == "0x":
            raise ProtocolError(f"{address} has no contract code at block {block}: not a Uniswap v3 pool")
        t0, t1, fee, spacing = await rpc.eth_calls(
            [(address, f.encode()) for f in (TOKEN0, TOKEN1, FEE, TICK_SPACING)], block
        )
        token0, token1 = str(TOKEN0.decode(t0)[0]).lower(), str(TOKEN1.decode(t1)[0]).lower()
        if int(TICK_SPACING.decode(spacing)[0]) <= 0:
            raise ProtocolError(f"{address} answers tickSpacing() <= 0 at block {block}: not a Uniswap v3 pool")
        d0, d1 = await rpc.eth_calls([(token0, DECIMALS.encode()), (token1, DECIMALS.encode())], block)
        return PoolMeta(address, token0, token1, int(DECIMALS.decode(d0)[0]), int(DECIMALS.decode(d1)[0]),
                        int(FEE.decode(fee)[0]), int(TICK_SPACING.decode(spacing)[0]))  # fmt: skip
    except (RpcResponseError, MalformedResponseError) as exc:
        raise ProtocolError(f"{address} does not answer as a Uniswap v3 pool at block {block}: {exc}") from None


async def _slot0_liquidity(rpc: RpcClient, address: str, block: int) -> tuple[int, int, int]:
    s0, liq = await rpc.eth_calls([(address, SLOT0.encode()), (address, LIQUIDITY.encode())], block)
    slot0 = SLOT0.decode(s0)
    return int(slot0[0]), int(slot0[1]), int(LIQUIDITY.decode(liq)[0])


async def _tick_nets(rpc: RpcClient, address: str, ticks: Sequence[int], block: int) -> dict[int, int]:
    if not ticks:
        return {}
    raw = await rpc.eth_calls([(address, TICKS.encode(t)) for t in ticks], block)
    return {t: int(TICKS.decode(r)[1]) for t, r in zip(ticks, raw, strict=True)}


async def read_pool(rpc: RpcClient, address: str, block: int, meta: PoolMeta | None = None) -> PoolState:
    """The whole pool state at ``block``: every initialized tick included."""
    meta = meta or await read_pool_meta(rpc, address, block)
    words = list(bitmap_words(meta.tick_spacing))
    raw = await rpc.eth_calls([(meta.address, TICK_BITMAP.encode(w)) for w in words], block)
    initialized: list[int] = []
    for w, r in zip(words, raw, strict=True):
        initialized += ticks_in_word(w, int(TICK_BITMAP.decode(r)[0]), meta.tick_spacing)
    nets = await _tick_nets(rpc, meta.address, initialized, block)
    sqrt_price, tick, liquidity = await _slot0_liquidity(rpc, meta.address, block)
    return PoolState(
        token0=meta.token0, token1=meta.token1, decimals0=meta.decimals0, decimals1=meta.decimals1, fee=meta.fee,
        tick_spacing=meta.tick_spacing, sqrt_price_x96=sqrt_price, tick=tick, liquidity=liquidity,
        ticks=tuple(sorted((t, n) for t, n in nets.items() if n != 0)),
    )  # fmt: skip


def pool_log_filter(pools: Sequence[str], from_block: int, to_block: int) -> LogFilter:
    """eth_getLogs filter for the Swap, Mint and Burn events of ``pools``."""
    return LogFilter(from_block, to_block, tuple(p.lower() for p in pools), ((SWAP_TOPIC, MINT_TOPIC, BURN_TOPIC),))


async def refresh_pools(
    rpc: RpcClient, states: dict[str, PoolState], logs: Iterable[Log], block: int
) -> dict[str, PoolState]:
    """New states for the pools that ``logs`` touched, read at ``block``; untouched pools are returned as is.
    Every touched pool's reads (price, liquidity, the touched ticks) go out together: one round trip."""

    async def refreshed(state: PoolState, address: str, ticks: set[int]) -> PoolState:
        slot0, nets = await asyncio.gather(
            _slot0_liquidity(rpc, address, block), _tick_nets(rpc, address, sorted(ticks), block)
        )
        sqrt_price, tick, liquidity = slot0
        ticks_now = merged_ticks(state.ticks, nets)
        return replace(state, ticks=ticks_now, sqrt_price_x96=sqrt_price, tick=tick, liquidity=liquidity)

    touched = [(a, t) for a, t in touched_ticks(logs).items() if a in states]
    new = await asyncio.gather(*(refreshed(states[a], a, t) for a, t in touched))
    out = dict(states)
    out.update({a: state for (a, _), state in zip(touched, new, strict=True)})
    return out
