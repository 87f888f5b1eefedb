"""The coverage maths of buffers (:mod:`monitor.risk.buffers`): uncovered loss, coverage ratio, which units
are reported and how near a loss comes to exhausting its buffer."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.risk.buffers import Coverage, coverage, exhaustion


def test_uncovered_and_ratio() -> None:
    short = Coverage(buffer_usd=300.0, loss_usd=1_000.0)
    assert short.uncovered_usd == 700.0 and short.coverage_ratio == 0.3 and short.exhausted
    assert short.to_json() == {"buffer_usd": 300.0, "loss_usd": 1_000.0, "uncovered_usd": 700.0, "coverage_ratio": 0.3}
    ample = Coverage(buffer_usd=2_000.0, loss_usd=500.0)
    assert ample.uncovered_usd == 0.0 and ample.coverage_ratio == 4.0 and not ample.exhausted
    exact = Coverage(buffer_usd=500.0, loss_usd=500.0)
    assert exact.uncovered_usd == 0.0 and exact.coverage_ratio == 1.0 and not exact.exhausted, "equal is covered"
    none = Coverage(buffer_usd=100.0, loss_usd=0.0)
    assert none.coverage_ratio is None and none.uncovered_usd == 0.0 and not none.exhausted
    bare = Coverage(buffer_usd=0.0, loss_usd=50.0)
    assert bare.coverage_ratio == 0.0 and bare.uncovered_usd == 50.0 and bare.exhausted


def test_loss_is_current_plus_new_and_units_are_those_with_a_buffer_or_a_loss() -> None:
    got = coverage(
        buffers={"WETH": 1_000.0, "DAI": 10.0},
        current_loss={"WETH": 200.0, "USDC": 0.0, "LINK": 5.0},
        new_loss={"WETH": 300.0, "USDC": 40.0, "WBTC": 0.0},
    )
    assert got == {
        "WETH": Coverage(1_000.0, 500.0),  # both losses against its buffer
        "DAI": Coverage(10.0, 0.0),  # a buffer and no loss: reported, ratio None
        "LINK": Coverage(0.0, 5.0),  # an old deficit, no buffer
        "USDC": Coverage(0.0, 40.0),  # a new loss, no buffer
    }, "WBTC (no buffer, no loss) is left out"
    assert coverage({}, {}, {"m1": 0.0}) == {}


def test_exhaustion() -> None:
    assert exhaustion({}) == 0.0
    assert exhaustion({"a": Coverage(100.0, 0.0)}) == 0.0
    assert exhaustion({"a": Coverage(100.0, 50.0), "b": Coverage(10.0, 8.0)}) == pytest.approx(0.8)
    assert exhaustion({"a": Coverage(100.0, 50.0), "b": Coverage(0.0, 1e-9)}) == math.inf


def test_config_rejects_a_negative_or_infinite_buffer() -> None:
    base = {"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}
    assert AaveV3MarketConfig.model_validate(base).buffers_usd == {}
    assert AaveV3MarketConfig.model_validate({**base, "buffers_usd": {"WETH": 5e5}}).buffers_usd == {"WETH": 5e5}
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValidationError, match="buffers_usd"):
            AaveV3MarketConfig.model_validate({**base, "buffers_usd": {"WETH": bad}})
