"""The model parameters a config asks for: ``params_from_config(cfg)``, the one place the daemon and the
``simulate``/``sweep`` commands turn config sections into :class:`~monitor.risk.ModelParams`."""

from __future__ import annotations

from monitor.config import MonitorConfig
from monitor.risk import ModelParams
from monitor.risk.oracles import OracleModel


def params_from_config(cfg: MonitorConfig) -> ModelParams:
    """The projection's parameters from ``cfg``'s sections (``oracles:``); defaults where a section is absent."""
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
    return ModelParams(oracle_deviation=section.defaults.market.deviation, oracles=models)
