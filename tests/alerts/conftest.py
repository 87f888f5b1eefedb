"""Fixtures of the alert tests: a fresh mosquitto per test on a free loopback port, test certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.broker import Mosquitto, TlsFiles, make_tls


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous mosquitto, killed after the test (a missing mosquitto fails the test, naming the package)."""
    b = Mosquitto(tmp_path / "mosquitto")
    b.start()
    try:
        yield b
    finally:
        b.kill()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and a server certificate for 127.0.0.1 / localhost."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A second, unrelated test CA (its server certificate is not used)."""
    return make_tls(tmp_path_factory.mktemp("other-ca"))
