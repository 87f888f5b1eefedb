"""JSON-RPC 2.0 envelopes and result parsing (pure: no I/O).

Every malformed answer raises :class:`~monitor.errors.MalformedResponseError`; a JSON-RPC error object
becomes a :class:`~monitor.errors.RpcResponseError` (returned for batch items, raised for single calls).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from monitor.chain.model import Block, Log
from monitor.errors import MalformedResponseError, RpcResponseError

_HEX = re.compile(r"[0-9a-fA-F]*")  # matched from position 2, after "0x"


def request(rid: int, method: str, params: Sequence[Any]) -> dict[str, Any]:
    """One request object."""
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}


def loads(body: bytes) -> Any:
    """Parse an HTTP body as JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        snippet = body[:60].decode("utf-8", "replace")
        raise MalformedResponseError(f"answer is not JSON ({len(body)} bytes, starts {snippet!r})") from None


def error_of(answer: dict[str, Any], method: str) -> RpcResponseError | None:
    """The JSON-RPC error object of an answer, as an exception value (None when there is none)."""
    err = answer.get("error")
    if err is None:
        return None
    if not isinstance(err, dict):
        raise MalformedResponseError(f"{method}: error member is not an object", method=method)
    code = err.get("code")
    message = err.get("message")
    return RpcResponseError(
        f"{method}: {message if isinstance(message, str) else 'error'} (code {code})",
        code=code if isinstance(code, int) else None,
        data=err.get("data"),
        method=method,
    )


def unwrap(answer: Any, method: str, rid: int | None = None) -> Any | RpcResponseError:
    """The result of one answer object, or its error as a value."""
    if not isinstance(answer, dict):
        raise MalformedResponseError(f"{method}: answer is not a JSON-RPC object", method=method)
    if rid is not None and answer.get("id") != rid:
        raise MalformedResponseError(f"{method}: answer id {answer.get('id')!r} != request id {rid}", method=method)
    err = error_of(answer, method)
    if err is not None:
        return err
    if "result" not in answer:
        raise MalformedResponseError(f"{method}: answer has neither result nor error", method=method)
    return answer["result"]


def split_batch(answers: Any, ids: Sequence[int], methods: Sequence[str]) -> list[Any | RpcResponseError]:
    """Match a batch answer to its requests by id; wrong length, unknown or repeated ids are malformed."""
    if not isinstance(answers, list):
        if isinstance(answers, dict) and answers.get("error") is not None:
            err = error_of(answers, "batch")  # some servers reject a whole batch with one error object
            if err is not None:
                raise err
        raise MalformedResponseError("batch answer is not a list")
    if len(answers) != len(ids):
        raise MalformedResponseError(f"batch answer has {len(answers)} items for {len(ids)} requests")
    by_id: dict[Any, Any] = {}
    for a in answers:
        if not isinstance(a, dict):
            raise MalformedResponseError("batch answer item is not an object")
        rid = a.get("id")
        if rid in by_id or not isinstance(rid, int):
            raise MalformedResponseError(f"batch answer has a repeated or invalid id {rid!r}")
        by_id[rid] = a
    out: list[Any | RpcResponseError] = []
    for rid, method in zip(ids, methods, strict=True):
        if rid not in by_id:
            raise MalformedResponseError(f"batch answer misses id {rid}")
        out.append(unwrap(by_id[rid], method))
    return out


# -- typed results ---------------------------------------------------------------------------------------
def quantity(value: Any, what: str) -> int:
    """A JSON-RPC quantity (0x-hex; leading zeros tolerated) as int."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise MalformedResponseError(f"{what}: expected a hex quantity, got {str(value)[:40]!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise MalformedResponseError(f"{what}: expected a hex quantity, got {value[:40]!r}") from None


def _is_hex(value: Any, length: int | None) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("0x")
        and (len(value) == length if length is not None else len(value) % 2 == 0)
        and _HEX.fullmatch(value, 2) is not None
    )


def data(value: Any, what: str) -> str:
    """0x-hex byte data, lower-cased."""
    if not _is_hex(value, None):
        raise MalformedResponseError(f"{what}: expected 0x-hex data, got {str(value)[:40]!r}")
    return str(value).lower()


def hash32(value: Any, what: str) -> str:
    """A 32-byte hash, lower-cased."""
    if not _is_hex(value, 66):
        raise MalformedResponseError(f"{what}: expected a 32-byte hash, got {str(value)[:70]!r}")
    return str(value).lower()


def address(value: Any, what: str) -> str:
    """A 20-byte address, lower-cased."""
    if not _is_hex(value, 42):
        raise MalformedResponseError(f"{what}: expected an address, got {str(value)[:50]!r}")
    return str(value).lower()


def block(value: Any) -> Block | None:
    """An eth_getBlockByNumber result (None when the block does not exist)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedResponseError("eth_getBlockByNumber: result is not an object")
    return Block(
        number=quantity(value.get("number"), "block.number"),
        hash=hash32(value.get("hash"), "block.hash"),
        parent_hash=hash32(value.get("parentHash"), "block.parentHash"),
        timestamp=quantity(value.get("timestamp"), "block.timestamp"),
    )


class _HexCache:
    """Validated hex strings of one answer: block hashes, transaction hashes, topics and addresses repeat."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def hex(self, value: Any, length: int, what: str) -> str:
        if value in self.seen:
            return str(value)
        if not _is_hex(value, length):
            raise MalformedResponseError(f"{what}: expected {(length - 2) // 2}-byte hex, got {str(value)[:70]!r}")
        low = str(value).lower()
        if low == value:
            self.seen.add(low)
        return low


def log(value: Any, cache: _HexCache | None = None) -> Log:
    """One log object of eth_getLogs."""
    if not isinstance(value, dict):
        raise MalformedResponseError("eth_getLogs: log is not an object")
    topics = value.get("topics")
    if not isinstance(topics, list):
        raise MalformedResponseError("eth_getLogs: log topics are not a list")
    c = cache or _HexCache()
    return Log(
        address=c.hex(value.get("address"), 42, "log.address"),
        topics=tuple([c.hex(t, 66, "log.topic") for t in topics]),
        data=data(value.get("data"), "log.data"),
        block_number=quantity(value.get("blockNumber"), "log.blockNumber"),
        block_hash=c.hex(value.get("blockHash"), 66, "log.blockHash"),
        transaction_hash=c.hex(value.get("transactionHash"), 66, "log.transactionHash"),
        log_index=quantity(value.get("logIndex"), "log.logIndex"),
        removed=value.get("removed", False) is True,
    )


def logs(value: Any) -> list[Log]:
    """An eth_getLogs result."""
    if not isinstance(value, list):
        raise MalformedResponseError("eth_getLogs: result is not a list")
    cache = _HexCache()
    return [log(v, cache) for v in value]
