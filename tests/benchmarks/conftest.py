"""Benchmark tests: tiny sizes, each benchmark run as its own process the way a script would run it."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "anvil: starts its own anvil node (seconds, not milliseconds)")
