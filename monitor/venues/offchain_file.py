"""Off-chain depth curves from the config and from a file that is reread when it changes.

The file (``dex.offchain_file``, YAML or JSON) has the shape of ``dex.offchain``::

    WETH: {depth_usd: {"0.01": 2000000, "0.02": 5000000, "0.05": 15000000, "0.10": 30000000}}

Its curves replace the config's for the assets it names. :meth:`OffchainDepth.current` checks the file's
modification time (and size) on every call and rereads it only when they changed; a file that cannot be read
or parsed is logged once per change (``offchain depth file unusable``), the last good curves are kept and
:attr:`OffchainDepth.error` says what is wrong until a good version is read. :meth:`OffchainDepth.status` is
what the daemon exports of the file (its name, whether its newest version is in use, its modification time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from monitor.config import DexConfig, OffchainDepthConfig
from monitor.errors import ConfigError, DataError
from monitor.risk.offchain import OffchainCurve

log = logging.getLogger(__name__)


def parse_offchain(data: object, where: str) -> dict[str, OffchainCurve]:
    """``{symbol or address: {depth_usd: {drop: usd}}}`` as curves; :class:`ConfigError` naming the problem."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of asset to {{depth_usd: {{drop: usd}}}}")
    out: dict[str, OffchainCurve] = {}
    for asset, entry in data.items():
        try:
            out[str(asset)] = OffchainDepthConfig.model_validate(entry).curve()
        except (ValidationError, DataError) as exc:
            first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise ConfigError(f"{where}: {asset}: {first}") from exc
    return out


def read_offchain_file(path: Path) -> dict[str, OffchainCurve]:
    """The curves of one file (YAML; JSON is YAML too)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"off-chain depth file {path}: {exc}") from exc
    return parse_offchain(data if data is not None else {}, f"off-chain depth file {path}")


@dataclass(frozen=True)
class OffchainFileStatus:
    """The off-chain depth file as the daemon last looked at it."""

    name: str  # the file's name, without its directories
    ok: bool  # its newest version is read and in use
    error: str | None  # why not (the file named without its directories), None when ok
    mtime_seconds: float | None  # unix seconds of its last modification; None when it cannot be found


class OffchainDepth:
    """The curves in effect: the config's, replaced per asset by the file's (reread on change)."""

    def __init__(self, dex: DexConfig) -> None:
        self.configured = {asset: entry.curve() for asset, entry in dex.offchain.items()}
        self.path = dex.offchain_file
        self.from_file: dict[str, OffchainCurve] = {}
        self.error: str | None = None  # why the file's newest version is not in use (None: it is)
        self.reads = 0  # versions of the file read successfully
        self._seen: tuple[int, int] | None = None
        self._mtime_seconds: float | None = None
        self._lock = threading.Lock()  # one reader serves every market's projection thread and the exporter

    def current(self) -> dict[str, OffchainCurve]:
        """The curves now (rereads the file first if it changed)."""
        with self._lock:
            if self.path is not None:
                self._refresh(self.path)
            return {**self.configured, **self.from_file}

    def status(self) -> OffchainFileStatus | None:
        """The file's status now (rereads it first if it changed); None when no file is configured."""
        if self.path is None:
            return None
        with self._lock:
            self._refresh(self.path)
            error = None if self.error is None else self.error.replace(str(self.path), self.path.name)
            return OffchainFileStatus(self.path.name, self.error is None, error, self._mtime_seconds)

    def _refresh(self, path: Path) -> None:
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError as exc:
            stamp = (-1, -1)
            self._mtime_seconds = None
            if self._seen != stamp:
                self._fail(f"off-chain depth file {path}: {exc.strerror or exc}")
            self._seen = stamp
            return
        if stamp == self._seen:
            return
        self._seen = stamp
        self._mtime_seconds = st.st_mtime
        try:
            curves = read_offchain_file(path)
        except ConfigError as exc:
            self._fail(str(exc))
            return
        self.from_file = curves
        self.error = None
        self.reads += 1
        log.info("offchain depth file read", extra={"path": str(path), "assets": sorted(curves)})

    def _fail(self, problem: str) -> None:
        self.error = problem
        log.error("offchain depth file unusable", extra={"error": problem, "kept_assets": sorted(self.from_file)})


def load_offchain(dex: DexConfig) -> dict[str, OffchainCurve]:
    """The curves in effect for a one-shot command: a file that cannot be used is an error."""
    curves = {asset: entry.curve() for asset, entry in dex.offchain.items()}
    if dex.offchain_file is not None:
        curves.update(read_offchain_file(dex.offchain_file))
    return curves
