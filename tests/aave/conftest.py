"""Fixtures of the discovery tests: one freshly deployed (unpopulated) devnet per session, reverted per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.devnet.anvil import Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.deployment import Deployment
from monitor.devnet.rpc import DevRpc
from tests.aave.actions import Chain


@pytest.fixture(scope="session")
def fresh_chain() -> Iterator[tuple[Anvil, DevRpc, Deployment]]:
    """anvil with Aave v3 and Uniswap v3 deployed, and the whale's supplies; nobody else."""
    with Anvil() as node:
        rpc = DevRpc(node.url)
        try:
            yield node, rpc, build_devnet(rpc)
        finally:
            rpc.close()


@pytest.fixture
def chain(fresh_chain: tuple[Anvil, DevRpc, Deployment]) -> Iterator[Chain]:
    """The session chain, reverted to its freshly deployed state after the test."""
    node, rpc, dep = fresh_chain
    snap = rpc.snapshot()
    try:
        yield Chain(node.url, rpc, dep)
    finally:
        rpc.revert(snap)
