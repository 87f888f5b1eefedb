"""Deploy Morpho Blue on the devnet next to the Aave market: same tokens, same price feeds, same Uniswap pools.

Morpho Blue itself is compiled from its npm sources (``morpho_compile``); the oracle (``MorphoOracle``: two of
our USD feeds -> Morpho's 1e36-scaled price), the kinked IRM (``MorphoIrm``) and the population helper
(``MorphoPopulator``) are our own contracts. The owner enables the IRM and every LLTV, then the markets are created.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_deployment import MorphoDeployment, MorphoMarketInfo
from monitor.devnet.rpc import DevRpc
from monitor.protocols.morpho_blue.params import MarketParams
from monitor.protocols.morpho_blue.shares import WAD

SECONDS_PER_YEAR = 365 * 86_400
FIRST_MARKET_FEE = 10**17  # 10% of the interest, minted as supply shares to the fee recipient


@dataclass(frozen=True)
class MorphoMarketSpec:
    """One market: collateral and loan symbols, LLTV in WAD."""

    collateral: str
    loan: str
    lltv: int

    @property
    def name(self) -> str:
        """e.g. ``WETH/USDC-86``, the LLTV in percent."""
        pct = f"{self.lltv * 100 / WAD:g}"
        return f"{self.collateral}/{self.loan}-{pct}"


# Morpho's usual LLTV tiers. LIF = min(1.15, 1/(1 - 0.3 (1 - LLTV))): 1.0438 at 86%, 1.0741 at 77%, 1.1268 at
# 62.5%; the 1.15 cap binds below about 56.5%, so the 38.5% market is the one where it does.
MORPHO_MARKETS: tuple[MorphoMarketSpec, ...] = (
    MorphoMarketSpec("WETH", "USDC", 860 * 10**15),
    MorphoMarketSpec("WBTC", "USDC", 860 * 10**15),
    MorphoMarketSpec("LINK", "USDC", 770 * 10**15),
    MorphoMarketSpec("WETH", "DAI", 625 * 10**15),
    MorphoMarketSpec("LINK", "DAI", 385 * 10**15),
)

# kinked IRM, yearly rates: 1% base, +4% up to 90% utilisation, +100% more from 90% to 100%
IRM_BASE_APR, IRM_SLOPE1_APR, IRM_SLOPE2_APR, IRM_KINK = 0.01, 0.04, 1.00, 0.9


def per_second_wad(apr: float) -> int:
    """A yearly rate as Morpho's per-second WAD rate."""
    return int(apr * WAD) // SECONDS_PER_YEAR


def deploy_morpho(rpc: DevRpc, dep: Deployment, markets: tuple[MorphoMarketSpec, ...] = MORPHO_MARKETS) -> None:
    """Deploy Morpho Blue, its IRM, one oracle per market, create the markets; fills ``dep.morpho``."""
    owner = dep.deployer
    morpho = rpc.deploy(owner, morpho_artifact().bytecode, ["address"], [owner])
    irm = rpc.deploy(
        owner,
        own_artifact("MorphoIrm").bytecode,
        ["uint256", "uint256", "uint256", "uint256"],
        [per_second_wad(IRM_BASE_APR), per_second_wad(IRM_SLOPE1_APR), per_second_wad(IRM_SLOPE2_APR),
         int(IRM_KINK * WAD)],
    )  # fmt: skip
    populator = rpc.deploy(owner, own_artifact("MorphoPopulator").bytecode)
    abi = morpho_artifact().abi
    txs = [(owner, morpho, abi.fn("enableIrm").encode(irm))]
    txs += [(owner, morpho, abi.fn("enableLltv").encode(lltv)) for lltv in sorted({m.lltv for m in markets})]
    rpc.send_many(txs)
    info = MorphoDeployment(morpho=morpho, irm=irm, populator=populator, owner=owner, lender=dep.whale)
    oracle_code = own_artifact("MorphoOracle").bytecode
    for spec in markets:
        coll, loan = dep.token(spec.collateral), dep.token(spec.loan)
        oracle = rpc.deploy(owner, oracle_code, ["address", "address", "uint8", "uint8"],
                            [coll.feed, loan.feed, coll.decimals, loan.decimals])  # fmt: skip
        params = MarketParams(loan.address, coll.address, oracle, irm, spec.lltv)
        info.markets.append(
            MorphoMarketInfo(
                name=spec.name,
                market_id=params.id,
                loan=loan.symbol,
                collateral=coll.symbol,
                loan_token=loan.address,
                collateral_token=coll.address,
                oracle=oracle,
                irm=irm,
                lltv=spec.lltv,
            )
        )
    rpc.send_many([(owner, morpho, abi.fn("createMarket").encode(m.params.as_tuple())) for m in info.markets])
    # a protocol fee on the first market, so fee shares are part of what the monitor must reproduce
    rpc.send_many(
        [
            (owner, morpho, abi.fn("setFeeRecipient").encode(dep.treasury)),
            (owner, morpho, abi.fn("setFee").encode(info.markets[0].params.as_tuple(), FIRST_MARKET_FEE)),
        ]
    )
    info.borrowers = {m.market_id: [] for m in info.markets}
    info.deploy_block = rpc.block_number()
    dep.morpho = info
