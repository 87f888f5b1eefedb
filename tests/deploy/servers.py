"""Real Prometheus / Alertmanager processes and a notification sink for the deploy tests.

Every process listens on 127.0.0.1 on a free port, keeps its data in the test's tmp directory, logs to a file
there, and is killed on exit (terminate, then kill). Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from monitor.devnet.anvil import free_port
from tests.tools import tool

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules"
RULE_TESTS = DEPLOY / "prometheus" / "tests"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "cascade-monitor.json"


def run_tool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command line tool to completion, capturing its output."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of deploy/prometheus/rules/*.yml, with its group name under ``_group``."""
    out = []
    for path in sorted(RULES.glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out.append({**rule, "_group": group["name"], "_file": path.name})
    return out


@dataclass
class Server:
    """A running server process: its base URL, its log, and how to stop it."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the process log (for failure messages)."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def running(name: str, args: list[str], port: int, log: Path, timeout: float = 30) -> Iterator[Server]:
    """Start ``args``, wait until ``/-/ready`` answers 200 on ``port``, stop it on exit whatever happens."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited with {proc.returncode}:\n{server.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{server.url}/-/ready").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name} not ready after {timeout} s:\n{server.log_tail()}")
                time.sleep(0.1)
        yield server
    finally:
        _stop(proc)


@contextlib.contextmanager
def prometheus(tmp: Path, config: dict[str, Any]) -> Iterator[Server]:
    """The Debian prometheus server with ``config`` (rule file paths inside it must be absolute)."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    check = run_tool(tool("promtool"), "check", "config", str(cfg))
    assert check.returncode == 0, check.stdout + check.stderr
    args = [tool("prometheus"), f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
            f"--web.console.templates={tmp}", f"--web.console.libraries={tmp}"]  # fmt: skip
    with running("prometheus", args, port, tmp / "prometheus.log") as server:
        yield server


@contextlib.contextmanager
def alertmanager(tmp: Path, config: dict[str, Any]) -> Iterator[Server]:
    """The Debian alertmanager with ``config``, clustering off."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    check = run_tool(tool("amtool"), "check-config", str(cfg))
    assert check.returncode == 0, check.stdout + check.stderr
    args = [tool("prometheus-alertmanager", "alertmanager"), f"--config.file={cfg}",
            f"--storage.path={tmp / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]  # fmt: skip
    with running("alertmanager", args, port, tmp / "alertmanager.log") as server:
        yield server


@dataclass
class Sink:
    """An HTTP server that records every JSON POST (path, body): stands in for PagerDuty and Slack."""

    url: str
    received: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path: str) -> list[Any]:
        """Bodies posted to ``path`` so far."""
        with self.lock:
            return [body for p, body in self.received if p == path]

    def wait_for(self, path: str, predicate: Any, timeout: float) -> Any:
        """The first body posted to ``path`` with ``predicate(body)`` true; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.posts(path):
                if predicate(body):
                    return body
            time.sleep(0.1)
        raise AssertionError(f"no matching POST to {path} within {timeout} s; got {self.received!r}")


@contextlib.contextmanager
def sink() -> Iterator[Sink]:
    """A :class:`Sink` on a free loopback port, shut down on exit."""
    holder: list[Sink] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            with holder[0].lock:
                holder[0].received.append((self.path, body))
            status = 202 if self.path.startswith("/pagerduty") else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}' if status == 202 else b"ok")

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Sink(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, name="notification-sink", daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def alertmanager_to_sink(tmp: Path, sink_url: str) -> dict[str, Any]:
    """The example Alertmanager config with its routes and inhibitions unchanged, but notifications sent to
    ``sink_url`` (PagerDuty at /pagerduty, Slack at /slack; email dropped: no SMTP server here), secrets in
    files under ``tmp`` and group waits of a second."""
    cfg: dict[str, Any] = load_yaml(ALERTMANAGER_CONFIG)
    secrets = tmp / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "pagerduty-routing-key").write_text("test-routing-key\n")
    (secrets / "slack-webhook-url").write_text(f"{sink_url}/slack\n")
    (secrets / "smtp-password").write_text("unused\n")
    g = cfg["global"]
    g["slack_api_url_file"] = str(secrets / "slack-webhook-url")
    g["smtp_auth_password_file"] = str(secrets / "smtp-password")
    for receiver in cfg["receivers"]:
        for pd in receiver.get("pagerduty_configs", []):
            pd["routing_key_file"] = str(secrets / "pagerduty-routing-key")
            pd["url"] = f"{sink_url}/pagerduty"
        receiver.pop("email_configs", None)
    stack = [cfg["route"]]
    while stack:
        route = stack.pop()
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        stack.extend(route.get("routes", []))
    return cfg
