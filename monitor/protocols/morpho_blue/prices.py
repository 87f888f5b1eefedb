"""The I/O edge for what Morpho itself does not say: token symbols and decimals, and loan tokens' USD prices.

Morpho's oracles price collateral in loan-token units; USD comes from a Chainlink-style feed per loan token
(``loan_usd_feeds`` in the config: ``latestAnswer()`` / ``decimals()``), or $1 when the config names none (the
price source then says it is assumed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.chain.abi import AbiFunction
from monitor.chain.erc20 import DECIMALS, SYMBOL, decode_symbol
from monitor.chain.rpc import RpcClient
from monitor.errors import MalformedResponseError, ProtocolError, RpcResponseError
from monitor.protocols.base import PriceSource
from monitor.protocols.morpho_blue.book import Token
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.reads import UnpricedMarketError, is_execution_error, read_market

LATEST_ANSWER = AbiFunction("latestAnswer", (), ("int256",))
ASSUMED_USD = "assumed $1 (no loan_usd_feeds entry)"


async def read_tokens(rpc: RpcClient, tokens: Sequence[str], block: int) -> dict[str, Token]:
    """Symbol and decimals of each token; a token without ``symbol()`` is named by its address, one without
    ``decimals()`` raises ProtocolError."""
    out, unreadable = await read_token_metadata(rpc, tokens, block)
    for why in unreadable.values():
        raise ProtocolError(why)
    return out


async def read_token_metadata(
    rpc: RpcClient, tokens: Sequence[str], block: int
) -> tuple[dict[str, Token], dict[str, str]]:
    """Symbol and decimals of each token that answers ``decimals()`` (without ``symbol()`` it is named by its
    address), and why each other one cannot be read (address -> reason: reverted, or no uint8 answered)."""
    calls = [c for t in tokens for c in ((t, SYMBOL.encode()), (t, DECIMALS.encode()))]
    answers = await rpc.eth_calls(calls, block, return_errors=True)
    out: dict[str, Token] = {}
    unreadable: dict[str, str] = {}
    for i, t in enumerate(tokens):
        raw_symbol, raw_decimals = answers[2 * i], answers[2 * i + 1]
        if isinstance(raw_decimals, RpcResponseError):
            if not is_execution_error(raw_decimals):
                raise raw_decimals  # the node failed, not the token
            unreadable[t] = f"token {t}: decimals() reverted at block {block}"
            continue
        try:
            decimals = int(DECIMALS.decode(raw_decimals)[0])
        except MalformedResponseError:
            unreadable[t] = f"token {t}: decimals() answered no uint8 at block {block} (not an ERC20?)"
            continue
        symbol = "" if isinstance(raw_symbol, RpcResponseError) else decode_symbol(raw_symbol)
        out[t] = Token(t, symbol or t, decimals)
    return out, unreadable


def feed_calls(feeds: Mapping[str, str], loans: Sequence[str]) -> list[tuple[str, str]]:
    """The eth_calls :func:`read_loan_usd` makes for the loan tokens with a feed (answer and decimals each)."""
    fed = [t for t in loans if t in feeds]
    return [c for t in fed for c in ((feeds[t], LATEST_ANSWER.encode()), (feeds[t], DECIMALS.encode()))]


async def read_loan_usd(
    rpc: RpcClient, feeds: Mapping[str, str], loans: Sequence[str], block: int
) -> dict[str, tuple[float, str]]:
    """USD per whole loan token and its source: its feed's answer, or $1 without a feed."""
    out: dict[str, tuple[float, str]] = {t: (1.0, ASSUMED_USD) for t in loans if t not in feeds}
    fed = [t for t in loans if t in feeds]
    if not fed:
        return out
    calls = feed_calls(feeds, fed)
    try:
        answers = await rpc.eth_calls(calls, block)
        for i, t in enumerate(fed):
            answer = int(LATEST_ANSWER.decode(answers[2 * i])[0])
            decimals = int(DECIMALS.decode(answers[2 * i + 1])[0])
            if answer <= 0:
                raise ProtocolError(f"USD feed {feeds[t]} of loan token {t}: answer {answer} at block {block}")
            out[t] = (answer / 10**decimals, f"USD feed {feeds[t]}")
    except (RpcResponseError, MalformedResponseError) as exc:
        raise ProtocolError(
            f"a loan_usd_feeds feed did not answer latestAnswer/decimals at block {block}: {exc}"
        ) from None
    return out


async def read_prices(
    rpc: RpcClient, market: MorphoBlueMarketConfig, tokens: Sequence[str], block: int
) -> Mapping[str, PriceSource]:
    """USD prices of those ``tokens`` the configured markets list, at ``block``: loan tokens from their feeds
    (or $1), collateral through the first configured market that takes it as collateral and that its oracle
    prices at that block (an unpriced market is passed over)."""
    wanted = set(tokens)
    out: dict[str, PriceSource] = {}
    for mid in market.market_ids:
        try:
            snap = await read_market(rpc, market.morpho, mid, block)
        except UnpricedMarketError:
            continue
        loan, coll = snap.params.loan_token, snap.params.collateral_token
        if not ({loan, coll} & wanted) or (loan in out and coll in out):
            continue
        meta = await read_tokens(rpc, [loan, coll], block)
        usd, source = (await read_loan_usd(rpc, market.loan_usd_feeds, [loan], block))[loan]
        if loan in wanted and loan not in out:
            out[loan] = PriceSource(loan, meta[loan].symbol, usd, source)
        if coll in wanted and coll not in out:
            value = snap.price / 10**36 * 10 ** meta[coll].decimals / 10 ** meta[loan].decimals * usd
            out[coll] = PriceSource(coll, meta[coll].symbol, value, f"Morpho oracle {snap.params.oracle} x {source}")
    return out
