"""Addresses of a deployed devnet, serialisable to JSON so a cached chain comes back with its map."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from monitor.devnet.morpho_deployment import MorphoDeployment


@dataclass
class TokenInfo:
    """A listed token with its price feed and Aave token addresses."""

    symbol: str
    address: str
    decimals: int
    feed: str
    a_token: str = ""
    variable_debt_token: str = ""
    stable_debt_token: str = ""


@dataclass
class PoolInfo:
    """A Uniswap v3 pool."""

    address: str
    symbol: str  # the non-USDC side
    quote: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int
    main: bool


@dataclass
class Deployment:
    """Everything a test, the CLI or the monitor config needs to find on the devnet."""

    chain_id: int
    deployer: str
    whale: str  # supplies liquidity to Aave and Uniswap
    liquidator: str
    seller: str  # the outside seller of a crash
    treasury: str
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    addresses_provider: str = ""
    pool: str = ""
    pool_configurator: str = ""
    oracle: str = ""
    data_provider: str = ""
    acl_manager: str = ""
    uniswap_factory: str = ""
    position_manager: str = ""
    swap_router: str = ""
    quoter_v2: str = ""
    tick_lens: str = ""
    lens: str = ""
    populator: str = ""
    pools: list[PoolInfo] = field(default_factory=list)
    borrowers: list[str] = field(default_factory=list)
    deploy_block: int = 0
    aave_version: str = "v3.0"  # the devnet flavour's Aave code: "v3.0" (v3.0.2) or "v3.6"
    morpho: MorphoDeployment | None = None

    def token(self, symbol_or_address: str) -> TokenInfo:
        """A token by symbol (case-insensitive) or address."""
        key = symbol_or_address.lower()
        for t in self.tokens.values():
            if t.symbol.lower() == key or t.address == key:
                return t
        raise KeyError(symbol_or_address)

    def main_pool(self, symbol: str) -> PoolInfo:
        """The pool a crash or liquidator sells ``symbol`` into."""
        for p in self.pools:
            if p.symbol == symbol and p.main:
                return p
        raise KeyError(symbol)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        data["tokens"] = {k: TokenInfo(**v) for k, v in data["tokens"].items()}
        data["pools"] = [PoolInfo(**p) for p in data["pools"]]
        if data.get("morpho"):
            data["morpho"] = MorphoDeployment.from_json(data["morpho"])
        return cls(**data)

    def save(self, path: Path) -> None:
        """Write as JSON."""
        path.write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read from JSON."""
        return cls.from_json(json.loads(path.read_text()))
