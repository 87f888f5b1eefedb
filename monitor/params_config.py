"""The model parameters a config asks for: ``params_from_config(cfg)``, the one place the daemon and the
``simulate``/``sweep`` commands turn config sections into :class:`~monitor.risk.ModelParams` (their
command-line options may then override single values)."""

from __future__ import annotations

import math

from monitor.config import MonitorConfig
from monitor.risk import ModelParams
from monitor.risk.oracles import OracleModel


def params_from_config(cfg: MonitorConfig) -> ModelParams:
    """``liquidators:``, the chain's block time and oracle update delay, and ``oracles:`` as model parameters (the
    engine's defaults where a section is absent)."""
    liq = cfg.liquidators
    section = cfg.oracles
    models = {}
    for symbol, asset in section.assets.items():
        kind = section.defaults.of(asset.kind)
        models[symbol] = OracleModel(
            kind=asset.kind,
            base=asset.base,
            deviation=kind.deviation if asset.deviation is None else asset.deviation,
            heartbeat_seconds=kind.heartbeat_seconds if asset.heartbeat_seconds is None else asset.heartbeat_seconds,
        )
    # Branch: without an ``oracles:`` section no feed has a heartbeat (the engine's default, which a deviation
    # given on the command line alone keeps); with one, market feeds update by their kind's heartbeat.
    heartbeat = section.defaults.market.heartbeat_seconds if "oracles" in cfg.model_fields_set else math.inf
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
        oracle_deviation=section.defaults.market.deviation,
        oracle_heartbeat_seconds=heartbeat,
        oracles=models,
    )
