"""The one error tree of cascade-monitor.

Every error the monitor raises on purpose derives from :class:`MonitorError`, so a caller can catch the
whole family at once and a command-line user sees a one-line message instead of a traceback::

    MonitorError
    ├── ConfigError             a config file or option is wrong (names the key)
    ├── DevnetError             the built-in devnet could not be built, started or driven
    │   └── PortInUseError      the asked port is already taken by another process
    ├── ChainError              talking to a chain failed
    │   ├── RpcError            a JSON-RPC request failed
    │   │   ├── RpcTransportError   connection refused/reset, timeout, HTTP status (retryable)
    │   │   ├── RpcResponseError    the node answered with a JSON-RPC error object
    │   │   └── MalformedResponseError  the answer is not what the method returns
    │   ├── ChainIdMismatchError    the node serves another chain than the config says
    │   └── StateMismatchError      the node answered a pinned read from another block's state
    ├── ProtocolError           on-chain data does not look like the protocol we were told it is
    ├── DataError               inputs to the pure maths are inconsistent (shapes, units, values)
    ├── CheckpointError         the on-disk checkpoint cannot be read or written
    └── AlertStateError         a saved alert-engine state cannot be restored
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error cascade-monitor raises on purpose."""


class ConfigError(MonitorError):
    """A configuration file, environment override or option is invalid."""


class DevnetError(MonitorError):
    """The built-in devnet could not be built, started or driven."""


class PortInUseError(DevnetError):
    """The requested TCP port is already in use."""


class ChainError(MonitorError):
    """Talking to a chain failed."""


class RpcError(ChainError):
    """A JSON-RPC request failed."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class RpcTransportError(RpcError):
    """The request did not get an answer: connection refused or reset, timeout, HTTP error status."""


class RpcResponseError(RpcError):
    """The node answered with a JSON-RPC error object (for example a revert)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        data: object = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.code = code
        self.data = data


class MalformedResponseError(RpcError):
    """The node's answer is not valid JSON-RPC or not of the type the method returns."""


class ChainIdMismatchError(ChainError):
    """The node serves another chain than the configuration expects."""


class StateMismatchError(ChainError):
    """The node answered a read pinned to block N from another block's state (e.g. anvil serving its head block
    from live state while the next block is mined): a wrong answer, not a transient one."""


class ProtocolError(MonitorError):
    """On-chain data does not match the protocol the configuration names."""


class DataError(MonitorError):
    """Inputs to the pure maths are inconsistent (shapes, units, out-of-range values)."""


class CheckpointError(MonitorError):
    """The on-disk checkpoint cannot be read or written."""


class AlertStateError(MonitorError):
    """A saved alert-engine state is malformed or of an unknown version."""
