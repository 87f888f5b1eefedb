"""The AaveOracle prices of a market's reserves at one block, without indexing the market (for commands that only
need prices, such as ``depth``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.chain.abi import AbiFunction
from monitor.chain.rpc import RpcClient
from monitor.errors import MalformedResponseError, ProtocolError, RpcResponseError
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.discovery import resolve_market
from monitor.protocols.aave_v3.market import ZERO_ADDRESS
from monitor.protocols.aave_v3.reader import GET_ASSET_PRICE, GET_PRICE_ORACLE
from monitor.protocols.base import PriceSource

BASE_CURRENCY = AbiFunction("BASE_CURRENCY", (), ("address",))
BASE_CURRENCY_UNIT_FN = AbiFunction("BASE_CURRENCY_UNIT", (), ("uint256",))


async def read_prices(
    rpc: RpcClient, market: AaveV3MarketConfig, tokens: Sequence[str], block: int
) -> Mapping[str, PriceSource]:
    """USD prices (per whole token) of the ``tokens`` the market lists, at ``block``; none when the oracle's
    base currency is not USD."""
    addresses = await resolve_market(rpc, market.pool_addresses_provider, block)
    listed = sorted(set(tokens) & {r.asset for r in addresses.reserves})
    if not listed:
        return {}
    what = f"market {market.name}: the price oracle"
    try:
        (oracle,) = GET_PRICE_ORACLE.decode(await rpc.eth_call(addresses.provider, GET_PRICE_ORACLE.encode(), block))
        oracle = str(oracle).lower()
        raw = await rpc.eth_calls([(oracle, GET_ASSET_PRICE.encode(a)) for a in listed], block)
        prices = [int(GET_ASSET_PRICE.decode(r)[0]) for r in raw]
    except (RpcResponseError, MalformedResponseError) as exc:
        raise ProtocolError(f"{what} did not answer getAssetPrice at block {block}: {exc}") from None
    base, unit = await rpc.eth_calls(
        [(oracle, BASE_CURRENCY.encode()), (oracle, BASE_CURRENCY_UNIT_FN.encode())], block, return_errors=True
    )
    # AaveOracle: base currency 0x0 means USD; a unit we cannot read is taken as Aave v3's USD unit (1e8)
    if not isinstance(base, RpcResponseError) and str(BASE_CURRENCY.decode(base)[0]).lower() != ZERO_ADDRESS:
        return {}
    scale = BASE_CURRENCY_UNIT if isinstance(unit, RpcResponseError) else int(BASE_CURRENCY_UNIT_FN.decode(unit)[0])
    source = f"Aave oracle of market {market.name}"
    return {a: PriceSource(a, "", p / scale, source) for a, p in zip(listed, prices, strict=True) if p > 0}
