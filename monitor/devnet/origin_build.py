"""Compile Aave v3.6 (npm ``@aave-dao/aave-v3-origin``, Foundry sources only) with the pinned solcjs, once.

The output (ABI, creation bytecode and library link references of every contract with code) goes to
``build/aave-v3-origin.json``, keyed by the versions of the source packages and the compiler and by the
settings: a second setup with the same versions reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from functools import cache
from pathlib import Path
from typing import Any

from monitor.devnet.artifacts import Artifact
from monitor.devnet.paths import BUILD_DIR, NODE_MODULES
from monitor.devnet.solc import npm_version, run_solcjs, write_json_atomically
from monitor.errors import DevnetError

log = logging.getLogger(__name__)

ORIGIN_PACKAGE = "@aave-dao/aave-v3-origin"
SOURCE_PACKAGES = (ORIGIN_PACKAGE, "@openzeppelin/contracts", "@openzeppelin/contracts-upgradeable", "solc")
ORIGIN_FILE = BUILD_DIR / "aave-v3-origin.json"

# The market's contracts, as source unit names below the package's src/ (their imports come along).
ENTRY_POINTS = (
    "contracts/instances/PoolInstance.sol",
    "contracts/instances/PoolConfiguratorInstance.sol",
    "contracts/instances/ATokenInstance.sol",
    "contracts/instances/VariableDebtTokenInstance.sol",
    "contracts/misc/AaveOracle.sol",
    "contracts/misc/DefaultReserveInterestRateStrategyV2.sol",
    "contracts/helpers/AaveProtocolDataProvider.sol",
    "contracts/protocol/configuration/PoolAddressesProvider.sol",
    "contracts/protocol/configuration/ACLManager.sol",
)


def _settings() -> dict[str, Any]:
    return {
        "optimizer": {"enabled": True, "runs": 200},
        "evmVersion": "cancun",
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences"]}},
    }


def origin_digest() -> str:
    """Key of the compiled output: package versions, entry points and compiler settings."""
    key = {
        "versions": {p: npm_version(p) for p in SOURCE_PACKAGES},
        "entry_points": ENTRY_POINTS,
        "settings": _settings(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _import_roots() -> list[tuple[str, Path]]:
    oz = NODE_MODULES / "@openzeppelin"
    return [
        ("openzeppelin-contracts-upgradeable/contracts/", oz / "contracts-upgradeable"),
        ("openzeppelin-contracts/contracts/", oz / "contracts"),
        ("@openzeppelin/", oz),  # the upgradeable package imports the plain one by its npm name
        ("", NODE_MODULES / ORIGIN_PACKAGE / "src"),  # relative imports resolve below src/
    ]


def compile_origin(out: Path = ORIGIN_FILE, *, force: bool = False) -> Path:
    """Compile the v3.6 market contracts into ``out`` unless it is there for the same versions."""
    digest = origin_digest()
    if out.exists() and not force:
        try:
            if json.loads(out.read_text()).get("digest") == digest:
                return out
        except ValueError:
            pass
    src = NODE_MODULES / ORIGIN_PACKAGE / "src"
    sources = {}
    for name in ENTRY_POINTS:
        path = src / name
        if not path.exists():
            raise DevnetError(f"{ORIGIN_PACKAGE} lacks {name}: run `make setup` (npm ci)")
        sources[name] = {"content": path.read_text()}
    t0 = time.monotonic()
    result = run_solcjs({"language": "Solidity", "sources": sources, "settings": _settings()}, _import_roots())
    contracts: dict[str, Any] = {}
    for per_file in result["contracts"].values():
        for name, c in per_file.items():
            code = c["evm"]["bytecode"]["object"]
            if code:
                contracts[name] = {
                    "abi": c["abi"],
                    "bytecode": code,
                    "linkReferences": c["evm"]["bytecode"].get("linkReferences") or {},
                }
    seconds = time.monotonic() - t0
    log.info("compiled %s in %.1f s (%d contracts)", ORIGIN_PACKAGE, seconds, len(contracts))
    write_json_atomically(out, {"digest": digest, "compile_seconds": round(seconds, 1), "contracts": contracts})
    _compiled.cache_clear()
    return out


@cache
def _compiled() -> dict[str, Any]:
    if not ORIGIN_FILE.exists():
        raise DevnetError(f"{ORIGIN_PACKAGE} is not compiled: run `make setup` (or `cascade-monitor devnet build`)")
    data: dict[str, Any] = json.loads(ORIGIN_FILE.read_text())["contracts"]
    return data


@cache
def origin_artifact(name: str) -> Artifact:
    """A compiled v3.6 contract (or logic library) by contract name, e.g. ``origin_artifact('PoolInstance')``."""
    contracts = _compiled()
    if name not in contracts:
        raise DevnetError(f"contract {name} is not in {ORIGIN_FILE.name}: run `cascade-monitor devnet build`")
    c = contracts[name]
    return Artifact(
        name=name, abi_entries=tuple(c["abi"]), bytecode="0x" + c["bytecode"], link_references=c["linkReferences"]
    )
