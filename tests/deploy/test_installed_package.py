"""The monitor as a user installs it: a wheel built by `python -m build` (sdist first, then the wheel from the
sdist), installed into a fresh virtualenv, run from a directory outside the source tree. `snapshot --json`,
`simulate --json` and a short `run` against the session devnet give what the in-tree CLI gives at the same block."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet
from tests.daemon.test_daemon import _get, _one, _samples
from tests.deploy.servers import REPO

MARKET = "devnet-aave"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
# metric families that depend on wall time or on how often a cycle ran, not on the chain
VOLATILE = (
    "_age_seconds",
    "_processing_seconds",
    "_cycles",
    "_seconds_bucket",
    "_seconds_count",
    "_seconds_sum",
    "_created",
)


def _env() -> dict[str, str]:
    """The caller's environment without anything pointing Python at the source tree or at the dev virtualenv."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _run(cmd: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)} -> {res.returncode}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh virtualenv holding only the wheel (and its dependencies)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], cwd=tmp)
    (wheel,) = dist.glob("cascade_monitor-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp)
    return venv / "bin"


def test_the_installed_package_is_not_the_source_tree(installed: Path, tmp_path: Path) -> None:
    res = _run([str(installed / "python"), "-c", "import monitor, sys; print(monitor.__file__); print(sys.path)"],
               cwd=tmp_path)  # fmt: skip
    module_file, path = res.stdout.splitlines()
    assert Path(module_file).is_relative_to(installed.parent), module_file
    assert str(REPO) not in path
    data = _run([str(installed / "python"), "-c", "from monitor.contracts import own_contract; "
                 "from monitor.chain.abi import load_abi; own_contract('AaveLens'); load_abi('AavePool')"],
                cwd=tmp_path)  # fmt: skip
    assert data.stderr == ""


def _config(devnet: Devnet, directory: Path) -> Path:
    directory.mkdir()
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(directory / "cp.sqlite"))
    path = directory / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _json(cmd: list[str], cwd: Path) -> object:
    return json.loads(_run(cmd, cwd=cwd).stdout)


def test_snapshot_and_simulate_equal_the_in_tree_cli(installed: Path, session_devnet: Devnet, tmp_path: Path) -> None:
    block = str(session_devnet.rpc.block_number())
    outside = tmp_path / "outside"
    outside.mkdir()
    wheel_cfg = _config(session_devnet, tmp_path / "wheel")
    tree_cfg = _config(session_devnet, tmp_path / "tree")
    in_tree = [sys.executable, "-m", "monitor"]
    outputs = {}
    for argv in (["snapshot", "--block", block, "--json"],
                 ["simulate", "--block", block, "--shock", "WETH=-0.3", "--shock", "WBTC=-0.1", "--json"]):  # fmt: skip
        got = _json([str(installed / "cascade-monitor"), argv[0], "--config", str(wheel_cfg), *argv[1:]], outside)
        want = _json([*in_tree, argv[0], "--config", str(tree_cfg), *argv[1:]], REPO)
        assert got == want, argv[0]
        outputs[argv[0]] = got
    assert json.dumps(outputs["snapshot"]).count('"health_factor_wad"') > 1000, "every account with debt is listed"
    simulated = outputs["simulate"]
    assert isinstance(simulated, dict) and simulated["block"] == int(block)
    assert simulated["rounds"][0]["accounts_liquidated"] > 0, "the shock liquidates: the lens and the ABIs were used"


def _stable_metrics(port: int, head: int, timeout: float = 120) -> Samples:
    """The chain-derived market samples, once the daemon has reached ``head`` and two scrapes agree.

    (Not /readyz: the session devnet mines no blocks, so its head is older than ``alerts.stale_after_s``.)"""
    deadline = time.monotonic() + timeout
    previous: Samples = {}
    while time.monotonic() < deadline:
        time.sleep(1.0)
        try:
            samples = _samples(asyncio.run(_get(f"http://127.0.0.1:{port}/metrics"))[1])
        except aiohttp.ClientConnectionError:  # not listening yet
            continue
        current = {k: v for k, v in samples.items()
                   if ("market", MARKET) in k[1] and not k[0].endswith(VOLATILE)}  # fmt: skip
        if current.get(("cascade_monitor_last_block", frozenset({("market", MARKET)}))) == head and current == previous:
            return current
        previous = current
    raise AssertionError(f"metrics did not settle at block {head} within {timeout} s")


def _daemon_metrics(cmd: list[str], cfg: Path, cwd: Path, head: int) -> Samples:
    port = int(yaml.safe_load(cfg.read_text())["metrics"]["listen"].rsplit(":", 1)[1])
    proc = subprocess.Popen([*cmd, "run", "--config", str(cfg)], cwd=cwd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        metrics = _stable_metrics(port, head)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    return metrics


def test_run_equals_the_in_tree_daemon(installed: Path, session_devnet: Devnet, tmp_path: Path) -> None:
    head = session_devnet.rpc.block_number()
    outside = tmp_path / "outside"
    outside.mkdir()
    got = _daemon_metrics([str(installed / "cascade-monitor")], _config(session_devnet, tmp_path / "wheel"), outside,
                          head)  # fmt: skip
    want = _daemon_metrics([sys.executable, "-m", "monitor"], _config(session_devnet, tmp_path / "tree"), REPO, head)
    assert got == want
    assert _one(got, "cascade_monitor_accounts", market=MARKET) > 1000
    names = {name for name, _ in got}
    assert {
        "cascade_monitor_scenario_final_drop_ratio",
        "cascade_monitor_scenario_bad_debt_usd",
        "cascade_monitor_debt_usd",
    } <= names, sorted(names)
