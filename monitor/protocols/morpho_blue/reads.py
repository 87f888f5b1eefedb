"""The I/O edge for Morpho Blue: market parameters, totals, oracle price, IRM rate and positions at one block.

Plain calls read a market (``idToMarketParams``, ``market``, the oracle's ``price()``, the IRM's
``borrowRateView``); positions of many (market id, account) pairs come from one ``eth_call`` per chunk of the
read-only ``MorphoLens``, injected with a state override so it needs no deployment. Borrowers are discovered from
Morpho's events with a plain ``eth_getLogs`` scan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.chain.abi import AbiFunction
from monitor.chain.model import LogFilter
from monitor.chain.rpc import RpcClient
from monitor.contracts import own_contract
from monitor.errors import DataError, ProtocolError
from monitor.protocols.morpho_blue.events import BORROWER_TOPICS, CREATE_MARKET, account_touches, created_markets
from monitor.protocols.morpho_blue.interest import accrue
from monitor.protocols.morpho_blue.params import MARKET_PARAMS_TYPE, MarketParams, MarketState, Position

MARKET_TYPE = "(uint128,uint128,uint128,uint128,uint128,uint128)"
POSITION = AbiFunction("position", ("bytes32", "address"), ("uint256", "uint128", "uint128"))
MARKET = AbiFunction("market", ("bytes32",), ("uint128",) * 6)
ID_TO_MARKET_PARAMS = AbiFunction(
    "idToMarketParams", ("bytes32",), ("address", "address", "address", "address", "uint256")
)
ORACLE_PRICE = AbiFunction("price", (), ("uint256",))
BORROW_RATE_VIEW = AbiFunction("borrowRateView", (MARKET_PARAMS_TYPE, MARKET_TYPE), ("uint256",))
LENS_POSITIONS = AbiFunction("positions", ("address", "bytes32[]", "address[]"), ("uint256[]",))

MORPHO_LENS_ADDRESS = "0x00000000000000000000000000000000c0de1e46"  # where the lens code is injected
ZERO_ADDRESS = "0x" + "00" * 20
POSITIONS_PER_CALL = 2_000


def id_bytes(market_id: str) -> bytes:
    """A 0x-hex market id as the 32 bytes the ABI takes."""
    raw = bytes.fromhex(market_id.removeprefix("0x"))
    if len(raw) != 32:
        raise DataError(f"market id must be 32 bytes, got {market_id!r}")
    return raw


@dataclass(frozen=True)
class MarketSnapshot:
    """One market at one block: parameters, stored totals, oracle price and the IRM's view rate."""

    market_id: str
    params: MarketParams
    state: MarketState  # as stored (interest accrued up to state.last_update)
    price: int  # oracle price(), collateral in loan-token units scaled 1e36
    borrow_rate: int  # IRM borrowRateView for the stored state, per second, WAD
    block: int
    timestamp: int

    def accrued(self) -> MarketState:
        """Totals with interest accrued to the block's timestamp (MorphoBalancesLib.expectedMarketBalances)."""
        return accrue(self.state, self.borrow_rate, self.timestamp, has_irm=self.params.irm != ZERO_ADDRESS)


async def read_market(rpc: RpcClient, morpho: str, market_id: str, block: int) -> MarketSnapshot:
    """Read one market at ``block``; an id Morpho does not know raises ProtocolError."""
    raw_params, raw_state = await rpc.eth_calls(market_calls(morpho, market_id), block)
    loan, coll, oracle, irm, lltv = ID_TO_MARKET_PARAMS.decode(raw_params)
    state = MarketState(*(int(v) for v in MARKET.decode(raw_state)))
    if state.last_update == 0:
        raise ProtocolError(f"Morpho {morpho} has no market {market_id} at block {block}")
    params = MarketParams(str(loan).lower(), str(coll).lower(), str(oracle).lower(), str(irm).lower(), int(lltv))
    if params.id != market_id.lower():
        raise ProtocolError(f"market {market_id}: its parameters hash to {params.id}")
    # the oracle price, the IRM's rate (it takes the state just read) and the header together: one round trip
    price_read = rpc.eth_call(params.oracle, ORACLE_PRICE.encode(), block)
    rate_read = (
        rpc.eth_call(params.irm, BORROW_RATE_VIEW.encode(params.as_tuple(), _state_tuple(state)), block)
        if params.irm != ZERO_ADDRESS
        else _no_rate()
    )
    raw_price, raw_rate, header = await asyncio.gather(price_read, rate_read, rpc.block(block))
    price = int(ORACLE_PRICE.decode(raw_price)[0])
    rate = int(BORROW_RATE_VIEW.decode(raw_rate)[0]) if params.irm != ZERO_ADDRESS else 0
    if header is None:
        raise ProtocolError(f"block {block} not found")
    return MarketSnapshot(market_id.lower(), params, state, price, rate, block, header.timestamp)


async def _no_rate() -> str:
    return "0x"


def market_calls(morpho: str, market_id: str) -> list[tuple[str, str]]:
    """The two eth_calls :func:`read_market` starts with (parameters and state of the market)."""
    key = id_bytes(market_id)
    return [(morpho, ID_TO_MARKET_PARAMS.encode(key)), (morpho, MARKET.encode(key))]


def _state_tuple(s: MarketState) -> tuple[int, ...]:
    return (s.total_supply_assets, s.total_supply_shares, s.total_borrow_assets, s.total_borrow_shares,
            s.last_update, s.fee)  # fmt: skip


def lens_override() -> dict[str, Any]:
    """eth_call state override that places the MorphoLens runtime code at :data:`MORPHO_LENS_ADDRESS`."""
    return {MORPHO_LENS_ADDRESS: {"code": own_contract("MorphoLens").deployed_bytecode}}


async def read_positions(
    rpc: RpcClient, morpho: str, pairs: Sequence[tuple[str, str]], block: int, *, per_call: int = POSITIONS_PER_CALL
) -> list[Position]:
    """``position(id, user)`` of every (market id, user) pair, in order, through the injected MorphoLens."""
    calls = []
    for start in range(0, len(pairs), per_call):
        part = pairs[start : start + per_call]
        data = LENS_POSITIONS.encode(morpho, [id_bytes(i) for i, _ in part], [u for _, u in part])
        calls.append((MORPHO_LENS_ADDRESS, data))
    out: list[Position] = []
    for raw in await rpc.eth_calls(calls, block, state_override=lens_override()):
        flat = LENS_POSITIONS.decode(raw)[0]
        out += [Position(int(flat[j]), int(flat[j + 1]), int(flat[j + 2])) for j in range(0, len(flat), 3)]
    if len(out) != len(pairs):
        raise ProtocolError(f"MorphoLens returned {len(out)} positions for {len(pairs)} pairs")
    return out


async def discover_borrowers(
    rpc: RpcClient, morpho: str, market_ids: Sequence[str], from_block: int, to_block: int, *, step: int = 50_000
) -> dict[str, set[str]]:
    """Accounts that borrowed, repaid or moved collateral in each market between two blocks (inclusive)."""
    wanted = {m.lower() for m in market_ids}
    found: dict[str, set[str]] = {m: set() for m in wanted}
    topic_ids = tuple(wanted)
    for start in range(from_block, to_block + 1, step):
        flt = LogFilter(start, min(start + step - 1, to_block), (morpho.lower(),), (BORROWER_TOPICS, topic_ids))
        for touch in account_touches(await rpc.get_logs(flt)):
            if touch.market_id in wanted:
                found[touch.market_id].add(touch.account)
    return found


async def find_markets(
    rpc: RpcClient, morpho: str, loan_tokens: Sequence[str], from_block: int, to_block: int, *, step: int = 50_000
) -> list[str]:
    """Ids of the markets lending one of ``loan_tokens`` that Morpho created between two blocks (inclusive),
    in creation order (from its ``CreateMarket`` events)."""
    wanted = {t.lower() for t in loan_tokens}
    found: list[str] = []
    for start in range(from_block, to_block + 1, step):
        flt = LogFilter(start, min(start + step - 1, to_block), (morpho.lower(),), ((CREATE_MARKET.topic0,),))
        for market_id, params in created_markets(await rpc.get_logs(flt)):
            if params.loan_token in wanted:
                if params.id != market_id:
                    raise ProtocolError(f"CreateMarket {market_id}: its parameters hash to {params.id}")
                found.append(market_id)
    return found
