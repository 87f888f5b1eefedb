"""Write a ready monitor config (YAML) for a running devnet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.devnet.deployment import Deployment
from monitor.errors import DevnetError

DEVNET_RULES: list[dict[str, Any]] = [
    {"name": "critical-shock", "kind": "critical_shock", "op": "below", "threshold": 0.10, "reset": 0.12,
     "severity": "page"},
    {"name": "projected-bad-debt", "kind": "projected_bad_debt_usd", "scenario": "weth-20", "op": "above",
     "threshold": 1_000_000, "reset": 800_000, "severity": "page"},
    {"name": "liquidatable-debt", "kind": "liquidatable_debt_usd", "op": "above", "threshold": 100_000,
     "reset": 10_000, "severity": "ticket"},
    {"name": "hf-mass-below-1-05", "kind": "hf_mass_below_usd", "level": 1.05, "op": "above",
     "threshold": 10_000_000, "reset": 8_000_000, "severity": "ticket"},
    {"name": "oracle-deviation", "kind": "oracle_deviation", "op": "above", "threshold": 0.02, "reset": 0.01,
     "severity": "ticket"},
    {"name": "data-stale", "kind": "data_age_s", "op": "above", "threshold": 120, "reset": 60, "severity": "page"},
]  # fmt: skip


def morpho_entry(dep: Deployment, name: str = "devnet-morpho") -> dict[str, Any]:
    """The config entry of the devnet's Morpho Blue markets (loan tokens priced by their USD feeds; the lender
    listed as a supplier)."""
    if dep.morpho is None:
        raise DevnetError("this devnet has no Morpho Blue deployment")
    info = dep.morpho
    loans = sorted({m.loan for m in info.markets})
    return {
        "name": name,
        "protocol": "morpho-blue",
        "morpho": info.morpho,
        "market_ids": [m.market_id for m in info.markets],
        "start_block": info.deploy_block,
        "suppliers": [info.lender],
        "loan_usd_feeds": {dep.token(s).address: dep.token(s).feed for s in loans},
    }


# Blocks below anvil's head the config of a *running* devnet reads at (``devnet up``, the demo, the daemon
# benchmark: blocks are mined while the monitor reads). anvil answers a read at its head block from its live
# database, not atomically with mining: a read for block N that meets the mining of N+1 runs on N+1's state with
# N's number and timestamp (tests/benchmarks/test_anvil_head_reads.py). Naming the block by hash (EIP-1898) does
# not help: anvil turns the hash into a number and takes the same path; neither does checking that the head has
# not moved once the reads are answered (both measured there). A block below the head is read from its stored
# snapshot, never mixed, so one confirmation is what makes every answer the block's own: freshness costs one
# block. ``confirmations=0`` stays right where nothing mines while the monitor reads (tests that make each
# block themselves, then step the monitor).
LIVE_DEVNET_CONFIRMATIONS = 1

# eth_calls a monitor of the devnet keeps in flight: max_concurrency x batch_size. anvil runs each call of a
# batch on its pool of 512 blocking threads and queues the rest behind them, and a mine (``anvil_mine``, a
# transaction's automine) waits in that same queue: with the defaults (8 x 500 = 4,000 in flight) a block mined
# while the monitor reads can wait behind thousands of calls. 8 x 50 stays under the pool, so a mine waits for
# CPU, never for the queue; the 8 concurrent requests keep a block's independent reads in one round trip.
DEVNET_MAX_CONCURRENCY = 8
DEVNET_BATCH_SIZE = 50


def devnet_config(rpc_url: str, dep: Deployment, *, metrics_port: int = 9464, mqtt_port: int | None = None,
                  checkpoint: str = "var/devnet-checkpoint.sqlite", morpho: bool = False,
                  confirmations: int = 0) -> dict[str, Any]:  # fmt: skip
    """The monitor config of the devnet market, as a plain dict (the shape of config/devnet.example.yaml); with
    ``morpho`` (and a Morpho deployment) its Morpho Blue markets too, as a second entry. ``confirmations``: 0
    only when no block is mined while the monitor reads, :data:`LIVE_DEVNET_CONFIRMATIONS` otherwise."""
    cfg: dict[str, Any] = {
        "chain": {
            "rpc_urls": [rpc_url],
            "chain_id": dep.chain_id,
            "confirmations": confirmations,
            "max_concurrency": DEVNET_MAX_CONCURRENCY,
            "batch_size": DEVNET_BATCH_SIZE,
        },
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
    if morpho and dep.morpho is not None:
        cfg["markets"].append(morpho_entry(dep))
    cfg["scenarios"] = [
        {"name": "weth-20", "shocks": {"WETH": -0.2}},
        {"name": "wbtc-25", "shocks": {"WBTC": -0.25}},
        {"name": "link-30", "shocks": {"LINK": -0.3}},
        {"name": "majors-15", "shocks": {"WETH": -0.15, "WBTC": -0.15}},
    ]
    cfg["sweep"] = {"every_blocks": 5, "amplification_limit": 1.5, "bad_debt_limit_usd": 250_000}
    cfg["alerts"] = {"stale_after_s": 60, "rules": DEVNET_RULES}
    if mqtt_port is not None:
        cfg["mqtt"] = {"url": f"mqtt://127.0.0.1:{mqtt_port}", "topic_prefix": "cascade-monitor"}
    return cfg


def write_devnet_config(path: Path, rpc_url: str, dep: Deployment, **kwargs: Any) -> Path:
    """Write the running devnet's monitor config YAML to ``path`` (reading :data:`LIVE_DEVNET_CONFIRMATIONS`
    below the head unless ``confirmations`` is given)."""
    kwargs.setdefault("confirmations", LIVE_DEVNET_CONFIRMATIONS)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `cascade-monitor devnet up`: the monitor config of the running devnet.\n"
    path.write_text(header + yaml.safe_dump(devnet_config(rpc_url, dep, **kwargs), sort_keys=False))
    return path
