"""The reads of one chain during one block cycle, made once and shared by every market of that chain.

:class:`BlockReads` is handed to every market's tracker in place of the RPC client. The daemon pins it to the
head it read at the start of a cycle; until the next pin, ``eth_blockNumber`` answers that head without a
request, and a header, an eth_call, a code read or a log query asked again with the same arguments (by the
same market or another one on the same contracts) is answered by the first request, even while that request
is still in flight; calls with a state override (the account lens) are shared when the override is the same.
A revert is an answer like any other (the same call at the same block reverts again); a request that failed
(transport, timeout, a malformed answer) is not remembered: the next ask sends it again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from monitor.chain.model import Block, Log, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.chain.stats import RpcStats
from monitor.errors import RpcResponseError

T = TypeVar("T")
Key = tuple[Any, ...]  # (kind, arguments...) of one request


class BlockReads(RpcClient):
    """An :class:`RpcClient` whose answers are shared for one cycle; every request goes through ``rpc``."""

    def __init__(self, rpc: RpcClient) -> None:
        super().__init__(rpc.config)
        self._rpc = rpc
        self._head: int | None = None
        self._answers: dict[Key, asyncio.Future[Any]] = {}

    def pin(self, head: int) -> None:
        """Start a cycle at ``head``: answers of the previous cycle are forgotten."""
        self._head = head
        self._answers = {}

    async def pin_to_head(self) -> int:
        """Ask the chain's head (one eth_blockNumber) and start a cycle pinned to it."""
        head = await self._rpc.block_number()
        self.pin(head)
        return head

    @property
    def head(self) -> int | None:
        """The head the current cycle is pinned to (None before the first pin)."""
        return self._head

    # the underlying client belongs to the daemon: opening or closing this view does nothing
    async def start(self) -> None:
        """Nothing to open: requests go through the daemon's client."""

    async def aclose(self) -> None:
        """Nothing to close: the daemon closes its client."""

    def stats(self) -> RpcStats:
        """The underlying client's counters."""
        return self._rpc.stats()

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The underlying client's endpoints."""
        return self._rpc.endpoints

    def _claim(self, keys: Sequence[Key]) -> tuple[list[Key], list[asyncio.Future[Any]]]:
        """The keys nobody asked yet in this cycle, now claimed by the caller (who must :meth:`_fill` them), and
        the future answer of every key."""
        loop = asyncio.get_running_loop()
        owned = []
        for key in dict.fromkeys(keys):
            if key not in self._answers:
                self._answers[key] = loop.create_future()
                owned.append(key)
        return owned, [self._answers[k] for k in keys]

    async def _fill(self, keys: Sequence[Key], fetch: Callable[[], Awaitable[Sequence[Any]]]) -> None:
        """Fetch the answers of claimed ``keys`` in one request; a failure is handed to every waiter, not kept."""
        answers = self._answers
        futures = [answers[k] for k in keys]
        try:
            values = await fetch()
        except BaseException as exc:
            for key, future in zip(keys, futures, strict=True):
                answers.pop(key, None)
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved: waiters (if any) get it raised, none is not an error
            raise
        for future, value in zip(futures, values, strict=True):
            future.set_result(value)

    async def _shared(self, key: Key, fetch: Callable[[], Awaitable[T]]) -> T:
        owned, (future,) = self._claim([key])
        if owned:

            async def one() -> list[T]:
                return [await fetch()]

            await self._fill(owned, one)
        answer: T = await asyncio.shield(future)
        return answer

    async def call(self, method: str, params: Sequence[Any] = (), *, parse: Any = None) -> Any:
        """Not shared: sent as is."""
        return await self._rpc.call(method, params, parse=parse)

    async def batch(self, requests: Sequence[tuple[str, Sequence[Any]]], *, return_errors: bool = False) -> list[Any]:
        """Not shared: sent as is."""
        return await self._rpc.batch(requests, return_errors=return_errors)

    async def chain_id(self) -> int:
        """eth_chainId (not shared)."""
        return await self._rpc.chain_id()

    async def block_number(self) -> int:
        """The pinned head; before the first pin, asked."""
        return self._head if self._head is not None else await self._rpc.block_number()

    async def block(self, number_or_tag: int | str) -> Block | None:
        """A header by number, shared; by tag (``latest``), asked every time."""
        if isinstance(number_or_tag, str):
            return await self._rpc.block(number_or_tag)
        number = number_or_tag
        return await self._shared(("block", number), lambda: self._rpc.block(number))

    async def blocks(self, numbers: Sequence[int]) -> list[Block | None]:
        """Headers by number: those not asked yet in this cycle in one batch, the others shared."""
        owned, futures = self._claim([("block", n) for n in numbers])
        if owned:
            await self._fill(owned, lambda: self._rpc.blocks([k[1] for k in owned]))
        return [await asyncio.shield(f) for f in futures]

    async def get_code(self, address: str, block: int) -> str:
        """eth_getCode, shared."""
        return await self._shared(("code", address, block), lambda: self._rpc.get_code(address, block))

    async def eth_call(self, to: str, data: str, block: int, state_override: dict[str, Any] | None = None) -> str:
        """eth_call, shared; a revert raises :class:`RpcResponseError`."""
        (answer,) = await self.eth_calls([(to, data)], block, state_override=state_override, return_errors=True)
        if isinstance(answer, RpcResponseError):
            raise answer
        return str(answer)

    async def eth_calls(
        self,
        calls: Sequence[tuple[str, str]],
        block: int,
        *,
        state_override: dict[str, Any] | None = None,
        return_errors: bool = False,
    ) -> list[Any]:
        """Many eth_calls: those not asked yet in this cycle in one batch, the others shared; a revert is an
        :class:`RpcResponseError` in its place with ``return_errors``, raised otherwise."""
        override = json.dumps(state_override, sort_keys=True) if state_override else ""
        owned, futures = self._claim([("call", to, data, block, override) for to, data in calls])
        if owned:
            batch = [(k[1], k[2]) for k in owned]
            await self._fill(owned, lambda: self._rpc.eth_calls(batch, block, state_override=state_override,
                                                                return_errors=True))  # fmt: skip
        out = [await asyncio.shield(f) for f in futures]
        if not return_errors:
            for answer in out:
                if isinstance(answer, RpcResponseError):
                    raise answer
        return out

    async def get_logs(self, flt: LogFilter) -> list[Log]:
        """eth_getLogs, shared by markets asking the same filter."""
        return await self._shared(("logs", flt), lambda: self._rpc.get_logs(flt))
