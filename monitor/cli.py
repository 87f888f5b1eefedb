"""The ``cascade-monitor`` command line: one subcommand per module, loaded on demand."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from monitor import __version__
from monitor.allocator import keep_freed_memory
from monitor.errors import MonitorError
from monitor.logs import redact, setup_logging


class Command(Protocol):
    """What a subcommand module provides."""

    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# name -> module implementing it. Modules are imported only when their command runs, so a slow import
# (web3, numpy) never delays `--help` of another command.
COMMANDS: dict[str, tuple[str, str]] = {
    "devnet": ("monitor.devnet.cli", "run and drive the built-in devnet (anvil + Aave v3 + Uniswap v3)"),
    "check-config": ("monitor.commands.check_config", "validate a config file and print it redacted"),
    "demo": ("monitor.commands.demo", "the main job on the built-in devnet, end to end"),
    "run": ("monitor.commands.run", "run the monitor: follow blocks, export metrics, raise alerts"),
    "snapshot": ("monitor.commands.snapshot", "every account's exact health factor at one block"),
    "quote": ("monitor.commands.quote", "exact swap output on a Uniswap v3 pool (equal to QuoterV2)"),
    "depth": ("monitor.commands.depth", "Uniswap v3 depth: amounts that move each pool's price by 1 to 25 percent"),
    "simulate": ("monitor.commands.simulate", "project the liquidation cascade of a price shock"),
    "sweep": ("monitor.commands.sweep", "cascade curves for 1-90% drops per asset, and the critical shocks"),
}


def _load(module: str) -> Command:
    mod = importlib.import_module(module)
    cmd: Command = mod
    return cmd


def _escape(text: str) -> str:
    """argparse %-formats help strings: a literal percent sign must be doubled."""
    return text.replace("%", "%%")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``selected`` subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="cascade-monitor",
        description="Risk monitor for on-chain lending: exact health factors and liquidation-cascade projections.",
    )
    parser.add_argument("--version", action="version", version=f"cascade-monitor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, short_help) in COMMANDS.items():
        if name == selected:
            cmd = _load(module)
            p = sub.add_parser(name, help=_escape(cmd.HELP), description=_escape(cmd.HELP))
            cmd.add_arguments(p)
            p.set_defaults(_run=cmd.run)
        else:
            sub.add_parser(name, help=_escape(short_help), add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(args_list)
    # one logging setup for every command; a command adds its config's secrets once it has loaded it
    setup_logging(verbose=args.verbose, json_lines=getattr(args, "log_json", None))
    keep_freed_memory()  # projections reuse their freed temporaries (monitor.allocator)
    try:
        rc: int = args._run(args)
    except MonitorError as exc:
        print(f"cascade-monitor {args.command}: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return rc
