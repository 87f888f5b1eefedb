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
# argv[2] is a JSON list of [import prefix, directory] pairs: an import whose name starts with a prefix is read
# from the directory (the first matching prefix wins; "" matches every name).
_NODE_SCRIPT = """
const fs = require('fs');
const path = require('path');
const solc = require(process.argv[1]);
const roots = JSON.parse(process.argv[2] || '[]');
function findImports(name) {
  for (const [prefix, dir] of roots) {
    if (name.startsWith(prefix)) {
      const file = path.join(dir, name.slice(prefix.length));
      if (fs.existsSync(file)) return { contents: fs.readFileSync(file, 'utf8') };
    }
  }
  return { error: 'not found: ' + name };
}
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => process.stdout.write(solc.compile(input, { import: findImports })));
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
    std_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": _settings(),
    }
    result = run_solcjs(std_input)
    contracts: dict[str, Any] = {}
    for per_file in result["contracts"].values():
        for name, c in per_file.items():
            contracts[name] = {
                "abi": c["abi"],
                "bytecode": c["evm"]["bytecode"]["object"],
                "deployedBytecode": c["evm"]["deployedBytecode"]["object"],
            }
    write_json_atomically(out, {"digest": digest, "solc": npm_version("solc"), "contracts": contracts})
    return out


def npm_version(package: str) -> str:
    """Version of an installed npm package, or a :class:`DevnetError` telling to run setup."""
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.exists():
        raise DevnetError(f"npm package {package} missing: run `make setup` (npm ci)")
    return str(json.loads(manifest.read_text())["version"])


def run_solcjs(std_input: dict[str, Any], import_roots: list[tuple[str, Path]] | None = None) -> dict[str, Any]:
    """Compile a standard-JSON input with the pinned solcjs; imports resolve through ``import_roots``.

    Raises :class:`DevnetError` carrying solc's messages when any is an error.
    """
    npm_version("solc")
    roots = [[prefix, str(directory)] for prefix, directory in import_roots or []]
    proc = subprocess.run(
        [node_binary(), "-e", _NODE_SCRIPT, str(NODE_MODULES / "solc"), json.dumps(roots)],
        input=json.dumps(std_input).encode(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevnetError(f"solcjs failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DevnetError("solc errors:\n" + "\n".join(e.get("formattedMessage", str(e)) for e in errors))
    return result


def write_json_atomically(out: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``out`` through a temporary file (a reader never sees half a file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(out)
