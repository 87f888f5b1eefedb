"""The protocol registry and the config's union of market entries agree, and an unknown protocol is refused
clearly, naming the protocols that are known."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import KNOWN_PROTOCOLS, ChainConfig, parse_config
from monitor.configbase import FrozenModel
from monitor.errors import ConfigError
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.tracker import AaveV3Tracker
from monitor.protocols.registry import TrackerDeps, known_protocols, open_tracker
from tests.config.test_config import GOOD


def test_every_config_protocol_has_a_package_and_back() -> None:
    assert set(known_protocols()) == set(KNOWN_PROTOCOLS) == {"aave-v3"}


@pytest.mark.parametrize("protocol", ["compound-v3", "aave-v2", "AAVE-V3"])
def test_unknown_protocol_is_a_config_error_listing_the_known_ones(protocol: str) -> None:
    data = copy.deepcopy(GOOD)
    data["markets"][0]["protocol"] = protocol  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    message = str(info.value)
    assert f"markets[0].protocol: unknown protocol {protocol!r}" in message
    assert "known protocols: aave-v3" in message


def test_missing_protocol_names_the_choices() -> None:
    data = copy.deepcopy(GOOD)
    del data["markets"][0]["protocol"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"markets\[0\]\.protocol: missing required key \(one of: aave-v3\)"):
        parse_config(data, environ={})


def test_errors_inside_an_entry_name_the_key_without_the_protocol_tag() -> None:
    data = copy.deepcopy(GOOD)
    data["markets"][0]["start_block"] = -5  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert "markets[0].start_block:" in str(info.value)
    assert "aave-v3.start_block" not in str(info.value)


def test_an_entry_parses_to_its_protocols_model() -> None:
    cfg = parse_config(GOOD, environ={})
    assert isinstance(cfg.markets[0], AaveV3MarketConfig)
    assert cfg.markets[0].pool_addresses_provider == "0x" + "ab" * 20


class _Elsewhere(FrozenModel):
    """An entry of a protocol that has no package (only constructible in code, never from a config file)."""

    name: str
    protocol: str


async def test_the_registry_refuses_a_protocol_without_a_package(tmp_path: Path) -> None:
    chain = ChainConfig(rpc_urls=["http://127.0.0.1:1"], chain_id=1)
    with Checkpoint(tmp_path / "cp.sqlite") as checkpoint:
        deps = TrackerDeps(RpcClient(chain), checkpoint, chain)
        with pytest.raises(ConfigError, match=r"market x: unknown protocol 'euler-v2'; known protocols: aave-v3"):
            open_tracker(_Elsewhere(name="x", protocol="euler-v2"), deps)  # type: ignore[arg-type]
        tracker = open_tracker(
            AaveV3MarketConfig(name="a", protocol="aave-v3", pool_addresses_provider="0x" + "11" * 20), deps
        )
        assert isinstance(tracker, AaveV3Tracker) and tracker.name == "a" and tracker.protocol == "aave-v3"
