"""Devnet benchmarks: cold deploy, population speed (borrowers/s), cached reload.

Run: .venv/bin/python -m benchmarks.bench_devnet [--borrowers 10000]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from monitor.devnet.anvil import Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.cache import CachedDevnet, dump_state, write_state_files
from monitor.devnet.population import PopulationSpec, account_data, populate
from monitor.devnet.rpc import DevRpc


def main() -> None:
    """Measure and print a Markdown table row set."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        entry = CachedDevnet(Path(tmp))
        t0 = time.monotonic()
        with Anvil() as node, DevRpc(node.url) as rpc:
            t_start = time.monotonic() - t0
            t1 = time.monotonic()
            dep = build_devnet(rpc)
            t_deploy = time.monotonic() - t1
            t2 = time.monotonic()
            populate(rpc, dep, PopulationSpec(borrowers=args.borrowers, seed=1))
            t_pop = time.monotonic() - t2
            head = rpc.block_number()
            t3 = time.monotonic()
            rows = account_data(rpc, dep, dep.borrowers, head)
            t_read = time.monotonic() - t3
            t4 = time.monotonic()
            write_state_files(entry, dump_state(rpc))
            t_dump = time.monotonic() - t4
        sizes = {f: entry.state_file(f).stat().st_size for f in ("full", "slim")}  # type: ignore[arg-type]
        reload_s = {}
        for form in ("full", "slim"):
            t5 = time.monotonic()
            with Anvil(load_state=entry.state_file(form)) as again, DevRpc(again.url) as rpc2:  # type: ignore[arg-type]
                assert rpc2.block_number() == head
                reload_s[form] = time.monotonic() - t5
                assert account_data(rpc2, dep, dep.borrowers[:100], head) == rows[:100]
    n = args.borrowers
    if args.json:
        fig = {"borrowers": n, "anvil_start_s": t_start, "deploy_s": t_deploy, "populate_s": t_pop,
               "populate_borrowers_per_s": n / t_pop, "read_accounts_s": t_read, "read_accounts_per_s": n / t_read,
               "dump_state_s": t_dump, "state_full_mb": sizes["full"] / 1e6, "state_slim_mb": sizes["slim"] / 1e6,
               "reload_full_s": reload_s["full"], "reload_slim_s": reload_s["slim"]}  # fmt: skip
        print(json.dumps(fig, indent=1))
        return
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print("| measure | value |\n|---|---|")
    print(f"| anvil start | {t_start:.2f} s |")
    print(f"| cold deploy (tokens, feeds, Aave v3, Uniswap v3, liquidity) | {t_deploy:.2f} s |")
    print(f"| populate {n:,} borrowers | {t_pop:.1f} s = {n / t_pop:,.0f} borrowers/s |")
    print(f"| read getUserAccountData of {n:,} accounts (lens, batched) | {t_read:.2f} s = {n / t_read:,.0f}/s |")
    print(f"| dump state | {t_dump:.1f} s |")
    for form in ("full", "slim"):
        print(f"| cached reload, {form} ({sizes[form] / 1e6:.0f} MB) | {reload_s[form]:.2f} s |")


if __name__ == "__main__":
    main()
