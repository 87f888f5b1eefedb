"""deploy/docker-compose.yml, checked without Docker (not available here): it validates against a schema of the
Compose Specification subset it uses (tests/deploy/schema.py) after Compose-style variable interpolation, and its
services agree with each other and with the files they mount: the Prometheus target, the Alertmanager address,
Grafana's data source and dashboards, the monitor configs (validated by the monitor's own parser), mosquitto,
the devnet profile and the Dockerfile stages."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from monitor.config import MonitorConfig, load_config
from tests.deploy.schema import COMPOSE_SCHEMA, validate
from tests.deploy.servers import ALERTMANAGER_CONFIG, DEPLOY, PROMETHEUS_CONFIG, REPO, load_yaml

COMPOSE = DEPLOY / "docker-compose.yml"
SERVICES = {"monitor", "prometheus", "alertmanager", "grafana", "mosquitto", "devnet"}
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$) throughout."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3) or ""
        val = env.get(name)
        if (op in (":-", ":?") and not val) or (op in ("-", "?") and val is None):
            if op.endswith("?"):
                raise ValueError(f"required variable {name}: {arg}")
            return arg
        return val or ""

    return _VAR.sub(sub, value)


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as Compose would see it with ``env`` (YAML anchors and merge keys resolved)."""
    data: dict[str, Any] = interpolate(load_yaml(COMPOSE), env or {})
    return data


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """target -> (source, read only) of the short-syntax volumes of a service."""
    out = {}
    for v in service.get("volumes", []):
        parts = v.split(":")
        out[parts[1]] = (parts[0], len(parts) > 2 and parts[2] == "ro")
    return out


def test_schema_valid() -> None:
    errors = validate(compose(), COMPOSE_SCHEMA)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["services"]["monitor"].update(restart="sometimes"), "is not one of"),
        (lambda d: d["services"]["prometheus"].update(volume=[]), "unknown key"),
        (lambda d: d["services"]["grafana"].pop("image"), "anyOf"),
        (lambda d: d["services"]["monitor"]["depends_on"]["devnet"].update(condition="healthy"), "oneOf"),
        (lambda d: d["services"]["alertmanager"]["volumes"].append("relative/target"), "oneOf"),
        (lambda d: d.update(service={}), "unknown key"),
    ],
    ids=["enum", "typo-in-service", "no-image-or-build", "bad-condition", "bad-volume", "typo-top-level"],
)
def test_schema_rejects_broken_files(mutate: Any, expected: str) -> None:
    data = copy.deepcopy(compose())
    mutate(data)
    errors = validate(data, COMPOSE_SCHEMA)
    assert any(expected in e for e in errors), errors


def test_interpolation() -> None:
    assert interpolate("${A:-x}/${B-y}/$$/${C}", {"A": "", "C": "c"}) == "x/y/$/c"
    with pytest.raises(ValueError, match="required"):
        interpolate("${A:?set A}", {})
    env = {"CASCADE_MONITOR_CONFIG": "./compose/monitor-devnet.yaml"}
    assert (
        _mounts(compose(env)["services"]["monitor"])["/etc/cascade-monitor/monitor.yaml"][0]
        == env["CASCADE_MONITOR_CONFIG"]
    )


def test_services_profiles_and_images() -> None:
    d = compose()
    assert set(d["services"]) == SERVICES
    for name, svc in d["services"].items():
        assert svc.get("profiles", []) == (["devnet"] if name == "devnet" else []), name
        image = svc["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest", f"{name}: pin the image tag ({image})"
        assert svc["restart"] == "unless-stopped", name
        assert "ALL" in svc["cap_drop"] and "no-new-privileges:true" in svc["security_opt"], name
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: publish {port} on loopback only"
    monitor = d["services"]["monitor"]
    assert monitor["read_only"] is True and "/tmp" in monitor["tmpfs"]
    assert "ports" not in monitor, "the monitor is scraped on the compose network; nothing to publish"
    assert monitor["depends_on"]["devnet"] == {"condition": "service_healthy", "required": False}
    # secrets pass through from the environment by name, never with a value in the file
    assert all("=" not in e for e in monitor["environment"])


def test_bind_mounts_exist_and_named_volumes_are_declared() -> None:
    for env in ({}, {"CASCADE_MONITOR_CONFIG": "./compose/monitor-devnet.yaml"}):
        d = compose(env)
        for name, svc in d["services"].items():
            for target, (source, _) in _mounts(svc).items():
                if source.startswith("."):
                    assert (DEPLOY / source).exists(), f"{name}: {source} (mounted at {target}) is missing"
                else:
                    assert source in d["volumes"], f"{name}: volume {source} is not declared"


def _stages() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text()
    return {m.group(2): m.group(1) for m in re.finditer(r"^FROM\s+(\S+)\s+AS\s+(\S+)\s*$", text, re.M)}


def test_builds_use_the_dockerfile_stages() -> None:
    stages = _stages()
    for name in ("monitor", "devnet"):
        build = compose()["services"][name]["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == REPO
        assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert build["target"] in stages, f"{name}: no stage {build['target']}"


def _monitor_configs() -> list[tuple[Path, MonitorConfig]]:
    paths = [DEPLOY / "compose" / "monitor.yaml", DEPLOY / "compose" / "monitor-devnet.yaml"]
    return [(p, load_config(p, environ={})) for p in paths]


def test_monitor_configs_fit_the_compose_network() -> None:
    d = compose()
    mosquitto = (DEPLOY / "compose" / "mosquitto.conf").read_text()
    listener = re.search(r"^listener\s+(\d+)", mosquitto, re.M)
    assert listener is not None
    prom = load_yaml(PROMETHEUS_CONFIG)
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "cascade-monitor"]
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for path, cfg in _monitor_configs():
        assert cfg.metrics.host == "0.0.0.0", f"{path.name}: listen on all interfaces inside the container"
        assert f"monitor:{cfg.metrics.port}" in targets, f"{path.name}: Prometheus scrapes {targets}"
        assert f"127.0.0.1:{cfg.metrics.port}/readyz" in dockerfile, "the image's healthcheck port"
        assert f"EXPOSE {cfg.metrics.port}" in dockerfile
        assert cfg.checkpoint.path.startswith("/var/lib/cascade-monitor/"), "the monitor-data volume"
        assert cfg.mqtt is not None
        mq = urlsplit(cfg.mqtt.url)
        assert (mq.hostname, mq.port) == ("mosquitto", int(listener.group(1)))
    assert "/var/lib/cascade-monitor" in _mounts(d["services"]["monitor"])
    assert _mounts(d["services"]["monitor"])["/etc/cascade-monitor/monitor.yaml"][1], "config mounted read-only"
    assert "/etc/cascade-monitor/monitor.yaml" in dockerfile, "the image's default --config"


def test_devnet_profile_matches_the_devnet() -> None:
    (_, cfg) = _monitor_configs()[1]
    rpc = urlsplit(cfg.chain.rpc_urls[0])
    assert (rpc.hostname, rpc.port) == ("devnet", 8545)
    devnet = compose()["services"]["devnet"]
    assert "8545" in devnet["expose"]
    assert "TCP-LISTEN:8545" in (DEPLOY / "Dockerfile").read_text()
    example = load_config(REPO / "config" / "devnet.example.yaml", environ={})
    assert cfg.markets[0].pool_addresses_provider == example.markets[0].pool_addresses_provider
    assert cfg.dex.pools == example.dex.pools
    assert cfg.chain.chain_id == example.chain.chain_id


def test_prometheus_alertmanager_and_grafana_wiring() -> None:
    d = compose()
    prom_svc, am_svc, graf = (d["services"][s] for s in ("prometheus", "alertmanager", "grafana"))
    pm = _mounts(prom_svc)
    assert pm["/etc/prometheus/prometheus.yml"][0] == "./prometheus/prometheus.yml"
    prom = load_yaml(PROMETHEUS_CONFIG)
    for pattern in prom["rule_files"]:  # relative to the config file's directory in the container
        assert pm["/etc/prometheus/" + pattern.split("/")[0]][0] == "./prometheus/rules"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom_svc["command"]
    am_target = prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    assert am_target == "alertmanager:9093" and "--web.listen-address=0.0.0.0:9093" in am_svc["command"]
    am = _mounts(am_svc)
    assert am["/etc/alertmanager/alertmanager.yml"][0] == "./alertmanager/alertmanager.yml"
    secrets_dir = "/etc/alertmanager/secrets"
    assert am[secrets_dir] == ("./alertmanager/secrets", True)
    text = ALERTMANAGER_CONFIG.read_text()
    for ref in re.findall(r"_file:\s*(\S+)", text):
        assert ref.startswith(secrets_dir + "/"), f"{ref} is outside the mounted secrets directory"
    gm = _mounts(graf)
    assert gm["/etc/grafana/provisioning/datasources"][0] == "./grafana/provisioning/datasources"
    assert gm["/etc/grafana/provisioning/dashboards"][0] == "./grafana/provisioning/dashboards"
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "cascade-monitor.yml")["providers"][0]
    assert gm[provider["options"]["path"]][0] == "./grafana/dashboards"
    home = graf["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == provider["options"]["path"] + "/cascade-monitor.json"
    assert (DEPLOY / "grafana" / "dashboards" / "cascade-monitor.json").exists()
    ds = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    assert urlsplit(ds["url"]).hostname in d["services"]
