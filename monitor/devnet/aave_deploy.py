"""Deploy a complete Aave v3.0.2 market from the published npm artifacts (@aave/core-v3)."""

from __future__ import annotations

from monitor.devnet.artifacts import Artifact, npm_artifact, own_artifact
from monitor.devnet.deployment import Deployment, TokenInfo
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import AssetSpec, MarketSpec

AAVE = "@aave/core-v3"
RAY = 10**27
ZERO = "0x" + "00" * 20

_LIBS = ("BorrowLogic", "BridgeLogic", "ConfiguratorLogic", "EModeLogic", "LiquidationLogic", "PoolLogic",
         "SupplyLogic")  # fmt: skip


def aave(rel: str) -> Artifact:
    """An Aave core artifact by path below contracts/."""
    return npm_artifact(AAVE, rel)


POOL = "protocol/pool/Pool.sol/Pool"
CONFIGURATOR = "protocol/pool/PoolConfigurator.sol/PoolConfigurator"
PROVIDER = "protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider"
ACL = "protocol/configuration/ACLManager.sol/ACLManager"
ORACLE = "misc/AaveOracle.sol/AaveOracle"
DATA_PROVIDER = "misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider"
RATE_STRATEGY = "protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy"


def deploy_tokens(rpc: DevRpc, dep: Deployment, spec: MarketSpec) -> None:
    """Test ERC20s and one settable price feed per asset."""
    erc20 = own_artifact("TestERC20")
    feed = own_artifact("PriceFeed")
    for a in spec.assets:
        token = rpc.deploy(
            dep.deployer, erc20.bytecode, ("string", "string", "uint8"), (a.symbol, a.symbol, a.decimals)
        )
        price = round(a.price_usd * 10**8)
        f = rpc.deploy(dep.deployer, feed.bytecode, ("uint8", "string", "int256"), (8, f"{a.symbol} / USD", price))
        dep.tokens[a.symbol] = TokenInfo(symbol=a.symbol, address=token, decimals=a.decimals, feed=f)


def deploy_aave(rpc: DevRpc, dep: Deployment, spec: MarketSpec) -> None:
    """Addresses provider, ACL, Pool (linked), configurator, oracle, data provider, reserves and e-mode."""
    me = dep.deployer

    def tx(to: str, art: Artifact, fn: str, *args: object) -> None:
        rpc.send(me, to, art.abi.fn(fn).encode(*args))

    def read(to: str, art: Artifact, fn: str, *args: object) -> object:
        return rpc.read(to, art.abi.fn(fn), *args)[0]

    provider_art = aave(PROVIDER)
    provider = rpc.deploy(me, provider_art.bytecode, ("string", "address"), ("cascade-devnet", me))
    tx(provider, provider_art, "setACLAdmin", me)  # ACLManager's constructor reads it
    acl_art = aave(ACL)
    acl = rpc.deploy(me, acl_art.bytecode, ("address",), (provider,))
    tx(provider, provider_art, "setACLManager", acl)
    for role in ("addPoolAdmin", "addAssetListingAdmin", "addRiskAdmin", "addEmergencyAdmin"):
        tx(acl, acl_art, role, me)

    # Logic libraries; FlashLoanLogic links BorrowLogic.
    libs: dict[str, str] = {}
    for name in _LIBS:
        libs[name] = rpc.deploy(me, aave(f"protocol/libraries/logic/{name}.sol/{name}").linked(libs))
    flash = aave("protocol/libraries/logic/FlashLoanLogic.sol/FlashLoanLogic")
    libs["FlashLoanLogic"] = rpc.deploy(me, flash.linked(libs))

    pool_art = aave(POOL)
    pool_impl = rpc.deploy(me, pool_art.linked(libs), ("address",), (provider,))
    tx(provider, provider_art, "setPoolImpl", pool_impl)  # creates the proxy and initializes it
    pool = str(read(provider, provider_art, "getPool")).lower()

    conf_art = aave(CONFIGURATOR)
    conf_impl = rpc.deploy(me, conf_art.linked(libs))
    tx(provider, provider_art, "setPoolConfiguratorImpl", conf_impl)
    configurator = str(read(provider, provider_art, "getPoolConfigurator")).lower()

    symbols = [a.symbol for a in spec.assets]
    oracle = rpc.deploy(
        me,
        aave(ORACLE).bytecode,
        ("address", "address[]", "address[]", "address", "address", "uint256"),
        (provider, [dep.tokens[s].address for s in symbols], [dep.tokens[s].feed for s in symbols], ZERO, ZERO,
         10**8),
    )  # fmt: skip
    tx(provider, provider_art, "setPriceOracle", oracle)
    data_provider = rpc.deploy(me, aave(DATA_PROVIDER).bytecode, ("address",), (provider,))
    tx(provider, provider_art, "setPoolDataProvider", data_provider)

    a_impl = rpc.deploy(me, aave("protocol/tokenization/AToken.sol/AToken").bytecode, ("address",), (pool,))
    s_impl = rpc.deploy(
        me, aave("protocol/tokenization/StableDebtToken.sol/StableDebtToken").bytecode, ("address",), (pool,)
    )
    v_impl = rpc.deploy(
        me,
        aave("protocol/tokenization/VariableDebtToken.sol/VariableDebtToken").bytecode,
        ("address",),
        (pool,),
    )

    dep.addresses_provider, dep.pool, dep.pool_configurator = provider, pool, configurator
    dep.oracle, dep.data_provider, dep.acl_manager = oracle, data_provider, acl
    impls = (a_impl, s_impl, v_impl)
    tx(configurator, conf_art, "initReserves", [_reserve_input(rpc, dep, a, impls) for a in spec.assets])
    for e in spec.emodes:
        tx(configurator, conf_art, "setEModeCategory", e.category_id, e.ltv_bps, e.liquidation_threshold_bps,
           e.liquidation_bonus_bps, ZERO, e.label)  # fmt: skip
    for a in spec.assets:
        _configure_reserve(rpc, dep, a)


def _reserve_input(rpc: DevRpc, dep: Deployment, a: AssetSpec, impls: tuple[str, str, str]) -> tuple[object, ...]:
    """initReserves input of one asset, with its own interest rate strategy."""
    optimal, base, slope1, slope2 = a.rates
    strategy = rpc.deploy(
        dep.deployer,
        aave(RATE_STRATEGY).bytecode,
        ("address",) + ("uint256",) * 9,
        (dep.addresses_provider, int(optimal * RAY), int(base * RAY), int(slope1 * RAY), int(slope2 * RAY),
         int(0.005 * RAY), int(0.6 * RAY), int(0.01 * RAY), int(0.08 * RAY), int(0.2 * RAY)),
    )  # fmt: skip
    t = dep.tokens[a.symbol]
    return (*impls, a.decimals, strategy, t.address, dep.treasury, ZERO,
            f"Aave Devnet {a.symbol}", f"a{a.symbol}", f"Aave Devnet Variable Debt {a.symbol}",
            f"variableDebt{a.symbol}", f"Aave Devnet Stable Debt {a.symbol}", f"stableDebt{a.symbol}", b"")  # fmt: skip


def _configure_reserve(rpc: DevRpc, dep: Deployment, a: AssetSpec) -> None:
    """Risk parameters of a listed reserve; records its a/debt token addresses."""
    conf = aave(CONFIGURATOR).abi
    t = dep.tokens[a.symbol]
    calls = [
        conf.fn("configureReserveAsCollateral").encode(
            t.address, a.ltv_bps, a.liquidation_threshold_bps, a.liquidation_bonus_bps
        ),
        conf.fn("setReserveBorrowing").encode(t.address, a.borrowable),
        conf.fn("setReserveFactor").encode(t.address, a.reserve_factor_bps),
        conf.fn("setLiquidationProtocolFee").encode(t.address, a.liquidation_protocol_fee_bps),
    ]
    if a.emode_category:
        calls.append(conf.fn("setAssetEModeCategory").encode(t.address, a.emode_category))
    for data in calls:
        rpc.send(dep.deployer, dep.pool_configurator, data)
    a_tok, s_tok, v_tok = rpc.read(
        dep.data_provider, aave(DATA_PROVIDER).abi.fn("getReserveTokensAddresses"), t.address
    )
    t.a_token, t.stable_debt_token, t.variable_debt_token = a_tok.lower(), s_tok.lower(), v_tok.lower()


def list_asset(rpc: DevRpc, dep: Deployment, a: AssetSpec) -> TokenInfo:
    """List one more asset on a running devnet market: token, price feed, oracle source, reserve, parameters."""
    erc20, feed = own_artifact("TestERC20"), own_artifact("PriceFeed")
    token = rpc.deploy(dep.deployer, erc20.bytecode, ("string", "string", "uint8"), (a.symbol, a.symbol, a.decimals))
    source = rpc.deploy(dep.deployer, feed.bytecode, ("uint8", "string", "int256"),
                        (8, f"{a.symbol} / USD", round(a.price_usd * 10**8)))  # fmt: skip
    dep.tokens[a.symbol] = TokenInfo(symbol=a.symbol, address=token, decimals=a.decimals, feed=source)
    rpc.send(dep.deployer, dep.oracle, aave(ORACLE).abi.fn("setAssetSources").encode([token], [source]))
    pool = dep.pool
    impls = (
        rpc.deploy(dep.deployer, aave("protocol/tokenization/AToken.sol/AToken").bytecode, ("address",), (pool,)),
        rpc.deploy(dep.deployer, aave("protocol/tokenization/StableDebtToken.sol/StableDebtToken").bytecode,
                   ("address",), (pool,)),
        rpc.deploy(dep.deployer, aave("protocol/tokenization/VariableDebtToken.sol/VariableDebtToken").bytecode,
                   ("address",), (pool,)),
    )  # fmt: skip
    rpc.send(dep.deployer, dep.pool_configurator,
             aave(CONFIGURATOR).abi.fn("initReserves").encode([_reserve_input(rpc, dep, a, impls)]))  # fmt: skip
    _configure_reserve(rpc, dep, a)
    return dep.tokens[a.symbol]


def set_ltv(rpc: DevRpc, dep: Deployment, spec: MarketSpec, *, equal_to_lt: bool) -> None:
    """Set every reserve's LTV to its liquidation threshold (to seed low health factors) or back to spec.

    Health factors depend on liquidation thresholds only, so this changes no account's health factor.
    """
    if spec.aave != "v3.0":
        from monitor.devnet.aave36_deploy import set_emodes, set_reserve_ltvs

        ltvs = {a.symbol: a.liquidation_threshold_bps if equal_to_lt else a.ltv_bps for a in spec.assets}
        set_reserve_ltvs(rpc, dep, spec, ltvs)
        set_emodes(rpc, dep, spec, ltv_equal_to_lt=equal_to_lt)
        return
    conf_art = aave(CONFIGURATOR)
    txs = []
    for a in spec.assets:
        ltv = a.liquidation_threshold_bps if equal_to_lt else a.ltv_bps
        data = conf_art.abi.fn("configureReserveAsCollateral").encode(
            dep.tokens[a.symbol].address, ltv, a.liquidation_threshold_bps, a.liquidation_bonus_bps
        )
        txs.append((dep.deployer, dep.pool_configurator, data))
    for e in spec.emodes:
        ltv = e.liquidation_threshold_bps if equal_to_lt else e.ltv_bps
        data = conf_art.abi.fn("setEModeCategory").encode(
            e.category_id, ltv, e.liquidation_threshold_bps, e.liquidation_bonus_bps, ZERO, e.label
        )
        txs.append((dep.deployer, dep.pool_configurator, data))
    rpc.send_many(txs)
