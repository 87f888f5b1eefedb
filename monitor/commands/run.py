"""``cascade-monitor run --config F``: the long-running monitor."""

from __future__ import annotations

import argparse
import asyncio
import logging

from monitor.config import load_config
from monitor.daemon.run import Daemon
from monitor.logs import protect_config

HELP = "run the monitor: follow blocks, export Prometheus metrics, raise alerts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    parser.add_argument("--log-json", action="store_true", default=None, help="JSON log lines even on a terminal")


def run(args: argparse.Namespace) -> int:
    """Load the config (its secrets scrubbed from the logs from then on), run until SIGTERM/SIGINT."""
    cfg = load_config(args.config)
    protect_config(cfg)
    logging.getLogger(__name__).info("config", extra={"config": cfg.redacted()})
    asyncio.run(Daemon(cfg).run())
    return 0
