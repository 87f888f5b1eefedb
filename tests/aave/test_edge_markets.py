"""Markets that do not look like the happy path: tokens with 0, 2 and 27 decimals, paused and frozen
reserves, an oracle answering 0, and an event flood in one block. Each is either exact or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.aave_deploy import CONFIGURATOR, aave, list_asset
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.market import set_oracle_price
from monitor.devnet.population import account_data
from monitor.devnet.spec import AssetSpec
from monitor.errors import ProtocolError
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.indexer import MarketIndexer
from tests.aave.actions import Chain, user
from tests.conftest import Devnet


async def _refresh(devnet: Devnet, path: Path) -> tuple[int, MarketIndexer]:
    market = AaveV3MarketConfig(name="edge", protocol="aave-v3", pool_addresses_provider=devnet.dep.addresses_provider)
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        with Checkpoint(path) as cp:
            ix = MarketIndexer(rpc, cp, market, confirmations=0)
            result = await ix.refresh()
            return result.block, ix


def _exact(devnet: Devnet, ix: MarketIndexer, block: int) -> None:
    assert ix.book is not None
    rows = account_data(devnet.rpc, devnet.dep, list(ix.book.addresses), block)
    assert ix.book.health_factors_wad() == [r[5] for r in rows]


async def test_tokens_with_0_2_and_27_decimals_are_exact(devnet: Devnet, tmp_path: Path) -> None:
    chain = Chain(devnet.url, devnet.rpc, devnet.dep)
    for decimals, price in ((0, 250.0), (2, 3.5), (27, 0.8)):
        list_asset(
            devnet.rpc, devnet.dep, AssetSpec(f"D{decimals}", decimals, price, 6_000, 7_000, 10_800, 1_000, 1_000)
        )
    for decimals in (0, 2, 27):
        symbol = f"D{decimals}"
        holder = user(f"odd-{decimals}")
        chain.supply(holder, symbol, 1_000)  # collateral in the odd token
        chain.borrow(holder, "USDC", 100)
        lender = user(f"odd-lender-{decimals}")
        chain.supply(lender, symbol, 50_000)  # liquidity to borrow it
        debtor = user(f"odd-debtor-{decimals}")
        chain.supply(debtor, "WETH", 2)
        chain.borrow(debtor, symbol, 11)  # debt in the odd token
    set_oracle_price(devnet.rpc, devnet.dep, "D27", 70_000_000)  # and a price move on it
    block, ix = await _refresh(devnet, tmp_path / "cp.sqlite")
    assert ix.book is not None
    assert {r.decimals for r in ix.book.market.reserves} >= {0, 2, 27}
    assert user("odd-debtor-27") in ix.book.addresses
    _exact(devnet, ix, block)


async def test_paused_and_frozen_reserves_stay_exact(devnet: Devnet, tmp_path: Path) -> None:
    conf = aave(CONFIGURATOR).abi
    dep = devnet.dep
    devnet.rpc.send(
        dep.deployer, dep.pool_configurator, conf.fn("setReserveFreeze").encode(dep.tokens["WETH"].address, True)
    )
    devnet.rpc.send(
        dep.deployer, dep.pool_configurator, conf.fn("setReservePause").encode(dep.tokens["LINK"].address, True)
    )
    block, ix = await _refresh(devnet, tmp_path / "cp.sqlite")
    assert ix.book is not None
    flags = {r.symbol: (r.frozen, r.paused) for r in ix.book.market.reserves}
    assert flags["WETH"] == (True, False) and flags["LINK"] == (False, True)
    _exact(devnet, ix, block)


async def test_an_oracle_answering_zero_is_a_clear_error_naming_the_asset(devnet: Devnet, tmp_path: Path) -> None:
    feed = devnet.dep.tokens["WBTC"]
    devnet.rpc.send(devnet.dep.deployer, feed.feed, own_artifact("PriceFeed").abi.fn("setAnswer").encode(-5))
    with pytest.raises(ProtocolError, match=feed.address):
        await _refresh(devnet, tmp_path / "cp.sqlite")


async def test_an_event_flood_in_one_block(devnet: Devnet, tmp_path: Path) -> None:
    block0, ix0 = await _refresh(devnet, tmp_path / "before.sqlite")
    assert ix0.book is not None
    before = len(ix0.book)
    gen = ActivityGenerator(devnet.rpc, devnet.dep, seed=77, actions_per_block=1_500)
    gen.step()  # ~1,500 actions (hundreds of new accounts among them) mined in one block
    assert devnet.rpc.block_number() == block0 + 1
    block, ix = await _refresh(devnet, tmp_path / "after.sqlite")
    assert ix.book is not None and len(ix.book) > before + 100
    _exact(devnet, ix, block)
