"""bench_daemon's pure parts: freshness per mined block from what the scraper saw, and the /metrics parsing."""

from __future__ import annotations

import pytest

from benchmarks.bench_daemon import histogram_quantile, latencies, parse_metrics


def test_each_block_counts_until_metrics_show_it_or_a_later_one() -> None:
    mined = [(10, 100.0), (11, 101.0), (12, 102.0), (13, 103.0)]
    served = [(10, 100.4), (12, 103.5)]  # 11 was coalesced into 12's cycle; 13 never appeared
    lat, unserved = latencies(mined, served, end=110.0)
    assert lat == pytest.approx([0.4, 2.5, 1.5, 7.0])
    assert unserved == 1


def test_metrics_text_and_histogram_quantiles() -> None:
    text = "\n".join([
        "# HELP cascade_monitor_last_block Newest processed (safe) block.",
        'cascade_monitor_last_block{market="m"} 42.0',
        'cascade_monitor_block_processing_seconds_bucket{le="0.1",market="m"} 50.0',
        'cascade_monitor_block_processing_seconds_bucket{le="0.5",market="m"} 98.0',
        'cascade_monitor_block_processing_seconds_bucket{le="+Inf",market="m"} 100.0',
        "cascade_monitor_market_cycle_errors_total 3.0",
    ])  # fmt: skip
    samples = parse_metrics(text)
    assert samples[0] == ("cascade_monitor_last_block", {"market": "m"}, 42.0)
    assert samples[-1] == ("cascade_monitor_market_cycle_errors_total", {}, 3.0)
    buckets = {float(labels["le"]): v for name, labels, v in samples if name.endswith("_bucket")}
    assert histogram_quantile(buckets, 0.5) == 0.1
    assert histogram_quantile(buckets, 0.98) == 0.5
    assert histogram_quantile(buckets, 0.99) == float("inf")
