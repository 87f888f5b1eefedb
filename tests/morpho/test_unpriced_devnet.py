"""One junk market must not blind an entry: a USDC market whose oracle reverts (or prices 0) is left out of the
block's book, reported unpriced, while the entry's other USDC markets are computed exactly as an entry listing only
them; its borrower stays followed and rejoins when the oracle answers again. A node that fails to answer the
oracle's call is not that case: the refresh fails."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.monitor_config import morpho_entry
from monitor.errors import RpcResponseError, RpcTransportError
from monitor.protocols.morpho_blue.book import MorphoBook
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.reads import ORACLE_PRICE, is_execution_error
from monitor.protocols.morpho_blue.tracker import MorphoBlueTracker
from tests.conftest import Devnet
from tests.morpho.chain import morpho_of
from tests.morpho.junk_market import (
    COLLATERAL_WBTC,
    PRICES_ZERO,
    REVERTS,
    create_junk_market,
    create_tokenless_market,
)


class _NodeDropsCalls(RpcClient):
    """The fault injected: the node gives no answer to eth_calls to one address (as a timeout would)."""

    dead: str = ""

    async def eth_call(self, to: str, data: str, block: int, state_override: dict[str, Any] | None = None) -> str:
        if to.lower() == self.dead:
            raise RpcTransportError(f"eth_call to {to}: timed out (injected)", method="eth_call")
        return await super().eth_call(to, data, block, state_override)


@asynccontextmanager
async def _tracker(
    devnet: Devnet, path: Path, rpc_class: type[RpcClient] = RpcClient, **entry: Any
) -> AsyncIterator[MorphoBlueTracker]:
    market = MorphoBlueMarketConfig.model_validate({**morpho_entry(devnet.dep), **entry})
    async with rpc_class(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        with Checkpoint(path) as cp:
            yield MorphoBlueTracker(rpc, cp, market, confirmations=0)


def _rows(book: MorphoBook) -> list[tuple[str, str, Any, int]]:
    return [(r.market_id, r.address, r.position, r.health.health_factor_wad) for r in book.rows()]


async def test_a_junk_market_is_left_out_and_rejoins(
    devnet: Devnet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    info = morpho_of(devnet.dep)
    usdc = devnet.dep.token("USDC").address
    usdc_ids = [m.market_id for m in info.markets if m.loan == "USDC"]
    junk = create_junk_market(devnet)
    junk.set_oracle(devnet, REVERTS)
    by_token = {"market_ids": [], "loan_tokens": [usdc], "start_block": 0}
    caplog.set_level(logging.INFO, logger="monitor.protocols.morpho_blue.tracker")
    async with _tracker(devnet, tmp_path / "loan.sqlite", **by_token) as tracker:
        broken = (await tracker.refresh()).view
        assert list(tracker.ids) == [*usdc_ids, junk.market_id]  # found, followed
        assert list(broken.book.markets) == usdc_ids
        assert list(broken.unpriced_markets()) == [junk.market_id]
        assert "price() reverted" in broken.unpriced_markets()[junk.market_id]
        assert broken.document([1.0])["unpriced_markets"] == dict(broken.unpriced_markets())
        async with _tracker(devnet, tmp_path / "ids.sqlite", market_ids=usdc_ids) as listed_tracker:
            listed = (await listed_tracker.refresh()).view
        # the other USDC markets: the same book, figures and engine input as an entry listing only them
        assert listed.block == broken.block and listed.unpriced_markets() == {}
        assert _rows(broken.book) == _rows(listed.book) and len(listed.book.rows()) > 0
        assert broken.figures([1.0, 1.1], [1.0], 5) == listed.figures([1.0, 1.1], [1.0], 5)
        assert list(broken.risk_input().lender_supply_usd) == usdc_ids  # one risk class per priced market
        # the borrower is still tracked: checkpointed and read, counted nowhere
        assert (junk.market_id, junk.borrower) in broken.book.positions

        junk.set_oracle(devnet, PRICES_ZERO)  # a price of 0 is no price either
        zero = (await tracker.refresh()).view
        assert zero.block > broken.block and list(zero.book.markets) == usdc_ids
        assert "price() is 0" in zero.unpriced_markets()[junk.market_id]

        junk.set_oracle(devnet, None)
        junk.set_irm(devnet, REVERTS)  # a reverting IRM: no accrued totals, no price either
        no_rate = (await tracker.refresh()).view
        assert list(no_rate.book.markets) == usdc_ids
        assert "borrowRateView() reverted" in no_rate.unpriced_markets()[junk.market_id]
        junk.set_irm(devnet, None)

        # the oracle and IRM answer again: the market rejoins with its borrower
        healed = (await tracker.refresh()).view
        assert list(healed.book.markets) == [*usdc_ids, junk.market_id] and healed.unpriced_markets() == {}
        (row,) = [r for r in healed.book.rows() if r.market_id == junk.market_id]
        assert row.address == junk.borrower and row.position.collateral == COLLATERAL_WBTC
    async with _tracker(devnet, tmp_path / "fresh.sqlite", **by_token) as tracker:
        fresh = (await tracker.refresh()).view
    assert fresh.block == healed.block and _rows(fresh.book) == _rows(healed.book)
    # one line when it turned unpriced (not one per block, not again when the reason changed), one when it healed
    lines = [r for r in caplog.records if junk.market_id in r.getMessage()]
    assert [(r.levelname, "priced again" in r.getMessage()) for r in lines] == [("WARNING", False), ("INFO", True)]


async def test_a_listed_market_whose_oracle_reverts(devnet: Devnet, tmp_path: Path) -> None:
    """An explicitly listed market whose oracle starts reverting: left out, the other listed ones computed."""
    usdc_ids = [m.market_id for m in morpho_of(devnet.dep).markets if m.loan == "USDC"]
    junk = create_junk_market(devnet)
    async with _tracker(devnet, tmp_path / "cp.sqlite", market_ids=[*usdc_ids, junk.market_id]) as tracker:
        before = (await tracker.refresh()).view
        assert junk.market_id in before.book.markets
        junk.set_oracle(devnet, REVERTS)
        after = (await tracker.refresh()).view
        assert list(after.book.markets) == usdc_ids and list(after.unpriced_markets()) == [junk.market_id]
        at = await tracker.read_at(after.block)  # a read at a past block sees the same
        assert list(at.book.markets) == usdc_ids and list(at.unpriced_markets()) == [junk.market_id]


async def test_a_node_that_does_not_answer_fails_the_refresh(devnet: Devnet, tmp_path: Path) -> None:
    """A timeout on the market's oracle call is no data about the market: the refresh fails (to be retried)."""
    usdc_ids = [m.market_id for m in morpho_of(devnet.dep).markets if m.loan == "USDC"]
    junk = create_junk_market(devnet)
    _NodeDropsCalls.dead = junk.oracle
    async with _tracker(devnet, tmp_path / "cp.sqlite", _NodeDropsCalls, market_ids=[*usdc_ids, junk.market_id]
                        ) as tracker:  # fmt: skip
        with pytest.raises(RpcTransportError):
            await tracker.refresh()


async def test_what_counts_as_the_calls_own_failure(devnet: Devnet) -> None:
    """The node's errors as anvil gives them: a revert is the call's own failure, an unknown block the node's."""
    junk = create_junk_market(devnet)
    junk.set_oracle(devnet, REVERTS)
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        head = await rpc.block_number()
        with pytest.raises(RpcResponseError) as reverted:
            await rpc.eth_call(junk.oracle, ORACLE_PRICE.encode(), head)
        assert is_execution_error(reverted.value)
        with pytest.raises(RpcResponseError) as unknown:
            await rpc.eth_call(junk.oracle, ORACLE_PRICE.encode(), head + 1_000)
        assert not is_execution_error(unknown.value), str(unknown.value)


async def test_a_market_whose_collateral_is_no_token(devnet: Devnet, tmp_path: Path) -> None:
    """A USDC market whose collateral address has no code (no decimals()) does not stop the entry opening."""
    usdc_ids = [m.market_id for m in morpho_of(devnet.dep).markets if m.loan == "USDC"]
    params = create_tokenless_market(devnet)
    usdc = devnet.dep.token("USDC").address
    async with _tracker(devnet, tmp_path / "cp.sqlite", market_ids=[], loan_tokens=[usdc], start_block=0) as tracker:
        view = (await tracker.refresh()).view
    assert list(tracker.ids) == [*usdc_ids, params.id] and list(view.book.markets) == usdc_ids
    assert f"token {params.collateral_token}: decimals() answered no uint8" in view.unpriced_markets()[params.id]
