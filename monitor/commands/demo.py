"""``cascade-monitor demo``: the whole product on the built-in devnet, with one command.

A devnet with thousands of borrowers, a local mosquitto, the monitor daemon on both, scripted user activity
every couple of seconds, and after ``--crash-after`` seconds a scripted crash with on-chain liquidations, so
the metrics move and alerts fire. A one-screen live summary is redrawn meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import sys
import threading
import time
from pathlib import Path

from monitor.config import MonitorConfig, parse_config
from monitor.daemon.result import MarketResult
from monitor.daemon.run import Daemon
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import free_port, port_in_use
from monitor.devnet.broker import LocalBroker, mosquitto_path
from monitor.devnet.cache import start_cached
from monitor.devnet.deployment import Deployment
from monitor.devnet.liquidator import crash
from monitor.devnet.monitor_config import LIVE_DEVNET_CONFIRMATIONS, devnet_config, write_devnet_config
from monitor.devnet.population import PopulationSpec
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import DEFAULT_FLAVOUR, FEED_UNIT, market_for

HELP = "the monitor on the built-in devnet: activity, a scripted crash, live metrics and alerts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--borrowers", type=int, default=5_000, help="borrowers on the devnet (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    parser.add_argument("--asset", default="WETH", help="asset of the scripted crash (default WETH)")
    parser.add_argument("--drop", type=float, default=0.25, help="crash size as a share (default 0.25)")
    parser.add_argument("--crash-after", type=float, default=30.0, help="seconds before the crash (default 30)")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds to run; 0 = until Ctrl-C (default 90)")
    parser.add_argument("--block-interval", type=float, default=2.0, help="seconds between activity blocks")


def run(args: argparse.Namespace) -> int:
    """Bring everything up, run, tear everything down."""
    logging.getLogger().setLevel(logging.WARNING)  # the screen is the output; warnings still show
    t0 = time.monotonic()
    print(f"bringing up the devnet with {args.borrowers:,} borrowers (the first run builds a cache) ...", flush=True)
    node, dep = start_cached(
        PopulationSpec(borrowers=args.borrowers, seed=args.seed), market=market_for(DEFAULT_FLAVOUR)
    )
    try:
        with DevRpc(node.url) as rpc:
            rpc.mine(1 + LIVE_DEVNET_CONFIRMATIONS)  # a head stamped now, over a block anvil mined (it has state)
        broker = LocalBroker() if mosquitto_path() else None
        with broker if broker is not None else contextlib.nullcontext():
            metrics_port = 9464 if not port_in_use(9464) else free_port()
            data = devnet_config(node.url, dep, metrics_port=metrics_port,
                                 checkpoint="var/devnet/demo-checkpoint.sqlite", morpho=True,
                                 confirmations=LIVE_DEVNET_CONFIRMATIONS)  # fmt: skip
            for stale in Path("var/devnet").glob("demo-checkpoint.sqlite*"):
                stale.unlink()
            if broker is not None:
                data["mqtt"] = {"url": broker.url, "topic_prefix": "cascade-monitor"}
            cfg = parse_config(data, environ={})
            write_devnet_config(Path("var/devnet/monitor.yaml"), node.url, dep, metrics_port=metrics_port, morpho=True)
            print(f"devnet ready in {time.monotonic() - t0:.1f} s at {node.url}")
            asyncio.run(_main(args, cfg, node.url, dep, broker))
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


async def _main(args: argparse.Namespace, cfg: MonitorConfig, url: str, dep: Deployment,
                broker: LocalBroker | None) -> None:  # fmt: skip
    daemon = Daemon(cfg)
    task = asyncio.create_task(daemon.run(), name="daemon")
    stop = threading.Event()
    crashed: list[str] = []

    def chain_script() -> None:
        with DevRpc(url) as own:
            gen = ActivityGenerator(own, dep, seed=args.seed + 100, actions_per_block=12)
            start = time.monotonic()
            while not stop.is_set():
                gen.step()
                if not crashed and time.monotonic() - start >= args.crash_after:
                    crashed.append(f"crashing {args.asset} by {args.drop:.0%} with liquidators on ...")
                    report = crash(own, dep, args.asset, args.drop, liquidate=True, morpho=True)
                    crashed.append(
                        f"crash done: {report.symbol} ${report.oracle_price_before / FEED_UNIT:,.2f} -> "
                        f"${report.final_prices_usd[report.symbol]:,.2f} after {len(report.rounds)} rounds, "
                        f"${report.debt_repaid_usd:,.0f} repaid, bad debt ${report.bad_debt_usd:,.0f}"
                    )
                stop.wait(args.block_interval)

    thread = threading.Thread(target=chain_script, name="chain-script", daemon=True)
    await daemon.started.wait()
    thread.start()
    began = time.monotonic()
    try:
        while args.duration <= 0 or time.monotonic() - began < args.duration:
            _screen(daemon, cfg, broker, crashed, time.monotonic() - began)
            await asyncio.sleep(2.0)
            if task.done():
                break
    finally:
        stop.set()
        daemon.stop()
        try:
            await asyncio.wait_for(task, 30)
        except Exception:
            logging.getLogger(__name__).exception("the monitor stopped with an error")
        await asyncio.to_thread(thread.join, 60)
    _screen(daemon, cfg, broker, crashed, time.monotonic() - began, final=True)


def _bar(n: float, top: float, width: int = 24) -> str:
    return "#" * (0 if top <= 0 else max(0, min(width, round(width * n / top))))


def _screen(daemon: Daemon, cfg: MonitorConfig, broker: LocalBroker | None, crashed: list[str], elapsed: float,
            final: bool = False) -> None:  # fmt: skip
    lines = [
        f"cascade-monitor demo  t={elapsed:5.0f} s   metrics http://127.0.0.1:{daemon.listen_port}/metrics   "
        f"readyz http://127.0.0.1:{daemon.listen_port}/readyz",
        f"risk page http://127.0.0.1:{daemon.listen_port}/   (plots, top accounts, alerts, what-if)",
        (
            f"alerts on MQTT: mosquitto_sub -h 127.0.0.1 -p {broker.port} -t 'cascade-monitor/#' -v"
            if broker
            else "alerts: MQTT off (mosquitto not installed); see the log and the metrics"
        ),
    ]
    for name, st in daemon.store.statuses().items():
        r: MarketResult | None = st.result
        if r is None:
            lines.append(f"{name}: {st.status} (first cycle: backfill and reads) {st.last_error or ''}")
            continue
        lines.append(
            f"{name}: {st.status}  block {r.block}  age {r.data_age_s():.0f} s  cycle {r.processing_s * 1e3:.0f} ms  "
            f"accounts {r.accounts:,}  debt ${r.debt_usd:,.0f}  liquidatable ${r.liquidatable_debt_usd:,.0f}"
        )
        lines.append("  health factor (accounts with debt below):")
        counts = list(r.hf_counts_cumulative)
        prev = 0
        top = max((c - p for c, p in zip(counts, [0, *counts[:-1]], strict=True)), default=1)
        for edge, c in zip(r.hf_edges, counts, strict=True):
            lines.append(f"    < {edge:<5g} {c - prev:6,d} {_bar(c - prev, top)}")
            prev = c
        crit = "  ".join(f"{a} {'-' if v is None else f'{v:.1%}'}" for a, v in r.critical_shocks.items())
        lines.append(f"  critical shock (smallest drop that runs away): {crit or 'computing'}")
        for s in r.scenarios:
            amp = s.amplification if math.isfinite(s.amplification) else float("nan")
            lines.append(f"    scenario {s.name:10s} final drop {s.final_drop:6.1%}  x{amp:4.2f}  "
                         f"repaid ${s.debt_repaid_usd:>12,.0f}  bad debt ${s.bad_debt_usd:>10,.0f}")  # fmt: skip
    active = [a for a in daemon.alerting.alert_states() if a.active]
    lines.append(f"active alerts: {', '.join(f'{a.rule} ({a.severity})' for a in active) or 'none'}")
    for e in list(daemon.alerting.recent)[-5:]:
        lines.append(f"  block {e.block}: {e.rule} {e.state} ({e.severity}) value {e.value:,.4g}")
    lines += [f"  {c}" for c in crashed]
    if final:
        lines.append(f"config of this run: var/devnet/monitor.yaml (metrics port {cfg.metrics.port})")
    text = "\n".join(lines)
    if sys.stdout.isatty() and not final:
        sys.stdout.write("\x1b[2J\x1b[H" + text + "\n")
    else:
        sys.stdout.write(text + "\n\n")
    sys.stdout.flush()
