"""Compile the project's own Solidity contracts (contracts/*.sol) with solcjs from npm, offline."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from monitor.devnet.artifacts import OWN_CONTRACTS_FILE
from monitor.devnet.paths import CONTRACTS_DIR, NODE_MODULES, node_binary
from monitor.errors import DevnetError

# solcjs prints notices on stdout before its JSON; calling the module's compile() from node avoids that.
_NODE_SCRIPT = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => process.stdout.write(solc.compile(input)));
"""


def sources_digest(sources: dict[str, str]) -> str:
    """Hash of the sources and compiler settings: the compiled output is reused while it matches."""
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    h.update(json.dumps(_settings(), sort_keys=True).encode())
    return h.hexdigest()


def _settings() -> dict[str, Any]:
    return {
        "optimizer": {"enabled": True, "runs": 200},
        "evmVersion": "paris",
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
    }


def compile_contracts(out: Path = OWN_CONTRACTS_FILE, *, force: bool = False) -> Path:
    """Compile contracts/*.sol into ``out`` (monitor/compiled/contracts.json) unless it is up to date."""
    sources = {p.name: p.read_text() for p in sorted(CONTRACTS_DIR.glob("*.sol"))}
    if not sources:
        raise DevnetError(f"no Solidity sources in {CONTRACTS_DIR.name}/")
    digest = sources_digest(sources)
    if out.exists() and not force:
        try:
            if json.loads(out.read_text()).get("digest") == digest:
                return out
        except ValueError:
            pass
    solc_module = NODE_MODULES / "solc"
    if not solc_module.exists():
        raise DevnetError("npm package solc missing: run `make setup` (npm ci)")
    std_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": _settings(),
    }
    proc = subprocess.run(
        [node_binary(), "-e", _NODE_SCRIPT, str(solc_module)],
        input=json.dumps(std_input).encode(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevnetError(f"solcjs failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result = json.loads(proc.stdout)
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DevnetError("solc errors:\n" + "\n".join(e.get("formattedMessage", str(e)) for e in errors))
    contracts: dict[str, Any] = {}
    for per_file in result["contracts"].values():
        for name, c in per_file.items():
            contracts[name] = {
                "abi": c["abi"],
                "bytecode": c["evm"]["bytecode"]["object"],
                "deployedBytecode": c["evm"]["deployedBytecode"]["object"],
            }
    version = json.loads((solc_module / "package.json").read_text())["version"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"digest": digest, "solc": version, "contracts": contracts}))
    tmp.replace(out)
    return out
