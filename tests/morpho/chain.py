"""Helpers of the Morpho devnet tests: reads through the monitor's own RPC client, raw eth_call batches that keep
each call's revert, and transactions at a chosen block timestamp."""

from __future__ import annotations

from typing import Any

import httpx
from eth_utils.crypto import keccak

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_deployment import MorphoDeployment
from monitor.devnet.rpc import MAX_UINT, DevRpc, hex_int
from monitor.protocols.morpho_blue.params import MarketParams, MarketState, Position
from monitor.protocols.morpho_blue.reads import MARKET, MarketSnapshot, id_bytes, read_market, read_positions


def morpho_of(dep: Deployment) -> MorphoDeployment:
    assert dep.morpho is not None, "the devnet has no Morpho deployment"
    return dep.morpho


async def snapshot(
    url: str, dep: Deployment, block: int
) -> tuple[dict[str, MarketSnapshot], list[tuple[str, str]], list[Position]]:
    """Every devnet Morpho market and every borrower's position at ``block``, through monitor reads."""
    info = morpho_of(dep)
    async with RpcClient(ChainConfig(rpc_urls=[url], chain_id=dep.chain_id)) as rpc:
        markets = {m.market_id: await read_market(rpc, info.morpho, m.market_id, block) for m in info.markets}
        pairs = info.pairs()
        positions = await read_positions(rpc, info.morpho, pairs, block)
    return markets, pairs, positions


def market_state(rpc: DevRpc, morpho: str, market_id: str, block: int | str = "latest") -> MarketState:
    return MarketState(*(int(v) for v in rpc.read(morpho, MARKET, id_bytes(market_id), block=block)))


def eth_calls_with_errors(
    url: str, calls: list[tuple[str, str, str]], block: int, chunk: int = 500
) -> list[tuple[bool, str]]:
    """(from, to, data) eth_calls at ``block``; each answer is (ok, result or error message + data)."""
    out: list[tuple[bool, str]] = []
    with httpx.Client(timeout=300) as client:
        for start in range(0, len(calls), chunk):
            part = calls[start : start + chunk]
            payload = [
                {"jsonrpc": "2.0", "id": i, "method": "eth_call",
                 "params": [{"from": f, "to": t, "data": d, "gas": hex_int(5_000_000)}, hex_int(block)]}
                for i, (f, t, d) in enumerate(part)
            ]  # fmt: skip
            answers = {a["id"]: a for a in client.post(url, json=payload).json()}
            for i in range(len(part)):
                a: dict[str, Any] = answers[i]
                if a.get("error"):
                    err = a["error"]
                    out.append((False, f"{err.get('message', '')} {err.get('data', '')}"))
                else:
                    out.append((True, str(a["result"])))
    return out


def send_at(rpc: DevRpc, timestamp: int, txs: list[tuple[str, str | None, str]]) -> list[dict[str, Any]]:
    """Mine ``txs`` in one block stamped ``timestamp``; returns the receipts (all must succeed)."""
    rpc.call("evm_setNextBlockTimestamp", hex_int(timestamp))
    hashes = rpc.send_many(txs, gas=3_000_000, check=False)
    return rpc.wait(hashes)


def fresh_user(name: str) -> str:
    """A fresh account address of a test, from its name."""
    return "0x" + keccak(f"morpho-test-user:{name}".encode())[-20:].hex()


def create_market_with_borrower(rpc: DevRpc, dep: Deployment, params: MarketParams, tag: str, collateral: int,
                                borrow: int, *, supply: int = 1_000_000 * 10**6) -> str:  # fmt: skip
    """Create the market of ``params`` on the devnet's Morpho, let a fresh lender supply ``supply`` loan-token
    units and a fresh borrower open ``collateral`` / ``borrow``; returns the borrower (names from ``tag``)."""
    info, abi, erc20 = morpho_of(dep), morpho_artifact().abi, own_artifact("TestERC20").abi
    lender, borrower = fresh_user(f"{tag}-lender"), fresh_user(f"{tag}-borrower")
    rpc.call("anvil_autoImpersonateAccount", True)
    rpc.batch([("anvil_setBalance", [a, hex_int(10**19)]) for a in (lender, borrower)])
    loan = params.loan_token
    rpc.send_many([(dep.deployer, info.morpho, abi.fn("createMarket").encode(params.as_tuple()))])
    rpc.send_many([
        (lender, loan, erc20.fn("mint").encode(lender, supply)),
        (lender, loan, erc20.fn("approve").encode(info.morpho, MAX_UINT)),
        (lender, info.morpho, abi.fn("supply").encode(params.as_tuple(), supply, 0, lender, b"")),
        *open_position(dep, borrower, params, collateral, borrow),
    ], gas=1_000_000)  # fmt: skip
    return borrower


def open_position(dep: Deployment, who: str, params: MarketParams, collateral: int, borrow: int) -> list[Any]:
    """Transactions of ``who`` (impersonated): mint and supply ``collateral`` units, borrow ``borrow`` units."""
    morpho, erc20, abi = morpho_of(dep).morpho, own_artifact("TestERC20").abi, morpho_artifact().abi
    p = params.as_tuple()
    return [
        (who, params.collateral_token, erc20.fn("mint").encode(who, collateral)),
        (who, params.collateral_token, erc20.fn("approve").encode(morpho, MAX_UINT)),
        (who, morpho, abi.fn("supplyCollateral").encode(p, collateral, who, b"")),
        (who, morpho, abi.fn("borrow").encode(p, borrow, 0, who, who)),
    ]
