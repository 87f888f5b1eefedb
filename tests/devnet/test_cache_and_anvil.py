"""anvil lifecycle and the state cache round trip."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from monitor.devnet.anvil import DEFAULT_HISTORY_STATES, Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.cache import CachedDevnet, dump_state, write_state_files
from monitor.devnet.population import PopulationSpec, account_data, populate
from monitor.devnet.rpc import DevRpc
from monitor.errors import PortInUseError, RpcResponseError


def test_anvil_refuses_a_port_in_use_and_stops_its_process(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        with pytest.raises(PortInUseError, match=str(port)):
            Anvil(port=port).start()
    node = Anvil(log_path=tmp_path / "anvil.log").start()
    proc = node._proc
    assert proc is not None and proc.poll() is None
    with DevRpc(node.url) as rpc:
        assert rpc.block_number() == 0
    node.stop()
    assert proc.poll() is not None, "the process we started is gone"
    assert (tmp_path / "anvil.log").exists()


def test_anvil_is_started_itself_and_keeps_a_bounded_history_of_states() -> None:
    """The process we start is anvil (not npm's node wrapper, which a kill on timeout would orphan anvil
    behind), and it keeps the last DEFAULT_HISTORY_STATES blocks' states in memory, never on disk."""
    with Anvil() as node, DevRpc(node.url) as rpc:
        assert node.pid is not None
        command = subprocess.run(["ps", "-o", "comm=", "-p", str(node.pid)], capture_output=True, text=True, check=True)
        assert Path(command.stdout.strip()).name == "anvil"
        rpc.mine(DEFAULT_HISTORY_STATES + 10)
        head = rpc.block_number()
        holder = rpc.accounts()[0]
        assert int(rpc.call("eth_getBalance", holder, hex(head - DEFAULT_HISTORY_STATES + 1)), 16) > 0
        with pytest.raises(RpcResponseError):
            rpc.call("eth_getBalance", holder, hex(head - DEFAULT_HISTORY_STATES - 5))


def test_a_full_history_anvil_spills_into_a_directory_it_removes_at_stop() -> None:
    node = Anvil(history_states=None).start()
    try:
        spill = node._states_dir
        assert spill is not None and spill.is_dir()
        assert node.command()[-2:] == ["--cache-path", str(spill)] and "--prune-history" not in node.command()
    finally:
        node.stop()
    assert not spill.exists(), "past states spilled to disk are removed with the process"


@pytest.mark.parametrize("form", ["full", "slim"])
def test_state_cache_round_trip_answers_the_same_account_data(tmp_path: Path, form: str) -> None:
    entry = CachedDevnet(tmp_path / "cache")
    with Anvil() as node, DevRpc(node.url) as rpc:
        dep = build_devnet(rpc)
        populate(rpc, dep, PopulationSpec(borrowers=300, seed=9))
        head = rpc.block_number()
        live = account_data(rpc, dep, dep.borrowers, head)
        write_state_files(entry, dump_state(rpc))
    with Anvil(load_state=entry.state_file(form)) as again, DevRpc(again.url) as rpc2:  # type: ignore[arg-type]
        assert rpc2.block_number() == head
        assert account_data(rpc2, dep, dep.borrowers, head) == live
        logs = rpc2.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(head), "address": dep.pool})
        assert (len(logs) > 0) == (form == "full"), "only the full form keeps history"
