"""Configuration: frozen pydantic models loaded from YAML, with environment overrides.

A config file is YAML of this shape (more keys are accepted where the models below declare them)::

    chain: {rpc_urls: ["http://127.0.0.1:8545"], chain_id: 31337}
    markets:
      - {name: devnet-aave, protocol: aave-v3, pool_addresses_provider: "0x...", start_block: 0}
    dex: {pools: ["0x...", "0x..."]}
    metrics: {listen: "127.0.0.1:9464"}
    mqtt: {url: "mqtt://127.0.0.1:1883", topic_prefix: cascade-monitor}

Environment overrides: ``CASCADE_MONITOR__<SECTION>__<KEY>=<yaml value>`` replaces one key, for example
``CASCADE_MONITOR__CHAIN__RPC_URLS='["https://..."]'`` or ``CASCADE_MONITOR__MQTT__PASSWORD=...``.
Unknown keys, malformed addresses and missing fields raise :class:`~monitor.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Union, get_args
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

# sections kept in their own modules (alerts_config, scenarios_config): their names stay importable from here
from monitor.alerts_config import SYSTEM_KINDS as SYSTEM_KINDS
from monitor.alerts_config import SYSTEM_MARKET as SYSTEM_MARKET
from monitor.alerts_config import AlertKind as AlertKind
from monitor.alerts_config import AlertRuleConfig as AlertRuleConfig
from monitor.alerts_config import AlertsConfig as AlertsConfig
from monitor.alerts_config import default_alert_rules as default_alert_rules
from monitor.configbase import Address
from monitor.configbase import FrozenModel as _Frozen
from monitor.errors import ConfigError, DataError
from monitor.liquidators_config import LiquidatorsConfig
from monitor.oracles_config import OraclesConfig
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.morpho_blue.config import MorphoBlueMarketConfig
from monitor.risk.offchain import OffchainCurve
from monitor.scenarios_config import EACH_COLLATERAL as EACH_COLLATERAL
from monitor.scenarios_config import ScenarioConfig as ScenarioConfig
from monitor.scenarios_config import SweepConfig as SweepConfig
from monitor.scenarios_config import default_scenarios as default_scenarios

ENV_PREFIX = "CASCADE_MONITOR__"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


#: Block time of known chains (seconds): Ethereum, OP Mainnet, Base, Arbitrum One, the devnet (anvil; one block
#: per transaction unless run with --block-time).
BLOCK_TIMES_S: dict[int, float] = {1: 12.0, 10: 2.0, 8453: 2.0, 42161: 0.25, 31337: 1.0}


class ChainConfig(_Frozen):
    """How to reach the chain: one or more RPC URLs (failover in order) and the expected chain id."""

    rpc_urls: list[str] = Field(min_length=1, repr=False)  # may hold API keys: never in repr or logs
    chain_id: int = Field(ge=1)
    confirmations: int = Field(default=2, ge=0, description="blocks behind the head treated as final")
    request_timeout_s: float = Field(default=20.0, gt=0)
    max_concurrency: int = Field(default=8, ge=1)
    requests_per_second: float = Field(default=0.0, ge=0, description="0 means unlimited")
    batch_size: int = Field(default=500, ge=1, le=10_000)
    max_retries: int = Field(default=5, ge=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    # seconds per block, for the projection's time fields; left out: the chain's own (BLOCK_TIMES_S), else 12
    block_time_seconds: float | None = Field(default=None, gt=0, le=3600)
    # blocks from a pool move to the oracle update it sets off landing on this chain (the projection's clock)
    oracle_update_blocks: int = Field(default=1, ge=0, le=10_000)
    # newHeads over WebSocket wakes the block loop without waiting poll_interval_s. Left out: derived from the
    # first RPC URL when that is a loopback node (anvil serves ws on its HTTP port); "" turns it off.
    ws_url: str | None = Field(default=None, repr=False)  # may hold an API key, as rpc_urls

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, url: str | None) -> str | None:
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("ws", "wss") or not parts.hostname:
                raise ValueError(f"not a ws(s) URL: {redact_url(url)!r}")
        return url

    @property
    def block_seconds(self) -> float:
        """Seconds per block: ``block_time_seconds``, else the chain's known block time, else 12 (Ethereum)."""
        if self.block_time_seconds is not None:
            return self.block_time_seconds
        return BLOCK_TIMES_S.get(self.chain_id, 12.0)

    @property
    def head_ws_url(self) -> str | None:
        """Where to subscribe to new heads: ``ws_url``, else ws:// of a loopback first RPC URL, else None."""
        if self.ws_url is not None:
            return self.ws_url or None
        parts = urlsplit(self.rpc_urls[0])
        if parts.hostname not in LOOPBACK_HOSTS:
            return None
        return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, parts.path, parts.query, ""))

    @field_validator("rpc_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {redact_url(url)!r}")
        return urls


# One entry of ``markets:``, its model chosen by the ``protocol`` key. A protocol package declares its own model
# (name, protocol, start_block and what finds its contracts); add it to this union and to the protocol registry.
MarketConfig = Annotated[Union[AaveV3MarketConfig, MorphoBlueMarketConfig], Field(discriminator="protocol")]  # noqa: UP007
MARKET_MODELS: tuple[type[_Frozen], ...] = (AaveV3MarketConfig, MorphoBlueMarketConfig)
KNOWN_PROTOCOLS: tuple[str, ...] = tuple(str(get_args(m.model_fields["protocol"].annotation)[0]) for m in MARKET_MODELS)


class OffchainDepthConfig(_Frozen):
    """An asset's off-chain depth (e.g. centralised-exchange order books): USD a seller receives walking the
    price down by each drop, ``{"0.01": usd, "0.02": usd, "0.05": usd, "0.10": usd}``."""

    depth_usd: dict[str, float]

    @field_validator("depth_usd")
    @classmethod
    def _depth(cls, value: dict[str, float]) -> dict[str, float]:
        try:
            OffchainCurve.from_levels(value)
        except DataError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def curve(self) -> OffchainCurve:
        """The depth as the engine's curve."""
        return OffchainCurve.from_levels(self.depth_usd)


class DexConfig(_Frozen):
    """Venues the projection may sell seized collateral into: Uniswap v3 pools and optional off-chain depth.

    ``split_sales`` sells each asset into all its pools and two-hop routes at equal marginal prices (an
    off-chain curve of an asset turns it on as well); off, each asset sells into its deepest pool.
    ``offchain`` (per asset symbol or address) and ``offchain_file`` (YAML or JSON of the same shape, reread
    when it changes; its curves replace the config's for the assets it names) give off-chain depth curves.
    """

    pools: list[Address] = Field(default_factory=list)
    split_sales: bool = False
    offchain: dict[str, OffchainDepthConfig] = Field(default_factory=dict)
    offchain_file: Path | None = None


class MetricsConfig(_Frozen):
    """Where the Prometheus endpoint listens (loopback unless said otherwise)."""

    listen: str = "127.0.0.1:9464"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"expected host:port, got {value!r}")
        if not 0 < int(port) < 65536:
            raise ValueError(f"port must be between 1 and 65535, got {port}")
        return value

    @property
    def host(self) -> str:
        """Host part of ``listen``."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """Port part of ``listen``."""
        return int(self.listen.rpartition(":")[2])


class MqttConfig(_Frozen):
    """MQTT broker for alerts; optional."""

    url: str = "mqtt://127.0.0.1:1883"
    topic_prefix: str = Field(default="cascade-monitor", min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    ca_file: str | None = None
    client_id: str | None = None
    outbox_size: int = Field(default=10_000, ge=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"expected mqtt://host[:port] or mqtts://host[:port], got {redact_url(value)!r}")
        return value


DEFAULT_CHECKPOINT = "var/checkpoints/chain-{chain_id}.sqlite"


class CheckpointConfig(_Frozen):
    """Where indexer state persists between runs.

    Left out, ``path`` is ``var/checkpoints/chain-<chain_id>.sqlite``: one file per chain, its tables keyed by
    market name. The markets of a chain are followed against the same head and committed by one process, so
    one file (one connection, one WAL) serves them all; a market's rows are reset on their own when its chain
    no longer holds any stored block, and configs of other chains never share a file.
    """

    path: str = ""  # filled in by MonitorConfig from chain.chain_id when not given


class BookConfig(_Frozen):
    """Options of the health-factor book."""

    hf_buckets: list[float] = Field(
        default_factory=lambda: [1.0, 1.01, 1.02, 1.05, 1.1, 1.15, 1.2, 1.25, 1.5, 2.0, 3.0, 5.0]
    )
    top_n: int = Field(default=20, ge=0, le=1000)

    @field_validator("hf_buckets")
    @classmethod
    def _sorted(cls, edges: list[float]) -> list[float]:
        if not edges or any(b <= a for a, b in pairwise(edges)) or edges[0] <= 0:
            raise ValueError("bucket edges must be positive and strictly increasing")
        return edges


class MonitorConfig(_Frozen):
    """The whole configuration file."""

    chain: ChainConfig
    markets: list[MarketConfig] = Field(min_length=1)
    dex: DexConfig = Field(default_factory=DexConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    mqtt: MqttConfig | None = None
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    book: BookConfig = Field(default_factory=BookConfig)
    scenarios: list[ScenarioConfig] = Field(default_factory=default_scenarios)  # [] projects none
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    liquidators: LiquidatorsConfig = Field(default_factory=LiquidatorsConfig)
    oracles: OraclesConfig = Field(default_factory=OraclesConfig)

    @model_validator(mode="before")
    @classmethod
    def _checkpoint_per_chain(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("chain"), dict):
            return data
        checkpoint = data.get("checkpoint", {})
        chain_id = data["chain"].get("chain_id")
        if isinstance(chain_id, str) and chain_id.isdigit():
            chain_id = int(chain_id)
        if isinstance(checkpoint, dict) and not checkpoint.get("path") and isinstance(chain_id, int):
            data = {**data, "checkpoint": {**checkpoint, "path": DEFAULT_CHECKPOINT.format(chain_id=chain_id)}}
        return data

    @field_validator("markets")
    @classmethod
    def _unique_names(cls, markets: list[MarketConfig]) -> list[MarketConfig]:
        names = [m.name for m in markets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"market names must be unique; repeated: {', '.join(dupes)}")
        if SYSTEM_MARKET in names:
            raise ValueError(
                f"{SYSTEM_MARKET!r} is the name the alerts on system figures carry; name the market otherwise"
            )
        return markets

    @property
    def scenarios_are_default(self) -> bool:
        """True when the config gave no ``scenarios`` key (the default scenarios apply)."""
        return "scenarios" not in self.model_fields_set

    def redacted(self) -> dict[str, Any]:
        """The config as a plain dict safe to log: secrets masked, credentials and paths stripped from URLs."""
        data = self.model_dump(mode="json")
        data["chain"]["rpc_urls"] = [redact_url(u) for u in self.chain.rpc_urls]
        if self.chain.ws_url:
            data["chain"]["ws_url"] = redact_url(self.chain.ws_url)
        if self.mqtt is not None:
            data["mqtt"]["url"] = redact_url(self.mqtt.url)
            if self.mqtt.password is not None:
                data["mqtt"]["password"] = "**********"
        return data


def redact_url(url: str) -> str:
    """Drop credentials, path and query from a URL: RPC providers put API keys in all three."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    hidden = "/***" if (parts.path not in ("", "/") or parts.query) else ""
    return urlunsplit((parts.scheme, netloc, hidden, "", ""))


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _without_protocol_tag(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """pydantic names the chosen union member in the location (``markets.0.aave-v3.start_block``): drop it."""
    if len(loc) >= 3 and loc[0] == "markets" and isinstance(loc[1], int) and loc[2] in KNOWN_PROTOCOLS:
        return loc[:2] + loc[3:]
    return loc


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    known = ", ".join(KNOWN_PROTOCOLS)
    for err in exc.errors():
        loc = _format_loc(_without_protocol_tag(tuple(err["loc"])))
        kind = err["type"]
        if kind == "union_tag_invalid":
            tag = (err.get("ctx") or {}).get("tag")
            loc, msg = f"{loc}.protocol", f"unknown protocol {tag!r}; known protocols: {known}"
        elif kind == "union_tag_not_found":
            loc, msg = f"{loc}.protocol", f"missing required key (one of: {known})"
        elif kind == "extra_forbidden":
            msg = "unknown key"
        elif kind == "missing":
            msg = "missing required key"
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"environment override {name}: not valid YAML ({exc})") from None
        node: Any = data
        for key in path[:-1]:
            if not isinstance(node, dict):
                raise ConfigError(f"environment override {name}: {key!r} is not a section")
            node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"environment override {name}: parent is not a section")
        node[path[-1]] = value
    return data


def parse_config(data: object, *, source: str = "<memory>", environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Validate already-parsed YAML data (plus environment overrides) into a :class:`MonitorConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {source}: the top level must be a mapping, got {type(data).__name__}")
    merged = _apply_env(dict(data), os.environ if environ is None else environ)
    try:
        return MonitorConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Read, parse and validate a YAML config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"invalid config {p}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"invalid config {p}: not valid YAML{where}: {problem}") from None
    return parse_config(data, source=str(p), environ=environ)
