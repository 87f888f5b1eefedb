"""A read pinned to block N must come from block N's state: a reserve updated after N's timestamp is refused."""

from __future__ import annotations

import pytest
from eth_abi import encode

from monitor.errors import ChainError, RpcResponseError, StateMismatchError
from monitor.protocols.aave_v3.market import RESERVE_DATA, ReserveTokens
from monitor.protocols.aave_v3.reader import RESERVE_LAST_UPDATE_FIELD, check_reserves_not_after

ZERO = "0x" + "00" * 20


def _reserve_data(last_update: int) -> str:
    fields: list[object] = [(0,), 10**27, 0, 10**27, 0, 0, 0, 0, ZERO, ZERO, ZERO, ZERO, 0, 0, 0]
    fields[RESERVE_LAST_UPDATE_FIELD] = last_update
    return "0x" + encode([RESERVE_DATA], [tuple(fields)]).hex()


def _reserve(i: int) -> ReserveTokens:
    return ReserveTokens(f"0x{i:040x}", i, ZERO, ZERO, ZERO)


def test_a_reserve_updated_after_the_block_is_refused_naming_the_cause() -> None:
    reserves = [_reserve(1), _reserve(2)]
    with pytest.raises(StateMismatchError, match=r"block 7 .*later block.*confirmations >= 1") as err:
        check_reserves_not_after(7, 1_000, reserves, [_reserve_data(999), _reserve_data(1_001)])
    assert isinstance(err.value, ChainError)
    assert reserves[1].asset in str(err.value)


def test_reserves_updated_at_or_before_the_block_pass_and_reverted_ones_are_left_to_the_caller() -> None:
    reverted = RpcResponseError("execution reverted", code=3)
    check_reserves_not_after(7, 1_000, [_reserve(1), _reserve(2)], [_reserve_data(1_000), reverted])
