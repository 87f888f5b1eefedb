"""The book's inputs: plain frozen dataclasses holding the raw on-chain integers.

Addresses are normalised to lowercase ``0x`` hex. Every integer is validated on construction (type and range);
a bad value raises :class:`~monitor.errors.DataError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.bitmaps import MAX_RESERVES_COUNT, decode_reserve_configuration
from monitor.protocols.aave_v3.book.wadray import RAY

ZERO_ADDRESS = "0x" + "0" * 40
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def normalize_address(value: object, what: str = "address") -> str:
    """``value`` as a lowercase ``0x`` address, or :class:`DataError`."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise DataError(f"{what} must be a 0x-prefixed 20-byte hex address, got {value!r}")
    return value.lower()


def check_uint(value: object, what: str, bits: int = 256, *, minimum: int = 0) -> int:
    """``value`` if it is an int (not a bool) in ``minimum .. 2**bits - 1``, else :class:`DataError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    if not minimum <= value < (1 << bits):
        raise DataError(f"{what}={value} outside {minimum}..2**{bits}-1")
    return value


@dataclass(frozen=True, slots=True)
class ReserveInput:
    """One reserve of the pool: configuration, current indexes and oracle price.

    ``reserve_id`` is the reserve's position in the pool's reserves list (the bit pair in user configurations).
    ``normalized_income`` / ``normalized_variable_debt`` are ``getReserveNormalizedIncome`` /
    ``getReserveNormalizedVariableDebt`` at the evaluated block (ray). ``price`` is the oracle's
    ``getAssetPrice(asset)`` in base-currency units (8 decimals).
    """

    asset: str
    symbol: str
    reserve_id: int
    decimals: int
    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    price: int
    normalized_income: int = RAY
    normalized_variable_debt: int = RAY
    liquidation_protocol_fee: int = 0
    emode_category: int = 0
    active: bool = True
    frozen: bool = False
    paused: bool = False
    borrowing_enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "asset", normalize_address(self.asset, "reserve asset"))
        where = f"reserve {self.symbol or self.asset}"
        if not isinstance(self.symbol, str):
            raise DataError(f"{where}: symbol must be a str")
        check_uint(self.reserve_id, f"{where}: reserve_id", 7)
        check_uint(self.decimals, f"{where}: decimals", 8)
        for name in ("ltv", "liquidation_threshold", "liquidation_bonus", "liquidation_protocol_fee"):
            check_uint(getattr(self, name), f"{where}: {name}", 16)
        check_uint(self.emode_category, f"{where}: emode_category", 8)
        check_uint(self.price, f"{where}: price")
        check_uint(self.normalized_income, f"{where}: normalized_income", minimum=1)
        check_uint(self.normalized_variable_debt, f"{where}: normalized_variable_debt", minimum=1)
        for name in ("active", "frozen", "paused", "borrowing_enabled"):
            if not isinstance(getattr(self, name), bool):
                raise DataError(f"{where}: {name} must be a bool")

    @classmethod
    def from_configuration(
        cls,
        *,
        asset: str,
        symbol: str,
        reserve_id: int,
        configuration: int,
        price: int,
        normalized_income: int = RAY,
        normalized_variable_debt: int = RAY,
    ) -> ReserveInput:
        """Build from the raw ``ReserveConfigurationMap.data`` bitmap."""
        cfg = decode_reserve_configuration(configuration)
        return cls(
            asset=asset,
            symbol=symbol,
            reserve_id=reserve_id,
            decimals=cfg.decimals,
            ltv=cfg.ltv,
            liquidation_threshold=cfg.liquidation_threshold,
            liquidation_bonus=cfg.liquidation_bonus,
            price=price,
            normalized_income=normalized_income,
            normalized_variable_debt=normalized_variable_debt,
            liquidation_protocol_fee=cfg.liquidation_protocol_fee,
            emode_category=cfg.emode_category,
            active=cfg.active,
            frozen=cfg.frozen,
            paused=cfg.paused,
            borrowing_enabled=cfg.borrowing_enabled,
        )


@dataclass(frozen=True, slots=True)
class EModeCategoryInput:
    """One e-mode category; ``price_source`` is the zero address when unset.

    Aave v3.0 (``getEModeCategoryData``): members are the reserves whose configuration names the category.
    Aave v3.2+ (liquid e-mode, ``getEModeCategoryCollateralConfig`` and the bitmap getters): the category's own
    bitmaps by reserve id say which reserves count at its LT/LTV (``collateral_bitmap``), may be borrowed by its
    members (``borrowable_bitmap``) and count with LTV 0 (``ltvzero_bitmap``); there is no price source.
    ``collateral_bitmap`` is None on v3.0.
    """

    category_id: int
    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    price_source: str = ZERO_ADDRESS
    label: str = ""
    collateral_bitmap: int | None = None
    borrowable_bitmap: int = 0
    ltvzero_bitmap: int = 0

    def __post_init__(self) -> None:
        check_uint(self.category_id, "e-mode category_id", 8, minimum=1)
        where = f"e-mode category {self.category_id}"
        for name in ("ltv", "liquidation_threshold", "liquidation_bonus"):
            check_uint(getattr(self, name), f"{where}: {name}", 16)
        object.__setattr__(self, "price_source", normalize_address(self.price_source, f"{where}: price_source"))
        if self.collateral_bitmap is not None:
            check_uint(self.collateral_bitmap, f"{where}: collateral_bitmap", 128)
        check_uint(self.borrowable_bitmap, f"{where}: borrowable_bitmap", 128)
        check_uint(self.ltvzero_bitmap, f"{where}: ltvzero_bitmap", 128)

    @property
    def liquid(self) -> bool:
        """True for a v3.2+ category whose membership is its own collateral bitmap."""
        return self.collateral_bitmap is not None

    def counts_as_collateral(self, reserve_id: int, reserve_category: int) -> bool:
        """True when a reserve gets the category's LT/LTV for the category's members."""
        if self.collateral_bitmap is None:
            return reserve_category == self.category_id
        return bool((self.collateral_bitmap >> reserve_id) & 1)

    @property
    def has_price_source(self) -> bool:
        """True when the category overrides its assets' prices."""
        return self.price_source != ZERO_ADDRESS


@dataclass(frozen=True, slots=True)
class PositionInput:
    """An account's raw balances in one reserve (token base units).

    ``scaled_atoken`` and ``scaled_variable_debt`` are ``scaledBalanceOf``; ``stable_debt`` is the stable debt
    token's ``balanceOf`` (principal with accrued interest, v3.0) at the evaluated block.
    """

    scaled_atoken: int = 0
    scaled_variable_debt: int = 0
    stable_debt: int = 0

    def __post_init__(self) -> None:
        check_uint(self.scaled_atoken, "scaled_atoken")
        check_uint(self.scaled_variable_debt, "scaled_variable_debt")
        check_uint(self.stable_debt, "stable_debt")

    @property
    def is_empty(self) -> bool:
        """True when every balance is zero."""
        return self.scaled_atoken == 0 and self.scaled_variable_debt == 0 and self.stable_debt == 0


@dataclass(frozen=True, slots=True)
class AccountInput:
    """One account: configuration bitmap, e-mode category and positions keyed by reserve asset address.

    Reserves missing from ``positions`` hold zero.
    """

    address: str
    user_configuration: int
    emode_category: int = 0
    positions: Mapping[str, PositionInput] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", normalize_address(self.address, "account address"))
        check_uint(self.user_configuration, f"account {self.address}: user_configuration")
        check_uint(self.emode_category, f"account {self.address}: emode_category", 8)
        positions: dict[str, PositionInput] = {}
        for asset, pos in self.positions.items():
            key = normalize_address(asset, f"account {self.address}: position asset")
            if not isinstance(pos, PositionInput):
                raise DataError(f"account {self.address}: position {key} must be a PositionInput")
            if key in positions:
                raise DataError(f"account {self.address}: position {key} given twice")
            positions[key] = pos
        object.__setattr__(self, "positions", MappingProxyType(positions))

    def position(self, asset: str) -> PositionInput:
        """The position in ``asset`` (zeros when absent)."""
        return self.positions.get(asset.lower(), _EMPTY)


_EMPTY = PositionInput()


@dataclass(frozen=True, slots=True)
class MarketInputs:
    """A pool's reserves, e-mode categories, the oracle prices of e-mode price sources and the pool's maths.

    ``source_prices`` holds ``getAssetPrice`` of every non-zero e-mode ``price_source`` that is not itself a
    reserve asset (a source that is a reserve asset uses that reserve's ``price``).
    """

    reserves: Sequence[ReserveInput]
    emode_categories: Sequence[EModeCategoryInput] = ()
    source_prices: Mapping[str, int] = field(default_factory=dict)
    #: Health-factor maths of the pool's code: "v3.0" (half-up balances and values, reserve LT 0 drops a
    #: collateral) or "v3.6" (v3.5 rounding: collateral down, debt up; every flagged collateral counts).
    maths: str = "v3.0"

    def __post_init__(self) -> None:
        if self.maths not in ("v3.0", "v3.6"):
            raise DataError(f"maths must be 'v3.0' or 'v3.6', got {self.maths!r}")
        reserves = tuple(self.reserves)
        if not reserves:
            raise DataError("a market needs at least one reserve")
        if len(reserves) > MAX_RESERVES_COUNT:
            raise DataError(f"{len(reserves)} reserves; a pool holds at most {MAX_RESERVES_COUNT}")
        for r in reserves:
            if not isinstance(r, ReserveInput):
                raise DataError("reserves must be ReserveInput")
        _unique([r.asset for r in reserves], "reserve asset")
        _unique([r.reserve_id for r in reserves], "reserve_id")
        cats = tuple(self.emode_categories)
        for c in cats:
            if not isinstance(c, EModeCategoryInput):
                raise DataError("emode_categories must be EModeCategoryInput")
        _unique([c.category_id for c in cats], "e-mode category_id")
        prices: dict[str, int] = {}
        for addr, price in self.source_prices.items():
            key = normalize_address(addr, "source price address")
            prices[key] = check_uint(price, f"source price of {key}")
        assets = {r.asset for r in reserves}
        for c in cats:
            if c.has_price_source and c.price_source not in assets and c.price_source not in prices:
                raise DataError(f"e-mode category {c.category_id}: no price for its price_source {c.price_source}")
        object.__setattr__(self, "reserves", reserves)
        object.__setattr__(self, "emode_categories", cats)
        object.__setattr__(self, "source_prices", MappingProxyType(prices))

    def prices(self) -> dict[str, int]:
        """Every priced address (reserve assets and extra e-mode sources) to its oracle price."""
        out = dict(self.source_prices)
        out.update({r.asset: r.price for r in self.reserves})
        return out


def _unique(values: Sequence[object], what: str) -> None:
    seen: set[object] = set()
    for v in values:
        if v in seen:
            raise DataError(f"{what} {v!r} appears twice")
        seen.add(v)
