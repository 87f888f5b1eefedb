"""Write a ready monitor config (YAML) for a running devnet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.devnet.deployment import Deployment


def devnet_config(rpc_url: str, dep: Deployment, *, metrics_port: int = 9464, mqtt_port: int | None = None,
                  checkpoint: str = "var/devnet-checkpoint.sqlite") -> dict[str, Any]:  # fmt: skip
    """The monitor config of the devnet market, as a plain dict (the shape of config/devnet.example.yaml)."""
    cfg: dict[str, Any] = {
        "chain": {"rpc_urls": [rpc_url], "chain_id": dep.chain_id, "confirmations": 0},
        "markets": [
            {
                "name": "devnet-aave",
                "protocol": "aave-v3",
                "pool_addresses_provider": dep.addresses_provider,
                "start_block": 0,
            }
        ],
        "dex": {"pools": [p.address for p in dep.pools]},
        "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
        "checkpoint": {"path": checkpoint},
    }
    if mqtt_port is not None:
        cfg["mqtt"] = {"url": f"mqtt://127.0.0.1:{mqtt_port}", "topic_prefix": "cascade-monitor"}
    return cfg


def write_devnet_config(path: Path, rpc_url: str, dep: Deployment, **kwargs: Any) -> Path:
    """Write the devnet's monitor config YAML to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `cascade-monitor devnet up`: the monitor config of the running devnet.\n"
    path.write_text(header + yaml.safe_dump(devnet_config(rpc_url, dep, **kwargs), sort_keys=False))
    return path
