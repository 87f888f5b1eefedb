"""Off-chain depth curves: the config keys, and the file reread when it changes (bad versions keep the last good)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import yaml

from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.venues.offchain_file import OffchainDepth, load_offchain
from tests.config.test_config import GOOD

LEVELS = {"0.01": 2e6, "0.02": 5e6, "0.05": 15e6, "0.10": 30e6}


def _config(dex: dict[str, object]) -> dict[str, object]:
    return {**GOOD, "dex": {**GOOD["dex"], **dex}}  # type: ignore[dict-item]


def test_offchain_keys_load_and_give_curves() -> None:
    cfg = parse_config(_config({"split_sales": True, "offchain": {"WETH": {"depth_usd": LEVELS}}}))
    assert cfg.dex.split_sales
    curve = cfg.dex.offchain["WETH"].curve()
    assert curve.drops == (0.01, 0.02, 0.05, 0.10)
    assert curve.usd_at(0.05) == 15e6
    assert not parse_config(GOOD).dex.split_sales and parse_config(GOOD).dex.offchain == {}


@pytest.mark.parametrize(
    ("depth", "says"),
    [({"0.01": 5e6, "0.02": 1e6}, "not decrease"), ({"2": 1e6}, "drop in (0, 1)"), ({"0.01": -1.0}, "positive")],
)
def test_a_bad_offchain_curve_is_a_config_error_naming_the_key(depth: dict[str, float], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config({"offchain": {"WETH": {"depth_usd": depth}}}))
    assert "dex.offchain.WETH.depth_usd" in str(err.value) and says in str(err.value)


def _write(path: Path, data: object, stamp_ns: int) -> None:
    path.write_text(json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data), encoding="utf-8")
    os.utime(path, ns=(stamp_ns, stamp_ns))  # a distinct modification time per version


def test_the_file_is_reread_on_change_and_a_bad_version_keeps_the_last_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "depth.yaml"
    _write(path, {"WETH": {"depth_usd": LEVELS}}, 1_000_000_000_000_000_000)
    cfg = parse_config(_config({"offchain": {"WBTC": {"depth_usd": LEVELS}}, "offchain_file": str(path)}))
    depth = OffchainDepth(cfg.dex)
    first = depth.current()
    assert set(first) == {"WETH", "WBTC"} and depth.error is None and depth.reads == 1
    assert depth.current() == first and depth.reads == 1  # unchanged file: not read again
    # a new version: the next call uses it
    _write(path, {"WETH": {"depth_usd": {k: v * 2 for k, v in LEVELS.items()}}}, 1_000_000_000_000_000_001)
    second = depth.current()
    assert second["WETH"].usd_at(0.05) == 30e6 and depth.reads == 2
    # a broken version: logged, the last good curves stay, the error says what is wrong
    with caplog.at_level(logging.ERROR):
        _write(path, {"WETH": {"depth_usd": {"0.02": 1e6, "0.01": 9e6}}}, 1_000_000_000_000_000_002)
        assert depth.current() == second
    assert depth.error is not None and "WETH" in depth.error and "not decrease" in depth.error
    assert any(r.getMessage() == "offchain depth file unusable" for r in caplog.records)
    path.write_text("WETH: [unclosed", encoding="utf-8")
    os.utime(path, ns=(1_000_000_000_000_000_003,) * 2)
    assert depth.current() == second and depth.error is not None
    # gone, then fixed
    path.unlink()
    assert depth.current() == second and "No such file" in (depth.error or "")
    _write(path, {"WETH": {"depth_usd": LEVELS}}, 1_000_000_000_000_000_004)
    assert depth.current() == first and depth.error is None and depth.reads == 3


def test_a_one_shot_command_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "depth.json"
    _write(path, {"WETH": {"depth_usd": LEVELS}}, 1_000_000_000_000_000_000)
    cfg = parse_config(_config({"offchain_file": str(path)}))
    assert set(load_offchain(cfg.dex)) == {"WETH"}
    _write(path, ["not", "a", "mapping"], 1_000_000_000_000_000_001)
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_offchain(cfg.dex)
