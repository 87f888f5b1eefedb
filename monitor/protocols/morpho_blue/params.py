"""A Morpho Blue market's identity and state: parameters, id, totals and one account's position."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from monitor.errors import DataError

MARKET_PARAMS_TYPE = "(address,address,address,address,uint256)"


@dataclass(frozen=True)
class MarketParams:
    """``MarketParams{loanToken, collateralToken, oracle, irm, lltv}``; addresses lower-case 0x-hex, LLTV in WAD."""

    loan_token: str
    collateral_token: str
    oracle: str
    irm: str
    lltv: int

    def as_tuple(self) -> tuple[str, str, str, str, int]:
        """The ABI tuple Morpho's functions take."""
        return (self.loan_token, self.collateral_token, self.oracle, self.irm, self.lltv)

    @property
    def id(self) -> str:
        """Market id: keccak256(abi.encode(params)) as 0x-hex."""
        return market_id(self)


def market_id(params: MarketParams) -> str:
    """keccak256(abi.encode(loanToken, collateralToken, oracle, irm, lltv)), as Morpho's MarketParamsLib."""
    return (
        "0x"
        + keccak(abi_encode(["address", "address", "address", "address", "uint256"], list(params.as_tuple()))).hex()
    )


@dataclass(frozen=True)
class MarketState:
    """``market(id)``: totals (loan-token units and shares), last accrual time and fee (WAD)."""

    total_supply_assets: int
    total_supply_shares: int
    total_borrow_assets: int
    total_borrow_shares: int
    last_update: int
    fee: int

    def __post_init__(self) -> None:
        for name in ("total_supply_assets", "total_supply_shares", "total_borrow_assets", "total_borrow_shares",
                     "last_update", "fee"):  # fmt: skip
            if getattr(self, name) < 0:
                raise DataError(f"market {name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Position:
    """``position(id, user)``: supply shares, borrow shares, collateral (collateral-token units)."""

    supply_shares: int
    borrow_shares: int
    collateral: int

    def __post_init__(self) -> None:
        if min(self.supply_shares, self.borrow_shares, self.collateral) < 0:
            raise DataError(f"position values must be >= 0, got {self}")
