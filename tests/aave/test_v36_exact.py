"""Aave v3.6 on its real bytecode: the pool's version is recognised, and the indexer's book equals
``getUserAccountData`` for every account, exactly, on v3.6 (liquid e-mode, v3.5 rounding) and still on v3.0.2."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.market import oracle_price, set_oracle_price
from monitor.devnet.population import account_data
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.reference import user_account_data
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.indexer import MarketIndexer
from monitor.protocols.aave_v3.version import (
    V3_0,
    V3_6,
    UnknownPoolRevisionError,
    detect_version,
    version_for_revision,
)
from tests.book.test_book_float import float_tolerance
from tests.conftest import Devnet

WAD = 10**18


def _market(devnet: Devnet) -> AaveV3MarketConfig:
    return AaveV3MarketConfig(
        name="devnet-aave", protocol="aave-v3", pool_addresses_provider=devnet.dep.addresses_provider
    )


async def _indexed(devnet: Devnet, path: Path) -> tuple[MarketIndexer, int, Book]:
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        with Checkpoint(path) as cp:
            ix = MarketIndexer(rpc, cp, _market(devnet), confirmations=0)
            result = await ix.refresh()
            return ix, result.block, result.book


def _move_prices(devnet: Devnet, moves: dict[str, float]) -> None:
    for symbol, factor in moves.items():
        set_oracle_price(devnet.rpc, devnet.dep, symbol, int(oracle_price(devnet.rpc, devnet.dep, symbol) * factor))


async def test_every_health_factor_equals_the_pool_after_30_days_and_price_moves(
    aave_devnet: Devnet, tmp_path: Path
) -> None:
    devnet = aave_devnet
    devnet.rpc.increase_time(30 * 86_400)
    _move_prices(devnet, {"WETH": 0.93, "WBTC": 1.03, "LINK": 0.88, "DAI": 0.999, "USDC": 1.0007})
    ix, block, book = await _indexed(devnet, tmp_path / "cp.sqlite")
    assert ix.version is not None and ix.version.name == devnet.dep.aave_version
    assert len(book) >= 2_000

    # The population covers what the maths must get right: both categories, several positions, small ones.
    arrays = book.arrays()
    plans = {p.address: p for p in devnet.plans}
    if devnet.dep.aave_version == "v3.6":
        cats = {c.category_id: c for c in book.market.emode_categories}
        assert set(cats) == {1, 2} and cats[1].collateral_bitmap != cats[2].collateral_bitmap
        assert cats[1].borrowable_bitmap != 0 and cats[2].borrowable_bitmap != 0
        assert book.market.maths == "v3.6"
        counts = np.bincount(arrays.emode, minlength=3)
        assert counts[1] >= 50 and counts[2] >= 50, counts
        assert any(len(p.collateral) > 1 and p.emode for p in plans.values()), "multi-collateral e-mode account"
    assert sum(len(p.collateral) > 1 for p in plans.values()) >= 300
    assert sum(len(p.debt) > 1 for p in plans.values()) >= 200
    small = book.collateral_usd() < 2_000
    assert small.sum() >= 100, "positions under $2,000"

    # Exact: every account, every figure getUserAccountData returns.
    rows = account_data(devnet.rpc, devnet.dep, list(book.addresses), block)
    ours = book.account_data_all()
    wrong = [(a, d, r) for a, d, r in zip(book.addresses, ours, rows, strict=True) if d.health_factor != r[5]]
    exact = len(rows) - len(wrong)
    logging.getLogger(__name__).warning("Aave %s: %d of %d health factors exact", devnet.dep.aave_version, exact,
                                        len(rows))  # fmt: skip
    assert not wrong, f"{len(wrong)} of {len(rows)} health factors differ from the pool, first {wrong[0]}"
    assert [(d.total_collateral_base, d.total_debt_base, d.available_borrows_base, d.current_liquidation_threshold,
             d.ltv) for d in ours] == [r[:5] for r in rows]  # fmt: skip
    hfs = book.health_factors()
    assert (hfs < 1).sum() > 0, "the price moves made some accounts liquidatable"

    # The scalar reference agrees with the vectorised exact path on a sample (it is slow: one account at a time).
    market = book.market
    for address in list(book.addresses)[::40]:
        assert user_account_data(market, book.account_input(address)) == book.account_data(address)

    # The float path stays within its documented tolerance and decides the liquidatable flag exactly.
    exact_hf = np.array([d.health_factor / WAD if d.total_debt_base else np.inf for d in ours])
    finite = np.isfinite(exact_hf)
    n_pos = np.count_nonzero(arrays.fc, axis=0) + np.count_nonzero(arrays.fd, axis=0)
    for i in np.flatnonzero(finite):
        tol = float_tolerance(ours[i].total_collateral_base, ours[i].total_debt_base, int(n_pos[i]))
        assert abs(hfs[i] - exact_hf[i]) <= tol * exact_hf[i] + 1e-18, (i, hfs[i], ours[i])
    large = finite & (np.array([min(d.total_collateral_base, d.total_debt_base) for d in ours]) >= 10**12)
    rel = np.abs(hfs[large] / exact_hf[large] - 1)
    assert large.sum() >= 100 and rel.max() <= 1e-12, rel.max()  # totals of $10,000 and more: within 1e-12
    assert (book.liquidatable() == np.array([d.health_factor < WAD for d in ours])).all()


async def test_both_flavours_are_recognised(aave_devnet: Devnet) -> None:
    async with RpcClient(ChainConfig(rpc_urls=[aave_devnet.url], chain_id=aave_devnet.dep.chain_id)) as rpc:
        block = await rpc.block_number()
        version = await detect_version(rpc, aave_devnet.dep.pool, block)
    expected = V3_6 if aave_devnet.dep.aave_version == "v3.6" else V3_0
    assert version == expected
    assert (version.revision, version.liquidation_rules) == ((10, "v3.3") if expected is V3_6 else (1, "v3.0"))


async def test_a_contract_that_is_not_a_pool_is_refused_clearly(devnet_v36: Devnet) -> None:
    async with RpcClient(ChainConfig(rpc_urls=[devnet_v36.url], chain_id=devnet_v36.dep.chain_id)) as rpc:
        block = await rpc.block_number()
        with pytest.raises(UnknownPoolRevisionError, match="does not answer POOL_REVISION"):
            await detect_version(rpc, devnet_v36.dep.tokens["WETH"].address, block)


def test_an_unknown_revision_is_refused_without_override() -> None:
    with pytest.raises(UnknownPoolRevisionError, match=r"POOL_REVISION 7.*1 = Aave v3\.0, 10 = Aave v3\.6"):
        version_for_revision(7, pool="0x" + "11" * 20)


def test_an_unknown_revision_with_override_warns_and_uses_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        version = version_for_revision(9, override="v3.3")
    assert (version.revision, version.maths, version.liquidation_rules) == (9, "v3.6", "v3.3")
    assert "unknown POOL_REVISION 9" in caplog.text
    assert version_for_revision(9, override="v3.0").maths == "v3.0"


def test_an_override_of_a_known_revision_changes_only_the_rules(caplog: pytest.LogCaptureFixture) -> None:
    assert version_for_revision(10) is V3_6 and version_for_revision(1, override="v3.0") is V3_0
    with caplog.at_level(logging.WARNING):
        version = version_for_revision(10, override="v3.0")
    assert (version.maths, version.liquidation_rules, version.liquid_emode) == ("v3.6", "v3.0", True)
    assert "override" in caplog.text


async def test_a_pool_of_unknown_revision_is_refused(devnet_v36: Devnet) -> None:
    stub = _revision_stub(devnet_v36, 42)
    async with RpcClient(ChainConfig(rpc_urls=[devnet_v36.url], chain_id=devnet_v36.dep.chain_id)) as rpc:
        block = await rpc.block_number()
        with pytest.raises(UnknownPoolRevisionError, match="POOL_REVISION 42, which this monitor does not know"):
            await detect_version(rpc, stub, block)
        assert (await detect_version(rpc, stub, block, override="v3.3")).revision == 42


def _revision_stub(devnet: Devnet, revision: int) -> str:
    """Deploy code that answers ``revision`` to any call, as ``POOL_REVISION()`` of a pool of unknown code."""
    # runtime: PUSH1 revision PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    runtime = bytes([0x60, revision, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xF3])
    # init: copy the runtime to memory and return it
    init = bytes([0x60, len(runtime), 0x60, 0x0C, 0x60, 0x00, 0x39, 0x60, len(runtime), 0x60, 0x00, 0xF3])
    return devnet.rpc.deploy(devnet.dep.deployer, "0x" + (init + runtime).hex())
