"""Reads of one Aave v3 market pinned to one block: reserves, e-mode categories (v3.0 per-reserve, or v3.2+
liquid e-mode bitmaps), indices, oracle prices and account positions — *build call -> execute -> decode*.

The builders and decoders here are pure; :func:`read_market` and :func:`read_accounts` are the thin async
executors, asking the one RPC owner. Account reads go through the ``AaveLens`` injected with an eth_call state
override (no deployment needed): one eth_call returns the configuration bitmaps, e-mode ids, scaled balances
and stable debts of hundreds of accounts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.chain.abi import AbiFunction
from monitor.chain.erc20 import SYMBOL, decode_symbol
from monitor.chain.rpc import RpcClient
from monitor.contracts import LENS_ADDRESS, lens_override, own_contract
from monitor.errors import MalformedResponseError, ProtocolError, RpcResponseError, StateMismatchError
from monitor.protocols.aave_v3.book.inputs import (
    AccountInput,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    ReserveInput,
)
from monitor.protocols.aave_v3.market import GET_RESERVE_DATA, ZERO_ADDRESS, MarketAddresses, ReserveTokens
from monitor.protocols.aave_v3.version import V3_0, AaveVersion, detect_version

RESERVE_LAST_UPDATE_FIELD = 6  # lastUpdateTimestamp in getReserveData's struct (v3.0 and v3.6's legacy layout)

GET_PRICE_ORACLE = AbiFunction("getPriceOracle", (), ("address",))
GET_ASSET_PRICE = AbiFunction("getAssetPrice", ("address",), ("uint256",))
NORMALIZED_INCOME = AbiFunction("getReserveNormalizedIncome", ("address",), ("uint256",))
NORMALIZED_DEBT = AbiFunction("getReserveNormalizedVariableDebt", ("address",), ("uint256",))
EMODE_CATEGORY = AbiFunction("getEModeCategoryData", ("uint8",), ("(uint16,uint16,uint16,address,string)",))
EMODE_LABEL = AbiFunction("getEModeCategoryLabel", ("uint8",), ("string",))
RESERVE_DEFICIT = AbiFunction("getReserveDeficit", ("address",), ("uint256",))

ACCOUNTS_PER_CALL = 400
LENS_CALLS_PER_BATCH = 8


@dataclass(frozen=True)
class MarketRead:
    """Everything market-wide read at one block: the book's market inputs, the oracle and the pool's version;
    on v3.3+ code each reserve's ``getReserveDeficit`` (asset -> token units)."""

    block: int
    oracle: str
    inputs: MarketInputs
    version: AaveVersion = V3_0
    deficits: Mapping[str, int] = field(default_factory=dict)


# -- pure decoders --------------------------------------------------------------------------------------------


def decode_uint(fn: AbiFunction, raw: str) -> int:
    """A single uint256 answer."""
    return int(fn.decode(raw)[0])


def lens_token_lists(reserves: Sequence[ReserveTokens]) -> tuple[list[str], list[str], list[str]]:
    """aToken, variable and stable debt token lists indexed by reserve id (zero address for unknown ids)."""
    n = max((r.reserve_id for r in reserves), default=-1) + 1
    a, v, s = [ZERO_ADDRESS] * n, [ZERO_ADDRESS] * n, [ZERO_ADDRESS] * n
    for r in reserves:
        a[r.reserve_id], v[r.reserve_id], s[r.reserve_id] = r.a_token, r.variable_debt_token, r.stable_debt_token
    return a, v, s


def decode_accounts(
    users: Sequence[str], reserves: Sequence[ReserveTokens], answer: tuple[Any, ...]
) -> list[AccountInput]:
    """The lens ``positions`` answer -> :class:`AccountInput` rows (positions keyed by reserve asset)."""
    configs, emodes, values = answer
    n = max((r.reserve_id for r in reserves), default=-1) + 1
    if len(configs) != len(users) or len(emodes) != len(users) or len(values) != 3 * n * len(users):
        raise MalformedResponseError("lens answer has the wrong number of values for the accounts asked")
    out = []
    for u, user in enumerate(users):
        o = 3 * n * u
        positions = {}
        for r in reserves:
            i = r.reserve_id
            a, v, s = int(values[o + i]), int(values[o + n + i]), int(values[o + 2 * n + i])
            if a or v or s:
                positions[r.asset] = PositionInput(scaled_atoken=a, scaled_variable_debt=v, stable_debt=s)
        out.append(
            AccountInput(address=user, user_configuration=int(configs[u]), emode_category=int(emodes[u]),
                         positions=positions)
        )  # fmt: skip
    return out


# -- async executors -----------------------------------------------------------------------------------------


async def read_market(
    rpc: RpcClient, market: MarketAddresses, block: int, version: AaveVersion | None = None
) -> MarketRead:
    """Reserves (configuration, indices at ``block``'s timestamp, prices), e-mode categories, at ``block``.

    ``version`` is the pool's (:func:`~monitor.protocols.aave_v3.version.detect_version`); read from the pool
    when not given. It decides how e-mode categories are read and which maths the book applies.
    """
    if version is None:
        version = await detect_version(rpc, market.pool, block)
    oracle_raw = await rpc.eth_call(market.provider, GET_PRICE_ORACLE.encode(), block)
    oracle = str(GET_PRICE_ORACLE.decode(oracle_raw)[0]).lower()
    if oracle == ZERO_ADDRESS:
        raise ProtocolError(f"market {market.provider}: the addresses provider has no price oracle set")
    reserves = market.reserves
    calls = reserve_calls(market, oracle)
    answers, header = await asyncio.gather(rpc.eth_calls(calls, block, return_errors=True), rpc.block(block))
    if header is not None:
        check_reserves_not_after(block, header.timestamp, reserves, answers[0::5])
    what = ("getReserveData", "getReserveNormalizedIncome", "getReserveNormalizedVariableDebt", "getAssetPrice",
            "symbol")  # fmt: skip
    for i, answer in enumerate(answers):
        if isinstance(answer, RpcResponseError):
            r = reserves[i // 5]
            call = what[i % 5]
            if call == "symbol":  # a token without symbol() is fine: the address stands in
                answers[i] = "0x"
                continue
            hint = " (the oracle's source answers 0 or a negative price and there is no fallback?)" * (
                call == "getAssetPrice"
            )
            raise ProtocolError(f"{call}({r.asset}) reverted at block {block}{hint}: {answer}")
    inputs: list[ReserveInput] = []
    categories: set[int] = set()
    for i, r in enumerate(reserves):
        data, income, debt_index, price, symbol = answers[5 * i : 5 * i + 5]
        (fields,) = GET_RESERVE_DATA.decode(data)
        configuration = int(fields[0][0])
        price_now = decode_uint(GET_ASSET_PRICE, price)
        if price_now == 0:
            raise ProtocolError(f"oracle price of reserve {r.asset} is 0 at block {block}: refusing to value it at $0")
        reserve = ReserveInput.from_configuration(
            asset=r.asset,
            symbol=decode_symbol(symbol) or r.asset[:10],
            reserve_id=r.reserve_id,
            configuration=configuration,
            price=price_now,
            normalized_income=decode_uint(NORMALIZED_INCOME, income),
            normalized_variable_debt=decode_uint(NORMALIZED_DEBT, debt_index),
        )
        if reserve.emode_category:
            categories.add(reserve.emode_category)
        inputs.append(reserve)
    if version.liquid_emode:
        emodes = await _read_liquid_emodes(rpc, market.pool, block)
    else:
        emodes = await _read_emodes(rpc, market.pool, sorted(categories), block)
    assets = {r.asset for r in inputs}
    extra = sorted({c.price_source for c in emodes if c.has_price_source and c.price_source not in assets})
    source_prices: dict[str, int] = {}
    if extra:
        raw = await rpc.eth_calls([(oracle, GET_ASSET_PRICE.encode(a)) for a in extra], block)
        source_prices = {a: decode_uint(GET_ASSET_PRICE, p) for a, p in zip(extra, raw, strict=True)}
    inputs_read = MarketInputs(tuple(inputs), tuple(emodes), source_prices, maths=version.maths)
    deficits = (
        await _read_deficits(rpc, market.pool, [r.asset for r in reserves], block) if version.maths == "v3.6" else {}
    )
    return MarketRead(block, oracle, inputs_read, version, deficits)


def reserve_calls(market: MarketAddresses, oracle: str) -> list[tuple[str, str]]:
    """The five eth_calls of each reserve :func:`read_market` makes (data, indices, price, symbol), in order."""
    calls: list[tuple[str, str]] = []
    for r in market.reserves:
        calls += [
            (market.pool, GET_RESERVE_DATA.encode(r.asset)),
            (market.pool, NORMALIZED_INCOME.encode(r.asset)),
            (market.pool, NORMALIZED_DEBT.encode(r.asset)),
            (oracle, GET_ASSET_PRICE.encode(r.asset)),
            (r.asset, SYMBOL.encode()),
        ]
    return calls


async def read_market_ahead(rpc: RpcClient, market: MarketAddresses, block: int, previous: MarketRead) -> None:
    """Ask, all at once, the reads :func:`read_market` will make at ``block`` if the market is as ``previous``
    found it (same oracle, e-mode categories and version): for an ``rpc`` that shares answers within a block
    (the daemon's), read_market then finds them asked instead of asking them one after the other. Answers and
    failures are left to read_market (which asks again whatever differs or failed)."""
    version = previous.version
    pool = market.pool
    calls = [(market.provider, GET_PRICE_ORACLE.encode()), *reserve_calls(market, previous.oracle)]
    categories = [c.category_id for c in previous.inputs.emode_categories]
    if version.liquid_emode:
        calls += [(pool, EMODE_LABEL.encode(i)) for i in categories]
    else:
        calls += [(pool, EMODE_CATEGORY.encode(i)) for i in categories]
    calls += [(previous.oracle, GET_ASSET_PRICE.encode(a)) for a in sorted(previous.inputs.source_prices)]
    if version.maths == "v3.6":
        calls += [(pool, RESERVE_DEFICIT.encode(r.asset)) for r in market.reserves]
    reads = [rpc.eth_calls(calls, block, return_errors=True)]
    if version.liquid_emode:
        fn = own_contract("AaveLens").abi.fn("emodeCategories")
        reads.append(rpc.eth_calls([(LENS_ADDRESS, fn.encode(pool))], block, state_override=lens_override(),
                                   return_errors=True))  # fmt: skip
    await asyncio.gather(*reads, return_exceptions=True)


def check_reserves_not_after(
    block: int, timestamp: int, reserves: Sequence[ReserveTokens], reserve_data: Sequence[str | RpcResponseError]
) -> None:
    """Refuse an answer for ``block`` that holds a reserve updated after ``block``'s ``timestamp``: the node read
    a later block's state (its ``getReserveNormalizedIncome`` then underflows, or silently answers later values)."""
    for r, data in zip(reserves, reserve_data, strict=True):
        if isinstance(data, RpcResponseError):
            continue
        (fields,) = GET_RESERVE_DATA.decode(data)
        updated = int(fields[RESERVE_LAST_UPDATE_FIELD])
        if updated > timestamp:
            raise StateMismatchError(
                f"the node answered block {block} (timestamp {timestamp}) with state from a later block (reserve "
                f"{r.asset} updated at {updated}); read at least one block below the head (chain.confirmations >= 1)"
            )


async def _read_deficits(rpc: RpcClient, pool: str, assets: Sequence[str], block: int) -> dict[str, int]:
    """v3.3+: ``getReserveDeficit`` of each reserve (a pool without it, e.g. an overridden unknown revision,
    has no entry)."""
    answers = await rpc.eth_calls([(pool, RESERVE_DEFICIT.encode(a)) for a in assets], block, return_errors=True)
    return {
        a: decode_uint(RESERVE_DEFICIT, raw)
        for a, raw in zip(assets, answers, strict=True)
        if not isinstance(raw, RpcResponseError)
    }


def decode_liquid_emodes(flat: Sequence[int], labels: Sequence[str]) -> list[EModeCategoryInput]:
    """The lens ``emodeCategories`` answer (seven words per category) and the labels -> category inputs."""
    if len(flat) % 7 or len(labels) != len(flat) // 7:
        raise MalformedResponseError("lens e-mode answer has the wrong number of values")
    out = []
    for k, label in enumerate(labels):
        cid, ltv, lt, bonus, coll, borrowable, ltvzero = (int(x) for x in flat[7 * k : 7 * k + 7])
        out.append(EModeCategoryInput(category_id=cid, ltv=ltv, liquidation_threshold=lt, liquidation_bonus=bonus,
                                      label=label, collateral_bitmap=coll, borrowable_bitmap=borrowable,
                                      ltvzero_bitmap=ltvzero))  # fmt: skip
    return out


async def _read_liquid_emodes(rpc: RpcClient, pool: str, block: int) -> list[EModeCategoryInput]:
    """Aave v3.2+ categories: every id with a non-zero threshold, with its bitmaps, in one lens call."""
    fn = own_contract("AaveLens").abi.fn("emodeCategories")
    try:
        raw = await rpc.eth_calls([(LENS_ADDRESS, fn.encode(pool))], block, state_override=lens_override())
    except RpcResponseError as exc:
        raise ProtocolError(f"reading the e-mode categories of {pool} at block {block} failed: {exc}") from exc
    flat = fn.decode(raw[0])[0]
    ids = [int(flat[i]) for i in range(0, len(flat), 7)]
    labels: list[str] = []
    if ids:
        answers = await rpc.eth_calls([(pool, EMODE_LABEL.encode(i)) for i in ids], block)
        labels = [str(EMODE_LABEL.decode(a)[0]) for a in answers]
    return decode_liquid_emodes(flat, labels)


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
    """Positions of ``users`` at ``block`` through the injected lens, ``per_call`` accounts per eth_call.

    Only what an account's configuration bitmap flags is read: the scaled aToken balance of reserves used as
    collateral (a supply not enabled as collateral counts for nothing in the health factor) and the debts of
    reserves it borrows.
    """
    fn = own_contract("AaveLens").abi.fn("positions")
    a_tokens, v_tokens, s_tokens = lens_token_lists(market.reserves)
    override = lens_override()
    parts = [list(users[i : i + per_call]) for i in range(0, len(users), per_call)]
    calls = [(LENS_ADDRESS, fn.encode(market.pool, p, a_tokens, v_tokens, s_tokens)) for p in parts]
    try:
        # a few lens calls per JSON-RPC batch: each carries the lens code and hundreds of addresses, and a node
        # refuses an oversized batch outright (anvil: "Invalid request" at 250 calls, 100k accounts)
        groups = [calls[i : i + LENS_CALLS_PER_BATCH] for i in range(0, len(calls), LENS_CALLS_PER_BATCH)]
        parts_answers = await asyncio.gather(*(rpc.eth_calls(g, block, state_override=override) for g in groups))
        answers = [a for part in parts_answers for a in part]
    except RpcResponseError as exc:
        raise ProtocolError(f"reading accounts of {market.pool} at block {block} failed: {exc}") from exc
    out: list[AccountInput] = []
    for part, raw in zip(parts, answers, strict=True):
        out += decode_accounts(part, market.reserves, fn.decode(raw))
    return out
