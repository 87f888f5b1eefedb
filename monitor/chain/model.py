"""Plain values the RPC owner returns: block headers and logs (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Block:
    """The header fields the monitor uses; hashes are lower-case 0x-hex."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Log:
    """One event log; address lower-case, topics and data 0x-hex."""

    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    transaction_hash: str
    log_index: int
    removed: bool = False


@dataclass(frozen=True, slots=True)
class LogFilter:
    """An eth_getLogs filter over an explicit block range (both ends inclusive)."""

    from_block: int
    to_block: int
    addresses: tuple[str, ...] = ()
    topics: tuple[tuple[str, ...] | None, ...] = ()

    def to_params(self) -> dict[str, object]:
        """The JSON-RPC filter object."""
        out: dict[str, object] = {"fromBlock": hex(self.from_block), "toBlock": hex(self.to_block)}
        if self.addresses:
            out["address"] = list(self.addresses)
        if self.topics:
            out["topics"] = [list(t) if t is not None else None for t in self.topics]
        return out

    def with_range(self, from_block: int, to_block: int) -> LogFilter:
        """The same filter over another range."""
        return LogFilter(from_block, to_block, self.addresses, self.topics)
