"""Bring a fresh anvil to a complete market: tokens, feeds, Aave v3, Uniswap v3, Morpho Blue, helpers, a whale."""

from __future__ import annotations

import logging

from monitor.devnet.aave_deploy import aave, deploy_aave, deploy_tokens
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.morpho_deploy import deploy_morpho
from monitor.devnet.rpc import MAX_UINT, DevRpc
from monitor.devnet.spec import DEFAULT_MARKET, MarketSpec
from monitor.devnet.uniswap_deploy import deploy_uniswap

log = logging.getLogger(__name__)

WHALE_SUPPLY_USD = 2_000_000_000.0  # per asset, so borrowers never run out of liquidity


def build_devnet(rpc: DevRpc, spec: MarketSpec = DEFAULT_MARKET) -> Deployment:
    """Deploy everything on a fresh chain and return the address map."""
    accounts = rpc.accounts()
    chain_id = int(rpc.call("eth_chainId"), 16)
    dep = Deployment(
        chain_id=chain_id,
        deployer=accounts[0],
        whale=accounts[1],
        liquidator=accounts[2],
        seller=accounts[3],
        treasury=accounts[4],
    )
    deploy_tokens(rpc, dep, spec)
    if spec.aave == "v3.0":
        deploy_aave(rpc, dep, spec)
    else:
        from monitor.devnet.aave36_deploy import deploy_aave36

        deploy_aave36(rpc, dep, spec)
    dep.aave_version = spec.aave
    dep.lens = rpc.deploy(dep.deployer, own_artifact("AaveLens").bytecode)
    dep.populator = rpc.deploy(dep.deployer, own_artifact("Populator").bytecode)
    supply_whale(rpc, dep, spec)
    deploy_uniswap(rpc, dep, spec)
    deploy_morpho(rpc, dep)
    dep.deploy_block = rpc.block_number()
    log.info("devnet deployed at block %d", dep.deploy_block)
    return dep


def supply_whale(rpc: DevRpc, dep: Deployment, spec: MarketSpec) -> None:
    """The whale supplies every asset so that borrows always find liquidity."""
    erc20 = own_artifact("TestERC20").abi
    pool = aave("protocol/pool/Pool.sol/Pool").abi
    txs = []
    for a in spec.assets:
        t = dep.tokens[a.symbol]
        amount = int(WHALE_SUPPLY_USD / a.price_usd) * 10**a.decimals
        txs += [
            (dep.whale, t.address, erc20.fn("mint").encode(dep.whale, amount)),
            (dep.whale, t.address, erc20.fn("approve").encode(dep.pool, MAX_UINT)),
            (dep.whale, dep.pool, pool.fn("supply").encode(t.address, amount, dep.whale, 0)),
        ]
    rpc.send_many(txs)
