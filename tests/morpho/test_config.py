"""The ``morpho-blue`` config entry: parsed to its model, its tracker opened by the registry, bad ids refused
with the key named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.protocols.morpho_blue.tracker import MorphoBlueTracker
from monitor.protocols.registry import TrackerDeps, open_tracker
from tests.config.test_config import GOOD

ID = "0x" + "1f" * 32


def _data(**entry: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    data["markets"] = [{"name": "morpho", "protocol": "morpho-blue", "morpho": "0x" + "Bb" * 20,
                        "market_ids": [ID], **entry}]  # fmt: skip
    return data


def test_an_entry_parses_and_opens_a_morpho_tracker(tmp_path: Path) -> None:
    cfg = parse_config(_data(suppliers=["0x" + "cd" * 20], start_block=7), environ={})
    (market,) = cfg.markets
    assert isinstance(market, MorphoBlueMarketConfig)
    assert market.morpho == "0x" + "bb" * 20 and market.market_ids == [ID] and market.start_block == 7
    assert market.suppliers == ["0x" + "cd" * 20] and market.loan_usd_feeds == {}
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        tracker = open_tracker(market, TrackerDeps(RpcClient(cfg.chain), cp, cfg.chain))
        assert isinstance(tracker, MorphoBlueTracker) and tracker.protocol == "morpho-blue"
        assert tracker.log_filter().addresses == ("0x" + "bb" * 20,)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"market_ids": ["0x1234"]}, "markets[0].market_ids[0]: not a 32-byte hex market id"),
        ({"market_ids": []}, "markets[0]: market_ids: list at least one market id, or loan_tokens"),
        ({"loan_tokens": ["usdc"]}, "markets[0].loan_tokens[0]: not a 20-byte hex address"),
        ({"loan_tokens": ["0x" + "aa" * 20, "0x" + "AA" * 20]}, "markets[0].loan_tokens: listed twice"),
        ({"market_ids": [ID, ID.upper().replace("0X", "0x")]}, "markets[0].market_ids: listed twice"),
        ({"suppliers": ["vault"]}, "markets[0].suppliers[0]: not a 20-byte hex address"),
    ],
)
def test_bad_entries_name_the_key(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_data(**entry), environ={})
    assert message in str(info.value)


def test_loan_tokens_alone_are_an_entry() -> None:
    data = _data(loan_tokens=["0x" + "Aa" * 20])
    del data["markets"][0]["market_ids"]
    (market,) = parse_config(data, environ={}).markets
    assert isinstance(market, MorphoBlueMarketConfig)
    assert market.market_ids == [] and market.loan_tokens == ["0x" + "aa" * 20]
