"""Contract artifacts: the published npm hardhat artifacts (Aave, Uniswap) and our own compiled contracts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from monitor.chain.abi import Abi
from monitor.contracts import OWN_CONTRACTS_FILE, own_contract
from monitor.devnet.paths import artifact_path
from monitor.errors import DevnetError, MonitorError

__all__ = ["OWN_CONTRACTS_FILE", "Artifact", "npm_artifact", "own_artifact"]


@dataclass(frozen=True, eq=False)  # hashed by identity: artifacts are cached singletons
class Artifact:
    """ABI and creation bytecode of one contract, with the library placeholders it needs linked."""

    name: str
    abi_entries: tuple[Mapping[str, Any], ...]
    bytecode: str
    link_references: Mapping[str, Mapping[str, list[Mapping[str, int]]]] = field(default_factory=dict)
    deployed_bytecode: str = ""

    @property
    def abi(self) -> Abi:
        """The parsed ABI."""
        return _abi_of(self)

    def linked(self, libraries: Mapping[str, str]) -> str:
        """Creation bytecode with every library placeholder replaced by its address."""
        code = self.bytecode.removeprefix("0x")
        for refs in self.link_references.values():
            for lib_name, spots in refs.items():
                if lib_name not in libraries:
                    raise DevnetError(f"{self.name} needs library {lib_name} linked")
                addr = libraries[lib_name].removeprefix("0x").lower()
                for spot in spots:
                    start = 2 * spot["start"]  # byte offset -> hex offset
                    code = code[:start] + addr + code[start + 2 * spot["length"] :]
        if "__" in code:
            raise DevnetError(f"{self.name}: unlinked placeholder remains")
        return "0x" + code


@cache
def _abi_of(art: Artifact) -> Abi:
    return Abi(art.abi_entries)


@cache
def npm_artifact(package: str, relative: str) -> Artifact:
    """A hardhat artifact from an npm package, e.g. ``npm_artifact('@aave/core-v3', 'protocol/pool/Pool.sol/Pool')``."""
    data = json.loads(artifact_path(package, relative).read_text())
    return Artifact(
        name=str(data["contractName"]),
        abi_entries=tuple(data["abi"]),
        bytecode=str(data["bytecode"]),
        link_references=data.get("linkReferences") or {},
        deployed_bytecode=str(data.get("deployedBytecode", "")),
    )


def own_artifact(name: str) -> Artifact:
    """One of the project's own contracts (contracts/*.sol), compiled by solcjs into monitor/compiled/contracts.json."""
    try:
        c = own_contract(name)
    except MonitorError as exc:
        raise DevnetError(str(exc)) from None
    return Artifact(name=name, abi_entries=c.abi_entries, bytecode=c.bytecode, deployed_bytecode=c.deployed_bytecode)
