"""The engine's model parameters from a config: the one place the daemon, ``simulate`` and ``sweep`` build
:class:`~monitor.risk.ModelParams` from (their command-line options may then override single values)."""

from __future__ import annotations

import math

from monitor.config import MonitorConfig
from monitor.risk import ModelParams


def params_from_config(cfg: MonitorConfig) -> ModelParams:
    """``liquidators:`` and the chain's block time and oracle update delay as model parameters (the rest: the
    engine's defaults)."""
    liq = cfg.liquidators
    return ModelParams(
        liquidator_capital_usd=math.inf if liq.capital_usd_per_block is None else liq.capital_usd_per_block,
        min_profit_usd=liq.min_profit_usd,
        reaction_blocks=liq.reaction_blocks,
        liquidations_per_block=liq.liquidations_per_block,
        gas_per_liquidation=liq.gas_per_liquidation,
        gas_price_gwei=liq.gas_price_gwei,
        native_asset=liq.native_asset,
        native_price_usd=liq.native_price_usd,
        max_rounds=liq.max_rounds,
        horizon_seconds=liq.horizon_seconds,
        block_time_seconds=cfg.chain.block_seconds,
        oracle_update_blocks=cfg.chain.oracle_update_blocks,
    )
