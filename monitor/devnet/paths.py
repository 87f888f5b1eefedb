"""Where the devnet finds its tools: the project's node_modules and its build output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from monitor.errors import DevnetError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = PROJECT_ROOT / "node_modules"
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
BUILD_DIR = PROJECT_ROOT / "build"
CACHE_DIR = PROJECT_ROOT / ".cache" / "devnet"


def anvil_binary() -> str:
    """Path of the anvil binary: $ANVIL_BIN, the npm package's, or one on PATH."""
    env = os.environ.get("ANVIL_BIN")
    if env:
        return env
    local = NODE_MODULES / ".bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if found:
        return found
    raise DevnetError("anvil not found: run `make setup` (installs @foundry-rs/anvil from npm) or set ANVIL_BIN")


def node_binary() -> str:
    """Path of node (needed to run solcjs)."""
    found = shutil.which("node")
    if not found:
        raise DevnetError("node not found on PATH: install Node.js (20+) to compile the devnet contracts")
    return found


def artifact_path(package: str, relative: str) -> Path:
    """A hardhat artifact JSON inside an npm package, e.g. ('@aave/core-v3', 'protocol/pool/Pool.sol/Pool')."""
    path = NODE_MODULES / package / "artifacts" / "contracts" / f"{relative}.json"
    if not path.exists():
        raise DevnetError(f"artifact {package}:{relative} missing: run `make setup` (npm ci)")
    return path
