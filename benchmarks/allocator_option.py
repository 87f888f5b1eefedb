"""The engine benchmarks' ``--default-allocator`` option: by default a benchmark sets the C allocator's thresholds
as the product does (:mod:`monitor.allocator`); the option keeps glibc's defaults, the baseline to compare with.
The figures say which in ``allocator_tuned``."""

from __future__ import annotations

import argparse

from monitor.allocator import keep_freed_memory


def add_allocator_option(parser: argparse.ArgumentParser) -> None:
    """Declare ``--default-allocator``."""
    what = "keep the C allocator's defaults (monitor.allocator: the product sets its thresholds)"
    parser.add_argument("--default-allocator", action="store_true", help=what)


def apply_allocator(args: argparse.Namespace) -> bool:
    """Set the thresholds unless ``--default-allocator`` was given; whether they were set."""
    return False if args.default_allocator else keep_freed_memory()
