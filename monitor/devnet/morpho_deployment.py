"""Addresses and markets of the devnet's Morpho Blue, part of :class:`monitor.devnet.deployment.Deployment`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.protocols.morpho_blue.params import MarketParams


@dataclass
class MorphoMarketInfo:
    """One Morpho Blue market on the devnet."""

    name: str  # e.g. "WETH/USDC-86"
    market_id: str
    loan: str  # symbols
    collateral: str
    loan_token: str  # addresses
    collateral_token: str
    oracle: str
    irm: str
    lltv: int  # WAD

    @property
    def params(self) -> MarketParams:
        """The market's MarketParams."""
        return MarketParams(self.loan_token, self.collateral_token, self.oracle, self.irm, self.lltv)


@dataclass
class MorphoDeployment:
    """Morpho Blue next to the Aave market: the contract, its IRM, markets and generated borrowers."""

    morpho: str
    irm: str
    populator: str
    owner: str
    lender: str
    markets: list[MorphoMarketInfo] = field(default_factory=list)
    borrowers: dict[str, list[str]] = field(default_factory=dict)  # market id -> accounts
    deploy_block: int = 0

    def market(self, name_or_id: str) -> MorphoMarketInfo:
        """A market by name or id."""
        key = name_or_id.lower()
        for m in self.markets:
            if m.name.lower() == key or m.market_id == key:
                return m
        raise KeyError(name_or_id)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (market id, borrower) pair."""
        return [(mid, u) for mid, users in self.borrowers.items() for u in users]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MorphoDeployment:
        """Inverse of dataclasses.asdict."""
        data = dict(data)
        data["markets"] = [MorphoMarketInfo(**m) for m in data["markets"]]
        return cls(**data)


def describe(info: MorphoDeployment) -> str:
    """Addresses, markets and borrower counts, for ``devnet up``."""
    lines = [f"  Morpho Blue           {info.morpho}\n  Morpho IRM (kinked)   {info.irm}"]
    for m in info.markets:
        lines.append(f"  market {m.name:14s} {m.market_id} ({len(info.borrowers.get(m.market_id, []))} borrowers,"
                     f" oracle {m.oracle})")  # fmt: skip
    return "\n".join(lines)
