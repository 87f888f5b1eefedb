"""anvil lifecycle: a free loopback port, a log file, and a process we own and stop."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from monitor.devnet.paths import anvil_binary
from monitor.errors import DevnetError, PortInUseError

DEFAULT_GAS_LIMIT = 2_000_000_000  # lets one eth_call read thousands of accounts
DEFAULT_CHAIN_ID = 31337
# Block states an anvil keeps for reads at past blocks (``--prune-history N``, in memory only). Without a bound
# anvil keeps every block's full state: memory grows by the chain's state size per block (about 3 MB on the
# 2,000-borrower devnet), and past its adaptive in-memory limit it writes each new block's whole state to disk
# as JSON while holding the lock every read at a past block needs, so mining and reads slow down block after
# block (seen: `anvil_mine` taking 3 s, then 18 s, then over a minute under the test suite's load) and the files
# pile up. 128 blocks is more than any reorg, confirmation depth or test needs.
DEFAULT_HISTORY_STATES = 128


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on (host, port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class Anvil:
    """One anvil process on 127.0.0.1.

    Use as a context manager (``with Anvil() as node: node.url``) or call :meth:`start` / :meth:`stop`.
    A port already in use is refused (an old anvil left behind would otherwise answer for the new one).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        load_state: Path | None = None,
        log_path: Path | None = None,
        block_time: float | None = None,
        history_states: int | None = DEFAULT_HISTORY_STATES,
        extra_args: list[str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        self.chain_id = chain_id
        self.gas_limit = gas_limit
        self.load_state = load_state
        self.block_time = block_time
        self.history_states = history_states
        self.extra_args = list(extra_args or [])
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"cascade-monitor-anvil-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._states_dir: Path | None = None  # where a full-history anvil spills past states; ours to remove

    @property
    def url(self) -> str:
        """HTTP JSON-RPC URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """PID of the running process, if any."""
        return self._proc.pid if self._proc else None

    def command(self) -> list[str]:
        """The command line used to start anvil."""
        cmd = [
            anvil_binary(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--gas-limit",
            str(self.gas_limit),
            "--disable-code-size-limit",
            "--accounts",
            "10",
            "--balance",
            "100000000",
            "--order",
            "fifo",
        ]
        if self.block_time is not None:
            cmd += ["--block-time", str(self.block_time)]
        if self.load_state is not None:
            cmd += ["--load-state", str(self.load_state)]
        if self.history_states is not None:
            cmd += ["--prune-history", str(self.history_states)]
        elif self._states_dir is not None:
            cmd += ["--cache-path", str(self._states_dir)]
        return cmd + self.extra_args

    def start(self, timeout_s: float = 20.0) -> Anvil:
        """Start anvil and wait until it answers eth_chainId."""
        if self._proc is not None:
            raise DevnetError("this anvil is already running")
        if port_in_use(self.port, self.host):
            raise PortInUseError(f"port {self.port} on {self.host} is already in use; choose another --port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.history_states is None:
            self._states_dir = Path(tempfile.mkdtemp(prefix=f"cascade-monitor-anvil-{self.port}-states-"))
        log = self.log_path.open("wb")
        try:
            self._proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        except OSError:
            self.stop()  # removes the spill directory made for it
            raise
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                self._proc = None
                self.stop()
                raise DevnetError(f"anvil exited at start (log {self.log_path}):\n{tail}")
            try:
                r = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1.0)
                if r.status_code == 200 and int(r.json()["result"], 16) == self.chain_id:
                    return self
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        self.stop()
        raise DevnetError(f"anvil did not answer on {self.url} within {timeout_s:.0f} s (log {self.log_path})")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL) and remove the past states it spilled to disk."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=timeout_s)
        states_dir, self._states_dir = self._states_dir, None
        if states_dir is not None:
            shutil.rmtree(states_dir, ignore_errors=True)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
