"""Structured logging: JSON lines when stderr is not a terminal, readable lines when it is; secrets scrubbed."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable


class SecretFilter(logging.Filter):
    """Replaces every known secret (API keys in RPC URLs, passwords) in a record's message with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the formatted message in place (always keeps the record)."""
        if self.secrets:
            msg = record.getMessage()
            for s in self.secrets:
                msg = msg.replace(s, "***")
            record.msg, record.args = msg, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg (+ exc)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(*, verbose: bool = False, json_lines: bool | None = None, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    use_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    handler.setFormatter(
        JsonFormatter() if use_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def config_secrets(urls: Iterable[str], passwords: Iterable[str]) -> list[str]:
    """Strings to scrub: each URL's path/query/userinfo parts and each password."""
    from urllib.parse import urlsplit

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
