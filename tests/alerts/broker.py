"""A real mosquitto broker for tests: a config in a temp dir, a free loopback port, start / stop / kill / restart,
plus helpers that make a password file and a test CA with a server certificate for 127.0.0.1 and localhost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.tools import tool


def mosquitto_binary() -> str:
    """The mosquitto executable (on PATH or in Debian's /usr/sbin); the test fails naming the package otherwise."""
    return tool("mosquitto")


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    """A test CA and a server certificate signed by it."""

    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path) -> TlsFiles:
    """Create a CA and a server certificate for 127.0.0.1 / localhost with openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")

    openssl = tool("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=cascade-monitor test CA")  # fmt: skip
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    sign = ["-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(ext)]
    run("x509", "-req", "-in", str(csr), *sign, "-out", str(cert))
    return TlsFiles(ca, cert, key)


def make_password_file(path: Path, users: dict[str, str]) -> Path:
    """A mosquitto password file (hashed by mosquitto_passwd)."""
    mosquitto_passwd = tool("mosquitto_passwd")
    path.unlink(missing_ok=True)
    for i, (user, password) in enumerate(users.items()):
        flags = ["-b", "-c"] if i == 0 else ["-b"]
        subprocess.run(
            [mosquitto_passwd, *flags, str(path), user, password], check=True, capture_output=True, timeout=30
        )
    path.chmod(0o600)
    return path


class Mosquitto:
    """One mosquitto process on ``127.0.0.1:port``; restartable on the same port."""

    def __init__(
        self,
        directory: Path,
        *,
        password_file: Path | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self.binary = mosquitto_binary()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        self.log = self.dir / "mosquitto.log"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr", "log_type all"]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to user mosquitto and cannot read the temp dir
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        if tls is not None:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL (mqtts:// when TLS is on)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the port accepts connections."""
        assert not self.running
        with self.log.open("ab") as fh:
            self._proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=fh, stderr=fh)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._proc.returncode}:\n{self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        """Terminate (SIGTERM) and wait."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill (SIGKILL) and wait: no goodbye to the clients."""
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
