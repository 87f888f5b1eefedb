"""Logging for every command: one setup, key-value fields, secrets scrubbed.

:func:`setup_logging` installs one stderr handler on the root logger: JSON lines when stderr is not a
terminal, readable lines when it is. A record's message is a short event name and its details are
key-value fields passed as ``extra``::

    log.warning("rpc endpoint unavailable", extra={"endpoint": label, "error": str(exc)})

which comes out as ``{"msg": "rpc endpoint unavailable", "endpoint": ..., "error": ...}`` (JSON) or
``... rpc endpoint unavailable endpoint=... error=...`` (text). Known secrets (API keys in RPC URLs,
passwords) are replaced by ``***`` everywhere in the line: message, fields and traceback. A command adds
its config's secrets with :func:`protect_config` as soon as it has loaded it; :func:`redact` scrubs any
other text bound for the user (the CLI's one-line error).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from monitor.config import MonitorConfig

#: attributes every LogRecord has; anything else on a record came in through ``extra``
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class SecretFilter(logging.Filter):
    """Replaces every known secret (API keys in RPC URLs, passwords) in a record's message with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secrets (strings shorter than 4 characters are ignored: they would scrub too much)."""
        known = set(self.secrets) | {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(known, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the formatted message in place (always keeps the record)."""
        if self.secrets:
            record.msg, record.args = self.scrub(record.getMessage()), None
        return True


#: the secrets of this process, shared by the handler :func:`setup_logging` installs and :func:`redact`
_SECRETS = SecretFilter()


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The key-value fields a record carries (what the call passed as ``extra``)."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}


def _value(value: Any) -> Any:
    """A field value as JSON can hold it (anything else becomes its ``str``)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def _scrub_json(value: Any, scrub: SecretFilter) -> Any:
    if isinstance(value, str):
        return scrub.scrub(value)
    if isinstance(value, list):
        return [_scrub_json(v, scrub) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, scrub) for k, v in value.items()}
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the record's fields (+ exc); secrets scrubbed."""

    def __init__(self, secrets: SecretFilter | None = None) -> None:
        super().__init__()
        self.secrets = secrets or SecretFilter()

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in fields(record).items():
            out.setdefault(key, _value(value))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(_scrub_json(out, self.secrets))


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: msg key=value ...`` for a terminal; secrets scrubbed."""

    def __init__(self, secrets: SecretFilter | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = secrets or SecretFilter()

    def format(self, record: logging.LogRecord) -> str:
        """The record as one readable line (plus the traceback, if any)."""
        line = super().format(record)
        extra = " ".join(f"{k}={_text(v)}" for k, v in fields(record).items())
        if extra:
            head, sep, tail = line.partition("\n")
            line = f"{head} {extra}{sep}{tail}"
        return self.secrets.scrub(line)


def _text(value: Any) -> str:
    """A field value in a text line: bare when it is one word, JSON otherwise."""
    if isinstance(value, str) and value and not any(c.isspace() or c in "\"'=" for c in value):
        return value
    return json.dumps(_value(value))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (as :data:`logging.lastResort` does)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(*, verbose: bool = False, json_lines: bool | None = None, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger for the process (every command; calling it again replaces the handler).

    Handlers installed by others (a test runner's capture) stay in place.
    """
    _SECRETS.add(secrets)
    handler = _StderrHandler()
    use_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    handler.setFormatter(JsonFormatter(_SECRETS) if use_json else TextFormatter(_SECRETS))
    handler.addFilter(_SECRETS)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _StderrHandler)] + [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_secrets(secrets: Iterable[str]) -> None:
    """Scrub these strings too, from now on, in every log line and in :func:`redact`."""
    _SECRETS.add(secrets)


def protect_config(cfg: MonitorConfig) -> None:
    """Scrub the secrets of a loaded config: the RPC and MQTT URLs' keys and the MQTT password."""
    passwords = [cfg.mqtt.password.get_secret_value()] if cfg.mqtt and cfg.mqtt.password else []
    urls = list(cfg.chain.rpc_urls) + ([cfg.mqtt.url] if cfg.mqtt else [])
    add_secrets(config_secrets(urls, passwords))


def redact(text: str) -> str:
    """``text`` with every secret known so far replaced by ``***``."""
    return _SECRETS.scrub(text)


def config_secrets(urls: Iterable[str], passwords: Iterable[str]) -> list[str]:
    """Strings to scrub: each URL's path/query/userinfo parts and each password."""
    out = list(passwords)
    for url in urls:
        parts = urlsplit(url)
        if parts.path not in ("", "/"):
            out.append(parts.path)
        if parts.query:
            out.append(parts.query)
        if parts.password:
            out.append(parts.password)
    return out
