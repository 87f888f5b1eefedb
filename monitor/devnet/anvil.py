"""anvil lifecycle: a free loopback port, a log file, and a process we own and stop."""

from __future__ import annotations

import contextlib
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
        extra_args: list[str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        self.chain_id = chain_id
        self.gas_limit = gas_limit
        self.load_state = load_state
        self.block_time = block_time
        self.extra_args = list(extra_args or [])
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"cascade-monitor-anvil-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

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
        return cmd + self.extra_args

    def start(self, timeout_s: float = 20.0) -> Anvil:
        """Start anvil and wait until it answers eth_chainId."""
        if self._proc is not None:
            raise DevnetError("this anvil is already running")
        if port_in_use(self.port, self.host):
            raise PortInUseError(f"port {self.port} on {self.host} is already in use; choose another --port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self._proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                self._proc = None
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
        """Stop the process we started (SIGTERM, then SIGKILL)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
