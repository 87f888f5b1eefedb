"""A market's contract addresses and the few Aave v3 view functions that find them (pure: ABI only).

Function signatures are the public IPoolAddressesProvider / IPool interfaces of Aave v3.0-v3.2
(``getReserveData`` returns the v3.0 ``ReserveData`` layout, kept as ``ReserveDataLegacy`` later).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.chain.abi import AbiFunction

ZERO_ADDRESS = "0x" + "00" * 20

GET_POOL = AbiFunction("getPool", (), ("address",))
GET_POOL_CONFIGURATOR = AbiFunction("getPoolConfigurator", (), ("address",))
GET_RESERVES_LIST = AbiFunction("getReservesList", (), ("address[]",))
RESERVE_DATA = (
    "((uint256),uint128,uint128,uint128,uint128,uint128,uint40,uint16,"
    "address,address,address,address,uint128,uint128,uint128)"
)
GET_RESERVE_DATA = AbiFunction("getReserveData", ("address",), (RESERVE_DATA,))


@dataclass(frozen=True, slots=True)
class ReserveTokens:
    """One reserve: the underlying asset, its id (bit pair in user configurations) and its three tokens."""

    asset: str
    reserve_id: int
    a_token: str
    stable_debt_token: str
    variable_debt_token: str


@dataclass(frozen=True, slots=True)
class MarketAddresses:
    """Everything whose logs discovery reads. ``reserves`` is the union of every reserve seen listed."""

    provider: str
    pool: str
    configurator: str
    reserves: tuple[ReserveTokens, ...] = ()

    @property
    def a_tokens(self) -> frozenset[str]:
        """aToken addresses (their transfers move collateral)."""
        return frozenset(r.a_token for r in self.reserves)

    @property
    def debt_tokens(self) -> frozenset[str]:
        """Variable and stable debt token addresses (zero addresses left out)."""
        out = {r.variable_debt_token for r in self.reserves} | {r.stable_debt_token for r in self.reserves}
        return frozenset(out - {ZERO_ADDRESS})

    @property
    def log_sources(self) -> tuple[str, ...]:
        """Every address an eth_getLogs filter of the market names, sorted (pool and configurator first)."""
        tokens = sorted((self.a_tokens | self.debt_tokens) - {self.pool, self.configurator})
        head = [self.pool] + ([self.configurator] if self.configurator != ZERO_ADDRESS else [])
        return (*head, *tokens)

    def with_reserves(self, reserves: tuple[ReserveTokens, ...]) -> MarketAddresses:
        """A copy whose reserves are the union of ours and ``reserves`` (a dropped reserve is kept)."""
        known = {r.asset: r for r in self.reserves}
        for r in reserves:
            known[r.asset] = r
        ordered = tuple(sorted(known.values(), key=lambda r: (r.reserve_id, r.asset)))
        return MarketAddresses(self.provider, self.pool, self.configurator, ordered)


def reserve_tokens(asset: str, reserve_data: tuple[Any, ...]) -> ReserveTokens:
    """Build :class:`ReserveTokens` from a decoded ``getReserveData`` answer."""
    (fields,) = reserve_data
    return ReserveTokens(
        asset=asset.lower(),
        reserve_id=int(fields[7]),
        a_token=str(fields[8]).lower(),
        stable_debt_token=str(fields[9]).lower(),
        variable_debt_token=str(fields[10]).lower(),
    )
