"""Daemon freshness and soak: from a block's appearance at the node to its metrics being served, with activity
every block; failed cycles, CPU and memory over the run.

Run: .venv/bin/python -m benchmarks.bench_daemon --borrowers 10000 --duration 600 [--prune-history [N]] [--json]
     .venv/bin/python -m benchmarks.bench_daemon --borrowers 2000 --duration 1800   (the soak)

How freshness is measured: the activity thread mines one block of ~10 user actions every ``--block-interval``
seconds and records the wall clock when ``evm_mine`` returned (the block is at the node). A separate thread polls
``/metrics`` every ``--poll-ms`` like a scraper and records when ``cascade_monitor_last_block`` first shows each
block number or a later one. A block's latency is the difference: it includes the daemon's wait for its next
poll of the head and every cycle that failed in between (failed cycles are not dropped: the block is served
later, and that later time is what counts). Blocks the daemon coalesced count with the time a later block's
metrics appeared; blocks not yet served when the run ends count with the time to the end (and are counted).
The daemon's own histogram (``cascade_monitor_block_processing_seconds``) is reported next to it.

The daemon runs in this process (its CPU and memory are this process's, with the activity and poller threads);
anvil's CPU is reported separately. ``--json`` prints one JSON document of the figures on stdout; progress goes
to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import os
import platform
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.allocator_option import add_allocator_option, apply_allocator
from benchmarks.step_breakdown import Breakdown, percentile
from monitor.config import parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import DEFAULT_HISTORY_STATES, Anvil, free_port
from monitor.devnet.build import build_devnet
from monitor.devnet.monitor_config import LIVE_DEVNET_CONFIRMATIONS, devnet_config
from monitor.devnet.population import PopulationSpec, populate
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import DEFAULT_MARKET, MarketSpec

METRIC = "cascade_monitor_"
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _cpu_s(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the npm anvil launcher runs the anvil binary as its child)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def _tree_cpu_s(pid: int) -> float:
    return sum(_cpu_s(p) for p in _tree(pid))


def _tree_rss_mb(pid: int) -> float:
    return sum(_rss_mb(p) for p in _tree(pid))


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text format -> (name, labels, value) samples."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
        out.append((m["name"], labels, float(m["value"])))
    return out


def histogram_quantile(buckets: dict[float, float], q: float) -> float:
    """Upper bound of the bucket holding quantile ``q`` of a cumulative histogram (le -> count)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    for le in bounds:
        if total and buckets[le] >= q * total:
            return le
    return float("nan")


@dataclass
class Observed:
    """What the threads record; lists are appended by one thread and read after it stopped."""

    mined: list[tuple[int, float]] = field(default_factory=list)  # (block, monotonic time at the node)
    served: list[tuple[int, float]] = field(default_factory=list)  # (newest block in /metrics, first seen)
    scrape_errors: int = 0
    failures: list[str] = field(default_factory=list)  # log messages of failed cycles


class _CycleFailures(logging.Handler):
    """Collects the daemon's 'cycle failed' warnings and errors."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "cycle failed" in msg:
            self.sink.append(msg)


class _FixedAccounts(ActivityGenerator):
    """The same activity without opening new accounts, so that memory growth is not account growth."""

    def _new_account(self) -> list[tuple[str, str | None, str]]:
        return []


def _activity(url: str, dep: Any, interval: float, stop: threading.Event, obs: Observed, hold: bool) -> None:
    """One block of ~10 actions every ``interval`` seconds (steady schedule); records when each was mined."""
    with DevRpc(url) as own:
        gen = (_FixedAccounts if hold else ActivityGenerator)(own, dep, seed=3, actions_per_block=10)
        t_next = time.monotonic()
        while not stop.is_set():
            gen.step()
            obs.mined.append((own.block_number(), time.monotonic()))
            t_next += interval
            stop.wait(max(t_next - time.monotonic(), 0.0))


def _poll(port: int, every: float, stop: threading.Event, obs: Observed) -> None:
    """Scrape /metrics like Prometheus would, much more often; record when each newer block shows up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    newest = -1
    while not stop.is_set():
        try:
            conn.request("GET", "/metrics")
            body = conn.getresponse().read().decode()
        except (OSError, http.client.HTTPException):
            obs.scrape_errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            stop.wait(every)
            continue
        seen = time.monotonic()
        blocks = [v for name, _, v in parse_metrics(body) if name == METRIC + "last_block"]
        if blocks and min(blocks) > newest:
            newest = int(min(blocks))
            obs.served.append((newest, seen))
        stop.wait(every)
    conn.close()


def _scrape(port: int) -> list[tuple[str, dict[str, str], float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        return parse_metrics(conn.getresponse().read().decode())
    finally:
        conn.close()


def _counter(samples: list[tuple[str, dict[str, str], float]], name: str) -> float:
    return sum(v for n, _, v in samples if n == name)


def _buckets(samples: list[tuple[str, dict[str, str], float]]) -> dict[float, float]:
    out: dict[float, float] = {}
    for n, labels, v in samples:
        if n == METRIC + "block_processing_seconds_bucket":
            le = float(labels["le"])
            out[le] = out.get(le, 0.0) + v
    return out


def latencies(mined: list[tuple[int, float]], served: list[tuple[int, float]], end: float) -> tuple[list[float], int]:
    """Per mined block, seconds until /metrics first showed it or a later block; blocks never shown count with
    the time to ``end``. Returns the latencies and how many blocks were never shown."""
    out, unserved, i = [], 0, 0
    for block, t_mined in sorted(mined):
        while i < len(served) and served[i][0] < block:
            i += 1
        if i < len(served):
            out.append(max(served[i][1] - t_mined, 0.0))
        else:
            out.append(end - t_mined)
            unserved += 1
    return out, unserved


async def _run(cfg_dict: dict[str, object], port: int, args: argparse.Namespace, anvil_pid: int, url: str,
               dep: Any) -> dict[str, Any]:  # fmt: skip
    cfg = parse_config(cfg_dict, environ={})
    obs = Observed()
    handler = _CycleFailures(obs.failures)
    logging.getLogger("monitor").addHandler(handler)
    stop_poll, stop_activity = threading.Event(), threading.Event()
    breakdown = Breakdown() if args.breakdown else None
    if breakdown is not None:
        breakdown.install()
    daemon = Daemon(cfg)
    t_start = time.monotonic()
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    poller = threading.Thread(target=_poll, args=(port, args.poll_ms / 1e3, stop_poll, obs), daemon=True)
    poller.start()
    while not obs.served:  # the first cycle is the cold index: not part of the steady state
        if task.done():
            await task
            raise RuntimeError("the daemon stopped before its first result")
        await asyncio.sleep(0.1)
    cold_s = obs.served[0][1] - t_start
    failures_cold = len(obs.failures)
    before = await asyncio.to_thread(_scrape, port)
    if breakdown is not None:
        breakdown.clear()
    activity_args = (url, dep, args.block_interval, stop_activity, obs, args.hold_accounts)
    activity = threading.Thread(target=_activity, args=activity_args, name="activity", daemon=True)
    samples: list[tuple[float, float, float, float, int]] = []  # (t, rss MB, own CPU s, anvil CPU s, fds)
    t0 = time.monotonic()
    load_start = os.getloadavg()[0]
    activity.start()
    while time.monotonic() - t0 < args.duration:
        samples.append(
            (time.monotonic() - t0, _rss_mb(), _cpu_s(), _tree_cpu_s(anvil_pid), len(os.listdir("/proc/self/fd")))
        )
        await asyncio.sleep(min(5.0, args.duration / 20))
    samples.append(
        (time.monotonic() - t0, _rss_mb(), _cpu_s(), _tree_cpu_s(anvil_pid), len(os.listdir("/proc/self/fd")))
    )
    stop_activity.set()
    await asyncio.to_thread(activity.join, 60)
    # with confirmations c block N can be served once N+c is mined: the latency from then is the monitor's own
    c = cfg.chain.confirmations
    mined_at = dict(obs.mined)
    safe = [(b, mined_at[b + c]) for b, _ in obs.mined if b + c in mined_at]
    # with confirmations c the last c blocks cannot be served until more are mined: they are left out
    last_servable = (obs.mined[-1][0] if obs.mined else 0) - cfg.chain.confirmations
    obs.mined = [(b, t) for b, t in obs.mined if b <= last_servable]
    drain_until = time.monotonic() + args.drain
    while time.monotonic() < drain_until and (not obs.served or obs.served[-1][0] < last_servable):
        await asyncio.sleep(0.1)
    end = time.monotonic()
    after = await asyncio.to_thread(_scrape, port)
    stop_poll.set()
    await asyncio.to_thread(poller.join, 30)
    daemon.stop()
    await task
    logging.getLogger("monitor").removeHandler(handler)
    if breakdown is not None:
        breakdown.remove()

    lat, unserved = latencies(obs.mined, obs.served, end)
    lat_safe, _ = latencies(safe, obs.served, end)
    hist_before, hist_after = _buckets(before), _buckets(after)
    hist = {le: hist_after[le] - hist_before.get(le, 0.0) for le in hist_after}
    wall = samples[-1][0] - samples[0][0]
    half = len(lat) // 2
    errors = METRIC + "market_cycle_errors_total"
    accounts = [v for n, _, v in after if n == METRIC + "accounts"]
    accounts_start = [v for n, _, v in before if n == METRIC + "accounts"]
    return {
        "accounts": int(sum(accounts)),
        "accounts_start": int(sum(accounts_start)),
        "hold_accounts": args.hold_accounts,
        "borrowers": args.borrowers,
        "duration_s": wall,
        "block_interval_s": args.block_interval,
        "prune_history": DEFAULT_HISTORY_STATES if args.prune_history is None else args.prune_history,
        "cold_index_s": cold_s,
        "blocks_mined": len(obs.mined),
        "blocks_unserved": unserved,
        "latency_p50_ms": percentile(lat, 0.5) * 1e3,
        "latency_p99_ms": percentile(lat, 0.99) * 1e3,
        "latency_max_ms": max(lat, default=float("nan")) * 1e3,
        "latency_from_safe_p50_ms": percentile(lat_safe, 0.5) * 1e3,  # from the block that made it safe (c later)
        "latency_from_safe_p99_ms": percentile(lat_safe, 0.99) * 1e3,
        "latency_p50_first_half_ms": percentile(lat[:half], 0.5) * 1e3,
        "latency_p50_second_half_ms": percentile(lat[half:], 0.5) * 1e3,
        "cycles_ok": int(
            _counter(after, METRIC + "block_processing_seconds_count")
            - _counter(before, METRIC + "block_processing_seconds_count")
        ),
        "cycles_failed": int(_counter(after, errors) - _counter(before, errors)),
        "cycles_failed_cold": failures_cold,
        "failure_messages": sorted(set(obs.failures))[:20],
        "daemon_histogram_p50_le_s": histogram_quantile(hist, 0.5),
        "daemon_histogram_p99_le_s": histogram_quantile(hist, 0.99),
        "process_cpu_share": (samples[-1][2] - samples[0][2]) / wall,
        "process_cpu_s_per_block": (samples[-1][2] - samples[0][2]) / max(len(obs.mined), 1),
        "anvil_cpu_share": (samples[-1][3] - samples[0][3]) / wall,
        "rss_mb_start": samples[0][1],
        "rss_mb_end": samples[-1][1],
        "rss_mb_max": max(s[1] for s in samples),
        "rss_mb_mid": samples[len(samples) // 2][1],
        "anvil_rss_mb_end": _tree_rss_mb(anvil_pid),
        "fds_start": samples[0][4],
        "fds_end": samples[-1][4],
        "scrape_errors": obs.scrape_errors,
        "machine_load_1m_start": load_start,  # other jobs on the machine slow the daemon down: say how busy it was
        "machine_load_1m_end": os.getloadavg()[0],
        "poll_ms": args.poll_ms,
        **({"breakdown": breakdown.figures()} if breakdown is not None else {}),
    }


def rows(fig: dict[str, Any]) -> list[str]:
    """Markdown table rows."""
    return [
        f"| accounts in the book, start / end | {fig['accounts_start']:,} / {fig['accounts']:,} |",
        f"| cold index (daemon start -> first metrics) | {fig['cold_index_s']:.2f} s |",
        f"| blocks mined / never served by the end | {fig['blocks_mined']:,} in {fig['duration_s']:.0f} s / "
        f"{fig['blocks_unserved']} |",
        f"| **block at the node -> metrics served, p50 / p99 / max** | **{fig['latency_p50_ms']:.0f} / "
        f"{fig['latency_p99_ms']:.0f}** / {fig['latency_max_ms']:.0f} ms |",
        f"| from the block that made it safe (confirmations later), p50 / p99 | "
        f"{fig['latency_from_safe_p50_ms']:.0f} / "
        f"{fig['latency_from_safe_p99_ms']:.0f} ms |",
        f"| p50 first half / second half | {fig['latency_p50_first_half_ms']:.0f} / "
        f"{fig['latency_p50_second_half_ms']:.0f} ms |",
        f"| daemon's own histogram (block seen -> result), p50 / p99 bucket | <= {fig['daemon_histogram_p50_le_s']:g} "
        f"/ <= {fig['daemon_histogram_p99_le_s']:g} s |",
        f"| cycles ok / failed (steady state) / failed during the cold index | {fig['cycles_ok']:,} / "
        f"{fig['cycles_failed']} / {fig['cycles_failed_cold']} |",
        f"| CPU: this process (daemon + activity + poller threads) / anvil | {fig['process_cpu_share']:.0%} / "
        f"{fig['anvil_cpu_share']:.0%} of one core |",
        f"| CPU of this process per block mined | {fig['process_cpu_s_per_block'] * 1e3:.0f} ms |",
        f"| RSS start / middle / end / max | {fig['rss_mb_start']:.0f} / {fig['rss_mb_mid']:.0f} / "
        f"{fig['rss_mb_end']:.0f} / {fig['rss_mb_max']:.0f} MB |",
        f"| open file descriptors start / end | {fig['fds_start']} / {fig['fds_end']} |",
        f"| machine load average (1 min) start / end | {fig['machine_load_1m_start']:.1f} / "
        f"{fig['machine_load_1m_end']:.1f} |",
    ] + [f"| failed cycle | `{m}` |" for m in fig["failure_messages"]]


def scaled_pools(spec: MarketSpec, scale: float) -> MarketSpec:
    """``spec`` with every pool's value multiplied by ``scale``."""
    return replace(spec, pools=tuple(replace(p, tvl_usd=p.tvl_usd * scale) for p in spec.pools))


def main() -> None:
    """Build a populated devnet, run the daemon with activity every block, print a Markdown table or JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of steady-state run")
    parser.add_argument("--block-interval", type=float, default=1.0, help="seconds between activity blocks")
    parser.add_argument("--poll-ms", type=float, default=25.0, help="how often /metrics is scraped")
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for the last block at the end")
    parser.add_argument("--prune-history", type=int, nargs="?", const=0, default=None, metavar="N",
                        help="states anvil keeps in memory (default: the devnet's 128; bare: anvil's own)")  # fmt: skip
    parser.add_argument("--confirmations", type=int, default=LIVE_DEVNET_CONFIRMATIONS,
                        help="blocks behind the head the daemon reads at (default: a running devnet's, "
                             f"{LIVE_DEVNET_CONFIRMATIONS})")  # fmt: skip
    parser.add_argument("--hold-accounts", action="store_true", help="the activity opens no new accounts")
    parser.add_argument("--poll-only", action="store_true",
                        help="no newHeads subscription: the daemon polls the head every poll_interval_s")  # fmt: skip
    parser.add_argument("--breakdown", action="store_true",
                        help="time the daemon's steps (cycle, reads, book, figures, projections, sweep)")  # fmt: skip
    parser.add_argument("--pool-scale", type=float, default=1.0,
                        help="multiply every Uniswap pool's value (the devnet's pools do not grow with "
                             "--borrowers: at 100k a scenario is mostly one runaway cascade; 10 keeps the 10k "
                             "book's ratio)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    add_allocator_option(parser)
    args = parser.parse_args()
    tuned = apply_allocator(args)
    if args.duration <= 0 or args.block_interval <= 0 or args.poll_ms <= 0 or args.pool_scale <= 0:
        parser.error("--duration, --block-interval, --poll-ms and --pool-scale must be positive")
    if args.confirmations < 0:
        parser.error("--confirmations must be >= 0")
    if args.prune_history is None:
        anvil = Anvil()  # the devnet's bounded history (DEFAULT_HISTORY_STATES blocks)
    elif args.prune_history:
        anvil = Anvil(history_states=args.prune_history)
    else:
        anvil = Anvil(history_states=None, extra_args=["--prune-history"])  # bare: anvil's own minimum
    with anvil as node, DevRpc(node.url) as rpc, tempfile.TemporaryDirectory() as tmp:
        dep = build_devnet(rpc, scaled_pools(DEFAULT_MARKET, args.pool_scale))
        _progress(f"populating {args.borrowers:,} borrowers ...")
        t0 = time.perf_counter()
        populate(rpc, dep, PopulationSpec(borrowers=args.borrowers, seed=1))
        populate_s = time.perf_counter() - t0
        port = free_port()
        cfg = devnet_config(node.url, dep, metrics_port=port, checkpoint=str(Path(tmp) / "cp.sqlite"))
        chain = cfg["chain"]
        assert isinstance(chain, dict)
        chain["confirmations"] = args.confirmations
        if args.poll_only:
            chain["ws_url"] = ""  # off
        confirmations = chain.get("confirmations")
        anvil_pid = node._proc.pid if node._proc is not None else 0  # the benchmark reads anvil's /proc figures
        _progress(f"running the daemon for {args.duration:g} s ...")
        fig = asyncio.run(_run(cfg, port, args, anvil_pid, node.url, dep))
    fig.update(
        populate_s=populate_s,
        pool_scale=args.pool_scale,
        allocator_tuned=tuned,
        confirmations=confirmations,
        head_source="poll" if args.poll_only else "ws",
    )
    machine = f"{os.cpu_count()} vCPU {platform.machine()}, Python {platform.python_version()}"
    command = ".venv/bin/python -m benchmarks.bench_daemon " + " ".join(sys.argv[1:])
    if args.json:
        print(json.dumps({"machine": machine, "command": command, **fig}, indent=1))
        return
    print(f"machine: {machine}")
    print(f"command: {command}")
    print(f"| {args.borrowers:,} borrowers, a block of ~10 actions every {args.block_interval:g} s | value |")
    print("|---|---|")
    for r in rows(fig):
        print(r)


if __name__ == "__main__":
    main()
