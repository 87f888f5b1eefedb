"""``cascade-monitor devnet ...``: build, bring up and drive the built-in devnet."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from monitor.devnet.deployment import Deployment
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import DEFAULT_FLAVOUR, FEED_UNIT, FLAVOURS, market_for
from monitor.errors import DevnetError

HELP = "run and drive the built-in devnet (anvil + Aave v3.6 or v3.0.2 + Uniswap v3)"
DEFAULT_STATE = Path("var/devnet/devnet.json")
DEFAULT_CONFIG = Path("var/devnet/monitor.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the devnet subcommands."""
    sub = parser.add_subparsers(dest="devnet_command", metavar="ACTION", required=True)
    sub.add_parser("build", help="compile the project's contracts with solcjs (done by `make setup`)")

    up = sub.add_parser("up", help="bring a populated devnet up, write a monitor config, run until Ctrl-C")
    up.add_argument("--borrowers", type=int, default=2_000, help="number of borrowers (default 2000)")
    up.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    up.add_argument("--port", type=int, default=None, help="anvil port on 127.0.0.1 (default: a free one)")
    up.add_argument(
        "--config-out", type=Path, default=DEFAULT_CONFIG, help=f"monitor config to write ({DEFAULT_CONFIG})"
    )
    up.add_argument("--state-out", type=Path, default=DEFAULT_STATE, help=f"devnet address file ({DEFAULT_STATE})")
    up.add_argument("--block-time", type=float, default=None, help="mine a block every N seconds (default: on tx)")
    _add_aave_option(up, DEFAULT_FLAVOUR)

    for name, text in (
        ("crash", "sell an asset into its pool until its price is down by --drop; set the oracle to it"),
        (
            "activity",
            "scripted user activity: N blocks of borrows, repays, withdrawals, new accounts, prices",
        ),
        ("advance", "advance chain time so interest accrues"),
        ("summary", "print accounts, health-factor distribution, prices and pools"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "--devnet",
            type=Path,
            default=DEFAULT_STATE,
            help=f"devnet file written by `up` ({DEFAULT_STATE})",
        )
        _add_aave_option(p, None)
        if name == "crash":
            p.add_argument("--asset", required=True, help="symbol or address of the asset, e.g. WETH")
            p.add_argument("--drop", type=float, required=True, help="price drop as a share, e.g. 0.25 for -25%%")
            p.add_argument("--liquidate", action="store_true", help="then liquidate in rounds until none is left")
            p.add_argument("--json", action="store_true", help="print the report as JSON")
        elif name == "activity":
            p.add_argument("--blocks", type=int, default=10, help="blocks of activity (default 10)")
            p.add_argument("--interval", type=float, default=0.0, help="seconds between blocks (default 0)")
            p.add_argument("--seed", type=int, default=11)
        elif name == "advance":
            p.add_argument("--days", type=float, required=True, help="days to advance")


def _add_aave_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    what = f"default {default}" if default else "default: the devnet file's; another one is refused"
    parser.add_argument("--aave", choices=sorted(FLAVOURS), default=default,
                        help=f"Aave code of the devnet market: v3.6 or v3.0 (v3.0.2) ({what})")  # fmt: skip


def _load_state(path: Path, aave: str | None = None) -> tuple[DevRpc, Deployment]:
    if not path.exists():
        raise DevnetError(f"{path} not found: start a devnet with `cascade-monitor devnet up` first")
    data = json.loads(path.read_text())
    dep = Deployment.from_json(data["deployment"])
    if aave is not None and aave != dep.aave_version:
        raise DevnetError(
            f"{path} is an Aave {dep.aave_version} devnet, not {aave}: start one with `devnet up --aave {aave}`"
        )
    return DevRpc(data["rpc_url"]), dep


def _save_state(path: Path, rpc_url: str, dep: Deployment) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rpc_url": rpc_url, "deployment": dep.to_json()}))


def _progress(stage: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r  {stage:8s} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Dispatch a devnet action."""
    action = args.devnet_command
    if action == "build":
        from monitor.devnet.morpho_compile import compile_morpho
        from monitor.devnet.origin_build import ORIGIN_PACKAGE, compile_origin
        from monitor.devnet.solc import compile_contracts

        path = compile_contracts()
        print(f"compiled contracts/*.sol -> {path}")
        t0 = time.monotonic()
        path = compile_origin()
        print(f"compiled {ORIGIN_PACKAGE} (Aave v3.6) -> {path} in {time.monotonic() - t0:.1f} s")
        print(f"compiled Morpho Blue -> {compile_morpho()}")
        return 0
    if action == "up":
        return _up(args)
    rpc, dep = _load_state(args.devnet, args.aave)
    if action == "crash":
        return _crash(args, rpc, dep)
    if action == "activity":
        from monitor.devnet.activity import ActivityGenerator

        gen = ActivityGenerator(rpc, dep, seed=args.seed)
        for n in range(args.blocks):
            done = gen.step()
            print(f"block {rpc.block_number()}: {dict(done)}", flush=True)
            if args.interval and n + 1 < args.blocks:
                time.sleep(args.interval)
        _save_state(args.devnet, rpc.url, dep)  # new accounts joined
        return 0
    if action == "advance":
        rpc.increase_time(int(args.days * 86_400))
        print(f"advanced {args.days} days; head is block {rpc.block_number()}")
        return 0
    from monitor.devnet.summary import summary_text

    print(summary_text(rpc, dep))
    return 0


def _up(args: argparse.Namespace) -> int:
    from monitor.devnet.cache import start_cached
    from monitor.devnet.monitor_config import LIVE_DEVNET_CONFIRMATIONS, write_devnet_config
    from monitor.devnet.population import PopulationSpec
    from monitor.devnet.summary import summary_text

    if args.borrowers < 0:
        raise DevnetError("--borrowers must be >= 0")
    t0 = time.monotonic()
    extra = ["--block-time", str(args.block_time)] if args.block_time else None
    node, dep = start_cached(PopulationSpec(borrowers=args.borrowers, seed=args.seed), port=args.port,
                             market=market_for(args.aave), progress=_progress)  # fmt: skip
    if extra:
        node.stop()
        node.extra_args = extra
        node.start()
    try:
        with DevRpc(node.url) as rpc:
            # a head stamped now (a monitor started on it sees fresh data), with the block the config reads at
            # below it mined by anvil too (a block loaded from the cache has no stored state to read at)
            rpc.mine(1 + LIVE_DEVNET_CONFIRMATIONS)
        _save_state(args.state_out, node.url, dep)
        write_devnet_config(args.config_out, node.url, dep, morpho=True)
        took = time.monotonic() - t0
        print(f"devnet up in {took:.1f} s: {node.url} (Aave {dep.aave_version}, chain id {dep.chain_id}, "
              f"anvil pid {node.pid})")  # fmt: skip
        _print_addresses(dep)
        print(f"monitor config: {args.config_out}\ndevnet file:    {args.state_out}")
        with DevRpc(node.url) as rpc:
            print(summary_text(rpc, dep))
        print("running until Ctrl-C ...", flush=True)
        stop = False

        def _stop(*_: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        while not stop:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


def _print_addresses(dep: Deployment) -> None:
    print(f"  PoolAddressesProvider {dep.addresses_provider}\n  Pool                  {dep.pool}")
    print(f"  AaveOracle            {dep.oracle}\n  PoolDataProvider      {dep.data_provider}")
    print(f"  UniswapV3Factory      {dep.uniswap_factory}\n  SwapRouter            {dep.swap_router}")
    print(f"  QuoterV2              {dep.quoter_v2}\n  TickLens              {dep.tick_lens}")
    for t in dep.tokens.values():
        print(f"  {t.symbol:5s} {t.address} ({t.decimals} decimals, feed {t.feed})")
    if dep.morpho:
        from monitor.devnet.morpho_deployment import describe

        print(describe(dep.morpho))


def _crash(args: argparse.Namespace, rpc: DevRpc, dep: Deployment) -> int:
    from monitor.devnet.liquidator import RoundReport, crash

    try:
        dep.token(args.asset)
    except KeyError:
        raise DevnetError(f"unknown asset {args.asset!r}; known: {', '.join(dep.tokens)}") from None

    def show(r: RoundReport) -> None:
        if not args.json:
            print(
                f"  round {r.round}: {r.accounts_liquidated} liquidated, ${r.debt_repaid_usd:,.0f} repaid",
                flush=True,
            )
            if r.morpho:
                print(f"           Morpho: {r.morpho.accounts_liquidated} liquidated, ${r.morpho.debt_repaid_usd:,.0f}"
                      f" repaid, ${r.morpho.bad_debt_usd:,.0f} bad debt", flush=True)  # fmt: skip

    report = crash(rpc, dep, args.asset, args.drop, liquidate=args.liquidate, progress=show, morpho=True)
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(report), indent=2))
        return 0
    print(
        f"{report.symbol} pool price {report.pool_price_before / FEED_UNIT:,.2f}"
        f" -> {report.pool_price_after_shock / FEED_UNIT:,.2f}"
        f" USD; oracle {report.oracle_price_before / FEED_UNIT:,.2f}"
        f" -> {report.oracle_price_after_shock / FEED_UNIT:,.2f} USD"
    )
    if args.liquidate:
        print(f"{len(report.rounds)} rounds, ${report.debt_repaid_usd:,.0f} debt repaid, final {report.symbol} "
              f"${report.final_prices_usd[report.symbol]:,.2f}; bad debt ${report.bad_debt_usd:,.0f} "
              f"({report.bad_debt_accounts} accounts)")  # fmt: skip
        if dep.morpho:
            print(f"Morpho Blue: ${report.morpho_bad_debt_usd:,.0f} bad debt realised (lost by lenders)")
    return 0
