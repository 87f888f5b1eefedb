"""ABI encoding and decoding for calls and events (pure: eth_abi and keccak only, no web3).

Chain reads follow *build call -> execute -> decode*: :meth:`AbiFunction.encode` builds the calldata,
the RPC owner executes it, :meth:`AbiFunction.decode` turns the returned bytes into Python values.
ABIs the monitor reads at runtime are JSON files in ``monitor/abi/``, package data shipped in the wheel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from monitor.errors import DataError, MalformedResponseError

ABI_DIR = Path(__file__).resolve().parents[1] / "abi"


def canonical_type(param: Mapping[str, Any]) -> str:
    """The canonical ABI type string of one input/output entry, tuples expanded: ``(address,uint8)[]``."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def _from_hex(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return bytes.fromhex(data.removeprefix("0x"))
    except ValueError:
        raise MalformedResponseError(f"not hex data: {data[:40]!r}") from None


@dataclass(frozen=True)
class AbiFunction:
    """One contract function: selector, input and output types."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def signature(self) -> str:
        """``name(type,...)``."""
        return f"{self.name}({','.join(self.inputs)})"

    @property
    def selector(self) -> bytes:
        """First four bytes of keccak(signature)."""
        return keccak(text=self.signature)[:4]

    def encode(self, *args: Any) -> str:
        """Calldata as a 0x-hex string."""
        if len(args) != len(self.inputs):
            raise DataError(f"{self.signature} takes {len(self.inputs)} arguments, got {len(args)}")
        return _to_hex(self.selector + abi_encode(list(self.inputs), list(args)))

    def decode(self, data: str | bytes) -> tuple[Any, ...]:
        """Decode return data; a malformed answer raises MalformedResponseError."""
        raw = _from_hex(data)
        try:
            return tuple(abi_decode(list(self.outputs), raw))
        except Exception as exc:  # eth_abi raises several unrelated types for bad input
            raise MalformedResponseError(
                f"cannot decode the answer of {self.signature} ({len(raw)} bytes): {exc}"
            ) from None


@dataclass(frozen=True)
class AbiEvent:
    """One event: topic0 and how to split indexed and data fields."""

    name: str
    fields: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)

    @property
    def signature(self) -> str:
        """``Name(type,...)``."""
        return f"{self.name}({','.join(t for _, t, _ in self.fields)})"

    @property
    def topic0(self) -> str:
        """keccak(signature) as 0x-hex."""
        return _to_hex(keccak(text=self.signature))

    def decode(self, topics: Sequence[str | bytes], data: str | bytes) -> dict[str, Any]:
        """Decode a log's topics and data into a dict of field values."""
        indexed = [(n, t) for n, t, ix in self.fields if ix]
        plain = [(n, t) for n, t, ix in self.fields if not ix]
        if len(topics) != len(indexed) + 1:
            raise MalformedResponseError(f"{self.name}: expected {len(indexed) + 1} topics, got {len(topics)}")
        out: dict[str, Any] = {}
        try:
            for (name, kind), topic in zip(indexed, topics[1:], strict=True):
                out[name] = abi_decode([kind], _from_hex(topic))[0]
            values = abi_decode([t for _, t in plain], _from_hex(data))
        except MalformedResponseError:
            raise
        except Exception as exc:
            raise MalformedResponseError(f"cannot decode {self.name} log: {exc}") from None
        out.update({name: v for (name, _), v in zip(plain, values, strict=True)})
        return out


class Abi:
    """A contract ABI with functions and events looked up by name."""

    def __init__(self, entries: Iterable[Mapping[str, Any]]) -> None:
        self.functions: dict[str, AbiFunction] = {}
        self.events: dict[str, AbiEvent] = {}
        for e in entries:
            if e.get("type") == "function":
                fn = AbiFunction(
                    name=str(e["name"]),
                    inputs=tuple(canonical_type(p) for p in e.get("inputs", [])),
                    outputs=tuple(canonical_type(p) for p in e.get("outputs", [])),
                )
                # Overloads: keep the first under the plain name, all under their signatures.
                self.functions.setdefault(fn.name, fn)
                self.functions[fn.signature] = fn
            elif e.get("type") == "event":
                ev = AbiEvent(
                    name=str(e["name"]),
                    fields=tuple(
                        (str(p["name"]), canonical_type(p), bool(p.get("indexed"))) for p in e.get("inputs", [])
                    ),
                )
                self.events.setdefault(ev.name, ev)

    def fn(self, name: str) -> AbiFunction:
        """A function by name or full signature."""
        try:
            return self.functions[name]
        except KeyError:
            raise DataError(f"ABI has no function {name!r}") from None

    def event(self, name: str) -> AbiEvent:
        """An event by name."""
        try:
            return self.events[name]
        except KeyError:
            raise DataError(f"ABI has no event {name!r}") from None


@cache
def load_abi(name: str) -> Abi:
    """Load ``monitor/abi/<name>.json`` (a plain ABI list)."""
    path = ABI_DIR / f"{name}.json"
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"no ABI named {name!r} in {ABI_DIR}") from None
    return Abi(entries)
