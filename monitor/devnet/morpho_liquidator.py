"""The scripted Morpho Blue liquidator: one round of the default model on chain.

Every unhealthy position of every devnet market is liquidated as far as it can be through Morpho's real
``liquidate``: all borrow shares repaid when the collateral covers them with the incentive, otherwise all collateral
seized and the rest realised as bad debt. The round's liquidations are mined in one block whose timestamp is set
beforehand, so each call's arguments are computed exactly (interest accrued to that time, and the market totals
moved by the earlier liquidations of the block). The seized collateral is then sold into its main Uniswap pool and
the asset's price feed set to the pool's new price, as the Aave liquidator does (unless the caller sells it: the
cross-protocol cascade sells both protocols' seizures together).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.market import oracle_price, set_oracle_to_pool, swap_exact_in
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_deployment import MorphoDeployment, MorphoMarketInfo
from monitor.devnet.morpho_population import read_positions
from monitor.devnet.rpc import MAX_UINT, DevRpc, hex_int
from monitor.devnet.spec import FEED_UNIT
from monitor.errors import DataError, DevnetError
from monitor.protocols.morpho_blue.events import LIQUIDATE
from monitor.protocols.morpho_blue.health import is_healthy
from monitor.protocols.morpho_blue.interest import accrue
from monitor.protocols.morpho_blue.liquidation import full_liquidation, liquidate
from monitor.protocols.morpho_blue.params import MarketState
from monitor.protocols.morpho_blue.reads import BORROW_RATE_VIEW, MARKET, ORACLE_PRICE, id_bytes

log = logging.getLogger(__name__)
QUOTE = "USDC"


@dataclass
class MorphoRoundReport:
    """One round of Morpho liquidations on chain."""

    accounts_liquidated: int
    reverted: int
    debt_repaid_usd: float
    bad_debt_usd: float  # realised this round: what lenders lost
    bad_debt_by_market: dict[str, int] = field(default_factory=dict)  # market name -> loan-token units
    collateral_seized: dict[str, int] = field(default_factory=dict)  # symbol -> token units
    liquidated: list[tuple[str, str]] = field(default_factory=list)  # (market id, borrower) of successful calls


def prepare_morpho_liquidator(rpc: DevRpc, dep: Deployment) -> None:
    """Fund the liquidator with every loan token and approve Morpho."""
    info = _info(dep)
    erc20 = own_artifact("TestERC20").abi
    loans = sorted({m.loan_token for m in info.markets})
    rpc.send_many(
        [(dep.liquidator, t, erc20.fn("mint").encode(dep.liquidator, 10**36)) for t in loans]
        + [(dep.liquidator, t, erc20.fn("approve").encode(info.morpho, MAX_UINT)) for t in loans]
    )


def _info(dep: Deployment) -> MorphoDeployment:
    if dep.morpho is None:
        raise DevnetError("this devnet has no Morpho Blue deployment")
    return dep.morpho


def _market(rpc: DevRpc, info: MorphoDeployment, m: MorphoMarketInfo) -> tuple[MarketState, int, int]:
    state = MarketState(*(int(v) for v in rpc.read(info.morpho, MARKET, id_bytes(m.market_id))))
    price = int(rpc.read(m.oracle, ORACLE_PRICE)[0])
    rate_args = (state.total_supply_assets, state.total_supply_shares, state.total_borrow_assets,
                 state.total_borrow_shares, state.last_update, state.fee)  # fmt: skip
    rate = int(rpc.read(m.irm, BORROW_RATE_VIEW, m.params.as_tuple(), rate_args)[0])
    return state, price, rate


def liquidate_morpho_round(rpc: DevRpc, dep: Deployment, *, sell: bool = True) -> MorphoRoundReport | None:
    """Liquidate every unhealthy Morpho position once; unless ``sell`` is off, sell the collateral and move the
    feeds. None if no position is unhealthy."""
    info = _info(dep)
    abi = morpho_artifact().abi
    pairs = info.pairs()
    positions = dict(zip(pairs, read_positions(rpc, dep, pairs), strict=True))
    head = rpc.call("eth_getBlockByNumber", "latest", False)
    t = int(head["timestamp"], 16) + 1
    txs = []
    tx_positions: list[tuple[str, str]] = []
    expected_bad: dict[str, int] = {}
    for m in info.markets:
        stored, price, rate = _market(rpc, info, m)
        state = accrue(stored, rate, t)
        for (mid, user), pos in positions.items():
            if mid != m.market_id or pos.borrow_shares == 0 or is_healthy(pos, state, price, m.lltv):
                continue
            try:
                plan = full_liquidation(pos, state, price, m.lltv)
                result = liquidate(pos, state, price, m.lltv, seized_assets=plan.seized_assets,
                                   repaid_shares=plan.repaid_shares)  # fmt: skip
            except DataError as exc:
                log.warning("Morpho %s %s: no liquidation fits: %s", m.name, user, exc)
                continue
            state = result.market  # the next liquidation of this block sees the moved totals
            expected_bad[m.name] = expected_bad.get(m.name, 0) + result.bad_debt_assets
            data = abi.fn("liquidate").encode(m.params.as_tuple(), user, plan.seized_assets, plan.repaid_shares, b"")
            txs.append((dep.liquidator, info.morpho, data))
            tx_positions.append((mid, user))
    if not txs:
        return None
    rpc.call("evm_setNextBlockTimestamp", hex_int(t))
    hashes = rpc.send_many(txs, gas=1_000_000, check=False)
    receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
    by_id = {m.market_id: m for m in info.markets}
    prices = {s: oracle_price(rpc, dep, s) for s in dep.tokens}
    report = MorphoRoundReport(accounts_liquidated=0, reverted=0, debt_repaid_usd=0.0, bad_debt_usd=0.0)
    for rc, position in zip(receipts, tx_positions, strict=True):
        if rc is None or rc["status"] != "0x1":
            report.reverted += 1
            continue
        report.accounts_liquidated += 1
        report.liquidated.append(position)
        for lg in rc["logs"]:
            if lg["address"].lower() != info.morpho or lg["topics"][0] != LIQUIDATE.topic0:
                continue
            ev = LIQUIDATE.decode(lg["topics"], lg["data"])
            m = by_id["0x" + ev["id"].hex()]
            unit = 10 ** dep.token(m.loan).decimals
            report.debt_repaid_usd += ev["repaidAssets"] * prices[m.loan] / unit / FEED_UNIT
            report.bad_debt_usd += ev["badDebtAssets"] * prices[m.loan] / unit / FEED_UNIT
            report.bad_debt_by_market[m.name] = report.bad_debt_by_market.get(m.name, 0) + ev["badDebtAssets"]
            report.collateral_seized[m.collateral] = report.collateral_seized.get(m.collateral, 0) + ev["seizedAssets"]
    if report.accounts_liquidated == 0:
        raise DevnetError(f"every Morpho liquidation reverted; first tx {hashes[0]}: {rpc.revert_reason(hashes[0])}")
    if report.reverted == 0 and {k: v for k, v in report.bad_debt_by_market.items() if v} != {
        k: v for k, v in expected_bad.items() if v
    }:
        raise DevnetError(f"Morpho bad debt on chain {report.bad_debt_by_market} differs from computed {expected_bad}")
    if sell:
        for sym, amount in report.collateral_seized.items():
            if sym != QUOTE and amount > 0:
                swap_exact_in(rpc, dep, dep.liquidator, dep.main_pool(sym), sym, amount)
                set_oracle_to_pool(rpc, dep, sym)
    log.info("Morpho: %d liquidated (%d reverted), $%.0f repaid, $%.0f bad debt", report.accounts_liquidated,
             report.reverted, report.debt_repaid_usd, report.bad_debt_usd)  # fmt: skip
    return report
