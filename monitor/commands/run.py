"""``cascade-monitor run --config F``: the long-running monitor."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging

from monitor.config import load_config
from monitor.daemon.run import Daemon
from monitor.logs import config_secrets, setup_logging

HELP = "run the monitor: follow blocks, export Prometheus metrics, raise alerts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    parser.add_argument("--log-json", action="store_true", default=None, help="JSON log lines even on a terminal")


def run(args: argparse.Namespace) -> int:
    """Load the config, set up logging with secrets scrubbed, run until SIGTERM/SIGINT."""
    cfg = load_config(args.config)
    passwords = [cfg.mqtt.password.get_secret_value()] if cfg.mqtt and cfg.mqtt.password else []
    urls = list(cfg.chain.rpc_urls) + ([cfg.mqtt.url] if cfg.mqtt else [])
    setup_logging(verbose=args.verbose, json_lines=args.log_json, secrets=config_secrets(urls, passwords))
    logging.getLogger(__name__).info("config: %s", json.dumps(cfg.redacted()))
    asyncio.run(Daemon(cfg).run())
    return 0
