"""The ``oracles:`` config section: defaults per feed kind, per-asset overrides, one ``params_from_config`` for the
daemon and the commands; without the section every oracle follows every pool move (today's projection); an asset
no market lists is a clear error naming it and the symbols the markets list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import MonitorConfig, load_config, parse_config
from monitor.errors import ConfigError
from monitor.params_config import params_from_config
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import ModelParams
from monitor.risk.oracles import OracleModel, check_assets, models_for
from tests.risk import markets as mk

BASE: dict[str, Any] = {
    "chain": {"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 31337},
    "markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}],
}
ISSUE_EXAMPLE = {
    "defaults": {"market": {"deviation": 0.0, "heartbeat_seconds": 3600}},
    "assets": {"wstETH": {"kind": "rate", "base": "WETH"}, "USDC": {"kind": "fixed"}, "WETH": {"deviation": 0.005}},
}


def _cfg(oracles: dict[str, Any] | None) -> MonitorConfig:
    data = dict(BASE) if oracles is None else BASE | {"oracles": oracles}
    return MonitorConfig.model_validate(data)


def test_without_the_section_the_projection_is_todays() -> None:
    # the chain's block time is the liquidators' clock, not an oracle setting: the devnet's 1 s here
    assert params_from_config(_cfg(None)) == ModelParams(block_time_seconds=1.0)
    assert dict(params_from_config(_cfg(None)).oracles) == {}


def test_the_issue_example() -> None:
    params = params_from_config(_cfg(ISSUE_EXAMPLE))
    assert params.oracle_deviation == 0.0
    assert dict(params.oracles) == {
        "wstETH": OracleModel("rate", base="WETH", deviation=0.0, heartbeat_seconds=3600.0),
        "USDC": OracleModel("fixed", deviation=0.0, heartbeat_seconds=3600.0),
        "WETH": OracleModel("market", deviation=0.005, heartbeat_seconds=3600.0),
    }


def test_defaults_per_kind_and_overrides() -> None:
    section = {
        "defaults": {"market": {"deviation": 0.01, "heartbeat_seconds": 600}, "rate": {"heartbeat_seconds": 86400}},
        "assets": {"wstETH": {"kind": "rate", "base": "WETH"}, "WBTC": {"heartbeat_seconds": 60}},
    }
    params = params_from_config(_cfg(section))
    assert params.oracle_deviation == 0.01  # the assets not listed follow their pools with the market default
    assert params.oracles["wstETH"] == OracleModel("rate", base="WETH", deviation=0.0, heartbeat_seconds=86400.0)
    assert params.oracles["WBTC"] == OracleModel("market", deviation=0.01, heartbeat_seconds=60.0)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"assets": {"wstETH": {"kind": "rate"}}}, "oracles.assets.wstETH: an oracle of kind 'rate' needs a base"),
        ({"assets": {"USDC": {"kind": "fixed", "base": "DAI"}}}, "only an oracle of kind 'rate' has a base"),
        ({"assets": {"WETH": {"kind": "chainlink"}}}, "oracles.assets.WETH.kind"),
        ({"assets": {"WETH": {"deviation": 1.5}}}, "oracles.assets.WETH.deviation"),
        ({"defaults": {"market": {"heartbeat_seconds": 0}}}, "oracles.defaults.market.heartbeat_seconds"),
        ({"assets": {"WETH": {"deviaton": 0.01}}}, "oracles.assets.WETH.deviaton: unknown key"),
    ],
)
def test_bad_sections_name_the_key(section: dict[str, Any], expected: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(BASE | {"oracles": section}))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert expected in str(err.value)


def test_an_asset_no_market_lists_is_named_with_the_known_symbols() -> None:
    rm = risk_market(mk.market())
    params = params_from_config(_cfg(ISSUE_EXAMPLE))
    with pytest.raises(ConfigError) as err:
        check_assets([rm], params.oracles)
    assert "unknown asset 'wstETH'" in str(err.value) and "USDC, WBTC, WETH" in str(err.value)
    # every asset listed by some market: accepted; each market takes the models of its own assets
    known = {k: v for k, v in params.oracles.items() if k != "wstETH"}
    check_assets([rm], known)
    assert models_for(rm, params.oracles) == known
    rate = {"stETH": OracleModel("rate", base="WETH"), "WBTC": OracleModel("rate", base="LINK")}
    with pytest.raises(ConfigError, match="unknown asset 'stETH', 'LINK'"):
        check_assets([rm], rate)


def test_no_market_may_be_called_system() -> None:
    data = BASE | {"markets": [BASE["markets"][0] | {"name": "system"}]}
    with pytest.raises(ConfigError, match="'system' is the name the alerts on system figures carry"):
        parse_config(data, environ={})
