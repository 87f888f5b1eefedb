"""The Prometheus families of the off-chain depth file (``dex.offchain_file``): whether its newest version is in
use and when it was last modified. Absent when no file is configured."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from monitor.venues.offchain_file import OffchainFileStatus

PREFIX = "cascade_monitor_"


def offchain_file_families(status: OffchainFileStatus | None) -> Iterator[Metric]:
    """The file's families (none without a configured file; no modification time while it cannot be found)."""
    if status is None:
        return
    ok = GaugeMetricFamily(
        PREFIX + "offchain_depth_file_ok",
        "1 when the off-chain depth file's newest version is read and in use, 0 when it cannot be used (missing, "
        "unreadable or invalid: the last good curves stay in use).",
    )
    ok.add_metric([], 1.0 if status.ok else 0.0)
    yield ok
    if status.mtime_seconds is not None:
        mtime = GaugeMetricFamily(
            PREFIX + "offchain_depth_file_mtime_seconds",
            "Last modification of the off-chain depth file, unix seconds.",
        )
        mtime.add_metric([], status.mtime_seconds)
        yield mtime
