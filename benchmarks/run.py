"""``make bench``: run every benchmark with its default sizes, one after another, printing their tables.

Each module prints its machine and command; paste the tables into BENCHMARKS.md. The long ones (100k accounts,
the 30-minute soak) are not run here: run them by hand with the command BENCHMARKS.md gives.
"""

from __future__ import annotations

import subprocess
import sys

RUNS = [
    ["benchmarks.bench_devnet", "--borrowers", "10000"],
    ["benchmarks.bench_book"],
    ["benchmarks.bench_depth"],
    ["benchmarks.bench_indexer", "--borrowers", "10000"],
    ["benchmarks.bench_cascade"],
    ["benchmarks.bench_daemon", "--borrowers", "10000", "--duration", "600"],
]


def main() -> int:
    """Run each; a failing one is reported and the others still run."""
    failed = []
    for module, *args in RUNS:
        print(f"\n## {module} {' '.join(args)}", flush=True)
        rc = subprocess.call([sys.executable, "-m", module, *args])
        if rc != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
