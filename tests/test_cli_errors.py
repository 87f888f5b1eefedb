"""Every command that reads a chain, against an RPC that cannot serve it: one clean error line, exit 2.

Each command runs as a subprocess (as a user runs it) against a port where nothing listens, a loopback
server that accepts connections and never answers, and one that answers ``eth_chainId`` and nothing else
(the failure then comes after the client started). Expected: exit code 2, stderr holds exactly one line,
``cascade-monitor <command>: error: ...`` naming the problem (no traceback, no "Unclosed client session",
no "Task was destroyed", no other asyncio noise), nothing on stdout with ``--json``, and the API key in the
RPC URL's path appears nowhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor.config import parse_config
from monitor.devnet.anvil import free_port
from monitor.logs import protect_config, redact, setup_logging

SECRET = "SECRETKEY0123456789"
POOL = "0x48d5fc096137187740395a00482974f81a66cf81"
REDACTED = "https://user:***@rpc.example***?***"
NOISE = ("Traceback", "Unclosed", "Task was destroyed", "Exception ignored", "Event loop is closed", SECRET)

#: command -> its arguments besides --config (each reads the chain first thing)
COMMANDS: dict[str, list[str]] = {
    "snapshot": ["--json"],
    "simulate": ["--shock", "WETH=-0.2", "--json"],
    "sweep": ["--json"],
    "quote": ["--pool", POOL, "--token-in", POOL, "--amount-in", "1", "--json"],
    "depth": ["--json"],
    "run": [],
}


class SilentServer:
    """A loopback TCP server that accepts every connection and, unless told to, never answers.

    With ``chain_id`` set it answers ``eth_chainId`` requests (and only those) like a node of that chain.
    """

    def __init__(self, chain_id: int | None = None) -> None:
        self.chain_id = chain_id
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            if self.chain_id is not None:
                worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(worker)
                worker.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            reader = conn.makefile("rb")
            while True:
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if not line:
                    return
                request = json.loads(reader.read(length))
                if not (isinstance(request, dict) and request.get("method") == "eth_chainId"):
                    return  # everything else: keep the connection open and say nothing
                body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": hex(self.chain_id or 0)})
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
                conn.sendall(head.encode() + body.encode())

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        self._closed = True
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def chain_id_only() -> Iterator[SilentServer]:
    server = SilentServer(chain_id=31337)
    yield server
    server.close()


def _config(tmp_path: Path, rpc_port: int) -> Path:
    cfg = {
        "chain": {
            "rpc_urls": [f"http://127.0.0.1:{rpc_port}/v2/{SECRET}"],
            "chain_id": 31337,
            "request_timeout_s": 1,
            "max_retries": 0,
        },
        "markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": POOL}],
        "dex": {"pools": [POOL]},
        "metrics": {"listen": f"127.0.0.1:{free_port()}"},
        "checkpoint": {"path": str(tmp_path / "cp.sqlite")},
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(command: str, config: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "monitor", command, "--config", str(config), *COMMANDS[command]]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120, cwd=config.parent)


def _the_error_line(command: str, proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line on stderr (``run`` may log info lines before it; nothing else may appear)."""
    assert proc.returncode == 2, proc.stderr
    for word in NOISE:
        assert word not in proc.stderr and word not in proc.stdout, proc.stderr
    lines = proc.stderr.splitlines()
    if command == "run":
        # the daemon's JSON log lines (stderr is not a terminal): info only, secrets scrubbed
        logged = [json.loads(line) for line in lines if line.startswith("{")]
        assert logged and all(entry["level"] == "info" for entry in logged), proc.stderr
        lines = [line for line in lines if not line.startswith("{")]
    else:
        assert proc.stdout == ""
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"cascade-monitor {command}: error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_nothing_listening(command: str, tmp_path: Path) -> None:
    line = _the_error_line(command, _run(command, _config(tmp_path, free_port())))
    assert "no RPC endpoint answered eth_chainId" in line and "cannot connect" in line
    assert "/***" in line  # the endpoint is named, its key is not


@pytest.mark.parametrize("command", COMMANDS)
def test_connection_accepted_but_never_answered(command: str, silent: SilentServer, tmp_path: Path) -> None:
    line = _the_error_line(command, _run(command, _config(tmp_path, silent.port)))
    assert "no RPC endpoint answered eth_chainId" in line
    assert f"no answer from http://127.0.0.1:{silent.port}/*** within 1 s" in line


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "run"])
def test_silence_after_the_chain_id_check(command: str, chain_id_only: SilentServer, tmp_path: Path) -> None:
    # the client started (chain id verified), then the first read times out: closed on that path too
    line = _the_error_line(command, _run(command, _config(tmp_path, chain_id_only.port)))
    assert f"no answer from http://127.0.0.1:{chain_id_only.port}/*** within 1 s" in line


def test_run_with_the_metrics_port_taken(chain_id_only: SilentServer, tmp_path: Path) -> None:
    # the RPC client and the checkpoint are open when the metrics server fails to listen: all closed, one line
    config = _config(tmp_path, chain_id_only.port)
    listen = yaml.safe_load(config.read_text())["metrics"]["listen"]
    host, _, port = listen.rpartition(":")
    with socket.create_server((host, int(port))):
        line = _the_error_line("run", _run("run", config))
    assert line.endswith(f"metrics.listen {listen}: cannot listen (Address already in use)")


@pytest.mark.parametrize("json_lines", [True, False])
def test_one_logging_setup_scrubs_config_secrets(json_lines: bool, tmp_path: Path) -> None:
    url = f"https://user:pa55word@rpc.example/v2/{SECRET}?token=QUERYTOKEN"
    # the password, the path and the query each become ***
    cfg = parse_config(yaml.safe_load(_config(tmp_path, 1).read_text()) | {"chain": {"rpc_urls": [url], "chain_id": 1}})
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with contextlib.redirect_stderr(stream):
            setup_logging(json_lines=json_lines)
            protect_config(cfg)
            log = logging.getLogger("test.cli_errors")
            log.warning("endpoint failed", extra={"endpoint": url, "attempts": 2})
            log.info("plain %s", url)
            try:
                raise RuntimeError(f"cannot reach {url}")
            except RuntimeError:
                log.exception("read failed")
    finally:
        root.handlers[:], root.level = saved
    text = stream.getvalue()
    for secret in (SECRET, "QUERYTOKEN", "pa55word"):
        assert secret not in text
    lines = text.splitlines()
    if json_lines:
        first = json.loads(lines[0])
        # key-value fields, not a sentence: the event is the msg, the details are fields
        assert first["msg"] == "endpoint failed" and first["attempts"] == 2
        assert first["endpoint"] == REDACTED and json.loads(lines[1])["msg"] == f"plain {REDACTED}"
        assert f"RuntimeError: cannot reach {REDACTED}" in json.loads(lines[2])["exc"]
    else:
        assert lines[0].endswith(f'endpoint failed endpoint="{REDACTED}" attempts=2')
        assert lines[1].endswith(f"plain {REDACTED}") and f"RuntimeError: cannot reach {REDACTED}" in text
    assert redact(f"GET {url}") == f"GET {REDACTED}"
