"""Reads of one Aave v3 market pinned to one block: reserves, e-mode categories, indices, oracle prices and
account positions — *build call -> execute -> decode*.

The builders and decoders here are pure; :func:`read_market` and :func:`read_accounts` are the thin async
executors, asking the one RPC owner. Account reads go through the ``AaveLens`` injected with an eth_call state
override (no deployment needed): one eth_call returns the configuration bitmaps, e-mode ids, scaled balances
and stable debts of hundreds of accounts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.aave.market import GET_RESERVE_DATA, ZERO_ADDRESS, MarketAddresses, ReserveTokens
from monitor.book.inputs import AccountInput, EModeCategoryInput, MarketInputs, PositionInput, ReserveInput
from monitor.chain.abi import AbiFunction
from monitor.chain.rpc import RpcClient
from monitor.contracts import LENS_ADDRESS, lens_override, own_contract
from monitor.errors import MalformedResponseError, ProtocolError, RpcResponseError

GET_PRICE_ORACLE = AbiFunction("getPriceOracle", (), ("address",))
GET_ASSET_PRICE = AbiFunction("getAssetPrice", ("address",), ("uint256",))
NORMALIZED_INCOME = AbiFunction("getReserveNormalizedIncome", ("address",), ("uint256",))
NORMALIZED_DEBT = AbiFunction("getReserveNormalizedVariableDebt", ("address",), ("uint256",))
EMODE_CATEGORY = AbiFunction("getEModeCategoryData", ("uint8",), ("(uint16,uint16,uint16,address,string)",))
SYMBOL = AbiFunction("symbol", (), ("string",))
SYMBOL_BYTES32 = AbiFunction("symbol", (), ("bytes32",))

ACCOUNTS_PER_CALL = 400


@dataclass(frozen=True)
class MarketRead:
    """Everything market-wide read at one block: the book's market inputs plus the oracle address."""

    block: int
    oracle: str
    inputs: MarketInputs


# -- pure decoders --------------------------------------------------------------------------------------------


def decode_symbol(raw: str) -> str:
    """ERC20 ``symbol()``: a string, or bytes32 on old tokens (MKR), or empty when neither decodes."""
    try:
        return str(SYMBOL.decode(raw)[0])
    except MalformedResponseError:
        pass
    try:
        return bytes(SYMBOL_BYTES32.decode(raw)[0]).rstrip(b"\0").decode(errors="replace")
    except MalformedResponseError:
        return ""


def decode_uint(fn: AbiFunction, raw: str) -> int:
    """A single uint256 answer."""
    return int(fn.decode(raw)[0])


def decode_accounts(
    users: Sequence[str],
    reserves: Sequence[ReserveTokens],
    states: tuple[Any, ...],
    scaled: Sequence[int],
    stable: Sequence[int],
) -> list[AccountInput]:
    """Lens answers -> :class:`AccountInput` rows (positions keyed by reserve asset)."""
    configs, emodes = states
    n = len(reserves)
    if len(configs) != len(users) or len(scaled) != 2 * n * len(users) or len(stable) != n * len(users):
        raise MalformedResponseError("lens answer has the wrong number of values for the accounts asked")
    out = []
    for u, user in enumerate(users):
        positions = {}
        for k, r in enumerate(reserves):
            a = int(scaled[u * 2 * n + k])
            v = int(scaled[u * 2 * n + n + k])
            s = int(stable[u * n + k])
            if a or v or s:
                positions[r.asset] = PositionInput(scaled_atoken=a, scaled_variable_debt=v, stable_debt=s)
        out.append(
            AccountInput(address=user, user_configuration=int(configs[u]), emode_category=int(emodes[u]),
                         positions=positions)
        )  # fmt: skip
    return out


# -- async executors -----------------------------------------------------------------------------------------


async def read_market(rpc: RpcClient, market: MarketAddresses, block: int) -> MarketRead:
    """Reserves (configuration, indices at ``block``'s timestamp, prices), e-mode categories, at ``block``."""
    oracle_raw = await rpc.eth_call(market.provider, GET_PRICE_ORACLE.encode(), block)
    oracle = str(GET_PRICE_ORACLE.decode(oracle_raw)[0]).lower()
    if oracle == ZERO_ADDRESS:
        raise ProtocolError(f"market {market.provider}: the addresses provider has no price oracle set")
    reserves = market.reserves
    calls: list[tuple[str, str]] = []
    for r in reserves:
        calls += [
            (market.pool, GET_RESERVE_DATA.encode(r.asset)),
            (market.pool, NORMALIZED_INCOME.encode(r.asset)),
            (market.pool, NORMALIZED_DEBT.encode(r.asset)),
            (oracle, GET_ASSET_PRICE.encode(r.asset)),
            (r.asset, SYMBOL.encode()),
        ]
    answers = await rpc.eth_calls(calls, block)
    inputs: list[ReserveInput] = []
    categories: set[int] = set()
    for i, r in enumerate(reserves):
        data, income, debt_index, price, symbol = answers[5 * i : 5 * i + 5]
        (fields,) = GET_RESERVE_DATA.decode(data)
        configuration = int(fields[0][0])
        reserve = ReserveInput.from_configuration(
            asset=r.asset,
            symbol=decode_symbol(symbol) or r.asset[:10],
            reserve_id=r.reserve_id,
            configuration=configuration,
            price=decode_uint(GET_ASSET_PRICE, price),
            normalized_income=decode_uint(NORMALIZED_INCOME, income),
            normalized_variable_debt=decode_uint(NORMALIZED_DEBT, debt_index),
        )
        if reserve.emode_category:
            categories.add(reserve.emode_category)
        inputs.append(reserve)
    emodes = await _read_emodes(rpc, market.pool, sorted(categories), block)
    assets = {r.asset for r in inputs}
    extra = sorted({c.price_source for c in emodes if c.has_price_source and c.price_source not in assets})
    source_prices: dict[str, int] = {}
    if extra:
        raw = await rpc.eth_calls([(oracle, GET_ASSET_PRICE.encode(a)) for a in extra], block)
        source_prices = {a: decode_uint(GET_ASSET_PRICE, p) for a, p in zip(extra, raw, strict=True)}
    return MarketRead(block, oracle, MarketInputs(tuple(inputs), tuple(emodes), source_prices))


async def _read_emodes(rpc: RpcClient, pool: str, ids: Sequence[int], block: int) -> list[EModeCategoryInput]:
    if not ids:
        return []
    raw = await rpc.eth_calls([(pool, EMODE_CATEGORY.encode(i)) for i in ids], block)
    out = []
    for cid, answer in zip(ids, raw, strict=True):
        ltv, lt, bonus, source, label = EMODE_CATEGORY.decode(answer)[0]
        out.append(EModeCategoryInput(category_id=cid, ltv=int(ltv), liquidation_threshold=int(lt),
                                      liquidation_bonus=int(bonus), price_source=str(source).lower(),
                                      label=str(label)))  # fmt: skip
    return out


async def read_accounts(
    rpc: RpcClient,
    market: MarketAddresses,
    users: Sequence[str],
    block: int,
    *,
    per_call: int = ACCOUNTS_PER_CALL,
) -> list[AccountInput]:
    """Positions of ``users`` at ``block`` through the injected lens, ``per_call`` accounts per eth_call."""
    lens = own_contract("AaveLens").abi
    reserves = market.reserves
    scaled_tokens = [r.a_token for r in reserves] + [r.variable_debt_token for r in reserves]
    stable_tokens = [r.stable_debt_token for r in reserves]
    override = lens_override()
    fn_states, fn_scaled, fn_bal = lens.fn("userStates"), lens.fn("scaledBalances"), lens.fn("balances")

    async def chunk(part: Sequence[str]) -> list[AccountInput]:
        states_raw, scaled_raw, stable_raw = await asyncio.gather(
            rpc.eth_call(LENS_ADDRESS, fn_states.encode(market.pool, list(part)), block, override),
            rpc.eth_call(LENS_ADDRESS, fn_scaled.encode(scaled_tokens, list(part)), block, override),
            rpc.eth_call(LENS_ADDRESS, fn_bal.encode(stable_tokens, list(part)), block, override),
        )
        return decode_accounts(
            part, reserves, fn_states.decode(states_raw), fn_scaled.decode(scaled_raw)[0], fn_bal.decode(stable_raw)[0]
        )

    parts = [users[i : i + per_call] for i in range(0, len(users), per_call)]
    try:
        results = await asyncio.gather(*(chunk(p) for p in parts))
    except RpcResponseError as exc:
        raise ProtocolError(f"reading accounts of {market.pool} at block {block} failed: {exc}") from exc
    return [a for part in results for a in part]
