"""Where the devnet finds its tools: the project's node_modules and its build output."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

from monitor.errors import DevnetError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = PROJECT_ROOT / "node_modules"
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
BUILD_DIR = PROJECT_ROOT / "build"
CACHE_DIR = PROJECT_ROOT / ".cache" / "devnet"


# npm's names for this machine, as @foundry-rs/anvil's platform packages are named (anvil-<os>-<arch>)
_NPM_OS = {"linux": "linux", "darwin": "darwin", "win32": "win32"}
_NPM_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def anvil_binary() -> str:
    """Path of the anvil binary: $ANVIL_BIN, the npm platform package's executable, the npm wrapper, or one on
    PATH. The executable itself is preferred to npm's node wrapper so that the process we start and stop is anvil
    (a wrapper killed on timeout would leave anvil running)."""
    env = os.environ.get("ANVIL_BIN")
    if env:
        return env
    npm_os, npm_arch = _NPM_OS.get(sys.platform), _NPM_ARCH.get(platform.machine().lower())
    if npm_os and npm_arch:
        native = NODE_MODULES / "@foundry-rs" / f"anvil-{npm_os}-{npm_arch}" / "bin" / "anvil"
        if native.exists():
            return str(native)
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
