"""Reserve and user configuration bitmap decoders against hand-built bitmaps."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import (
    ReserveConfiguration,
    ReserveInput,
    borrowed_reserve_indexes,
    collateral_reserve_indexes,
    decode_reserve_configuration,
    encode_reserve_configuration,
    encode_user_configuration,
    is_borrowing,
    is_using_as_collateral,
    is_using_as_collateral_or_borrowing,
)

# Field -> (start bit, width) as ReserveConfiguration.sol's masks state them (written out by hand here).
FIELDS = {
    "ltv": (0, 16),
    "liquidation_threshold": (16, 16),
    "liquidation_bonus": (32, 16),
    "decimals": (48, 8),
    "active": (56, 1),
    "frozen": (57, 1),
    "borrowing_enabled": (58, 1),
    "stable_borrowing_enabled": (59, 1),
    "paused": (60, 1),
    "borrowable_in_isolation": (61, 1),
    "siloed_borrowing": (62, 1),
    "flashloan_enabled": (63, 1),
    "reserve_factor": (64, 16),
    "borrow_cap": (80, 36),
    "supply_cap": (116, 36),
    "liquidation_protocol_fee": (152, 16),
    "emode_category": (168, 8),
    "unbacked_mint_cap": (176, 36),
    "debt_ceiling": (212, 40),
}


def test_decode_hand_built_reserve_configuration() -> None:
    raw = (
        8000  # ltv 80%
        | 8250 << 16  # liquidation threshold 82.5%
        | 10500 << 32  # bonus 105%
        | 18 << 48  # decimals
        | 1 << 56  # active
        | 1 << 58  # borrowing enabled
        | 1 << 63  # flashloan enabled
        | 1500 << 64  # reserve factor 15%
        | 1_400_000 << 80  # borrow cap
        | 1_800_000 << 116  # supply cap
        | 1000 << 152  # protocol fee 10%
        | 1 << 168  # e-mode category 1
        | 0 << 176  # unbacked mint cap
        | 0 << 212  # debt ceiling
    )
    cfg = decode_reserve_configuration(raw)
    assert cfg == ReserveConfiguration(
        ltv=8000,
        liquidation_threshold=8250,
        liquidation_bonus=10500,
        decimals=18,
        active=True,
        frozen=False,
        borrowing_enabled=True,
        stable_borrowing_enabled=False,
        paused=False,
        borrowable_in_isolation=False,
        siloed_borrowing=False,
        flashloan_enabled=True,
        reserve_factor=1500,
        borrow_cap=1_400_000,
        supply_cap=1_800_000,
        liquidation_protocol_fee=1000,
        emode_category=1,
        unbacked_mint_cap=0,
        debt_ceiling=0,
    )
    assert encode_reserve_configuration(cfg) == raw


@pytest.mark.parametrize("name", list(FIELDS))
def test_each_field_reads_only_its_bits(name: str) -> None:
    start, width = FIELDS[name]
    full = ((1 << width) - 1) << start
    cfg = decode_reserve_configuration(full)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == name:
            assert value == (True if width == 1 else (1 << width) - 1)
        else:
            assert not value, f"{f.name} read bits of {name}"
    # The complement lights every other field and leaves this one at zero.
    other = decode_reserve_configuration(((1 << 256) - 1) ^ full)
    assert not getattr(other, name)


def test_isolation_and_caps_example() -> None:
    # An isolated asset: debt ceiling 2,000,000.00 USD (2 decimals), frozen, paused, siloed.
    raw = 200_000_000 << 212 | 1 << 57 | 1 << 60 | 1 << 62 | 1 << 61 | 5 << 176
    cfg = decode_reserve_configuration(raw)
    assert (cfg.debt_ceiling, cfg.frozen, cfg.paused, cfg.siloed_borrowing) == (200_000_000, True, True, True)
    assert cfg.borrowable_in_isolation and cfg.unbacked_mint_cap == 5 and not cfg.active


@given(st.integers(0, (1 << 252) - 1))
def test_reserve_configuration_round_trip(raw: int) -> None:
    assert encode_reserve_configuration(decode_reserve_configuration(raw)) == raw


@pytest.mark.parametrize("bad", [-1, 1 << 256, True, 1.0, "7"])
def test_decode_rejects_non_uint256(bad: object) -> None:
    with pytest.raises(DataError):
        decode_reserve_configuration(bad)  # type: ignore[arg-type]


def test_encode_rejects_overflowing_field() -> None:
    cfg = dataclasses.replace(decode_reserve_configuration(0), ltv=1 << 16)
    with pytest.raises(DataError, match="ltv"):
        encode_reserve_configuration(cfg)


def test_reserve_input_from_configuration() -> None:
    raw = 7500 | 8000 << 16 | 10450 << 32 | 6 << 48 | 1 << 56 | 2 << 168 | 500 << 152
    r = ReserveInput.from_configuration(
        asset="0x" + "AB" * 20, symbol="USDC", reserve_id=3, configuration=raw, price=10**8
    )
    assert (r.asset, r.ltv, r.liquidation_threshold, r.liquidation_bonus) == ("0x" + "ab" * 20, 7500, 8000, 10450)
    assert (r.decimals, r.emode_category, r.liquidation_protocol_fee, r.active) == (6, 2, 500, True)


def test_user_configuration_bits() -> None:
    # Reserve 0 borrowed (bit 0); reserve 1 collateral (bit 3); reserve 2 both (bits 4, 5); reserve 127 collateral.
    raw = 0b1 | 0b1000 | 0b110000 | 1 << 255
    assert is_borrowing(raw, 0) and not is_using_as_collateral(raw, 0)
    assert is_using_as_collateral(raw, 1) and not is_borrowing(raw, 1)
    assert is_borrowing(raw, 2) and is_using_as_collateral(raw, 2)
    assert not is_using_as_collateral_or_borrowing(raw, 3)
    assert is_using_as_collateral(raw, 127) and not is_borrowing(raw, 127)
    assert collateral_reserve_indexes(raw) == [1, 2, 127]
    assert borrowed_reserve_indexes(raw) == [0, 2]
    assert encode_user_configuration([1, 2, 127], [0, 2]) == raw


@given(st.integers(0, (1 << 256) - 1), st.integers(0, 127))
def test_user_configuration_matches_shifts(raw: int, i: int) -> None:
    assert is_borrowing(raw, i) == bool(raw >> (2 * i) & 1)
    assert is_using_as_collateral(raw, i) == bool(raw >> (2 * i + 1) & 1)
    assert is_using_as_collateral_or_borrowing(raw, i) == bool(raw >> (2 * i) & 3)


@pytest.mark.parametrize("index", [-1, 128, True])
def test_user_configuration_rejects_bad_index(index: int) -> None:
    with pytest.raises(DataError):
        is_borrowing(0, index)
    with pytest.raises(DataError):
        encode_user_configuration([index])


def test_user_configuration_rejects_bad_bitmap() -> None:
    with pytest.raises(DataError):
        is_using_as_collateral(-5, 0)
    with pytest.raises(DataError):
        collateral_reserve_indexes(1 << 256)
