"""Security basics and a pool with no liquidity: the daemon binds to loopback by default, never logs an RPC key
or the MQTT password, holds no key, and exports an empty pool's depth as zero instead of failing."""

from __future__ import annotations

import ast
import asyncio
import logging
from pathlib import Path

import pytest

from monitor.config import MetricsConfig, parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from monitor.devnet.uniswap_deploy import FACTORY, NPM, core, periphery
from monitor.logs import SecretFilter, config_secrets
from tests.conftest import Devnet
from tests.daemon.test_daemon import _get, _one, _samples, _wait_ready


def test_metrics_bind_to_loopback_by_default() -> None:
    assert MetricsConfig().host == "127.0.0.1"
    cfg = parse_config(
        {"chain": {"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 1},
         "markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}]},
        environ={},
    )  # fmt: skip
    assert cfg.metrics.host == "127.0.0.1"


def test_secret_filter_scrubs_keys_and_passwords(caplog: pytest.LogCaptureFixture) -> None:
    secrets = config_secrets(["https://user:pw-123@rpc.example/v2/APIKEY123?token=abc"], ["hunter22"])
    logger = logging.getLogger("test.secrets")
    logger.addFilter(SecretFilter(secrets))
    with caplog.at_level(logging.INFO, logger="test.secrets"):
        logger.info("calling %s with %s", "https://rpc.example/v2/APIKEY123?token=abc", "hunter22")
    text = caplog.text
    for s in ("APIKEY123", "token=abc", "hunter22"):
        assert s not in text
    assert "***" in text


def test_the_monitor_holds_no_key() -> None:
    """Outside the devnet tooling no code sends or signs a transaction or names a private key (docstrings that
    explain what is never retried do not count)."""
    root = Path(__file__).resolve().parents[2] / "monitor"
    writes = {"eth_sendTransaction", "eth_sendRawTransaction", "eth_sign", "personal_sign", "eth_signTransaction"}
    found = []
    for path in root.rglob("*.py"):
        if "devnet" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in docstrings and node.value in writes:
                found.append(f"{path.name}: {node.value}")
            if isinstance(node, ast.Name | ast.arg) and "private_key" in getattr(node, "id", getattr(node, "arg", "")):
                found.append(f"{path.name}: private_key")
    assert not found, found


async def test_a_pool_with_no_liquidity_is_depth_zero(devnet: Devnet, tmp_path: Path) -> None:
    dep = devnet.dep
    link, dai = dep.tokens["LINK"].address, dep.tokens["DAI"].address
    token0, token1 = sorted((link, dai))
    sqrt_p = 2**96 * (15 if token0 == link else 1 / 15) ** 0.5
    npm = periphery(NPM).abi
    create = npm.fn("createAndInitializePoolIfNecessary").encode(token0, token1, 10_000, int(sqrt_p))
    devnet.rpc.send(dep.whale, dep.position_manager, create)
    get_pool = core(FACTORY).abi.fn("getPool")
    factory = str(devnet.rpc.read(dep.uniswap_factory, get_pool, token0, token1, 10_000)[0]).lower()
    data = devnet_config(devnet.url, dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["dex"]["pools"].append(factory)
    data["scenarios"], data["sweep"] = [], {"enabled": False}
    data["alerts"] = {"stale_after_s": 3600}
    cfg = parse_config(data, environ={})
    daemon = Daemon(cfg)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.started.wait(), 30)
        await _wait_ready(cfg.metrics.port, 90)
        _, body = await _get(f"http://127.0.0.1:{cfg.metrics.port}/metrics")
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)
    m = _samples(body)
    depths = {dict(k[1])["move"]: v for k, v in m.items()
              if k[0] == "cascade_monitor_dex_depth_usd" and dict(k[1])["pool"] == factory}  # fmt: skip
    assert depths and all(v == 0 for v in depths.values()), depths
    assert _one(m, "cascade_monitor_market_status", market="devnet-aave", status="ok") == 1
