"""Generate a borrower population on the devnet: N accounts from a seed with a target health-factor mix.

The plan (who supplies what, who borrows what) is computed off-chain with the market's own integer rules
(Aave v3.0 or v3.6) so every account lands on its target health factor; then it is executed in few transactions:
the Populator contract supplies on behalf of hundreds of accounts per transaction, then makes hundreds of
accounts act themselves (e-mode, borrows; ``msg.sender`` is the account) per transaction while each account
holds a small forwarding contract (anvil_setCode, removed afterwards). Calldata is encoded directly, blocks are
mined with automine off, and the health factors read back are the check (receipts only when one misses).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from eth_utils.crypto import keccak

from monitor.devnet.aave_deploy import POOL, aave, set_ltv
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.rpc import DevRpc, hex_int
from monitor.devnet.spec import DEFAULT_MARKET, MarketSpec
from monitor.errors import DevnetError

log = logging.getLogger(__name__)

WAD = 10**18
PERCENTAGE_FACTOR = 10_000
VARIABLE_RATE = 2
SUPPLIES_PER_TX = 400
ACTS_PER_TX = 400  # e-mode and borrow calls per Populator.actAs transaction


@dataclass(frozen=True)
class PopulationSpec:
    """How the generated borrowers look."""

    borrowers: int
    seed: int = 1
    cluster_share: float = 0.2  # share of accounts in the cluster just above HF 1
    cluster_range: tuple[float, float] = (1.003, 1.08)
    hf_median: float = 1.7  # lognormal body of the distribution
    hf_sigma: float = 0.35
    hf_max: float = 8.0
    multi_collateral_share: float = 0.3
    multi_debt_share: float = 0.25
    emode_share: float = 0.1
    size_median_usd: float = 10_000.0  # collateral value, lognormal
    size_sigma: float = 1.3
    size_max_usd: float = 5_000_000.0


@dataclass
class BorrowerPlan:
    """One generated account: what it supplies and borrows (token units) and the health factor it gets."""

    address: str
    emode: int
    collateral: dict[str, int] = field(default_factory=dict)
    debt: dict[str, int] = field(default_factory=dict)
    target_hf: float = 0.0
    expected_hf_wad: int = 0


def borrower_address(seed: int, index: int) -> str:
    """Deterministic account address for (seed, index)."""
    return "0x" + keccak(f"cascade-devnet-borrower:{seed}:{index}".encode())[-20:].hex()


def _pick(rng: random.Random, weights: dict[str, float], exclude: set[str]) -> str:
    items = [(k, w) for k, w in weights.items() if k not in exclude]
    return rng.choices([k for k, _ in items], [w for _, w in items])[0]


COLLATERAL_WEIGHTS = {"WETH": 0.5, "WBTC": 0.25, "LINK": 0.1, "USDC": 0.1, "DAI": 0.05}
DEBT_WEIGHTS = {"USDC": 0.55, "DAI": 0.3, "WETH": 0.15}


def plan_population(spec: PopulationSpec, market: MarketSpec = DEFAULT_MARKET) -> list[BorrowerPlan]:
    """The population's positions, pure and deterministic for a seed."""
    rng = random.Random(spec.seed)
    prices = {a.symbol: round(a.price_usd * 10**8) for a in market.assets}
    plans: list[BorrowerPlan] = []
    for i in range(spec.borrowers):
        # -- target health factor: a cluster just above 1 plus a lognormal body
        if rng.random() < spec.cluster_share:
            hf = rng.uniform(*spec.cluster_range)
        else:
            hf = min(max(rng.lognormvariate(math.log(spec.hf_median), spec.hf_sigma), 1.1), spec.hf_max)
        size = min(rng.lognormvariate(math.log(spec.size_median_usd), spec.size_sigma), spec.size_max_usd)
        size = max(size, 200.0)
        plan = BorrowerPlan(address=borrower_address(spec.seed, i), emode=0, target_hf=hf)
        # -- which assets
        in_emode = rng.random() < spec.emode_share
        if in_emode and market.aave == "v3.0":
            plan.emode = 1
            coll = [rng.choice(["USDC", "DAI"])]
            debts = ["DAI" if coll[0] == "USDC" else "USDC"]
        elif in_emode and market.emodes:  # liquid e-mode (v3.2+): the category's sets
            cat = rng.choice(market.emodes)
            plan.emode = cat.category_id
            coll = [rng.choice(cat.collateral)]
            others = [c for c in cat.collateral if c not in coll]
            if rng.random() < spec.multi_collateral_share and others and set(cat.borrowable) - {*coll, *others}:
                coll.append(rng.choice(others))
            loans = [b for b in cat.borrowable if b not in coll]
            debts = [rng.choice(loans)]
            if rng.random() < spec.multi_debt_share and len(loans) > 1:
                debts.append(rng.choice([b for b in loans if b not in debts]))
        else:
            coll = [_pick(rng, COLLATERAL_WEIGHTS, set())]
            if rng.random() < spec.multi_collateral_share:
                coll.append(_pick(rng, COLLATERAL_WEIGHTS, set(coll)))
            debts = [_pick(rng, DEBT_WEIGHTS, set(coll))]
            if rng.random() < spec.multi_debt_share and len(set(DEBT_WEIGHTS) - set(coll) - set(debts)) > 0:
                debts.append(_pick(rng, DEBT_WEIGHTS, set(coll) | set(debts)))
        # -- collateral amounts from value shares
        shares = [rng.uniform(0.3, 1.0) for _ in coll]
        for sym, share in zip(coll, shares, strict=True):
            a = market.asset(sym)
            plan.collateral[sym] = max(int(size * share / sum(shares) / a.price_usd * 10**a.decimals), 1)
        # -- debt sized to hit the target with Aave v3.0's integer maths
        total, weighted = 0, 0
        for sym, amount in plan.collateral.items():
            a = market.asset(sym)
            lt = market.emode_liquidation_threshold(plan.emode, sym)
            value = amount * prices[sym] // 10**a.decimals
            total += value
            weighted += value * lt
        avg_lt = weighted // total
        # v3.0 rounds the average threshold down first; v3.6 divides sum(value * LT) by the debt directly
        liquidation_base = total * avg_lt if market.aave == "v3.0" else weighted
        debt_base = int(liquidation_base / PERCENTAGE_FACTOR / hf)
        dshares = [rng.uniform(0.3, 1.0) for _ in debts]
        for sym, share in zip(debts, dshares, strict=True):
            a = market.asset(sym)
            part = debt_base * share / sum(dshares)
            plan.debt[sym] = max(int(part * 10**a.decimals // prices[sym]), 1)
        debt_value = sum(plan.debt[s] * prices[s] // 10 ** market.asset(s).decimals for s in plan.debt)
        if market.aave == "v3.0":
            adjusted = (total * avg_lt + PERCENTAGE_FACTOR // 2) // PERCENTAGE_FACTOR
            plan.expected_hf_wad = (adjusted * WAD + debt_value // 2) // debt_value
        else:  # debt values round up on v3.6; the target check tolerates that
            plan.expected_hf_wad = (weighted * WAD + debt_value // 2) // debt_value // PERCENTAGE_FACTOR
        plans.append(plan)
    return plans


def populate(
    rpc: DevRpc,
    dep: Deployment,
    spec: PopulationSpec,
    market: MarketSpec = DEFAULT_MARKET,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[BorrowerPlan]:
    """Create the population on chain; returns the plans (targets) in account order."""
    t0 = time.monotonic()
    plans = plan_population(spec, market)
    say = progress or (lambda stage, done, total: None)

    set_ltv(rpc, dep, market, equal_to_lt=True)  # lets accounts open positions right above HF 1

    # 1. collateral, supplied on behalf of the accounts by the Populator contract
    supplies = [(dep.tokens[s].address, amt, p.address) for p in plans for s, amt in p.collateral.items()]
    txs = [
        (dep.deployer, dep.populator, supply_for_calldata(dep.pool, supplies[start : start + SUPPLIES_PER_TX]))
        for start in range(0, len(supplies), SUPPLIES_PER_TX)
    ]
    supply_hashes = _send_chunked(
        rpc, txs, per_block=8, gas=SUPPLIES_PER_TX * 400_000, progress=lambda d, n: say("supply", d, n)
    )

    # 2. accounts act for themselves (e-mode, then each borrow, in account order): each account holds the
    # PopulatorAccount code meanwhile, so the Populator makes hundreds of them act in one transaction
    rpc.call("anvil_autoImpersonateAccount", True)  # left on: callers send from the accounts afterwards
    rpc.batch([("anvil_setBalance", [p.address, hex_int(10**19)]) for p in plans])
    account_code = own_artifact("PopulatorAccount").deployed_bytecode
    rpc.batch([("anvil_setCode", [p.address, account_code]) for p in plans])
    acts: list[tuple[str, bytes]] = []
    for p in plans:
        if p.emode:
            acts.append((p.address, set_user_emode_calldata(p.emode)))
        for sym, amt in p.debt.items():
            acts.append((p.address, borrow_calldata(dep.tokens[sym].address, amt, p.address)))
    txs = [
        (dep.deployer, dep.populator, act_as_calldata(dep.pool, acts[start : start + ACTS_PER_TX]))
        for start in range(0, len(acts), ACTS_PER_TX)
    ]
    act_hashes = _send_chunked(
        rpc, txs, per_block=8, gas=ACTS_PER_TX * 400_000, progress=lambda d, n: say("borrow", d, n)
    )
    rpc.batch([("anvil_setCode", [p.address, "0x"]) for p in plans])  # plain accounts again
    set_ltv(rpc, dep, market, equal_to_lt=False)
    bad = [p.address for p, hf in zip(plans, account_health_factors(rpc, dep, plans), strict=True) if not _near(hf, p)]
    if bad:
        rpc.wait(supply_hashes + act_hashes)  # finds the reverted transaction and its reason
        raise DevnetError(f"{len(bad)} generated account(s) missed their health factor, first {bad[0]}")
    dep.borrowers.extend(p.address for p in plans)
    dt = time.monotonic() - t0
    log.info("populated %d borrowers in %.1f s (%.0f borrowers/s)", len(plans), dt, len(plans) / max(dt, 1e-9))
    return plans


# -- calldata of the population's calls, encoded directly: eth_abi took a tenth of the populate time --------------
def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address.removeprefix("0x"))
    if len(raw) != 20:
        raise DevnetError(f"not an address: {address!r}")
    return bytes(12) + raw


@cache
def _selector(contract: str, name: str) -> bytes:
    """A function's selector from the Aave Pool's or our own contract's ABI (read once, after compilation)."""
    abi = aave(POOL).abi if contract == "Pool" else own_artifact(contract).abi
    return abi.fn(name).selector


def set_user_emode_calldata(category: int) -> bytes:
    """``Pool.setUserEMode(category)``."""
    return _selector("Pool", "setUserEMode") + _word(category)


def borrow_calldata(asset: str, amount: int, on_behalf_of: str) -> bytes:
    """``Pool.borrow(asset, amount, VARIABLE_RATE, 0, on_behalf_of)``."""
    return (
        _selector("Pool", "borrow")
        + _address_word(asset)
        + _word(amount)
        + _word(VARIABLE_RATE)
        + _word(0)
        + _address_word(on_behalf_of)
    )


def supply_for_calldata(pool: str, supplies: Sequence[tuple[str, int, str]]) -> str:
    """``Populator.supplyFor(pool, assets, amounts, accounts)`` of (asset, amount, account) triples, 0x-hex."""
    n = len(supplies)
    head = _address_word(pool) + _word(0x80) + _word(0x80 + 32 * (n + 1)) + _word(0x80 + 64 * (n + 1))
    assets = b"".join(_address_word(a) for a, _, _ in supplies)
    amounts = b"".join(_word(x) for _, x, _ in supplies)
    accounts = b"".join(_address_word(u) for _, _, u in supplies)
    return (
        "0x"
        + (
            _selector("Populator", "supplyFor") + head + _word(n) + assets + _word(n) + amounts + _word(n) + accounts
        ).hex()
    )


def act_as_calldata(target: str, acts: Sequence[tuple[str, bytes]]) -> str:
    """``Populator.actAs(target, accounts, calls)`` of (account, call data) pairs, 0x-hex."""
    n = len(acts)
    accounts = _word(n) + b"".join(_address_word(a) for a, _ in acts)
    offsets, bodies, at = [], [], 32 * n  # offsets count from the first offset word
    for _, data in acts:
        body = _word(len(data)) + data + bytes(-len(data) % 32)
        offsets.append(_word(at))
        bodies.append(body)
        at += len(body)
    calls = _word(n) + b"".join(offsets) + b"".join(bodies)
    head = _address_word(target) + _word(0x60) + _word(0x60 + len(accounts))
    return "0x" + (_selector("Populator", "actAs") + head + accounts + calls).hex()


def _send_chunked(
    rpc: DevRpc,
    txs: Sequence[tuple[str, str | None, str]],
    *,
    per_block: int,
    gas: int,
    progress: Callable[[int, int], None],
) -> list[str]:
    """Send with automine off, one mined block per chunk; returns the hashes (receipts unchecked)."""
    hashes: list[str] = []
    for start in range(0, len(txs), per_block):
        hashes += rpc.send_many(txs[start : start + per_block], gas=gas, check=False)
        progress(min(start + per_block, len(txs)), len(txs))
    return hashes


def _near(hf_wad: int, plan: BorrowerPlan) -> bool:
    # interest accrues between the borrow and the read: a few seconds at most, far below 1e-6
    return abs(hf_wad / WAD / plan.target_hf - 1) < 1e-6


def account_health_factors(
    rpc: DevRpc, dep: Deployment, plans: list[BorrowerPlan], block: int | str = "latest", chunk: int = 1_000
) -> list[int]:
    """getUserAccountData(...).healthFactor of each planned account, read through the AaveLens in chunks."""
    return [row[5] for row in account_data(rpc, dep, [p.address for p in plans], block, chunk)]


def account_data(
    rpc: DevRpc, dep: Deployment, users: list[str], block: int | str = "latest", chunk: int = 1_000
) -> list[tuple[int, int, int, int, int, int]]:
    """getUserAccountData of many users (collateral, debt, available, LT, LTV, HF) via the AaveLens."""
    fn = own_artifact("AaveLens").abi.fn("accountData")
    calls = [("eth_call", [{"to": dep.lens, "data": fn.encode(dep.pool, users[i : i + chunk])},
                           hex_int(block) if isinstance(block, int) else block])
             for i in range(0, len(users), chunk)]  # fmt: skip
    out: list[tuple[int, int, int, int, int, int]] = []
    for raw in rpc.batch(calls, chunk=8):
        flat = fn.decode(raw)[0]
        out += [
            (flat[j], flat[j + 1], flat[j + 2], flat[j + 3], flat[j + 4], flat[j + 5]) for j in range(0, len(flat), 6)
        ]
    return out
