"""Fixtures of the RPC client tests: one bare anvil per session (no contracts needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.devnet.anvil import Anvil


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """URL of a bare anvil shared by the RPC tests (they only read, or send value transfers)."""
    with Anvil() as node:
        yield node.url
