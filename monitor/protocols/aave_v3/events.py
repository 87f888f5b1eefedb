"""Aave v3 events that touch accounts, reserves or configuration, and pure decoding of logs into a digest.

Which account an event touches is the one whose position changes, not who paid or received underlying:
``Supply``/``Borrow``/``MintUnbacked`` touch ``onBehalfOf``; ``Repay``/``Withdraw``/``LiquidationCall`` and
the collateral, e-mode and rate-mode events touch ``user``; aToken ``BalanceTransfer`` touches both sides
(collateral moves, a liquidator taking aTokens included). Every account sits in an indexed topic, so decoding
never touches ABI data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from eth_utils.crypto import keccak

from monitor.chain.abi import AbiEvent
from monitor.chain.model import Log
from monitor.errors import MalformedResponseError
from monitor.protocols.aave_v3.market import ZERO_ADDRESS, MarketAddresses


def _event(name: str, *fields: str) -> AbiEvent:
    """``_event("Supply", "reserve:address!", ...)``; a trailing ``!`` marks an indexed field."""
    parsed = []
    for f in fields:
        fname, _, ftype = f.partition(":")
        parsed.append((fname, ftype.rstrip("!"), ftype.endswith("!")))
    return AbiEvent(name, tuple(parsed))


# Pool events and the topic positions (1-based, topic0 is the signature) of the accounts they touch.
POOL_ACCOUNT_EVENTS: tuple[tuple[AbiEvent, tuple[int, ...]], ...] = (
    (_event("Supply", "reserve:address!", "user:address", "onBehalfOf:address!", "amount:uint256",
            "referralCode:uint16!"), (2,)),
    (_event("Borrow", "reserve:address!", "user:address", "onBehalfOf:address!", "amount:uint256",
            "interestRateMode:uint8", "borrowRate:uint256", "referralCode:uint16!"), (2,)),
    (_event("Repay", "reserve:address!", "user:address!", "repayer:address!", "amount:uint256",
            "useATokens:bool"), (2,)),
    (_event("Withdraw", "reserve:address!", "user:address!", "to:address!", "amount:uint256"), (2,)),
    (_event("LiquidationCall", "collateralAsset:address!", "debtAsset:address!", "user:address!",
            "debtToCover:uint256", "liquidatedCollateralAmount:uint256", "liquidator:address",
            "receiveAToken:bool"), (3,)),
    (_event("ReserveUsedAsCollateralEnabled", "reserve:address!", "user:address!"), (2,)),
    (_event("ReserveUsedAsCollateralDisabled", "reserve:address!", "user:address!"), (2,)),
    (_event("UserEModeSet", "user:address!", "categoryId:uint8"), (1,)),
    (_event("SwapBorrowRateMode", "reserve:address!", "user:address!", "interestRateMode:uint8"), (2,)),
    (_event("RebalanceStableBorrowRate", "reserve:address!", "user:address!"), (2,)),
    (_event("MintUnbacked", "reserve:address!", "user:address", "onBehalfOf:address!", "amount:uint256",
            "referralCode:uint16!"), (2,)),
)  # fmt: skip

BALANCE_TRANSFER = _event("BalanceTransfer", "from:address!", "to:address!", "value:uint256", "index:uint256")
TRANSFER = _event("Transfer", "from:address!", "to:address!", "value:uint256")

# Pool events that change a reserve's state (indexes, rates, isolation debt, treasury); topic1 is the asset.
# Not asked for (see all_topics), kept to say so and pinned to the ABIs by the tests.
POOL_RESERVE_EVENTS: tuple[AbiEvent, ...] = (
    _event("ReserveDataUpdated", "reserve:address!", "liquidityRate:uint256", "stableBorrowRate:uint256",
           "variableBorrowRate:uint256", "liquidityIndex:uint256", "variableBorrowIndex:uint256"),
    _event("IsolationModeTotalDebtUpdated", "asset:address!", "totalDebt:uint256"),
    _event("MintedToTreasury", "reserve:address!", "amountMinted:uint256"),
    _event("BackUnbacked", "reserve:address!", "backer:address!", "amount:uint256", "fee:uint256"),
)  # fmt: skip

# PoolConfigurator events (IPoolConfigurator, v3.0): any of them changes risk parameters.
CONFIG_EVENT_SIGNATURES: tuple[str, ...] = (
    "ReserveInitialized(address,address,address,address,address)",
    "ReserveDropped(address)",
    "ReserveBorrowing(address,bool)",
    "ReserveFlashLoaning(address,bool)",
    "CollateralConfigurationChanged(address,uint256,uint256,uint256)",
    "ReserveStableRateBorrowing(address,bool)",
    "ReserveActive(address,bool)",
    "ReserveFrozen(address,bool)",
    "ReservePaused(address,bool)",
    "ReserveFactorChanged(address,uint256,uint256)",
    "BorrowCapChanged(address,uint256,uint256)",
    "SupplyCapChanged(address,uint256,uint256)",
    "LiquidationProtocolFeeChanged(address,uint256,uint256)",
    "UnbackedMintCapChanged(address,uint256,uint256)",
    "EModeAssetCategoryChanged(address,uint8,uint8)",
    "EModeCategoryAdded(uint8,uint256,uint256,uint256,address,string)",
    "ReserveInterestRateStrategyChanged(address,address,address)",
    "ATokenUpgraded(address,address,address)",
    "StableDebtTokenUpgraded(address,address,address)",
    "VariableDebtTokenUpgraded(address,address,address)",
    "DebtCeilingChanged(address,uint256,uint256)",
    "SiloedBorrowingChanged(address,bool,bool)",
    "BridgeProtocolFeeUpdated(uint256,uint256)",
    "FlashloanPremiumTotalUpdated(uint128,uint128)",
    "FlashloanPremiumToProtocolUpdated(uint128,uint128)",
    "BorrowableInIsolationChanged(address,bool)",
)
LISTING_EVENTS = frozenset({"ReserveInitialized", "ReserveDropped"})


def signature_topic(signature: str) -> str:
    """topic0 of an event signature such as ``ReserveDropped(address)``."""
    return "0x" + keccak(text=signature).hex()


_CONFIG = {signature_topic(s): s.partition("(")[0] for s in CONFIG_EVENT_SIGNATURES}
_POOL_ACCOUNTS = {ev.topic0: (ev, idx) for ev, idx in POOL_ACCOUNT_EVENTS}


def _topics_of(ev: AbiEvent) -> int:
    return 1 + sum(1 for _, _, ix in ev.fields if ix)


def all_topics() -> tuple[str, ...]:
    """Every topic0 discovery asks eth_getLogs for (one filter for pool, configurator and tokens).

    Left out on purpose, as they say nothing an account event does not: ``ReserveDataUpdated`` and the other
    reserve-state events (indices and prices are read at every refresh anyway) and token ``Transfer`` (each
    mint or burn comes with its Supply/Borrow/Repay/Withdraw/LiquidationCall, and a move between accounts with
    ``BalanceTransfer``). They were over half of a market's logs. The one account only a ``Transfer`` names is
    the treasury after ``mintToTreasury``, which never borrows.
    """
    out = set(_POOL_ACCOUNTS) | set(_CONFIG) | {BALANCE_TRANSFER.topic0}
    return tuple(sorted(out))


def topic_address(topic: str) -> str:
    """The address held in a 32-byte topic; non-zero upper bytes are malformed."""
    if len(topic) != 66 or topic[2:26].strip("0"):
        raise MalformedResponseError(f"topic does not hold an address: {topic}")
    return "0x" + topic[26:].lower()


@dataclass(frozen=True)
class LogDigest:
    """What a batch of logs says: touched accounts and configuration changes."""

    accounts: Mapping[str, int] = field(default_factory=dict)  # account -> first block it was touched in
    config_changed: bool = False  # a PoolConfigurator event: risk parameters changed
    listing_changed: bool = False  # a reserve was initialized or dropped: read the reserves list again
    events: Mapping[str, int] = field(default_factory=dict)  # count per event name


def digest_logs(logs: Iterable[Log], market: MarketAddresses) -> LogDigest:
    """Decode the logs :func:`all_topics` asks for; logs of other contracts or events are ignored, removed ones
    (which eth_getLogs does not return, but a log subscription would) too."""
    a_tokens = market.a_tokens
    accounts: dict[str, int] = {}
    counts: Counter[str] = Counter()
    config = listing = False

    def touch(lg: Log, positions: tuple[int, ...], name: str, n_topics: int) -> None:
        if len(lg.topics) != n_topics:
            raise MalformedResponseError(f"{name} log with {len(lg.topics)} topics at block {lg.block_number}")
        for p in positions:
            acct = topic_address(lg.topics[p])
            if acct != ZERO_ADDRESS and accounts.get(acct, lg.block_number + 1) > lg.block_number:
                accounts[acct] = lg.block_number
        counts[name] += 1

    for lg in logs:
        if lg.removed or not lg.topics:
            continue
        t0, src = lg.topics[0], lg.address
        if src == market.pool and t0 in _POOL_ACCOUNTS:
            ev, idx = _POOL_ACCOUNTS[t0]
            touch(lg, idx, ev.name, _topics_of(ev))
        elif src == market.configurator and t0 in _CONFIG:
            config = True
            listing = listing or _CONFIG[t0] in LISTING_EVENTS
            counts[_CONFIG[t0]] += 1
        elif src in a_tokens and t0 == BALANCE_TRANSFER.topic0:
            touch(lg, (1, 2), BALANCE_TRANSFER.name, 3)
    return LogDigest(
        accounts=MappingProxyType(accounts),
        config_changed=config,
        listing_changed=listing,
        events=MappingProxyType(dict(counts)),
    )
