"""The off-chain depth file's status as the running daemon exports it (``/metrics`` and ``/api/v1/status``): a
good file is in use, a broken version and a missing file are reported unusable (the last good curves stay), a
good version again is in use; the file is named without its directories."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import parse_config
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon
from tests.daemon.test_offchain_projection import DEEP

OK = "cascade_monitor_offchain_depth_file_ok"
MTIME = "cascade_monitor_offchain_depth_file_mtime_seconds"


async def _read(port: int) -> tuple[dict[str, float], dict[str, Any]]:
    """The file's samples of ``/metrics`` and the ``offchain_depth`` of ``/api/v1/status``."""
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
        async with session.get(f"{base}/api/v1/status") as resp:
            assert resp.status == 200
            status: dict[str, Any] = (await resp.json())["offchain_depth"]
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("cascade_monitor_offchain_depth_file_")
    }
    return samples, status


def _in_use(mtime_s: float) -> dict[str, Any]:
    return {"path": "offchain.json", "ok": True, "error": None, "mtime_seconds": mtime_s}


def _write(path: Path, text: str, mtime_s: float) -> None:
    path.write_text(text)
    os.utime(path, (mtime_s, mtime_s))


async def test_the_daemon_exports_the_offchain_file_status(devnet: Devnet, tmp_path: Path) -> None:
    folder = tmp_path / "depth-secret-dir"
    folder.mkdir()
    depth_file = folder / "offchain.json"
    _write(depth_file, json.dumps(DEEP), 1_700_000_000.0)
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["sweep"] = {"enabled": False}
    data["dex"] = {**data["dex"], "offchain_file": str(depth_file)}
    cfg = parse_config(data, environ={})
    market = cfg.markets[0].name
    async with running_daemon(cfg) as daemon:
        assert daemon.listen_port is not None
        async with asyncio.timeout(180):  # the market projects with the file's curves
            while daemon.alerting.latest.get(market) is None:
                await asyncio.sleep(0.2)
        good = await _read(daemon.listen_port)
        # one reader of the file: the market's projections use what the status reports
        assert all(pipe.projector.offchain is daemon.offchain for pipe in daemon.pipelines.values())  # type: ignore[attr-defined]

        # a broken version: unusable, said why (without the directories), its modification time exported
        _write(depth_file, '{"WETH": {"depth_usd": {"0.01": "lots"}}}', 1_700_000_100.0)
        broken = await _read(daemon.listen_port)

        # the file removed: unusable, no modification time
        depth_file.unlink()
        missing = await _read(daemon.listen_port)

        # a good version again: in use
        _write(depth_file, json.dumps(DEEP), 1_700_000_200.0)
        again = await _read(daemon.listen_port)

    assert good == ({OK: 1.0, MTIME: 1_700_000_000.0}, _in_use(1_700_000_000.0))
    samples, status = broken
    assert samples == {OK: 0.0, MTIME: 1_700_000_100.0}
    assert status["path"] == "offchain.json" and status["ok"] is False and status["mtime_seconds"] == 1_700_000_100.0
    assert "WETH" in status["error"] and "offchain.json" in status["error"]
    samples, status = missing
    assert samples == {OK: 0.0}
    assert status["ok"] is False and status["mtime_seconds"] is None and "offchain.json" in status["error"]
    assert again == ({OK: 1.0, MTIME: 1_700_000_200.0}, _in_use(1_700_000_200.0))
    for _, st in (good, broken, missing, again):
        assert "depth-secret-dir" not in json.dumps(st), "the file is named without its directories"
