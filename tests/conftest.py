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
from monitor.devnet.spec import market_for

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
    """The session's populated Aave v3.0.2 devnet (full history, so discovery from events works)."""
    node, dep = start_cached(SESSION_POPULATION, form="full")
    rpc = DevRpc(node.url)
    try:
        yield Devnet(node, rpc, dep, plan_population(SESSION_POPULATION), SESSION_POPULATION)
    finally:
        rpc.close()
        node.stop()


@pytest.fixture(scope="session")
def session_devnet_v36() -> Iterator[Devnet]:
    """The session's populated Aave v3.6 devnet (same population spec, liquid e-mode categories)."""
    market = market_for("v3.6")
    node, dep = start_cached(SESSION_POPULATION, form="full", market=market)
    rpc = DevRpc(node.url)
    try:
        yield Devnet(node, rpc, dep, plan_population(SESSION_POPULATION, market), SESSION_POPULATION)
    finally:
        rpc.close()
        node.stop()


@pytest.fixture(params=["v3.0", "v3.6"])
def aave_devnet(request: pytest.FixtureRequest) -> Iterator[Devnet]:
    """Each Aave flavour's session devnet in turn (v3.0.2, then v3.6), reverted after the test."""
    name = "session_devnet" if request.param == "v3.0" else "session_devnet_v36"
    yield from _isolated(request.getfixturevalue(name))


@pytest.fixture
def devnet_v36(session_devnet_v36: Devnet) -> Iterator[Devnet]:
    """The v3.6 session devnet, reverted to its pristine state after the test."""
    yield from _isolated(session_devnet_v36)


@pytest.fixture
def devnet(session_devnet: Devnet) -> Iterator[Devnet]:
    """The session devnet (Aave v3.0.2), reverted to its pristine state after the test."""
    yield from _isolated(session_devnet)


def _isolated(session_devnet: Devnet) -> Iterator[Devnet]:
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
