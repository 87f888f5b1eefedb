"""The Dockerfile, the systemd unit and the Kubernetes manifests, checked without Docker, systemd or a cluster:
structure, hardening, and agreement with the monitor's config, ports and paths. The image's healthcheck command
runs for real against an HTTP server that answers /readyz with 200 or 503."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from monitor.config import MonitorConfig, parse_config
from monitor.devnet.anvil import free_port
from tests.deploy.servers import DEPLOY, REPO, load_yaml

DOCKERFILE = DEPLOY / "Dockerfile"
UNIT = DEPLOY / "systemd" / "cascade-monitor.service"
K8S = DEPLOY / "kubernetes"
CONFIG_PATH = "/etc/cascade-monitor/monitor.yaml"
STATE_DIR = "/var/lib/cascade-monitor"

# --------------------------------------------------------------------------------------------- Dockerfile


def dockerfile() -> list[tuple[str, str, str]]:
    """(stage, INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    out = []
    stage = ""
    for line in lines:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.search(r"\s+AS\s+(\S+)$", args, re.I)
            stage = m.group(1) if m else args
        out.append((stage, instr, args.strip()))
    return out


def _stage(name: str) -> list[tuple[str, str]]:
    return [(i, a) for s, i, a in dockerfile() if s == name]


def _arg_default(name: str) -> str:
    for _, instr, args in dockerfile():
        if instr == "ARG" and args.startswith(f"{name}="):
            return args.split("=", 1)[1]
    raise AssertionError(f"no ARG {name}")


def _healthcheck(stage: str) -> list[str]:
    (hc,) = [a for i, a in _stage(stage) if i == "HEALTHCHECK"]
    cmd = hc.split(" CMD ", 1)[1]
    parsed: list[str] = json.loads(cmd)
    return parsed


def test_dockerfile_stages_and_a_non_root_runtime() -> None:
    stages = [a for _, i, a in dockerfile() if i == "FROM"]
    names = [s.split()[-1] for s in stages]
    assert names == ["npm", "build", "runtime", "devnet"], names
    uid = _arg_default("UID")
    for stage in ("runtime", "devnet"):
        users = [a for i, a in _stage(stage) if i == "USER"]
        assert users, f"{stage}: no USER"
        user = users[-1].replace("${UID}", uid).split(":")[0]
        assert user.isdigit() and int(user) > 0, f"{stage} runs as {users[-1]}"
    runtime = _stage("runtime")
    assert not [a for i, a in runtime if i == "COPY" and "--from=npm" in a], "no node or npm in the runtime image"
    assert ("ENTRYPOINT", '["cascade-monitor"]') in runtime
    (cmd,) = [json.loads(a) for i, a in runtime if i == "CMD"]
    assert cmd[:3] == ["run", "--config", CONFIG_PATH]
    assert ("EXPOSE", "9464") in runtime
    assert ("VOLUME", f'["{STATE_DIR}"]') in runtime
    env = " ".join(a for i, a in runtime if i == "ENV")
    assert "CASCADE_MONITOR_HEALTH_URL=http://127.0.0.1:9464/readyz" in env
    assert "CASCADE_MONITOR_HEALTH_URL" in " ".join(_healthcheck("runtime"))

    # the image installs the wheel: contracts compiled first (package data), then `python -m build`
    build = " && ".join(a for i, a in _stage("build") if i == "RUN")
    steps = [step.strip() for step in build.split("&&")]
    compile_at = steps.index("/opt/setup/bin/cascade-monitor devnet build")
    (wheel_at,) = [n for n, step in enumerate(steps) if " -m build " in step]
    (install,) = [step for step in steps if step.startswith("/opt/venv/bin/pip install")]
    assert compile_at < wheel_at < steps.index(install), steps
    assert install.endswith(".whl") and " -e " not in install, install
    copies = [a for i, a in runtime if i == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"], "the runtime image is the virtualenv, no source tree"
    devnet = _stage("devnet")
    assert ("COPY", "--from=build /app/monitor /app/monitor") in devnet, "the devnet runs from the source tree"
    assert ("ENV", "PYTHONPATH=/app") in devnet


def _ignored() -> list[str]:
    text = (DEPLOY / "Dockerfile.dockerignore").read_text()
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_copy_sources_exist_and_pass_the_dockerignore() -> None:
    ignored = _ignored()
    for needed in (".git", ".venv", "node_modules", ".cache", "var", "build"):
        assert needed in ignored, f"{needed} must not be sent to the build"
    for _, instr, args in dockerfile():
        if instr != "COPY" or "--from=" in args:
            continue
        *sources, _dest = args.split()
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: missing"
            assert not any(fnmatch.fnmatch(src, pat) for pat in ignored), f"COPY {src}: excluded by the dockerignore"


@contextlib.contextmanager
def _readyz(status: list[int]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status[0] if self.path == "/readyz" else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok\n" if code == 200 else b"stale\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/readyz"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _run_healthcheck(url: str) -> int:
    cmd = _healthcheck("runtime")
    assert cmd[0] == "python"
    res = subprocess.run([sys.executable, *cmd[1:]], env={"CASCADE_MONITOR_HEALTH_URL": url},
                         capture_output=True, timeout=30, check=False)  # fmt: skip
    return res.returncode


def test_healthcheck_command_follows_readyz() -> None:
    status = [200]
    with _readyz(status) as url:
        assert _run_healthcheck(url) == 0
        status[0] = 503
        assert _run_healthcheck(url) != 0
    assert _run_healthcheck(f"http://127.0.0.1:{free_port()}/readyz") != 0  # nothing listening


# ------------------------------------------------------------------------------------------------ systemd

# Directives of systemd.unit / systemd.service / systemd.exec / systemd.resource-control / systemd.kill that a
# unit of this kind may use: a misspelt directive is ignored by systemd with a warning, here it fails.
KNOWN_DIRECTIVES = {
    "Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before", "ConditionPathExists"},
    "Service": {
        "Type", "ExecStart", "ExecStartPre", "ExecReload", "EnvironmentFile", "Environment", "Restart", "RestartSec",
        "TimeoutStartSec", "TimeoutStopSec", "KillMode", "KillSignal", "User", "Group", "DynamicUser",
        "StateDirectory", "StateDirectoryMode", "ConfigurationDirectory", "WorkingDirectory", "UMask", "MemoryMax",
        "MemoryHigh", "TasksMax", "LimitNOFILE", "CPUQuota", "NoNewPrivileges", "CapabilityBoundingSet",
        "AmbientCapabilities", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "DevicePolicy",
        "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
        "ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset", "RestrictAddressFamilies",
        "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
        "RemoveIPC", "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "ReadWritePaths",
        "ReadOnlyPaths", "PrivateUsers", "IPAddressDeny", "IPAddressAllow",
    },
    "Install": {"WantedBy"},
}  # fmt: skip


def unit() -> dict[str, list[tuple[str, str]]]:
    """Section -> [(key, value)] (systemd allows repeated keys)."""
    out: dict[str, list[tuple[str, str]]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, [])
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not key=value: {line!r}"
        out[section].append((key.strip(), value.strip()))
    return out


def test_systemd_unit_is_hardened_and_runs_the_monitor() -> None:
    u = unit()
    assert set(u) == {"Unit", "Service", "Install"}
    for section, items in u.items():
        unknown = {k for k, _ in items} - KNOWN_DIRECTIVES[section]
        assert not unknown, f"[{section}] unknown directives: {unknown}"
    svc: dict[str, str] = {}
    for k, v in u["Service"]:
        svc[k] = svc[k] + " " + v if k in svc else v
    exec_start = svc["ExecStart"].split()
    assert exec_start[0].startswith("/") and exec_start[0].endswith("/cascade-monitor")
    assert exec_start[1:4] == ["run", "--config", CONFIG_PATH]
    expected = {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures": "native",
        "UMask": "0077",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
        "StateDirectory": "cascade-monitor",
    }
    for key, value in expected.items():
        assert svc.get(key) == value, f"{key}={svc.get(key)!r}, expected {value!r}"
    assert svc["WorkingDirectory"] == STATE_DIR, "StateDirectory=cascade-monitor is /var/lib/cascade-monitor"
    assert svc["SystemCallFilter"].startswith("@system-service") and "~@privileged" in svc["SystemCallFilter"]
    assert svc["EnvironmentFile"].startswith("-/etc/cascade-monitor/"), "secrets from an optional root-only file"
    assert dict(u["Install"])["WantedBy"] == "multi-user.target"
    assert "network-online.target" in dict(u["Unit"])["After"]


# ------------------------------------------------------------------------------------------------- Kubernetes

MONITOR_LABELS = {"app.kubernetes.io/name": "cascade-monitor", "app.kubernetes.io/component": "monitor"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _market_files() -> list[Path]:
    files = sorted((K8S / "markets").glob("*.yaml"))
    assert len(files) >= 2, "at least two markets show the one-Deployment-per-market pattern"
    return files


def _embedded_config(cm: dict[str, Any]) -> MonitorConfig:
    return parse_config(yaml.safe_load(cm["data"]["monitor.yaml"]), source=cm["metadata"]["name"], environ={})


def test_kustomization_lists_existing_files() -> None:
    k = load_yaml(K8S / "kustomization.yaml")
    listed = list(k["resources"])
    listed += re.findall(r"^\s*#\s*-\s*(\S+\.yaml)", (K8S / "kustomization.yaml").read_text(), re.M)
    for path in listed:
        assert (K8S / path).exists(), path
    every = {str(p.relative_to(K8S)) for p in K8S.rglob("*.yaml")} - {"kustomization.yaml"}
    assert every == set(listed), f"not mentioned in kustomization.yaml: {every - set(listed)}"
    assert k["images"][0]["name"] == "cascade-monitor"


@pytest.mark.parametrize("path", _market_files(), ids=lambda p: p.stem)
def test_one_monitor_per_market(path: Path) -> None:
    market = path.stem
    name = f"cascade-monitor-{market}"
    docs = {d["kind"]: d for d in _docs(path)}
    assert sorted(docs) == ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service"]
    labels = {**MONITOR_LABELS, "app.kubernetes.io/instance": market}
    for kind, d in docs.items():
        assert d["metadata"]["name"] == name, kind
        assert d["metadata"]["labels"] == labels, kind

    cfg = _embedded_config(docs["ConfigMap"])
    assert [m.name for m in cfg.markets] == [market], "one market per process"
    assert cfg.metrics.host == "0.0.0.0"
    assert cfg.checkpoint.path.startswith(STATE_DIR + "/")
    for url in cfg.chain.rpc_urls:  # keys belong in the Secret
        parts = urlsplit(url)
        assert parts.path in ("", "/") and not parts.query and not parts.password, url

    dep = docs["Deployment"]["spec"]
    assert dep["replicas"] == 1 and dep["strategy"]["type"] == "Recreate"
    assert dep["selector"]["matchLabels"] == labels == dep["template"]["metadata"]["labels"]
    pod = dep["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and str(psc["runAsUser"]) == _arg_default("UID")
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    (c,) = pod["containers"]
    assert c["image"] == "cascade-monitor"
    assert c["args"][:3] == ["run", "--config", CONFIG_PATH]
    csc = c["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    (port,) = c["ports"]
    assert port == {"name": "metrics", "containerPort": cfg.metrics.port}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert "memory" in c["resources"]["limits"] and c["resources"]["requests"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_vol = volumes[mounts[str(Path(CONFIG_PATH).parent)]["name"]]
    assert config_vol["configMap"]["name"] == name and mounts[str(Path(CONFIG_PATH).parent)]["readOnly"]
    assert volumes[mounts[STATE_DIR]["name"]]["persistentVolumeClaim"]["claimName"] == name
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    for env in c.get("env", []):
        assert "valueFrom" in env, f"{env['name']}: secrets come from a Secret"

    svc = docs["Service"]["spec"]
    assert svc["selector"] == labels, "the Service selects this market's pod only"
    assert svc["publishNotReadyAddresses"] is True, "a stale or backfilling monitor is still scraped"
    assert svc["ports"] == [{"name": "metrics", "port": cfg.metrics.port, "targetPort": "metrics"}]


def test_markets_are_distinct_and_scraped_as_job_cascade_monitor() -> None:
    markets = [p.stem for p in _market_files()]
    assert len(set(markets)) == len(markets)
    (sm,) = _docs(K8S / "servicemonitor.yaml")
    assert sm["kind"] == "ServiceMonitor"
    job_label = sm["spec"]["jobLabel"]
    for path in _market_files():
        (svc,) = [d for d in _docs(path) if d["kind"] == "Service"]
        labels = svc["metadata"]["labels"]
        assert labels[job_label] == "cascade-monitor", "the rules select job=cascade-monitor"
        assert sm["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"


def test_devnet_market_points_at_the_devnet_service() -> None:
    (cm,) = [d for d in _docs(K8S / "markets" / "devnet-aave.yaml") if d["kind"] == "ConfigMap"]
    rpc = urlsplit(_embedded_config(cm).chain.rpc_urls[0])
    svc = next(d for d in _docs(K8S / "devnet.yaml") if d["kind"] == "Service")
    assert rpc.hostname == svc["metadata"]["name"]
    assert rpc.port == svc["spec"]["ports"][0]["port"] == 8545
