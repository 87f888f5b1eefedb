"""Deploy a complete Aave v3.6 market from the sources compiled at setup (npm ``@aave-dao/aave-v3-origin``).

Same order as Aave's own deployment procedures: addresses provider, ACL, the one interest-rate strategy
(``DefaultReserveInterestRateStrategyV2``, rate data set per reserve), Pool and PoolConfigurator implementations
behind the provider's proxies, oracle, data provider, token implementations, reserves, liquid e-mode categories.
"""

from __future__ import annotations

from collections.abc import Mapping

from eth_abi.abi import encode

from monitor.devnet.artifacts import Artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.origin_build import origin_artifact
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import AssetSpec, MarketSpec

ZERO = "0x" + "00" * 20
BPS = 10_000


def _deploy_linked(rpc: DevRpc, sender: str, art: Artifact, libs: dict[str, str]) -> str:
    """Creation code of ``art`` with every library it needs deployed first (recursively, once each)."""
    for refs in art.link_references.values():
        for name in refs:
            if name not in libs:
                libs[name] = rpc.deploy(sender, _deploy_linked(rpc, sender, origin_artifact(name), libs))
    return art.linked(libs)


def rate_data(a: AssetSpec) -> bytes:
    """``abi.encode(InterestRateData)``: optimal usage and rates in basis points."""
    optimal, base, slope1, slope2 = a.rates
    return encode(["(uint16,uint32,uint32,uint32)"], [tuple(round(x * BPS) for x in (optimal, base, slope1, slope2))])


def deploy_aave36(rpc: DevRpc, dep: Deployment, spec: MarketSpec) -> None:
    """Addresses provider, ACL, Pool (linked), configurator, oracle, data provider, reserves and e-modes."""
    me = dep.deployer

    def tx(to: str, art: Artifact, fn: str, *args: object) -> None:
        rpc.send(me, to, art.abi.fn(fn).encode(*args))

    provider_art = origin_artifact("PoolAddressesProvider")
    provider = rpc.deploy(me, provider_art.bytecode, ("string", "address"), ("cascade-devnet", me))
    tx(provider, provider_art, "setACLAdmin", me)  # ACLManager's constructor reads it
    acl_art = origin_artifact("ACLManager")
    acl = rpc.deploy(me, acl_art.bytecode, ("address",), (provider,))
    tx(provider, provider_art, "setACLManager", acl)
    for role in ("addPoolAdmin", "addAssetListingAdmin", "addRiskAdmin", "addEmergencyAdmin"):
        tx(acl, acl_art, role, me)

    strategy = rpc.deploy(me, origin_artifact("DefaultReserveInterestRateStrategyV2").bytecode, ("address",),
                          (provider,))  # fmt: skip
    libs: dict[str, str] = {}
    pool_art = origin_artifact("PoolInstance")
    pool_impl = rpc.deploy(me, _deploy_linked(rpc, me, pool_art, libs), ("address", "address"), (provider, strategy))
    tx(provider, provider_art, "setPoolImpl", pool_impl)  # creates the proxy and initializes it
    pool = str(rpc.read(provider, provider_art.abi.fn("getPool"))[0]).lower()
    conf_art = origin_artifact("PoolConfiguratorInstance")
    conf_impl = rpc.deploy(me, _deploy_linked(rpc, me, conf_art, libs))
    tx(provider, provider_art, "setPoolConfiguratorImpl", conf_impl)
    configurator = str(rpc.read(provider, provider_art.abi.fn("getPoolConfigurator"))[0]).lower()

    symbols = [a.symbol for a in spec.assets]
    oracle = rpc.deploy(
        me,
        origin_artifact("AaveOracle").bytecode,
        ("address", "address[]", "address[]", "address", "address", "uint256"),
        (provider, [dep.tokens[s].address for s in symbols], [dep.tokens[s].feed for s in symbols], ZERO, ZERO,
         10**8),
    )  # fmt: skip
    tx(provider, provider_art, "setPriceOracle", oracle)
    data_provider = rpc.deploy(me, origin_artifact("AaveProtocolDataProvider").bytecode, ("address",), (provider,))
    tx(provider, provider_art, "setPoolDataProvider", data_provider)

    a_impl = rpc.deploy(me, origin_artifact("ATokenInstance").bytecode, ("address", "address", "address"),
                        (pool, ZERO, dep.treasury))  # fmt: skip
    v_impl = rpc.deploy(me, origin_artifact("VariableDebtTokenInstance").bytecode, ("address", "address"),
                        (pool, ZERO))  # fmt: skip
    dep.addresses_provider, dep.pool, dep.pool_configurator = provider, pool, configurator
    dep.oracle, dep.data_provider, dep.acl_manager = oracle, data_provider, acl
    inputs = [
        (a_impl, v_impl, dep.tokens[a.symbol].address, f"Aave Devnet {a.symbol}", f"a{a.symbol}",
         f"Aave Devnet Variable Debt {a.symbol}", f"variableDebt{a.symbol}", b"", rate_data(a))
        for a in spec.assets
    ]  # fmt: skip
    tx(configurator, conf_art, "initReserves", inputs)
    for a in spec.assets:
        _configure_reserve(rpc, dep, a)
    set_emodes(rpc, dep, spec, ltv_equal_to_lt=False)
    for e in spec.emodes:
        for sym in e.collateral:
            tx(configurator, conf_art, "setAssetCollateralInEMode", dep.tokens[sym].address, e.category_id, True)
        for sym in e.borrowable:
            tx(configurator, conf_art, "setAssetBorrowableInEMode", dep.tokens[sym].address, e.category_id, True)


def _configure_reserve(rpc: DevRpc, dep: Deployment, a: AssetSpec) -> None:
    """Risk parameters of a listed reserve; records its aToken and variable debt token addresses."""
    conf = origin_artifact("PoolConfiguratorInstance").abi
    t = dep.tokens[a.symbol]
    for data in (
        conf.fn("configureReserveAsCollateral").encode(
            t.address, a.ltv_bps, a.liquidation_threshold_bps, a.liquidation_bonus_bps
        ),
        conf.fn("setReserveBorrowing").encode(t.address, a.borrowable),
        conf.fn("setReserveFactor").encode(t.address, a.reserve_factor_bps),
        conf.fn("setLiquidationProtocolFee").encode(t.address, a.liquidation_protocol_fee_bps),
    ):
        rpc.send(dep.deployer, dep.pool_configurator, data)
    a_tok, _, v_tok = rpc.read(
        dep.data_provider, origin_artifact("AaveProtocolDataProvider").abi.fn("getReserveTokensAddresses"), t.address
    )
    t.a_token, t.variable_debt_token, t.stable_debt_token = a_tok.lower(), v_tok.lower(), ""


def set_emodes(rpc: DevRpc, dep: Deployment, spec: MarketSpec, *, ltv_equal_to_lt: bool) -> None:
    """(Re)write every e-mode category's LTV, threshold, bonus and label (v3.6 ``setEModeCategory``)."""
    conf = origin_artifact("PoolConfiguratorInstance").abi
    txs = []
    for e in spec.emodes:
        ltv = e.liquidation_threshold_bps if ltv_equal_to_lt else e.ltv_bps
        data = conf.fn("setEModeCategory").encode(
            e.category_id, ltv, e.liquidation_threshold_bps, e.liquidation_bonus_bps, e.label
        )
        txs.append((dep.deployer, dep.pool_configurator, data))
    rpc.send_many(txs)


def set_reserve_ltvs(rpc: DevRpc, dep: Deployment, spec: MarketSpec, ltvs: Mapping[str, int]) -> None:
    """Set reserve LTVs (thresholds and bonuses as in ``spec``)."""
    conf = origin_artifact("PoolConfiguratorInstance").abi
    txs = []
    for a in spec.assets:
        data = conf.fn("configureReserveAsCollateral").encode(
            dep.tokens[a.symbol].address, ltvs[a.symbol], a.liquidation_threshold_bps, a.liquidation_bonus_bps
        )
        txs.append((dep.deployer, dep.pool_configurator, data))
    rpc.send_many(txs)
