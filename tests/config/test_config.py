"""Config loading: the examples load; each kind of bad config is a clear error naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config, parse_config, redact_url
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "chain": {"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 31337},
    "markets": [
        {
            "name": "devnet-aave",
            "protocol": "aave-v3",
            "pool_addresses_provider": "0x" + "ab" * 20,
            "start_block": 0,
        }
    ],
    "dex": {"pools": ["0x" + "01" * 20, "0x" + "02" * 20]},
    "metrics": {"listen": "127.0.0.1:9464"},
    "mqtt": {"url": "mqtt://127.0.0.1:1883", "topic_prefix": "cascade-monitor"},
}


@pytest.mark.parametrize("name", ["devnet.example.yaml", "mainnet.example.yaml"])
def test_examples_load(name: str) -> None:
    cfg = load_config(ROOT / "config" / name, environ={})
    assert cfg.markets[0].protocol == "aave-v3"
    assert cfg.dex.pools and all(p == p.lower() for p in cfg.dex.pools)


def test_the_issue_shape_loads_as_written() -> None:
    cfg = parse_config(GOOD, environ={})
    assert cfg.chain.chain_id == 31337
    assert cfg.metrics.host == "127.0.0.1" and cfg.metrics.port == 9464
    assert cfg.mqtt is not None and cfg.mqtt.topic_prefix == "cascade-monitor"
    with pytest.raises(Exception, match="frozen"):
        cfg.chain.chain_id = 1  # type: ignore[misc]


def _with(path: list[str | int], value: object) -> dict[str, object]:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data  # type: ignore[no-any-return]


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["chain", "rpc_url"], "http://x", r"chain\.rpc_url: unknown key"),
        (["markets", 0, "pool_addresses_provider"], "0x1234", r"markets\[0\]\.pool_addresses_provider: not a 20-byte"),
        (["dex", "pools", 1], "0xZZ" + "0" * 38, r"dex\.pools\[1\]: not a 20-byte"),
        (["chain", "chain_id"], _DELETE, r"chain\.chain_id: missing required key"),
        (["markets", 0, "protocol"], "compound", r"markets\[0\]\.protocol"),
        (["chain", "rpc_urls"], ["ftp://node"], r"chain\.rpc_urls: .*not an http"),
        (["chain", "chain_id"], "one", r"chain\.chain_id"),
        (["metrics", "listen"], "9464", r"metrics\.listen: expected host:port"),
        (["mqtt", "url"], "http://broker", r"mqtt\.url: expected mqtt://"),
        (["markets"], [], r"markets: "),
    ],
)
def test_bad_config_names_the_key(path: list[str | int], value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(_with(path, value), environ={})


def test_duplicate_market_names_rejected() -> None:
    data = _with(["markets"], [GOOD["markets"][0], GOOD["markets"][0]])  # type: ignore[index]
    with pytest.raises(ConfigError, match="repeated: devnet-aave"):
        parse_config(data, environ={})


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("chain: {rpc_urls: [\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(top)


def test_environment_overrides_and_secrets_are_redacted() -> None:
    env = {
        "CASCADE_MONITOR__CHAIN__RPC_URLS": '["https://user:pw@node.example/v2/SECRETKEY?key=abc"]',
        "CASCADE_MONITOR__MQTT__PASSWORD": "hunter2",
        "UNRELATED": "x",
    }
    cfg = parse_config(GOOD, environ=env)
    assert cfg.chain.rpc_urls == ["https://user:pw@node.example/v2/SECRETKEY?key=abc"]
    assert cfg.mqtt is not None and cfg.mqtt.password is not None
    assert cfg.mqtt.password.get_secret_value() == "hunter2"
    shown = str(cfg.redacted()) + repr(cfg)
    for secret in ("SECRETKEY", "hunter2", "pw@", "key=abc"):
        assert secret not in shown
    assert redact_url("https://node.example:8545/v2/KEY") == "https://node.example:8545/***"
    with pytest.raises(ConfigError, match="CASCADE_MONITOR__CHAIN__CHAIN_ID"):
        parse_config(GOOD, environ={"CASCADE_MONITOR__CHAIN__CHAIN_ID": "[unclosed"})


def test_check_config_cli_gives_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_with(["markets", 0, "pool_addresses_provider"], "0xnope")))
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "check-config", str(bad)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "markets[0].pool_addresses_provider" in proc.stderr
    assert "Traceback" not in proc.stderr
    good = subprocess.run(
        [sys.executable, "-m", "monitor", "check-config", str(ROOT / "config" / "devnet.example.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "config OK" in good.stdout
