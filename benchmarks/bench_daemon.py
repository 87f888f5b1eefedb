"""Daemon latency and soak: block-to-metrics latency percentiles with activity every block, CPU, memory,
open file descriptors and asyncio task count over a long run.

Run: .venv/bin/python -m benchmarks.bench_daemon --borrowers 10000 --duration 600
     .venv/bin/python -m benchmarks.bench_daemon --borrowers 2000 --duration 1800   (the soak)
The daemon runs in this process (so its CPU and memory are this process's); the chain and the activity
generator run in anvil and a thread.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

from monitor.config import parse_config
from monitor.daemon.result import MarketResult
from monitor.daemon.run import Daemon
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import Anvil, free_port
from monitor.devnet.build import build_devnet
from monitor.devnet.monitor_config import devnet_config
from monitor.devnet.population import PopulationSpec, populate
from monitor.devnet.rpc import DevRpc


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(int(q * len(s)), len(s) - 1)] if s else float("nan")


async def _run(url: str, dep_cfg: dict[str, object], duration: float, stop_activity: threading.Event) -> list[str]:
    cfg = parse_config(dep_cfg, environ={})
    latencies: list[float] = []
    samples: list[tuple[float, float, int, int]] = []  # (t, rss MB, fds, tasks)

    async def on_result(r: MarketResult) -> None:
        latencies.append(r.processing_s)

    daemon = Daemon(cfg, on_result=on_result)
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    while not latencies:  # the first cycle is the cold index: not part of the steady state
        await asyncio.sleep(0.2)
    cold = latencies.pop(0)
    cpu0, t0 = time.process_time(), time.monotonic()
    while time.monotonic() - t0 < duration:
        samples.append((time.monotonic() - t0, _rss_mb(), _fds(), len(asyncio.all_tasks())))
        await asyncio.sleep(min(10.0, duration / 20))
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - t0
    stop_activity.set()
    daemon.stop()
    await task
    first, last = samples[0], samples[-1]
    half = len(latencies) // 2
    return [
        f"| cold index (first cycle) | {cold:.2f} s |",
        f"| blocks processed | {len(latencies):,} in {wall:.0f} s |",
        f"| block-to-metrics latency p50 / p99 / max | {_pct(latencies, 0.5) * 1e3:.0f} / "
        f"{_pct(latencies, 0.99) * 1e3:.0f} / {max(latencies) * 1e3:.0f} ms |",
        f"| latency p50 first half / second half | {statistics.median(latencies[:half]) * 1e3:.0f} / "
        f"{statistics.median(latencies[half:]) * 1e3:.0f} ms |",
        f"| CPU of the daemon process (incl. the activity thread's client side) | {cpu / wall:.0%} of one core |",
        f"| RSS start / end / max | {first[1]:.0f} / {last[1]:.0f} / {max(s[1] for s in samples):.0f} MB |",
        f"| open file descriptors start / end / max | {first[2]} / {last[2]} / {max(s[2] for s in samples)} |",
        f"| asyncio tasks start / end / max | {first[3]} / {last[3]} / {max(s[3] for s in samples)} |",
    ]


def main() -> None:
    """Build a populated devnet, run the daemon with activity every block, print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of steady-state run")
    parser.add_argument("--block-interval", type=float, default=1.0, help="seconds between activity blocks")
    args = parser.parse_args()
    with Anvil() as node, DevRpc(node.url) as rpc, tempfile.TemporaryDirectory() as tmp:
        dep = build_devnet(rpc)
        populate(rpc, dep, PopulationSpec(borrowers=args.borrowers, seed=1))
        cfg = devnet_config(node.url, dep, metrics_port=free_port(), checkpoint=str(Path(tmp) / "cp.sqlite"))
        stop = threading.Event()

        def activity() -> None:
            with DevRpc(node.url) as own:
                gen = ActivityGenerator(own, dep, seed=3, actions_per_block=10)
                while not stop.is_set():
                    gen.step()
                    stop.wait(args.block_interval)

        thread = threading.Thread(target=activity, name="activity", daemon=True)
        thread.start()
        rows = asyncio.run(_run(node.url, cfg, args.duration, stop))
        stop.set()
        thread.join(timeout=30)
    print(f"machine: {os.cpu_count()} vCPU {platform.machine()}, Python {platform.python_version()}")
    print(f"command: .venv/bin/python -m benchmarks.bench_daemon --borrowers {args.borrowers} "
          f"--duration {args.duration:g} --block-interval {args.block_interval:g}")  # fmt: skip
    print(f"| {args.borrowers:,} accounts, a block of ~10 actions every {args.block_interval:g} s | value |")
    print("|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
