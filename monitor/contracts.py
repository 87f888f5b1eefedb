"""The project's own compiled contracts (contracts/*.sol -> monitor/compiled/contracts.json by solcjs at setup).

The monitor uses one of them at runtime: the read-only ``AaveLens``, injected into ``eth_call`` with a state
override so it needs no deployment on any chain. The compiled file is package data (git-ignored, written by
``make setup``), so an installed wheel carries it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from monitor.chain.abi import Abi
from monitor.errors import MonitorError

OWN_CONTRACTS_FILE = Path(__file__).resolve().parent / "compiled" / "contracts.json"
LENS_ADDRESS = "0x00000000000000000000000000000000c0de1e45"  # where the lens code is injected


@dataclass(frozen=True, eq=False)
class OwnContract:
    """ABI and bytecode of one of our contracts."""

    name: str
    abi_entries: tuple[dict[str, Any], ...]
    bytecode: str  # creation code, 0x-hex
    deployed_bytecode: str  # runtime code, 0x-hex

    @property
    def abi(self) -> Abi:
        """The parsed ABI."""
        return Abi(self.abi_entries)


@cache
def _compiled() -> dict[str, Any]:
    if not OWN_CONTRACTS_FILE.exists():
        raise MonitorError(
            f"{OWN_CONTRACTS_FILE} is missing: the contracts are not compiled. Run `make setup` in the source "
            "tree (or `cascade-monitor devnet build`) before installing or building the package"
        )
    data: dict[str, Any] = json.loads(OWN_CONTRACTS_FILE.read_text())
    return data


def own_contract(name: str) -> OwnContract:
    """One of contracts/*.sol, compiled."""
    contracts = _compiled()["contracts"]
    if name not in contracts:
        raise MonitorError(f"contract {name} is not in {OWN_CONTRACTS_FILE}: run `make setup`")
    c = contracts[name]
    return OwnContract(name, tuple(c["abi"]), "0x" + c["bytecode"], "0x" + c["deployedBytecode"])


def lens_override() -> dict[str, Any]:
    """eth_call state override that places the AaveLens runtime code at :data:`LENS_ADDRESS`."""
    return {LENS_ADDRESS: {"code": own_contract("AaveLens").deployed_bytecode}}
