"""The sweep process: a projector travels to it whole (read-only mappings included) and its critical shocks are
those of the same sweep made in this process; the worker runs at a lower CPU priority than the daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from monitor.daemon.sweeper import SWEEP_NICENESS, SweepWorker
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import Limits, ModelParams, Projector, SweepSpec, sweep
from monitor.risk import synthetic as syn


def _niceness() -> int:
    return os.nice(0)


def test_the_sweep_process_answers_what_the_sweep_answers_here() -> None:
    book = syn.book(syn.Population(3_000, seed=4))
    venues = syn.venues(book.market, tvl_scale=0.3)
    spec, limits = SweepSpec(), Limits(amplification=1.5, bad_debt_usd=250_000)
    here = sweep(Projector(book, venues, ModelParams(), model=AaveV3Liquidation()), None, spec, limits, curves=False)
    worker = SweepWorker()
    try:
        critical, cpu_s = worker.run(Projector(book, venues, ModelParams(), model=AaveV3Liquidation()), None, spec,
                                     limits)  # fmt: skip
        niceness = worker._executor().submit(_niceness).result()
    finally:
        worker.shutdown()
    assert critical == {a.symbol: a.critical_shock for a in here.assets}
    assert any(v is not None for v in critical.values()), "some asset crosses the limits: the comparison has teeth"
    assert cpu_s > 0
    assert niceness >= os.nice(0) + SWEEP_NICENESS or niceness == 19


def test_the_sweep_process_ends_when_the_daemon_is_killed() -> None:
    """A daemon killed outright cannot stop its worker: the worker notices its parent is gone and exits."""
    script = (
        "import os, signal\n"
        "from monitor.daemon.sweeper import WORKER\n"
        "pool = WORKER._executor()\n"
        "print(pool.submit(os.getpid).result(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 15
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{worker}").exists(), f"sweep worker {worker} outlived the killed daemon"
