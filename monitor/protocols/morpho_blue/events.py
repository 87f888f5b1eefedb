"""Morpho Blue's events (EventsLib) and the accounts they touch, pure: decoding only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.chain.abi import AbiEvent
from monitor.chain.model import Log
from monitor.errors import MalformedResponseError
from monitor.protocols.morpho_blue.params import MarketParams


def _event(name: str, *fields: str) -> AbiEvent:
    """``"type name"`` or ``"type indexed name"`` per field."""
    parsed = []
    for f in fields:
        parts = f.split()
        parsed.append((parts[-1], parts[0], "indexed" in parts[1:-1]))
    return AbiEvent(name, tuple(parsed))


MARKET_PARAMS = "(address,address,address,address,uint256)"
CREATE_MARKET = _event("CreateMarket", "bytes32 indexed id", f"{MARKET_PARAMS} marketParams")
SUPPLY = _event("Supply", "bytes32 indexed id", "address indexed caller", "address indexed onBehalf",
                "uint256 assets", "uint256 shares")  # fmt: skip
WITHDRAW = _event("Withdraw", "bytes32 indexed id", "address caller", "address indexed onBehalf",
                  "address indexed receiver", "uint256 assets", "uint256 shares")  # fmt: skip
BORROW = _event("Borrow", "bytes32 indexed id", "address caller", "address indexed onBehalf",
                "address indexed receiver", "uint256 assets", "uint256 shares")  # fmt: skip
REPAY = _event("Repay", "bytes32 indexed id", "address indexed caller", "address indexed onBehalf",
               "uint256 assets", "uint256 shares")  # fmt: skip
SUPPLY_COLLATERAL = _event("SupplyCollateral", "bytes32 indexed id", "address indexed caller",
                           "address indexed onBehalf", "uint256 assets")  # fmt: skip
WITHDRAW_COLLATERAL = _event("WithdrawCollateral", "bytes32 indexed id", "address caller",
                             "address indexed onBehalf", "address indexed receiver", "uint256 assets")  # fmt: skip
LIQUIDATE = _event("Liquidate", "bytes32 indexed id", "address indexed caller", "address indexed borrower",
                   "uint256 repaidAssets", "uint256 repaidShares", "uint256 seizedAssets", "uint256 badDebtAssets",
                   "uint256 badDebtShares")  # fmt: skip
ACCRUE_INTEREST = _event("AccrueInterest", "bytes32 indexed id", "uint256 prevBorrowRate", "uint256 interest",
                         "uint256 feeShares")  # fmt: skip

# events that change a borrower's position, with the field naming the account
BORROWER_EVENTS: tuple[tuple[AbiEvent, str], ...] = (
    (BORROW, "onBehalf"),
    (REPAY, "onBehalf"),
    (SUPPLY_COLLATERAL, "onBehalf"),
    (WITHDRAW_COLLATERAL, "onBehalf"),
    (LIQUIDATE, "borrower"),
)
_BY_TOPIC = {ev.topic0: (ev, who) for ev, who in BORROWER_EVENTS}
BORROWER_TOPICS: tuple[str, ...] = tuple(_BY_TOPIC)


@dataclass(frozen=True)
class AccountTouch:
    """A log that changed (market id, account)."""

    market_id: str
    account: str
    event: str
    block_number: int


def _hex32(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    raise MalformedResponseError(f"market id is not bytes32: {value!r}")


def account_touches(logs: Iterable[Log]) -> list[AccountTouch]:
    """The (market id, account) pairs that Morpho's borrower-side events touched; other logs are ignored."""
    out = []
    for lg in logs:
        if not lg.topics or lg.topics[0] not in _BY_TOPIC:
            continue
        ev, who = _BY_TOPIC[lg.topics[0]]
        fields = ev.decode(lg.topics, lg.data)
        out.append(AccountTouch(_hex32(fields["id"]), str(fields[who]).lower(), ev.name, lg.block_number))
    return out


def created_markets(logs: Iterable[Log]) -> list[tuple[str, MarketParams]]:
    """``(market id, params)`` of every ``CreateMarket`` in ``logs``, in log order; other logs are ignored."""
    out = []
    for lg in logs:
        if not lg.topics or lg.topics[0] != CREATE_MARKET.topic0:
            continue
        fields = CREATE_MARKET.decode(lg.topics, lg.data)
        loan, coll, oracle, irm, lltv = fields["marketParams"]
        params = MarketParams(str(loan).lower(), str(coll).lower(), str(oracle).lower(), str(irm).lower(), int(lltv))
        out.append((_hex32(fields["id"]), params))
    return out
