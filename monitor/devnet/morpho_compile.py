"""Compile Morpho Blue from its npm sources (@morpho-org/morpho-blue) with the solc version it pins (0.8.19).

The package ships Solidity only. solcjs 0.8.19 (npm alias ``solc-0.8.19``) compiles it offline with the settings
Morpho's own build uses (via-IR, optimizer on); the output is cached under build/ and reused while the package
versions and settings match.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from monitor.devnet.artifacts import Artifact
from monitor.devnet.paths import BUILD_DIR, NODE_MODULES, node_binary
from monitor.errors import DevnetError

MORPHO_PACKAGE = NODE_MODULES / "@morpho-org" / "morpho-blue"
SOLC_PACKAGE = NODE_MODULES / "solc-0.8.19"
MORPHO_BUILD_FILE = BUILD_DIR / "morpho-blue.json"
CONTRACT = "Morpho"

# solcjs prints notices on stdout before its JSON; calling the module's compile() from node avoids that.
_NODE_SCRIPT = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => process.stdout.write(solc.compile(input)));
"""


def _settings() -> dict[str, Any]:
    return {
        "viaIR": True,
        "optimizer": {"enabled": True, "runs": 999999},
        "evmVersion": "paris",
        "outputSelection": {
            "src/Morpho.sol": {CONTRACT: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
            # solc 0.8.19 leaves library events out of the contract's ABI: EventsLib's ABI lists them
            "src/libraries/EventsLib.sol": {"EventsLib": ["abi"]},
        },
    }


def _package_version(package: Path) -> str:
    try:
        return str(json.loads((package / "package.json").read_text())["version"])
    except FileNotFoundError:
        raise DevnetError(f"npm package {package.name} missing: run `make setup` (npm ci)") from None


def build_key() -> str:
    """Digest of the Morpho and solc package versions and the compiler settings."""
    h = hashlib.sha256()
    h.update(_package_version(MORPHO_PACKAGE).encode() + b"\0" + _package_version(SOLC_PACKAGE).encode())
    h.update(json.dumps(_settings(), sort_keys=True).encode())
    return h.hexdigest()[:20]


def compile_morpho(out: Path = MORPHO_BUILD_FILE, *, force: bool = False) -> Path:
    """Compile src/Morpho.sol (with its libraries and interfaces) into ``out`` unless it is up to date."""
    key = build_key()
    if out.exists() and not force:
        try:
            if json.loads(out.read_text()).get("key") == key:
                return out
        except ValueError:
            pass
    src = MORPHO_PACKAGE / "src"
    sources = {
        f"src/{p.relative_to(src).as_posix()}": {"content": p.read_text()}
        for p in sorted(src.rglob("*.sol"))
        if "mocks" not in p.relative_to(src).parts
    }
    std_input = {"language": "Solidity", "sources": sources, "settings": _settings()}
    proc = subprocess.run(
        [node_binary(), "-e", _NODE_SCRIPT, str(SOLC_PACKAGE)],
        input=json.dumps(std_input).encode(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevnetError(f"solcjs 0.8.19 failed on Morpho Blue: {proc.stderr.decode(errors='replace')[-2000:]}")
    result = json.loads(proc.stdout)
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DevnetError("Morpho Blue solc errors:\n" + "\n".join(e.get("formattedMessage", str(e)) for e in errors))
    c = result["contracts"]["src/Morpho.sol"][CONTRACT]
    lib_abi = result["contracts"]["src/libraries/EventsLib.sol"]["EventsLib"]["abi"]
    events = [e for e in lib_abi if e["type"] == "event"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {
                "key": key,
                "abi": c["abi"] + events,
                "bytecode": c["evm"]["bytecode"]["object"],
                "deployedBytecode": c["evm"]["deployedBytecode"]["object"],
            }
        )
    )
    tmp.replace(out)
    return out


@cache
def morpho_artifact() -> Artifact:
    """The compiled Morpho Blue contract (compiled first if build/ has no up-to-date copy)."""
    data = json.loads(compile_morpho().read_text())
    return Artifact(
        name=CONTRACT,
        abi_entries=tuple(data["abi"]),
        bytecode="0x" + data["bytecode"],
        deployed_bytecode="0x" + data["deployedBytecode"],
    )
