"""The buffers of an Aave v3 market's config (``buffers_usd``): USD amounts as given, and the ones read from a
contract (``{contract, token}``: the ERC20 balance of the contract in a reserve's token at the block, priced by
the view at the reserve's oracle price)."""

from __future__ import annotations

from monitor.chain.abi import AbiFunction
from monitor.chain.rpc import RpcClient
from monitor.errors import ConfigError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.config import AaveV3MarketConfig, ContractBuffer

BALANCE_OF = AbiFunction("balanceOf", ("address",), ("uint256",))


def fixed_buffers(config: AaveV3MarketConfig) -> dict[str, float]:
    """The buffers given in USD."""
    return {name: usd for name, usd in config.buffers_usd.items() if not isinstance(usd, ContractBuffer)}


async def read_buffer_balances(
    rpc: RpcClient, config: AaveV3MarketConfig, book: Book, block: int
) -> dict[str, tuple[str, int]]:
    """Per reserve symbol of a contract buffer: the token (a reserve's asset) and the contract's raw balance of it
    at ``block``; a token that is not a reserve of the market is a ConfigError naming it and the reserves."""
    wanted = {name: b for name, b in config.buffers_usd.items() if isinstance(b, ContractBuffer)}
    if not wanted:
        return {}
    reserves = book.market.reserves
    by_key = {r.symbol.lower(): r.asset for r in reserves} | {r.asset.lower(): r.asset for r in reserves}
    tokens = {}
    for name, b in wanted.items():
        asset = by_key.get(b.token.lower())
        if asset is None:
            known = ", ".join(sorted(r.symbol for r in reserves))
            raise ConfigError(
                f"market {config.name}: buffers_usd.{name}.token {b.token!r} is not a reserve of the market "
                f"(reserves: {known}); a buffer is priced at its reserve's oracle price"
            )
        tokens[name] = asset
    calls = [(tokens[name], BALANCE_OF.encode(b.contract)) for name, b in wanted.items()]
    answers = await rpc.eth_calls(calls, block)
    return {name: (tokens[name], int(BALANCE_OF.decode(raw)[0])) for name, raw in zip(wanted, answers, strict=True)}
