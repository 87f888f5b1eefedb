"""Fixtures of the daemon tests: a real mosquitto on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.broker import Mosquitto, mosquitto_binary


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A mosquitto on a free loopback port (Debian's package; .ci/run installs it)."""
    assert mosquitto_binary() is not None, "mosquitto is not installed (apt-get install mosquitto)"
    b = Mosquitto(tmp_path / "mosquitto")
    b.start()
    try:
        yield b
    finally:
        b.kill()
