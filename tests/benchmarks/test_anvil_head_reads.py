"""Why the daemon's reads at a pinned block can underflow in ``getReserveNormalizedIncome`` (issue 16).

anvil answers a read at block N in two ways. Below its head it uses a stored snapshot of N (or, with
``--prune-history`` and no snapshot kept, refuses with ``BlockOutOfRangeError``). At its head it uses the live
database and the current block environment, read one after the other, not atomically with mining: a read for
N that arrives while N+1 is being mined waits for the database, then runs on N+1's state with N's block number
and timestamp. Where a reserve was updated in N+1, ``lastUpdateTimestamp`` is then later than ``block.timestamp``
and ``getReserveNormalizedIncome`` reverts with the 0x11 panic (``block.timestamp - lastUpdateTimestamp``);
everywhere else the answer is silently N+1's. It happens with and without ``--prune-history`` (that flag only
made the 100k run possible). A read one block below the head never mixes states.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from monitor.devnet.activity import mine_busy_blocks
from monitor.devnet.anvil import Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.deployment import Deployment
from monitor.devnet.population import PopulationSpec, populate
from monitor.devnet.rpc import DevRpc
from monitor.protocols.aave_v3.market import GET_RESERVE_DATA
from monitor.protocols.aave_v3.reader import NORMALIZED_INCOME

pytestmark = pytest.mark.anvil
LAST_UPDATE = 6  # index of lastUpdateTimestamp in getReserveData's struct (Aave v3.0.x)


def _read(rpc: DevRpc, dep: Deployment, block: int) -> Counter[str]:
    """Reserve reads at ``block``, classified: ok, underflow (0x11 panic), newer (state later than the block),
    out-of-range (refused)."""
    timestamp = int(rpc.call("eth_getBlockByNumber", hex(block), False)["timestamp"], 16)
    calls: list[tuple[str, str]] = []
    for t in dep.tokens.values():
        calls += [(dep.pool, NORMALIZED_INCOME.encode(t.address)), (dep.pool, GET_RESERVE_DATA.encode(t.address))]
    payload = [{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"to": to, "data": data}, hex(block)]}
               for i, (to, data) in enumerate(calls)]  # fmt: skip
    answers: list[dict[str, Any]] = sorted(rpc._post(payload), key=lambda a: int(a["id"]))
    seen: Counter[str] = Counter()
    for i, a in enumerate(answers):
        if "error" in a:
            message = str(a["error"].get("message", ""))
            if "BlockOutOfRange" in message:
                seen["out-of-range"] += 1
            else:
                seen["underflow" if "underflow" in message or "0x11" in message else f"other: {message}"] += 1
        elif i % 2 == 1 and int(GET_RESERVE_DATA.decode(a["result"])[0][LAST_UPDATE]) > timestamp:
            seen["newer"] += 1
        else:
            seen["ok"] += 1
    return seen


@pytest.mark.parametrize("prune", [True, False], ids=["prune-history", "full-history"])
def test_reads_at_the_head_while_the_next_block_is_mined_see_its_state(prune: bool) -> None:
    with Anvil(history_states=None, extra_args=["--prune-history"] if prune else []) as node, DevRpc(node.url) as rpc:
        dep = build_devnet(rpc)
        populate(rpc, dep, PopulationSpec(borrowers=60, seed=1))
        stop = threading.Event()
        miner = threading.Thread(
            target=mine_busy_blocks,
            args=(node.url, dep, stop),
            kwargs={"seed": 3, "actions_per_block": 100},
            daemon=True,
        )
        miner.start()
        at_head: Counter[str] = Counter()
        below: Counter[str] = Counter()
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not (at_head["underflow"] and at_head["newer"] and below):
                head = rpc.block_number()
                at_head += _read(rpc, dep, head)
                below += _read(rpc, dep, head - 1)
        finally:
            stop.set()
            miner.join(timeout=60)
    # at the head: the 0x11 panic of getReserveNormalizedIncome, and reserve data from a later block
    assert at_head["underflow"] > 0, at_head
    assert at_head["newer"] > 0, at_head
    # one block below the head: never a mix; with pruned history the node refuses instead of answering
    assert below["underflow"] == below["newer"] == 0, below
    if prune:
        assert set(below) == {"out-of-range"}, below
    else:
        assert set(below) == {"ok"}, below
