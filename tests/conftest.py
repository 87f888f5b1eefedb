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
    blocks_since_start: int = 0  # blocks the tests have mined on this anvil since it was (re)started
    tests_since_start: int = 0

    @property
    def url(self) -> str:
        """JSON-RPC URL."""
        return self.node.url


@pytest.fixture(scope="session")
def session_devnet() -> Iterator[Devnet]:
    """The session's populated Aave v3.0.2 devnet (full history, so discovery from events works)."""
    node, dep = start_cached(SESSION_POPULATION, form="full")
    devnet = Devnet(node, DevRpc(node.url), dep, plan_population(SESSION_POPULATION), SESSION_POPULATION)
    try:
        yield devnet
    finally:
        devnet.rpc.close()  # the client of the last (re)start
        node.stop()


@pytest.fixture(scope="session")
def session_devnet_v36() -> Iterator[Devnet]:
    """The session's populated Aave v3.6 devnet (same population spec, liquid e-mode categories)."""
    market = market_for("v3.6")
    node, dep = start_cached(SESSION_POPULATION, form="full", market=market)
    devnet = Devnet(node, DevRpc(node.url), dep, plan_population(SESSION_POPULATION, market), SESSION_POPULATION)
    try:
        yield devnet
    finally:
        devnet.rpc.close()  # the client of the last (re)start
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


# anvil keeps a bounded history of states (DEFAULT_HISTORY_STATES), and evm_revert does not give back the room
# of the states it drops: after a few hundred blocks mined and reverted, a rollback to a test's first block can
# fail ("Required data unavailable", seen after 50 tests of 5 blocks). The session's anvil is reloaded from the
# cache well before that.
RESTART_AFTER_BLOCKS = 100
RESTART_AFTER_TESTS = 30


def _restart(session_devnet: Devnet) -> None:
    """Reload the session's anvil from the cache on the same port (every URL handed out stays right)."""
    session_devnet.rpc.close()
    session_devnet.node.stop()
    session_devnet.node.start()
    session_devnet.rpc = DevRpc(session_devnet.node.url)
    session_devnet.blocks_since_start = session_devnet.tests_since_start = 0


# A head block older than this (a cache built hours before this run) would read as stale data to a daemon under
# test (data age = wall clock - the block's timestamp): a block at the wall clock is mined first.
FRESH_HEAD_S = 600


def _isolated(session_devnet: Devnet) -> Iterator[Devnet]:
    head = session_devnet.rpc.call("eth_getBlockByNumber", "latest", False)
    if time.time() - int(head["timestamp"], 16) > FRESH_HEAD_S:
        session_devnet.rpc.call("evm_setTime", int(time.time()))
        session_devnet.rpc.mine()
    first = session_devnet.rpc.block_number()
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
        session_devnet.blocks_since_start += abs(session_devnet.rpc.block_number() - first) + 1
        session_devnet.tests_since_start += 1
        session_devnet.rpc.revert(snap)
        # evm_revert keeps anvil's clock offset (a test may have advanced time): back to the wall clock
        session_devnet.rpc.call("evm_setTime", int(time.time()))
        if (session_devnet.blocks_since_start >= RESTART_AFTER_BLOCKS
                or session_devnet.tests_since_start >= RESTART_AFTER_TESTS):  # fmt: skip
            _restart(session_devnet)
