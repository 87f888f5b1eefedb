"""State cache: a populated devnet is built once, dumped, and reloaded in well under two seconds.

Two forms are kept per (code, market, population) key; the market includes its flavour (Aave v3.0 or v3.6):

- ``full``: every block, transaction and log (discovery from events needs history);
- ``slim``: accounts plus the head block only (fastest to load; ``eth_getLogs`` over history finds nothing).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from monitor.devnet.anvil import Anvil
from monitor.devnet.artifacts import OWN_CONTRACTS_FILE
from monitor.devnet.build import build_devnet
from monitor.devnet.deployment import Deployment
from monitor.devnet.morpho_compile import compile_morpho
from monitor.devnet.morpho_population import populate_morpho, population_for
from monitor.devnet.origin_build import compile_origin
from monitor.devnet.paths import CACHE_DIR, PROJECT_ROOT
from monitor.devnet.population import PopulationSpec, populate
from monitor.devnet.rpc import DevRpc, hex_int
from monitor.devnet.solc import compile_contracts
from monitor.devnet.spec import DEFAULT_MARKET, MarketSpec
from monitor.errors import DevnetError

log = logging.getLogger(__name__)
Form = Literal["full", "slim"]


def cache_key(population: PopulationSpec, market: MarketSpec = DEFAULT_MARKET) -> str:
    """Digest of everything that shapes the chain: our devnet code, npm lock, contracts, market, population."""
    h = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "monitor" / "devnet").glob("*.py")):
        h.update(path.read_bytes())
    for path in (PROJECT_ROOT / "package-lock.json", OWN_CONTRACTS_FILE):
        if path.exists():
            h.update(path.read_bytes())
    h.update(repr(market).encode())
    h.update(json.dumps(asdict(population), sort_keys=True).encode())
    return h.hexdigest()[:20]


@dataclass(frozen=True)
class CachedDevnet:
    """Files of one cached devnet."""

    directory: Path

    @property
    def deployment_file(self) -> Path:
        """Address map."""
        return self.directory / "deployment.json"

    def state_file(self, form: Form) -> Path:
        """anvil --load-state file of a form."""
        return self.directory / f"state-{form}.json"

    @property
    def meta_file(self) -> Path:
        """Head block and timing facts."""
        return self.directory / "meta.json"

    def complete(self) -> bool:
        """True when every file is there."""
        return all(p.exists() for p in (self.deployment_file, self.state_file("full"), self.state_file("slim"),
                                        self.meta_file))  # fmt: skip


def slim_state(state: dict[str, Any]) -> dict[str, Any]:
    """Keep accounts and the head block only (anvil needs the block whose number is best_block_number)."""
    best = (
        int(state["best_block_number"])
        if not isinstance(state["best_block_number"], str)
        else int(state["best_block_number"], 16)
    )
    blocks = [b for b in state.get("blocks", []) if int(b["header"]["number"], 16) == best]
    return {**state, "blocks": blocks, "transactions": [], "historical_states": None}


def dump_state(rpc: DevRpc) -> dict[str, Any]:
    """anvil_dumpState, unpacked (anvil answers gzip-compressed JSON as hex)."""
    data: dict[str, Any] = json.loads(gzip.decompress(bytes.fromhex(rpc.call("anvil_dumpState").removeprefix("0x"))))
    return data


def write_state_files(target: CachedDevnet, state: dict[str, Any]) -> None:
    """Write the full and slim forms of a dumped state, each atomically."""
    target.directory.mkdir(parents=True, exist_ok=True)
    forms: tuple[tuple[Form, dict[str, Any]], ...] = (("full", state), ("slim", slim_state(state)))
    for form, data in forms:
        path = target.state_file(form)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def build_and_dump(
    target: CachedDevnet,
    population: PopulationSpec,
    market: MarketSpec = DEFAULT_MARKET,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Build a devnet from scratch, populate it, and write the cache files atomically."""
    compile_contracts()
    if market.aave != "v3.0":
        compile_origin()
    compile_morpho()
    target.directory.mkdir(parents=True, exist_ok=True)
    with Anvil() as node, DevRpc(node.url) as rpc:
        t0 = time.monotonic()
        dep = build_devnet(rpc, market)
        deploy_s = time.monotonic() - t0
        populate(rpc, dep, population, market, progress=progress)
        populate_morpho(rpc, dep, population_for(population))
        populate_s = time.monotonic() - t0 - deploy_s
        head = rpc.call("eth_getBlockByNumber", "latest", False)
        state = dump_state(rpc)
    write_state_files(target, state)
    dep.save(target.deployment_file)
    meta = {
        "head_number": int(head["number"], 16),
        "head_timestamp": int(head["timestamp"], 16),
        "deploy_s": deploy_s,
        "populate_s": populate_s,
        "borrowers": population.borrowers,
    }
    target.meta_file.write_text(json.dumps(meta, indent=2))


def cached(population: PopulationSpec, market: MarketSpec = DEFAULT_MARKET) -> CachedDevnet:
    """The cache entry for a population (not necessarily built yet)."""
    return CachedDevnet(CACHE_DIR / cache_key(population, market))


def start_cached(
    population: PopulationSpec,
    *,
    form: Form = "full",
    port: int | None = None,
    market: MarketSpec = DEFAULT_MARKET,
    progress: Callable[[str, int, int], None] | None = None,
    log_path: Path | None = None,
) -> tuple[Anvil, Deployment]:
    """Start anvil on a cached populated devnet, building the cache first if needed. Caller stops the Anvil."""
    entry = cached(population, market)
    if not entry.complete():
        log.info("building devnet cache for %d borrowers (once)", population.borrowers)
        build_and_dump(entry, population, market, progress)
    node = Anvil(port=port, load_state=entry.state_file(form), log_path=log_path).start()
    try:
        meta = json.loads(entry.meta_file.read_text())
        with DevRpc(node.url) as rpc:
            head = rpc.call("eth_getBlockByNumber", "latest", False)
            if int(head["number"], 16) != meta["head_number"]:
                raise DevnetError(
                    f"reloaded devnet is at block {int(head['number'], 16)}, expected {meta['head_number']}"
                )
            # New blocks take the wall clock; never let it run behind the dumped head (interest maths reverts).
            if meta["head_timestamp"] >= int(time.time()):
                rpc.call("evm_setNextBlockTimestamp", hex_int(meta["head_timestamp"] + 1))
    except BaseException:
        node.stop()
        raise
    return node, Deployment.load(entry.deployment_file)
