"""The ``liquidators:`` section and ``chain.block_time_seconds``: they parse, default per chain, give clear errors,
and reach the engine through ``params_from_config`` (simulate's options override single values)."""

from __future__ import annotations

import argparse
import copy
import math
from typing import Any

import pytest

from monitor.cli import build_parser
from monitor.commands.simulate import model_params
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.params_config import params_from_config
from monitor.risk import ModelParams
from tests.config.test_config import GOOD


def _cfg(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    for key, value in sections.items():
        if key == "chain":
            data["chain"].update(value)
        else:
            data[key] = value
    return data


def test_without_the_section_the_params_are_the_engine_defaults_with_the_chain_block_time() -> None:
    params = params_from_config(parse_config(_cfg(), environ={}))
    assert params == ModelParams(block_time_seconds=1.0)  # the devnet (31337): 1 s
    for chain_id, seconds in ((1, 12.0), (8453, 2.0), (10, 2.0), (42161, 0.25), (137, 12.0)):
        cfg = parse_config(_cfg(chain={"chain_id": chain_id}), environ={})
        assert params_from_config(cfg).block_time_seconds == seconds
    given = parse_config(_cfg(chain={"chain_id": 1, "block_time_seconds": 12.5}), environ={})
    assert params_from_config(given).block_time_seconds == 12.5


def test_the_section_reaches_the_engine() -> None:
    section = {"reaction_blocks": 3, "liquidations_per_block": 40, "capital_usd_per_block": 5e6,
               "gas_per_liquidation": 400_000, "gas_price_gwei": 20, "min_profit_usd": 10}  # fmt: skip
    params = params_from_config(parse_config(_cfg(liquidators=section), environ={}))
    assert (params.reaction_blocks, params.liquidations_per_block, params.liquidator_capital_usd) == (3, 40, 5e6)
    assert (params.gas_per_liquidation, params.gas_price_gwei, params.min_profit_usd) == (400_000, 20.0, 10.0)
    assert (params.native_asset, params.native_price_usd, params.gas_cost_usd) == ("WETH", None, 0.0)
    assert params.profit_filter and params.oracle_update_blocks == 1
    fixed = parse_config(_cfg(liquidators={"native_asset": "WPOL", "native_price_usd": 0.5}), environ={})
    assert (params_from_config(fixed).native_asset, params_from_config(fixed).native_price_usd) == ("WPOL", 0.5)
    # an environment override, as for any key
    env = {"CASCADE_MONITOR__LIQUIDATORS__LIQUIDATIONS_PER_BLOCK": "7"}
    assert params_from_config(parse_config(_cfg(), environ=env)).liquidations_per_block == 7


def test_the_round_limit_the_horizon_and_the_oracle_update_delay_reach_the_engine() -> None:
    defaults = params_from_config(parse_config(_cfg(), environ={}))
    assert (defaults.max_rounds, defaults.horizon_seconds, defaults.oracle_update_blocks) == (50, 86_400.0, 1)
    data = _cfg(liquidators={"liquidations_per_block": 5, "max_rounds": 400, "horizon_seconds": 600},
                chain={"oracle_update_blocks": 3})  # fmt: skip
    params = params_from_config(parse_config(data, environ={}))
    assert (params.max_rounds, params.horizon_seconds, params.oracle_update_blocks) == (400, 600.0, 3)
    assert params.reaction_blocks == 1 and params.liquidations_per_block == 5
    # 0: the update lands in the block of the move (a push oracle updated in the same block)
    same_block = parse_config(_cfg(chain={"oracle_update_blocks": 0}), environ={})
    assert params_from_config(same_block).oracle_update_blocks == 0
    env = {"CASCADE_MONITOR__LIQUIDATORS__MAX_ROUNDS": "120", "CASCADE_MONITOR__CHAIN__ORACLE_UPDATE_BLOCKS": "2"}
    from_env = params_from_config(parse_config(_cfg(), environ=env))
    assert (from_env.max_rounds, from_env.oracle_update_blocks) == (120, 2)


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ({"liquidators": {"reaction_blocks": -1}}, "liquidators.reaction_blocks"),
        ({"liquidators": {"liquidations_per_block": 0}}, "liquidators.liquidations_per_block"),
        ({"liquidators": {"capital_usd_per_block": -5}}, "liquidators.capital_usd_per_block"),
        ({"liquidators": {"capital_usd_per_block": ".inf"}}, "liquidators.capital_usd_per_block"),
        ({"liquidators": {"gas_price_gwei": "cheap"}}, "liquidators.gas_price_gwei"),
        ({"liquidators": {"gas_per_liquidation": 1.5}}, "liquidators.gas_per_liquidation"),
        ({"liquidators": {"native_price_usd": 0}}, "liquidators.native_price_usd"),
        ({"liquidators": {"min_profit": 5}}, "liquidators.min_profit"),
        ({"liquidators": {"max_rounds": 0}}, "liquidators.max_rounds"),
        ({"liquidators": {"max_rounds": 2.5}}, "liquidators.max_rounds"),
        ({"liquidators": {"horizon_seconds": 0}}, "liquidators.horizon_seconds"),
        ({"liquidators": {"horizon_seconds": ".inf"}}, "liquidators.horizon_seconds"),
        ({"liquidators": {"horizon_seconds": "a day"}}, "liquidators.horizon_seconds"),
        ({"chain": {"oracle_update_blocks": -1}}, "chain.oracle_update_blocks"),
        ({"chain": {"oracle_update_blocks": "next"}}, "chain.oracle_update_blocks"),
        ({"chain": {"block_time_seconds": 0}}, "chain.block_time_seconds"),
        ({"chain": {"block_time_seconds": "fast"}}, "chain.block_time_seconds"),
    ],
)
def test_bad_values_are_clear_errors(section: dict[str, Any], where: str) -> None:
    data = _cfg(**section)
    for key in ("capital_usd_per_block", "horizon_seconds"):
        if section.get("liquidators", {}).get(key) == ".inf":
            data["liquidators"][key] = math.inf
    with pytest.raises(ConfigError, match=rf"  {where}: "):
        parse_config(data, environ={})


def _args(*argv: str) -> argparse.Namespace:
    return build_parser("simulate").parse_args(["simulate", "--config", "unused.yaml", "--shock", "WETH=-0.2", *argv])


def test_simulate_options_override_single_values_of_the_config() -> None:
    cfg = parse_config(_cfg(liquidators={"liquidations_per_block": 40, "min_profit_usd": 10}), environ={})
    assert model_params(_args(), cfg) == params_from_config(cfg)
    over = model_params(_args("--liquidations-per-block", "5", "--block-time-seconds", "2", "--gas-usd", "3"), cfg)
    assert (over.liquidations_per_block, over.block_time_seconds, over.gas_cost_usd) == (5, 2.0, 3.0)
    assert over.min_profit_usd == 10.0, "what the options do not name stays the config's"
    with pytest.raises(ConfigError, match="liquidations_per_block"):
        model_params(_args("--liquidations-per-block", "0"), cfg)
    data = _cfg(liquidators={"max_rounds": 300, "horizon_seconds": 900}, chain={"oracle_update_blocks": 2})
    timed = parse_config(data, environ={})
    from_config = model_params(_args(), timed)
    assert (from_config.max_rounds, from_config.horizon_seconds, from_config.oracle_update_blocks) == (300, 900.0, 2)
    again = model_params(_args("--max-rounds", "60", "--horizon-seconds", "120", "--oracle-update-blocks", "0"), timed)
    assert (again.max_rounds, again.horizon_seconds, again.oracle_update_blocks) == (60, 120.0, 0)
