"""The scripted crash and liquidator: the on-chain cascade the projection engine is proven against.

A crash is an outside sale into the asset's main Uniswap pool until its price is down by the asked share;
the oracle is then set to the pool price. The liquidator then works in rounds: every account with HF < 1 is
liquidated once through the real ``Pool.liquidationCall`` with ``debtToCover = type(uint256).max`` (so the
pool applies its own close factor), on the debt and the collateral reserve with the largest
``floor(balance * price / 10**decimals)`` at their own oracle prices (a tie goes to the larger symbol); all
seized collateral is sold into its main pool for USDC, each sold asset's oracle is set to its pool's new price,
and the next round starts, until none is left. With Morpho Blue too, a round follows the system model: Aave and
then Morpho liquidate at the round's prices, then everything both seized is sold (one sale per asset), then the
oracles follow. On v3.3+ a call the pool rejects (``MustNotLeaveDust``) leaves the account for the next round,
and the cascade ends when a round liquidates nothing; the deficits the pool creates (``DeficitCreated``) are
recorded per round. The liquidator is its own address, never a borrower (v3.4 refuses self-liquidation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.chain.abi import AbiEvent, AbiFunction
from monitor.devnet.aave_deploy import POOL, aave
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.market import (
    balance_of,
    fund,
    oracle_price,
    pool_price_8dec,
    set_oracle_to_pool,
    slot0,
    swap_exact_in,
    target_sqrt_price,
)
from monitor.devnet.morpho_liquidator import MorphoRoundReport, liquidate_morpho_round, prepare_morpho_liquidator
from monitor.devnet.population import account_data
from monitor.devnet.rpc import MAX_UINT, DevRpc
from monitor.devnet.spec import FEED_UNIT
from monitor.errors import DevnetError

log = logging.getLogger(__name__)
WAD = 10**18
QUOTE = "USDC"
#: Aave v3.3+ (IPool): the debt burned when a liquidation leaves an account without collateral.
DEFICIT_CREATED = AbiEvent(
    "DeficitCreated", (("user", "address", True), ("debtAsset", "address", True), ("amountCreated", "uint256", False))
)
GET_RESERVE_DEFICIT = AbiFunction("getReserveDeficit", ("address",), ("uint256",))


@dataclass
class RoundReport:
    """One liquidation round on chain."""

    round: int
    accounts_liquidated: int
    debt_repaid_usd: float
    reverted: int
    collateral_seized: dict[str, int] = field(default_factory=dict)  # symbol -> token units
    oracle_prices_usd: dict[str, float] = field(default_factory=dict)  # after the round's sales
    morpho: MorphoRoundReport | None = None  # the round's Morpho Blue liquidations, after Aave's
    liquidated: list[str] = field(default_factory=list)  # borrowers of the successful liquidationCalls
    deficit: dict[str, int] = field(default_factory=dict)  # symbol -> token units burned into deficits (v3.3+)
    deficit_usd: dict[str, float] = field(default_factory=dict)  # the same at the round's oracle prices


@dataclass
class CrashReport:
    """An on-chain crash and, with the liquidator, its cascade."""

    symbol: str
    drop: float
    pool_price_before: int  # USD, 8 decimals
    pool_price_after_shock: int
    oracle_price_before: int
    oracle_price_after_shock: int
    rounds: list[RoundReport] = field(default_factory=list)
    final_prices_usd: dict[str, float] = field(default_factory=dict)
    debt_repaid_usd: float = 0.0
    bad_debt_usd: float = 0.0
    bad_debt_accounts: int = 0
    morpho_bad_debt_usd: float = 0.0  # realised by Morpho liquidations: lost by its lenders
    deficit_usd: float = 0.0  # v3.3+: debt burned into reserve deficits (DeficitCreated, at each round's prices)
    deficit_usd_by_reserve: dict[str, float] = field(default_factory=dict)  # symbol -> USD


def crash(
    rpc: DevRpc,
    dep: Deployment,
    symbol: str,
    drop: float,
    *,
    liquidate: bool = False,
    max_rounds: int = 50,
    progress: Callable[[RoundReport], None] | None = None,
    morpho: bool = False,
    aave: bool = True,
    min_profit_usd: float = 0.0,
) -> CrashReport:
    """Sell ``symbol`` into its main pool until its price is down by ``drop``; set the oracle; optionally cascade.

    With ``morpho`` the cascade also liquidates the devnet's Morpho Blue markets each round (after Aave's); without
    ``aave`` it liquidates only those (a Morpho cascade alone). With ``min_profit_usd`` the liquidator skips Aave
    calls that would gain less (gas plus minimum profit, :func:`liquidate_round`).
    """
    if not 0.0 < drop < 1.0:
        raise DevnetError(f"--drop must be between 0 and 1 (a share of the price), got {drop}")
    token = dep.token(symbol)
    if token.symbol == QUOTE:
        raise DevnetError(f"{QUOTE} is the quote asset of every pool; crash another asset")
    pool = dep.main_pool(token.symbol)
    sqrt_before, _ = slot0(rpc, pool)
    report = CrashReport(
        symbol=token.symbol,
        drop=drop,
        pool_price_before=pool_price_8dec(dep, pool, sqrt_before),
        pool_price_after_shock=0,
        oracle_price_before=oracle_price(rpc, dep, token.symbol),
        oracle_price_after_shock=0,
    )
    fund(rpc, dep, dep.seller, token.symbol, 10 ** (token.decimals + 15), dep.swap_router)
    limit = target_sqrt_price(dep, pool, sqrt_before, drop)
    swap_exact_in(rpc, dep, dep.seller, pool, token.symbol, 10 ** (token.decimals + 15), limit)
    report.oracle_price_after_shock = set_oracle_to_pool(rpc, dep, token.symbol)
    report.pool_price_after_shock = report.oracle_price_after_shock
    if liquidate:
        report.rounds = run_liquidator(rpc, dep, max_rounds=max_rounds, progress=progress, morpho=morpho, aave=aave,
                                       min_profit_usd=min_profit_usd)  # fmt: skip
        report.debt_repaid_usd = sum(r.debt_repaid_usd for r in report.rounds)
        report.morpho_bad_debt_usd = sum(r.morpho.bad_debt_usd for r in report.rounds if r.morpho)
        for r in report.rounds:
            for sym, usd in r.deficit_usd.items():
                report.deficit_usd_by_reserve[sym] = report.deficit_usd_by_reserve.get(sym, 0.0) + usd
        report.deficit_usd = sum(report.deficit_usd_by_reserve.values())
    report.final_prices_usd = {t.symbol: oracle_price(rpc, dep, t.symbol) / FEED_UNIT for t in dep.tokens.values()}
    report.bad_debt_usd, report.bad_debt_accounts = bad_debt(rpc, dep)
    return report


def bad_debt(rpc: DevRpc, dep: Deployment) -> tuple[float, int]:
    """Debt (USD) of accounts with no collateral left, and how many there are."""
    rows = account_data(rpc, dep, dep.borrowers)
    stuck = [r for r in rows if r[0] == 0 and r[1] > 0]
    return sum(r[1] for r in stuck) / FEED_UNIT, len(stuck)


def run_liquidator(
    rpc: DevRpc,
    dep: Deployment,
    *,
    max_rounds: int = 50,
    progress: Callable[[RoundReport], None] | None = None,
    morpho: bool = False,
    aave: bool = True,
    min_profit_usd: float = 0.0,
) -> list[RoundReport]:
    """Liquidation rounds until no account with collateral has HF < 1 (or ``max_rounds``); Aave only unless
    ``morpho`` (then every unhealthy Morpho Blue position too; without ``aave`` those alone)."""
    morpho = morpho and dep.morpho is not None
    if dep.liquidator.lower() in {b.lower() for b in dep.borrowers}:
        raise DevnetError("the liquidator is a borrower: Aave v3.4+ refuses self-liquidation")
    _prepare_liquidator(rpc, dep)
    if morpho:
        prepare_morpho_liquidator(rpc, dep)
    rounds: list[RoundReport] = []
    for n in range(1, max_rounds + 1):
        # Branch: with Morpho every market liquidates at the round's prices before anything is sold
        report = liquidate_round(rpc, dep, n, sell=not morpho, min_profit_usd=min_profit_usd) if aave else None
        morpho_round = liquidate_morpho_round(rpc, dep, sell=False) if morpho else None
        if report is None and morpho_round is None:
            break
        if report is None:
            report = RoundReport(round=n, accounts_liquidated=0, debt_repaid_usd=0.0, reverted=0)
        report.morpho = morpho_round
        if morpho:
            seized = dict(report.collateral_seized)
            for sym, amount in (morpho_round.collateral_seized if morpho_round else {}).items():
                seized[sym] = seized.get(sym, 0) + amount
            sell_seized(rpc, dep, seized)
            report.oracle_prices_usd = {s: oracle_price(rpc, dep, s) / FEED_UNIT for s in dep.tokens}
        rounds.append(report)
        if progress:
            progress(report)
    return rounds


def _prepare_liquidator(rpc: DevRpc, dep: Deployment) -> None:
    erc20 = own_artifact("TestERC20").abi
    txs = []
    for t in dep.tokens.values():
        txs.append((dep.liquidator, t.address, erc20.fn("mint").encode(dep.liquidator, 10 ** (t.decimals + 15))))
        txs.append((dep.liquidator, t.address, erc20.fn("approve").encode(dep.pool, MAX_UINT)))
        txs.append((dep.liquidator, t.address, erc20.fn("approve").encode(dep.swap_router, MAX_UINT)))
    rpc.send_many(txs)


def sell_seized(rpc: DevRpc, dep: Deployment, seized: dict[str, int]) -> None:
    """Sell each seized asset (token units) into its main pool for USDC in one swap; set its oracle to the pool."""
    for s, amount in seized.items():
        if s == QUOTE or amount <= 0:
            continue
        swap_exact_in(rpc, dep, dep.liquidator, dep.main_pool(s), s, amount)
        set_oracle_to_pool(rpc, dep, s)


def liquidate_round(
    rpc: DevRpc, dep: Deployment, number: int, *, sell: bool = True, min_profit_usd: float = 0.0
) -> RoundReport | None:
    """Liquidate every liquidatable account once; unless ``sell`` is off, sell what was seized and move oracles.
    With ``min_profit_usd`` only the calls whose collateral received minus debt repaid (at the round's oracle
    prices, measured by sending every call in a snapshot that is then reverted) reaches it; None when nothing
    to do (or nothing worth doing)."""
    users = dep.borrowers
    rows = account_data(rpc, dep, users)
    targets = [u for u, r in zip(users, rows, strict=True) if r[1] > 0 and r[0] > 0 and r[5] < WAD]
    if not targets:
        return None
    symbols = list(dep.tokens)
    prices = {s: oracle_price(rpc, dep, s) for s in symbols}
    lens = own_artifact("AaveLens").abi
    tokens = [dep.tokens[s].a_token for s in symbols] + [dep.tokens[s].variable_debt_token for s in symbols]
    flat = lens.fn("balances").decode(rpc.eth_call(dep.lens, lens.fn("balances").encode(tokens, targets)))[0]
    configs = lens.fn("userStates").decode(rpc.eth_call(dep.lens, lens.fn("userStates").encode(dep.pool, targets)))[0]
    reserve_ids = _reserve_ids(rpc, dep)
    pool_abi = aave(POOL).abi
    before = {s: balance_of(rpc, dep, s, dep.liquidator) for s in symbols}
    txs = []
    tx_users: list[str] = []
    width = len(tokens)
    for i, user in enumerate(targets):
        row = flat[i * width : (i + 1) * width]
        cfg = configs[i]

        def usd(s: str, amount: int) -> int:
            return int(amount * prices[s] // 10 ** dep.tokens[s].decimals)

        coll = [
            (usd(s, row[k]), s) for k, s in enumerate(symbols) if row[k] > 0 and cfg >> (2 * reserve_ids[s] + 1) & 1
        ]
        debt = [(usd(s, row[len(symbols) + k]), s) for k, s in enumerate(symbols) if row[len(symbols) + k] > 0]
        if not coll or not debt:
            continue
        c_sym, d_sym = max(coll)[1], max(debt)[1]
        data = pool_abi.fn("liquidationCall").encode(
            dep.tokens[c_sym].address, dep.tokens[d_sym].address, user, MAX_UINT, False
        )
        txs.append((dep.liquidator, dep.pool, data))
        tx_users.append(user)
    if min_profit_usd > 0 and txs:
        keep = _worth_it(rpc, dep, txs, prices, min_profit_usd)
        txs = [t for t, k in zip(txs, keep, strict=True) if k]
        tx_users = [u for u, k in zip(tx_users, keep, strict=True) if k]
        if not txs:
            return None  # Branch: no call pays for itself: the liquidatable accounts left are dust
    hashes: list[str] = []
    for start in range(0, len(txs), 200):  # anvil builds receipts of very large blocks slowly
        hashes += rpc.send_many(txs[start : start + 200], gas=2_000_000, check=False)
    receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
    event = pool_abi.event("LiquidationCall")
    repaid_usd = 0.0
    ok = 0
    by_address = {t.address: s for s, t in dep.tokens.items()}
    deficit: dict[str, int] = {}
    liquidated: list[str] = []
    for rc, user in zip(receipts, tx_users, strict=True):
        if rc is None or rc["status"] != "0x1":
            continue
        ok += 1
        liquidated.append(user)
        repaid_usd += _repaid_usd(rc, event, dep.pool, by_address, prices, dep)
        for sym, amount in _deficits(rc, dep.pool, by_address):
            deficit[sym] = deficit.get(sym, 0) + amount
    seized = {s: balance_of(rpc, dep, s, dep.liquidator) - before[s] for s in symbols}
    report = RoundReport(
        round=number,
        accounts_liquidated=ok,
        debt_repaid_usd=repaid_usd,
        reverted=len(hashes) - ok,
        collateral_seized={s: v for s, v in seized.items() if v > 0},
        deficit=deficit,
        deficit_usd={s: v * prices[s] / 10 ** dep.tokens[s].decimals / FEED_UNIT for s, v in deficit.items()},
        liquidated=liquidated,
    )
    if sell:
        sell_seized(rpc, dep, report.collateral_seized)
    report.oracle_prices_usd = {s: oracle_price(rpc, dep, s) / FEED_UNIT for s in symbols}
    log.info(
        "round %d: %d liquidated (%d reverted), $%.0f repaid",
        number,
        ok,
        report.reverted,
        report.debt_repaid_usd,
    )
    if ok == 0 and dep.aave_version != "v3.0":
        return None  # v3.3+: the pool rejected every call (dust rule): nothing more it will liquidate
    if ok == 0:
        raise DevnetError(f"round {number}: every liquidation reverted; first tx {hashes[0] if hashes else '-'}")
    return report


def _worth_it(
    rpc: DevRpc, dep: Deployment, txs: list[tuple[str, str, str]], prices: dict[str, int], min_profit_usd: float
) -> list[bool]:
    """Per ``liquidationCall``: whether its profit (collateral received - debt repaid, oracle prices) reaches
    ``min_profit_usd``, measured by sending them all in a snapshot reverted afterwards (a reverting call: True, it
    reverts again). The liquidator's balances check the events' amounts (received = ``liquidatedCollateralAmount``,
    the protocol fee excluded)."""
    event = aave(POOL).abi.event("LiquidationCall")
    by_address = {t.address: s for s, t in dep.tokens.items()}
    snap = rpc.snapshot()
    try:
        before = {s: balance_of(rpc, dep, s, dep.liquidator) for s in dep.tokens}
        hashes: list[str] = []
        for start in range(0, len(txs), 200):
            hashes += rpc.send_many(txs[start : start + 200], gas=2_000_000, check=False)
        receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        net = {s: balance_of(rpc, dep, s, dep.liquidator) - before[s] for s in dep.tokens}
    finally:
        rpc.revert(snap)
    keep = []
    for rc in receipts:
        if rc is None or rc["status"] != "0x1":
            keep.append(True)
            continue
        profit = 0.0
        for lg in rc["logs"]:
            if lg["address"].lower() != dep.pool or lg["topics"][0] != event.topic0:
                continue
            ev = event.decode(lg["topics"], lg["data"])
            c_sym, d_sym = by_address[ev["collateralAsset"].lower()], by_address[ev["debtAsset"].lower()]
            got, paid = int(ev["liquidatedCollateralAmount"]), int(ev["debtToCover"])
            net[c_sym] -= got
            net[d_sym] += paid
            profit += got * prices[c_sym] / 10 ** dep.tokens[c_sym].decimals / FEED_UNIT
            profit -= paid * prices[d_sym] / 10 ** dep.tokens[d_sym].decimals / FEED_UNIT
        keep.append(profit >= min_profit_usd)
    if any(net.values()):
        raise DevnetError(f"liquidator balances disagree with the LiquidationCall events: {net}")
    return keep


def _repaid_usd(
    receipt: dict[str, object],
    event: AbiEvent,
    pool: str,
    by_address: dict[str, str],
    prices: dict[str, int],
    dep: Deployment,
) -> float:
    total = 0.0
    logs = receipt.get("logs")
    assert isinstance(logs, list)
    for lg in logs:
        if lg["address"].lower() != pool or lg["topics"][0] != event.topic0:
            continue
        ev = event.decode(lg["topics"], lg["data"])
        sym = by_address[ev["debtAsset"].lower()]
        total += ev["debtToCover"] * prices[sym] / 10 ** dep.tokens[sym].decimals / FEED_UNIT
    return total


def _deficits(receipt: dict[str, object], pool: str, by_address: dict[str, str]) -> list[tuple[str, int]]:
    """``(debt symbol, amount)`` of the ``DeficitCreated`` logs of one receipt."""
    out = []
    logs = receipt.get("logs")
    assert isinstance(logs, list)
    for lg in logs:
        if lg["address"].lower() != pool or lg["topics"][0] != DEFICIT_CREATED.topic0:
            continue
        ev = DEFICIT_CREATED.decode(lg["topics"], lg["data"])
        out.append((by_address[ev["debtAsset"].lower()], int(ev["amountCreated"])))
    return out


def reserve_deficits(rpc: DevRpc, dep: Deployment) -> dict[str, int]:
    """``getReserveDeficit`` of every reserve (token units; v3.3+ pools)."""
    return {s: int(rpc.read(dep.pool, GET_RESERVE_DEFICIT, t.address)[0]) for s, t in dep.tokens.items()}


def _reserve_ids(rpc: DevRpc, dep: Deployment) -> dict[str, int]:
    reserves = rpc.read(dep.pool, aave(POOL).abi.fn("getReservesList"))[0]
    by_address = {t.address: s for s, t in dep.tokens.items()}
    return {by_address[a.lower()]: i for i, a in enumerate(reserves)}
