"""Morpho Blue borrowers on the devnet: per market, N accounts from a seed with a target health-factor mix.

Each market gets a lender (the whale) supplying the loan token so that utilisation lands near
``target_utilisation``, and borrowers whose debt is sized off chain with Morpho's own integer maths against the
live oracle price: a cluster just above the liquidation line, a lognormal body, a few far away. Collateral is
supplied on behalf of hundreds of accounts per transaction by ``MorphoPopulator``; each borrower (impersonated)
sends its own ``borrow``, in JSON-RPC batches with automine off.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass

from eth_utils.crypto import keccak

from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_deployment import MorphoMarketInfo
from monitor.devnet.population import PopulationSpec
from monitor.devnet.rpc import MAX_UINT, DevRpc, hex_int
from monitor.devnet.spec import FEED_UNIT
from monitor.errors import DevnetError
from monitor.protocols.morpho_blue.health import max_borrow
from monitor.protocols.morpho_blue.params import Position
from monitor.protocols.morpho_blue.reads import LENS_POSITIONS, MORPHO_LENS_ADDRESS, ORACLE_PRICE, id_bytes

log = logging.getLogger(__name__)

SUPPLIES_PER_TX = 300
BORROWS_PER_BLOCK = 300


@dataclass(frozen=True)
class MorphoPopulationSpec:
    """How the generated Morpho borrowers look (per market)."""

    borrowers_per_market: int
    seed: int = 1
    cluster_share: float = 0.25  # share just above the liquidation line
    cluster_range: tuple[float, float] = (1.003, 1.06)
    hf_median: float = 1.5
    hf_sigma: float = 0.3
    hf_max: float = 6.0
    size_median_usd: float = 20_000.0  # collateral value, lognormal
    size_sigma: float = 1.2
    size_max_usd: float = 3_000_000.0
    target_utilisation: float = 0.8


@dataclass(frozen=True)
class MorphoBorrowerPlan:
    """One generated borrower of one market."""

    market_id: str
    address: str
    collateral: int  # collateral-token units
    borrow_assets: int  # loan-token units
    target_hf: float


def morpho_borrower_address(seed: int, market: str, index: int) -> str:
    """Deterministic account address for (seed, market name, index)."""
    return "0x" + keccak(f"cascade-devnet-morpho-borrower:{seed}:{market}:{index}".encode())[-20:].hex()


def plan_market(
    spec: MorphoPopulationSpec, market: MorphoMarketInfo, price: int, collateral_decimals: int, collateral_usd: float
) -> list[MorphoBorrowerPlan]:
    """A market's borrowers, pure and deterministic for (seed, market name, price)."""
    rng = random.Random(f"{spec.seed}:{market.name}")
    plans = []
    for i in range(spec.borrowers_per_market):
        if rng.random() < spec.cluster_share:
            hf = rng.uniform(*spec.cluster_range)
        else:
            hf = min(max(rng.lognormvariate(math.log(spec.hf_median), spec.hf_sigma), 1.08), spec.hf_max)
        size = min(max(rng.lognormvariate(math.log(spec.size_median_usd), spec.size_sigma), 500.0), spec.size_max_usd)
        collateral = max(int(size / collateral_usd * 10**collateral_decimals), 1)
        borrow = int(max_borrow(collateral, price, market.lltv) / hf)
        if borrow <= 0:
            continue
        plans.append(
            MorphoBorrowerPlan(market.market_id, morpho_borrower_address(spec.seed, market.name, i), collateral,
                               borrow, hf)
        )  # fmt: skip
    return plans


def populate_morpho(rpc: DevRpc, dep: Deployment, spec: MorphoPopulationSpec) -> list[MorphoBorrowerPlan]:
    """Create lenders and borrowers on every devnet Morpho market; returns the plans in order."""
    if dep.morpho is None:
        raise DevnetError("this devnet has no Morpho Blue deployment")
    info = dep.morpho
    t0 = time.monotonic()
    plans: list[MorphoBorrowerPlan] = []
    for m in info.markets:
        price = int(ORACLE_PRICE.decode(rpc.eth_call(m.oracle, ORACLE_PRICE.encode()))[0])
        coll = dep.token(m.collateral)
        usd = int(rpc.read(coll.feed, own_artifact("PriceFeed").abi.fn("latestAnswer"))[0]) / FEED_UNIT
        plans += plan_market(spec, m, price, coll.decimals, usd)
    if not plans:
        return plans
    abi = morpho_artifact().abi
    erc20 = own_artifact("TestERC20").abi
    by_id = {m.market_id: m for m in info.markets}

    # 1. the lender supplies each loan token to reach the target utilisation
    lend = []
    for m in info.markets:
        wanted = sum(p.borrow_assets for p in plans if p.market_id == m.market_id)
        amount = int(wanted / spec.target_utilisation) + 10 ** dep.token(m.loan).decimals
        lend += [
            (info.lender, m.loan_token, erc20.fn("mint").encode(info.lender, amount)),
            (info.lender, m.loan_token, erc20.fn("approve").encode(info.morpho, MAX_UINT)),
            (info.lender, info.morpho, abi.fn("supply").encode(m.params.as_tuple(), amount, 0, info.lender, b"")),
        ]
    rpc.send_many(lend)

    # 2. collateral, supplied on behalf of the borrowers by the MorphoPopulator
    populator = own_artifact("MorphoPopulator").abi
    txs = []
    for start in range(0, len(plans), SUPPLIES_PER_TX):
        part = plans[start : start + SUPPLIES_PER_TX]
        data = populator.fn("supplyCollateralFor").encode(
            info.morpho, [by_id[p.market_id].params.as_tuple() for p in part], [p.collateral for p in part],
            [p.address for p in part],
        )  # fmt: skip
        txs.append((dep.deployer, info.populator, data))
    for start in range(0, len(txs), 4):
        rpc.send_many(txs[start : start + 4], gas=SUPPLIES_PER_TX * 250_000)

    # 3. every borrower borrows for itself (impersonated, funded for gas)
    rpc.call("anvil_autoImpersonateAccount", True)
    rpc.batch([("anvil_setBalance", [p.address, hex_int(10**19)]) for p in plans])
    own = [
        (p.address, info.morpho,
         abi.fn("borrow").encode(by_id[p.market_id].params.as_tuple(), p.borrow_assets, 0, p.address, p.address))
        for p in plans
    ]  # fmt: skip
    hashes: list[str] = []
    for start in range(0, len(own), BORROWS_PER_BLOCK):
        hashes += rpc.send_many(own[start : start + BORROWS_PER_BLOCK], gas=1_000_000, check=False)
    positions = read_positions(rpc, dep, [(p.market_id, p.address) for p in plans])
    if any(pos.borrow_shares == 0 for pos in positions):
        rpc.wait(hashes)  # names the reverted transaction and its reason
        raise DevnetError("a generated Morpho borrower has no borrow shares")
    for p in plans:
        info.borrowers[p.market_id].append(p.address)
    dt = time.monotonic() - t0
    log.info("populated %d Morpho borrowers in %.1f s", len(plans), dt)
    return plans


def read_positions(
    rpc: DevRpc, dep: Deployment, pairs: list[tuple[str, str]], block: int | str = "latest", chunk: int = 2_000
) -> list[Position]:
    """position(id, user) of many pairs through the MorphoLens injected by state override."""
    if dep.morpho is None:
        raise DevnetError("this devnet has no Morpho Blue deployment")
    override = {MORPHO_LENS_ADDRESS: {"code": own_artifact("MorphoLens").deployed_bytecode}}
    out: list[Position] = []
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        data = LENS_POSITIONS.encode(dep.morpho.morpho, [id_bytes(i) for i, _ in part], [u for _, u in part])
        flat = LENS_POSITIONS.decode(rpc.eth_call(MORPHO_LENS_ADDRESS, data, block, state_override=override))[0]
        out += [Position(int(flat[j]), int(flat[j + 1]), int(flat[j + 2])) for j in range(0, len(flat), 3)]
    return out


def population_for(aave_population: PopulationSpec) -> MorphoPopulationSpec:
    """The Morpho population that goes with an Aave one: a tenth of its borrowers per market, same seed."""
    return MorphoPopulationSpec(borrowers_per_market=aave_population.borrowers // 10, seed=aave_population.seed)
