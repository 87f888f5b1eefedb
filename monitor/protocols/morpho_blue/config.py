"""The config entry of a group of Morpho Blue markets on one Morpho contract (``protocol: morpho-blue``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from monitor.configbase import Address, FrozenModel

PROTOCOL = "morpho-blue"
_MARKET_ID_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")


def check_market_id(value: str) -> str:
    """``value`` lower-cased when it is a 0x-prefixed 32-byte hex market id; ValueError otherwise."""
    if not _MARKET_ID_RE.match(value):
        raise ValueError(f"not a 32-byte hex market id (0x + 64 hex digits): {value!r}")
    return value.lower()


MarketId = Annotated[str, AfterValidator(check_market_id)]


class MorphoBlueMarketConfig(FrozenModel):
    """Markets of one Morpho Blue contract: by id (``market_ids``), and/or every market lending one of
    ``loan_tokens`` created (``CreateMarket``) from ``start_block`` on (set ``start_block`` to Morpho's deployment
    block to find them all); the markets of a loan token are resolved when the tracker opens.

    ``suppliers``: lenders whose share of each market's loss is reported (e.g. vaults). ``loan_usd_feeds``:
    a Chainlink-style USD feed (``latestAnswer``, ``decimals``) per loan token; a loan token without one is
    taken at $1, and its price source says so. Collateral is valued through the market's own oracle, in loan
    tokens, then in USD at the loan token's price.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    protocol: Literal["morpho-blue"]
    morpho: Address
    market_ids: list[MarketId] = Field(default_factory=list)
    loan_tokens: list[Address] = Field(default_factory=list)
    start_block: int = Field(default=0, ge=0)
    suppliers: list[Address] = Field(default_factory=list)
    loan_usd_feeds: dict[Address, Address] = Field(default_factory=dict)

    @field_validator("market_ids", "suppliers", "loan_tokens")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        seen = set()
        for v in values:
            if v in seen:
                raise ValueError(f"listed twice: {v}")
            seen.add(v)
        return values

    @model_validator(mode="after")
    def _some_market(self) -> MorphoBlueMarketConfig:
        if not self.market_ids and not self.loan_tokens:
            raise ValueError("market_ids: list at least one market id, or loan_tokens")
        return self
