"""A reorg under the Morpho Blue tracker: blocks holding ``SupplyCollateral`` and ``Borrow`` events are replaced by
other ones (other borrowers, other markets); the tracker's book afterwards equals a fresh rebuild at the same
block, row by row with the exact ``health_factor_wad``, and every position equals the contract's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.monitor_config import morpho_entry
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_population import read_positions
from monitor.devnet.rpc import hex_int
from monitor.protocols.base import Refresh
from monitor.protocols.morpho_blue.book import MorphoBook
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.tracker import MorphoBlueTracker
from tests.conftest import Devnet
from tests.morpho.chain import fresh_user, morpho_of, open_position


@asynccontextmanager
async def _tracker(devnet: Devnet, path: Path) -> AsyncIterator[MorphoBlueTracker]:
    market = MorphoBlueMarketConfig.model_validate(morpho_entry(devnet.dep))
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        with Checkpoint(path) as cp:
            yield MorphoBlueTracker(rpc, cp, market, confirmations=0)


async def _fresh(devnet: Devnet, path: Path) -> Refresh:
    async with _tracker(devnet, path) as tracker:
        return await tracker.refresh()


def _open_position(devnet: Devnet, who: str, market: str, collateral: float, borrow: float) -> list[Any]:
    """``who`` mints and supplies ``collateral`` whole tokens and borrows ``borrow`` whole loan tokens."""
    dep, m = devnet.dep, morpho_of(devnet.dep).market(market)
    units = int(collateral * 10 ** dep.token(m.collateral).decimals)
    return open_position(dep, who, m.params, units, int(borrow * 10 ** dep.token(m.loan).decimals))


def _borrow_more(devnet: Devnet, market: str, who: str, borrow: float) -> list[Any]:
    dep, info = devnet.dep, morpho_of(devnet.dep)
    m = info.market(market)
    owed = int(borrow * 10 ** dep.token(m.loan).decimals)
    return [(who, info.morpho, morpho_artifact().abi.fn("borrow").encode(m.params.as_tuple(), owed, 0, who, who))]


def _rows(book: MorphoBook) -> list[tuple[str, str, Any, int, int]]:
    return [(r.market_id, r.address, r.position, r.health.borrow_assets, r.health.health_factor_wad)
            for r in book.rows()]  # fmt: skip


async def test_reorg_of_borrows_leaves_the_book_equal_to_a_rebuild(devnet: Devnet, tmp_path: Path) -> None:
    rpc, info = devnet.rpc, morpho_of(devnet.dep)
    x, y, z, w = (fresh_user(f"reorg-{n}") for n in "xyzw")
    weth, wbtc = "WETH/USDC-86", "WBTC/USDC-86"
    old_a, old_b = info.borrowers[info.market(weth).market_id][:2]  # generated borrowers
    rpc.call("anvil_autoImpersonateAccount", True)
    rpc.batch([("anvil_setBalance", [a, hex_int(10**19)]) for a in (x, y, z, w, old_a, old_b)])
    async with _tracker(devnet, tmp_path / "live.sqlite") as tracker:
        await tracker.refresh()
        start = rpc.block_number()
        # chain A: x, y, z open positions in two blocks, a generated borrower borrows more
        rpc.send_many(
            _open_position(devnet, x, weth, 2, 2_000) + _open_position(devnet, y, weth, 1, 500), gas=1_000_000
        )
        rpc.send_many(_open_position(devnet, z, wbtc, 0.1, 1_000) + _borrow_more(devnet, weth, old_a, 1), gas=1_000_000)
        before = await tracker.refresh()
        pairs = {(r.market_id, r.address) for r in before.view.book.rows()}
        assert {(info.market(weth).market_id, x), (info.market(weth).market_id, y)} <= pairs
        assert (info.market(wbtc).market_id, z) in pairs
        # chain B replaces both blocks: x borrows in the other market, w is new, the other borrower borrows more
        rpc.call("anvil_rollback", rpc.block_number() - start)
        assert rpc.block_number() == start
        rpc.send_many(_open_position(devnet, x, wbtc, 0.2, 3_000) + _borrow_more(devnet, weth, old_b, 2), gas=1_000_000)
        rpc.send_many(_open_position(devnet, w, weth, 3, 4_000), gas=1_000_000)
        rpc.mine(1)  # the new chain is longer
        after = await tracker.refresh()
        assert after.fork_block == start  # the last block both chains share
        assert after.view.block == start + 3
        live = after.view.book
    fresh = await _fresh(devnet, tmp_path / "fresh.sqlite")
    assert fresh.view.block == after.view.block
    rebuilt = fresh.view.book
    assert _rows(live) == _rows(rebuilt)
    assert live.positions == rebuilt.positions  # the suppliers' positions too
    got = {(r.market_id, r.address) for r in live.rows()}
    wm, bm = info.market(weth).market_id, info.market(wbtc).market_id
    assert {(bm, x), (wm, w)} <= got and not {(wm, x), (wm, y), (bm, z)} & got  # chain A's positions are gone
    # and every position is the contract's at that block
    keys = sorted(live.positions)
    assert read_positions(rpc, devnet.dep, keys, after.view.block) == [live.positions[k] for k in keys]
