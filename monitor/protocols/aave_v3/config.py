"""The config entry of one Aave v3 market (``protocol: aave-v3`` in ``markets:``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from monitor.configbase import Address, FrozenModel

PROTOCOL = "aave-v3"


class ContractBuffer(FrozenModel):
    """A buffer read from the chain: the ERC20 balance of ``contract`` in ``token`` (a reserve's symbol or
    address) at the block, priced at the reserve's oracle price (e.g. the Aave collector, an Umbrella stake)."""

    contract: Address
    token: str = Field(min_length=1)


class AaveV3MarketConfig(FrozenModel):
    """One Aave v3 market, found through its PoolAddressesProvider."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    protocol: Literal["aave-v3"]
    pool_addresses_provider: Address
    start_block: int = Field(default=0, ge=0)
    liquidation_rules: Literal["v3.0", "v3.3"] = Field(
        default="v3.0",
        description="v3.0: 50%/100% close factor per reserve; v3.3: position-level, dust, deficit",
    )
    buffers_usd: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)] | ContractBuffer] = Field(
        default_factory=dict,
        description="per reserve symbol, USD that absorbs the reserve's deficit first (treasury offset, Umbrella "
        "stake), or {contract, token}: that contract's balance of the token at the block, at the oracle price; "
        "a reserve not named has none",
    )
