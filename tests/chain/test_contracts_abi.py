"""Every inline call and event signature the monitor encodes equals the ABI in monitor/abi/ (inputs and
outputs), so the short definitions in the code cannot drift from the contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import contracts
from monitor.chain import erc20
from monitor.chain.abi import AbiFunction, load_abi
from monitor.errors import DataError, MonitorError
from monitor.protocols.aave_v3 import events, market, reader
from monitor.venues import uniswap_v3 as pool_reader

CHECKS: list[tuple[str, AbiFunction]] = [
    ("AavePoolAddressesProvider", market.GET_POOL),
    ("AavePoolAddressesProvider", market.GET_POOL_CONFIGURATOR),
    ("AavePoolAddressesProvider", reader.GET_PRICE_ORACLE),
    ("AavePool", market.GET_RESERVES_LIST),
    ("AavePool", market.GET_RESERVE_DATA),
    ("AavePool", reader.NORMALIZED_INCOME),
    ("AavePool", reader.NORMALIZED_DEBT),
    ("AavePool", reader.EMODE_CATEGORY),
    ("AaveOracle", reader.GET_ASSET_PRICE),
    ("AaveAToken", erc20.SYMBOL),
    ("AaveAToken", pool_reader.DECIMALS),
    *[("UniswapV3Pool", f) for f in (pool_reader.SLOT0, pool_reader.LIQUIDITY, pool_reader.FEE,
                                     pool_reader.TICK_SPACING, pool_reader.TOKEN0, pool_reader.TOKEN1,
                                     pool_reader.TICK_BITMAP, pool_reader.TICKS)],
]  # fmt: skip


def test_inline_functions_equal_the_abi_files() -> None:
    for contract, fn in CHECKS:
        ref = load_abi(contract).fn(fn.name)
        assert (ref.inputs, ref.outputs) == (fn.inputs, fn.outputs), f"{contract}.{fn.name}"


def test_event_topics_equal_the_abi_files() -> None:
    pool = load_abi("AavePool")
    for ev, _ in events.POOL_ACCOUNT_EVENTS:
        assert pool.event(ev.name).topic0 == ev.topic0, ev.name
    assert load_abi("AaveAToken").event("BalanceTransfer").topic0 == events.BALANCE_TRANSFER.topic0
    uni = load_abi("UniswapV3Pool")
    assert uni.event("Swap").topic0 == pool_reader.SWAP_TOPIC
    assert uni.event("Mint").topic0 == pool_reader.MINT_TOPIC
    assert uni.event("Burn").topic0 == pool_reader.BURN_TOPIC


def test_missing_package_data_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(contracts, "OWN_CONTRACTS_FILE", tmp_path / "compiled" / "contracts.json")
    contracts._compiled.cache_clear()
    try:
        with pytest.raises(MonitorError, match=r"contracts\.json is missing: .*Run `make setup`"):
            contracts.lens_override()
    finally:
        contracts._compiled.cache_clear()
    with pytest.raises(DataError, match=r"no ABI named 'NoSuchContract' in .*abi"):
        load_abi("NoSuchContract")
