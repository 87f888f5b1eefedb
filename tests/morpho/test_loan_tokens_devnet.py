"""Markets found from ``CreateMarket`` for a configured loan token: on the devnet, the USDC markets found are the
devnet's USDC markets, and the book equals that of an entry listing their ids; a USDC market created later joins
at the next start with the borrowers the tracker checkpointed meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.monitor_config import morpho_entry
from monitor.protocols.morpho_blue.book import MorphoBook
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.params import MarketParams
from monitor.protocols.morpho_blue.tracker import MorphoBlueTracker
from tests.conftest import Devnet
from tests.morpho.chain import create_market_with_borrower, morpho_of


@asynccontextmanager
async def _tracker(devnet: Devnet, path: Path, **entry: Any) -> AsyncIterator[MorphoBlueTracker]:
    data = {**morpho_entry(devnet.dep), **entry}
    market = MorphoBlueMarketConfig.model_validate(data)
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        with Checkpoint(path) as cp:
            yield MorphoBlueTracker(rpc, cp, market, confirmations=0)


def _rows(book: MorphoBook) -> list[tuple[str, str, Any, int]]:
    return [(r.market_id, r.address, r.position, r.health.health_factor_wad) for r in book.rows()]


async def test_the_usdc_markets_found_are_the_devnets(devnet: Devnet, tmp_path: Path) -> None:
    rpc, dep, info = devnet.rpc, devnet.dep, morpho_of(devnet.dep)
    usdc = dep.token("USDC").address
    usdc_ids = [m.market_id for m in info.markets if m.loan == "USDC"]
    assert 3 <= len(usdc_ids) < len(info.markets)  # the devnet lends DAI too
    # the devnet entry starts after the markets were created: markets are found from start_block on
    by_token = {"market_ids": [], "loan_tokens": [usdc], "start_block": 0}
    async with _tracker(devnet, tmp_path / "ids.sqlite", market_ids=usdc_ids) as tracker:
        listed = (await tracker.refresh()).view
    async with _tracker(devnet, tmp_path / "loan.sqlite", **by_token) as tracker:
        found = (await tracker.refresh()).view
        assert list(tracker.ids) == usdc_ids
        assert listed.block == found.block
        assert _rows(found.book) == _rows(listed.book) and len(found.book.rows()) > 0
        assert list(found.book.markets) == usdc_ids

        # a new USDC market (WBTC collateral at another LLTV), a lender and a borrower in it
        wbtc = info.market("WBTC/USDC-86")
        params = MarketParams(wbtc.loan_token, wbtc.collateral_token, wbtc.oracle, wbtc.irm, 77 * 10**16)
        borrower = create_market_with_borrower(rpc, dep, params, "loan", 10**8, 20_000 * 10**6)  # 1 WBTC, 20k USDC
        # the running tracker keeps its markets, but checkpoints the new market's borrower
        later = (await tracker.refresh()).view
        assert list(later.book.markets) == usdc_ids and later.block > found.block
    async with _tracker(devnet, tmp_path / "loan.sqlite", **by_token) as tracker:  # the next start
        again = (await tracker.refresh()).view
        assert list(tracker.ids) == [*usdc_ids, params.id] and again.block == later.block
    (row,) = [r for r in again.book.rows() if r.market_id == params.id]
    assert row.address == borrower and row.position.collateral == 10**8
    async with _tracker(devnet, tmp_path / "fresh.sqlite", **by_token) as tracker:
        fresh = (await tracker.refresh()).view
    assert fresh.block == again.block and _rows(again.book) == _rows(fresh.book)
