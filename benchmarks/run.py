"""``make bench``: run every benchmark with its default sizes, one after another, printing their tables.

Each module prints its machine and command; paste the tables into BENCHMARKS.md. The long ones (100k accounts,
the 30-minute soak) are not run here: run them by hand with the command BENCHMARKS.md gives. With ``--json``
each runs with ``--json`` and one JSON document ``{module: figures}`` is printed (a failed one maps to null).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

RUNS = [
    ["benchmarks.bench_devnet", "--borrowers", "10000"],
    ["benchmarks.bench_book"],
    ["benchmarks.bench_depth"],
    ["benchmarks.bench_indexer", "--borrowers", "10000"],
    ["benchmarks.bench_cascade"],
    ["benchmarks.bench_split"],
    ["benchmarks.bench_block_compute", "--accounts", "100000", "--blocks", "8"],
    ["benchmarks.bench_daemon", "--borrowers", "10000", "--duration", "600"],
]


def main() -> int:
    """Run each; a failing one is reported and the others still run."""
    as_json = "--json" in sys.argv[1:]
    failed, docs = [], {}
    for module, *args in RUNS:
        if as_json:
            done = subprocess.run([sys.executable, "-m", module, *args, "--json"], stdout=subprocess.PIPE, text=True)
            doc: Any = json.loads(done.stdout) if done.returncode == 0 else None
            docs[module] = doc
            rc = done.returncode
        else:
            print(f"\n## {module} {' '.join(args)}", flush=True)
            rc = subprocess.call([sys.executable, "-m", module, *args])
        if rc != 0:
            failed.append(module)
    if as_json:
        print(json.dumps(docs, indent=1))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
