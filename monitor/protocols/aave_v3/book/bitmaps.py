"""Decoders for Aave v3's two configuration bitmaps (pure, exact ints).

* Reserve configuration (``ReserveConfiguration``, one uint256 per reserve): bit fields for LTV, liquidation
  threshold, bonus, decimals, flags, caps, fees and the e-mode category.
* User configuration (``UserConfiguration``, one uint256 per account): two bits per reserve id ``i``; bit ``2i``
  is "borrowing", bit ``2i + 1`` is "using as collateral".

The encoders are the exact inverses, for tests and for building devnet fixtures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.wadray import UINT256_MAX

#: A pool holds at most this many reserves (``ReserveConfiguration.MAX_RESERVES_COUNT``).
MAX_RESERVES_COUNT = 128

# (start bit, width) of each reserve-configuration field.
_LAYOUT: dict[str, tuple[int, int]] = {
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


@dataclass(frozen=True, slots=True)
class ReserveConfiguration:
    """One reserve's configuration bitmap, decoded. Units as on chain.

    Percentages are basis points (``liquidation_bonus`` 10500 = 105%); caps are whole tokens (0 = no cap);
    ``debt_ceiling`` has 2 decimals of the base currency.
    """

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    decimals: int
    active: bool
    frozen: bool
    borrowing_enabled: bool
    stable_borrowing_enabled: bool
    paused: bool
    borrowable_in_isolation: bool
    siloed_borrowing: bool
    flashloan_enabled: bool
    reserve_factor: int
    borrow_cap: int
    supply_cap: int
    liquidation_protocol_fee: int
    emode_category: int
    unbacked_mint_cap: int
    debt_ceiling: int


def _check_uint256(raw: int, what: str) -> None:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= UINT256_MAX:
        raise DataError(f"{what} must be a uint256 int, got {raw!r}")


def decode_reserve_configuration(raw: int) -> ReserveConfiguration:
    """Decode ``ReserveConfigurationMap.data``."""
    _check_uint256(raw, "reserve configuration")
    values: dict[str, int | bool] = {}
    for name, (start, width) in _LAYOUT.items():
        value = (raw >> start) & ((1 << width) - 1)
        values[name] = bool(value) if width == 1 else value
    return ReserveConfiguration(**values)  # type: ignore[arg-type]


def encode_reserve_configuration(config: ReserveConfiguration) -> int:
    """The bitmap of ``config`` (inverse of :func:`decode_reserve_configuration`)."""
    raw = 0
    for f in fields(config):
        start, width = _LAYOUT[f.name]
        value = int(getattr(config, f.name))
        if not 0 <= value < (1 << width):
            raise DataError(f"{f.name}={value} does not fit {width} bits")
        raw |= value << start
    return raw


def _check_index(reserve_index: int) -> None:
    if isinstance(reserve_index, bool) or not isinstance(reserve_index, int):
        raise DataError(f"reserve index must be an int, got {reserve_index!r}")
    if not 0 <= reserve_index < MAX_RESERVES_COUNT:
        raise DataError(f"reserve index {reserve_index} outside 0..{MAX_RESERVES_COUNT - 1}")


def is_borrowing(user_configuration: int, reserve_index: int) -> bool:
    """``UserConfiguration.isBorrowing``: bit ``2 * index``."""
    _check_uint256(user_configuration, "user configuration")
    _check_index(reserve_index)
    return (user_configuration >> (reserve_index << 1)) & 1 != 0


def is_using_as_collateral(user_configuration: int, reserve_index: int) -> bool:
    """``UserConfiguration.isUsingAsCollateral``: bit ``2 * index + 1``."""
    _check_uint256(user_configuration, "user configuration")
    _check_index(reserve_index)
    return (user_configuration >> ((reserve_index << 1) + 1)) & 1 != 0


def is_using_as_collateral_or_borrowing(user_configuration: int, reserve_index: int) -> bool:
    """``UserConfiguration.isUsingAsCollateralOrBorrowing``: either of the reserve's two bits."""
    _check_uint256(user_configuration, "user configuration")
    _check_index(reserve_index)
    return (user_configuration >> (reserve_index << 1)) & 3 != 0


def collateral_reserve_indexes(user_configuration: int) -> list[int]:
    """Reserve ids the account uses as collateral, ascending."""
    _check_uint256(user_configuration, "user configuration")
    return [i for i in range(MAX_RESERVES_COUNT) if (user_configuration >> (2 * i + 1)) & 1]


def borrowed_reserve_indexes(user_configuration: int) -> list[int]:
    """Reserve ids the account borrows, ascending."""
    _check_uint256(user_configuration, "user configuration")
    return [i for i in range(MAX_RESERVES_COUNT) if (user_configuration >> (2 * i)) & 1]


def encode_user_configuration(collateral: Iterable[int] = (), borrowing: Iterable[int] = ()) -> int:
    """The user-configuration bitmap with the given reserve ids flagged."""
    raw = 0
    for i in collateral:
        _check_index(i)
        raw |= 1 << (2 * i + 1)
    for i in borrowing:
        _check_index(i)
        raw |= 1 << (2 * i)
    return raw
