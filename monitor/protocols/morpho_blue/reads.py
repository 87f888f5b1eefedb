"""The I/O edge for Morpho Blue: market parameters, totals, oracle price, IRM rate and positions at one block.

Plain calls read a market (``idToMarketParams``, ``market``, the oracle's ``price()``, the IRM's
``borrowRateView``); positions of many (market id, account) pairs come from one ``eth_call`` per chunk of the
read-only ``MorphoLens``, injected with a state override so it needs no deployment. Borrowers are discovered from
Morpho's events with a plain ``eth_getLogs`` scan.

Morpho Blue is permissionless: anyone can create a market whose oracle or IRM reverts. A market whose own oracle
or IRM call fails at a block with an execution error (a revert, not a node that did not answer), answers what is
not a number, or prices its collateral at 0 raises :class:`UnpricedMarketError`, naming why; the tracker leaves
that market out of the block's figures. Transport failures and node-side errors still raise as they are.
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
from monitor.errors import DataError, MalformedResponseError, ProtocolError, RpcResponseError
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
REASON_CHARS = 200  # an unpriced market's reason is cut to this length (revert data can be long)
# JSON-RPC error codes and messages of an EVM execution failure (geth/anvil: code 3 with revert data, or -32000
# "execution reverted"; nethermind -32015 "VM execution error"; geth's "invalid opcode", "out of gas", "invalid
# jump destination", "stack underflow"/"stack limit reached"; anvil (revm) -32603 "EVM error InvalidFEOpcode",
# "OutOfGas", "InvalidJump", "StackUnderflow"/"StackOverflow", "OpcodeNotFound"). Messages are compared with
# spaces and underscores removed, so each failure is listed once. What a node says when it cannot run the call
# (limit exceeded, timeout, header not found, missing trie node) matches none of these.
EXECUTION_ERROR_CODES = frozenset({3, -32015})
EXECUTION_ERROR_WORDS = (
    "revert",
    "invalidopcode",
    "invalidfeopcode",
    "opcodenotfound",
    "outofgas",
    "vmexecutionerror",
    "invalidjump",
    "stackunderflow",
    "stackoverflow",
    "stacklimitreached",
)


class UnpricedMarketError(ProtocolError):
    """A market's own oracle or IRM cannot value it at a block: its call reverted, its answer is not a number,
    or the oracle's price is 0 (``reason`` says which)."""

    def __init__(self, market_id: str, block: int, reason: str) -> None:
        super().__init__(f"market {market_id} unpriced at block {block}: {reason}")
        self.market_id = market_id
        self.block = block
        self.reason = reason[:REASON_CHARS]


def is_execution_error(exc: RpcResponseError) -> bool:
    """Whether a JSON-RPC error of an ``eth_call`` is the call's own execution failing (a revert), as opposed to
    the node failing to run it (unknown block, missing state, rate limit...)."""
    message = str(exc).lower().replace(" ", "").replace("_", "")
    return exc.code in EXECUTION_ERROR_CODES or any(w in message for w in EXECUTION_ERROR_WORDS)


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


async def read_market_params(
    rpc: RpcClient, morpho: str, market_id: str, block: int
) -> tuple[MarketParams, MarketState]:
    """A market's parameters and stored state at ``block`` (Morpho's own storage: no oracle, no IRM); an id Morpho
    does not know raises ProtocolError."""
    raw_params, raw_state = await rpc.eth_calls(market_calls(morpho, market_id), block)
    loan, coll, oracle, irm, lltv = ID_TO_MARKET_PARAMS.decode(raw_params)
    state = MarketState(*(int(v) for v in MARKET.decode(raw_state)))
    if state.last_update == 0:
        raise ProtocolError(f"Morpho {morpho} has no market {market_id} at block {block}")
    params = MarketParams(str(loan).lower(), str(coll).lower(), str(oracle).lower(), str(irm).lower(), int(lltv))
    if params.id != market_id.lower():
        raise ProtocolError(f"market {market_id}: its parameters hash to {params.id}")
    return params, state


async def read_market(rpc: RpcClient, morpho: str, market_id: str, block: int) -> MarketSnapshot:
    """Read one market at ``block``; an id Morpho does not know raises ProtocolError, a market its own oracle or
    IRM cannot value at that block :class:`UnpricedMarketError`."""
    params, state = await read_market_params(rpc, morpho, market_id, block)
    # the oracle price, the IRM's rate (it takes the state just read) and the header together: one round trip
    price_read = _own_call(rpc, params.oracle, ORACLE_PRICE.encode(), block)
    rate_read = (
        _own_call(rpc, params.irm, BORROW_RATE_VIEW.encode(params.as_tuple(), _state_tuple(state)), block)
        if params.irm != ZERO_ADDRESS
        else _no_rate()
    )
    raw_price, raw_rate, header = await asyncio.gather(price_read, rate_read, rpc.block(block))
    if header is None:
        raise ProtocolError(f"block {block} not found")
    mid = market_id.lower()
    price = _answer(ORACLE_PRICE, raw_price, mid, block, f"oracle {params.oracle}")
    if price == 0:
        raise UnpricedMarketError(mid, block, f"oracle {params.oracle} price() is 0")
    rate = _answer(BORROW_RATE_VIEW, raw_rate, mid, block, f"IRM {params.irm}") if params.irm != ZERO_ADDRESS else 0
    return MarketSnapshot(mid, params, state, price, rate, block, header.timestamp)


async def _own_call(rpc: RpcClient, to: str, data: str, block: int) -> str | RpcResponseError:
    """An eth_call of a market's own contract: its execution error is returned (the market's doing), any other
    failure raised (the node's)."""
    try:
        return await rpc.eth_call(to, data, block)
    except RpcResponseError as exc:
        if is_execution_error(exc):
            return exc
        raise


def _answer(fn: AbiFunction, raw: str | RpcResponseError, market_id: str, block: int, who: str) -> int:
    """The one uint256 a market's oracle or IRM answered; its revert or a malformed answer: UnpricedMarketError."""
    if isinstance(raw, RpcResponseError):
        raise UnpricedMarketError(market_id, block, f"{who} {fn.name}() reverted: {raw}")
    try:
        return int(fn.decode(raw)[0])
    except MalformedResponseError as exc:
        raise UnpricedMarketError(market_id, block, f"{who} {fn.name}() answered no uint256: {exc}") from None


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
