"""Off-chain depth curves from the config and from a file that is reread when it changes.

The file (``dex.offchain_file``, YAML or JSON) has the shape of ``dex.offchain``::

    WETH: {depth_usd: {"0.01": 2000000, "0.02": 5000000, "0.05": 15000000, "0.10": 30000000}}

Its curves replace the config's for the assets it names. :meth:`OffchainDepth.current` checks the file's
modification time (and size) on every call and rereads it only when they changed; a file that cannot be read
or parsed is logged once per change (``offchain depth file unusable``), the last good curves are kept and
:attr:`OffchainDepth.error` says what is wrong until a good version is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
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


class OffchainDepth:
    """The curves in effect: the config's, replaced per asset by the file's (reread on change)."""

    def __init__(self, dex: DexConfig) -> None:
        self.configured = {asset: entry.curve() for asset, entry in dex.offchain.items()}
        self.path = dex.offchain_file
        self.from_file: dict[str, OffchainCurve] = {}
        self.error: str | None = None  # why the file's newest version is not in use (None: it is)
        self.reads = 0  # versions of the file read successfully
        self._seen: tuple[int, int] | None = None

    def current(self) -> dict[str, OffchainCurve]:
        """The curves now (rereads the file first if it changed)."""
        if self.path is not None:
            self._refresh(self.path)
        return {**self.configured, **self.from_file}

    def _refresh(self, path: Path) -> None:
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError as exc:
            stamp = (-1, -1)
            if self._seen != stamp:
                self._fail(f"off-chain depth file {path}: {exc.strerror or exc}")
            self._seen = stamp
            return
        if stamp == self._seen:
            return
        self._seen = stamp
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
