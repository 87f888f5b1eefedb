"""Shared fixtures: one populated devnet per test session (reloaded from the state cache), isolated per test
with evm_snapshot / evm_revert."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from monitor.devnet.anvil import Anvil
from monitor.devnet.cache import start_cached
from monitor.devnet.deployment import Deployment
from monitor.devnet.population import BorrowerPlan, PopulationSpec, plan_population
from monitor.devnet.rpc import DevRpc

# The population every devnet test shares: >= 2,000 borrowers, multi-collateral, multi-debt and e-mode.
SESSION_POPULATION = PopulationSpec(borrowers=2_000, seed=1)


@dataclass
class Devnet:
    """A running devnet: the anvil process, a JSON-RPC driver, the address map and the generated plans."""

    node: Anvil
    rpc: DevRpc
    dep: Deployment
    plans: list[BorrowerPlan]
    population: PopulationSpec

    @property
    def url(self) -> str:
        """JSON-RPC URL."""
        return self.node.url


@pytest.fixture(scope="session")
def session_devnet() -> Iterator[Devnet]:
    """The session's populated devnet (full history, so discovery from events works)."""
    node, dep = start_cached(SESSION_POPULATION, form="full")
    rpc = DevRpc(node.url)
    try:
        yield Devnet(node, rpc, dep, plan_population(SESSION_POPULATION), SESSION_POPULATION)
    finally:
        rpc.close()
        node.stop()


@pytest.fixture
def devnet(session_devnet: Devnet) -> Iterator[Devnet]:
    """The session devnet, reverted to its pristine state after the test."""
    snap = session_devnet.rpc.snapshot()
    view = Devnet(
        session_devnet.node,
        session_devnet.rpc,
        copy.deepcopy(session_devnet.dep),
        session_devnet.plans,
        session_devnet.population,
    )
    try:
        yield view
    finally:
        session_devnet.rpc.revert(snap)
        # evm_revert keeps anvil's clock offset (a test may have advanced time): back to the wall clock
        session_devnet.rpc.call("evm_setTime", int(time.time()))
