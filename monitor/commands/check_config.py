"""``cascade-monitor check-config F``: validate a config file and print it with secrets redacted."""

from __future__ import annotations

import argparse
import json

from monitor.config import load_config

HELP = "validate a config file and print it with secrets redacted"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("config", help="path of the YAML config file")


def run(args: argparse.Namespace) -> int:
    """Load the config; a bad one raises ConfigError (exit 2) with every problem listed."""
    cfg = load_config(args.config)
    print(json.dumps(cfg.redacted(), indent=2))
    print(f"config OK: {len(cfg.markets)} market(s), {len(cfg.dex.pools)} DEX pool(s)")
    rules = ", ".join(r.name for r in cfg.alerts.rules) or "none"
    print(f"alert rules{' (defaults: no alerts.rules in the config)' if cfg.alerts.rules_are_default else ''}: {rules}")
    scenarios = ", ".join(s.name for s in cfg.scenarios) or "none"
    print(f"scenarios{' (defaults: no scenarios in the config)' if cfg.scenarios_are_default else ''}: {scenarios}")
    return 0
