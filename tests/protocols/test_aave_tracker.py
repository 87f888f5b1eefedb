"""Aave v3 behind the protocol seam on the devnet: the view's figures and report agree with the book, a read
at a past block equals what the tracker saw then, and the seam's log filter and account decoding name the
account a transaction touched."""

from __future__ import annotations

import math
from pathlib import Path

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.tracker import AaveV3View
from monitor.protocols.registry import TrackerDeps, open_tracker
from tests.aave.actions import Chain, user
from tests.conftest import Devnet

EDGES = [1.0, 1.1, 1.5, 2.0]


async def test_the_aave_tracker_through_the_seam(devnet: Devnet, tmp_path: Path) -> None:
    chain = ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id, confirmations=0)
    entry = AaveV3MarketConfig(name="seam", protocol="aave-v3", pool_addresses_provider=devnet.dep.addresses_provider)
    actions = Chain(devnet.url, devnet.rpc, devnet.dep)
    async with RpcClient(chain) as rpc:
        with Checkpoint(tmp_path / "cp.sqlite") as checkpoint:
            tracker = open_tracker(entry, TrackerDeps(rpc, checkpoint, chain))
            first = (await tracker.refresh()).view
            assert isinstance(first, AaveV3View) and first.protocol == "aave-v3" and first.name == "seam"
            book = first.book
            figures = first.figures(EDGES, [1.05], 5)
            debt = book.debt_usd()
            assert figures.accounts == len(book) and figures.accounts_with_debt == int((debt > 0).sum())
            assert figures.hf_counts_cumulative[-1] == int((book.health_factors()[debt > 0] < 2.0).sum())
            assert figures.liquidatable_accounts == book.liquidatable_debt().accounts
            assert [a.address for a in figures.top_accounts] == [r.address for r in book.riskiest(5)]
            prices = first.price_sources()
            assert {p.symbol for p in prices.values()} == {r.symbol for r in book.market.reserves}
            for r in book.market.reserves:
                assert prices[r.asset].usd == r.price / BASE_CURRENCY_UNIT and prices[r.asset].source.startswith(
                    "AaveOracle 0x"
                )
            document = first.document(EDGES)
            assert document["protocol"] == "aave-v3" and len(document["accounts"]) == figures.accounts_with_debt
            assert first.describe(EDGES, 3).startswith(f"seam (aave-v3) at block {first.block}:")
            before = document

            who = user("seam-borrower")
            landed = actions.supply(who, "WETH", 5)
            actions.borrow(who, "USDC", 2_000)
            second = (await tracker.refresh()).view
            assert second.block > first.block
            assert second.figures(EDGES, [], 0).accounts == figures.accounts + 1

            past = await tracker.read_at(first.block)  # its own book, read again at the earlier block
            assert past.document(EDGES) == before
            assert math.isclose(past.figures(EDGES, [], 0).debt_usd, figures.debt_usd, rel_tol=0, abs_tol=0)

            flt = tracker.log_filter().with_range(landed, second.block)
            touched = tracker.touched_accounts(await rpc.get_logs(flt))
            assert touched == {who: landed}
