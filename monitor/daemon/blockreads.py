"""The reads of one chain during one block cycle, made once and shared by every market of that chain.

:class:`BlockReads` is handed to every market's tracker in place of the RPC client. The daemon pins it to the
head it read at the start of a cycle; until the next pin, ``eth_blockNumber`` answers that head without a
request, and a header, an eth_call, a code read or a log query asked again with the same arguments (by the
same market or another one on the same contracts) is answered by the first request, even while that request
is still in flight. A failed request is not remembered: the next ask sends it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from monitor.chain.model import Block, Log, LogFilter
from monitor.chain.rpc import RpcClient
from monitor.chain.stats import RpcStats
from monitor.errors import RpcResponseError

T = TypeVar("T")


class BlockReads(RpcClient):
    """An :class:`RpcClient` whose answers are shared for one cycle; every request goes through ``rpc``."""

    def __init__(self, rpc: RpcClient) -> None:
        super().__init__(rpc.config)
        self._rpc = rpc
        self._head: int | None = None
        self._answers: dict[Hashable, asyncio.Future[Any]] = {}

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

    async def _shared(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        pending = self._answers.get(key)
        if pending is not None:
            result: T = await asyncio.shield(pending)
            return result
        answers = self._answers
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        answers[key] = future
        try:
            value = await fetch()
        except BaseException as exc:
            answers.pop(key, None)
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: waiters (if any) get it raised, none is not an error
            raise
        future.set_result(value)
        return value

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
        missing = sorted({n for n in numbers if ("block", n) not in self._answers})
        if missing:
            fetched = asyncio.ensure_future(self._rpc.blocks(missing))
            _raise_first(
                await asyncio.gather(
                    *(self._shared(("block", n), _nth(fetched, i)) for i, n in enumerate(missing)),
                    return_exceptions=True,
                )
            )
        return [await self.block(n) for n in numbers]

    async def get_code(self, address: str, block: int) -> str:
        """eth_getCode, shared."""
        return await self._shared(("code", address, block), lambda: self._rpc.get_code(address, block))

    async def eth_call(self, to: str, data: str, block: int, state_override: dict[str, Any] | None = None) -> str:
        """eth_call, shared (with a state override: sent as is)."""
        if state_override:
            return await self._rpc.eth_call(to, data, block, state_override)
        answer = await self._shared(("call", to, data, block), lambda: self._rpc.eth_call(to, data, block))
        if isinstance(answer, RpcResponseError):  # a revert another market's batch got in its place
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
        if state_override:
            return await self._rpc.eth_calls(calls, block, state_override=state_override, return_errors=return_errors)
        keys = [("call", to, data, block) for to, data in calls]
        missing = list(dict.fromkeys(k for k in keys if k not in self._answers))
        if missing:
            fetched = asyncio.ensure_future(
                self._rpc.eth_calls([(k[1], k[2]) for k in missing], block, return_errors=True)
            )
            _raise_first(
                await asyncio.gather(
                    *(self._shared(k, _nth(fetched, i)) for i, k in enumerate(missing)), return_exceptions=True
                )
            )
        out: list[Any] = []
        for key in keys:
            future = self._answers.get(key)
            answer = await asyncio.shield(future) if future is not None else await self.eth_call(key[1], key[2], block)
            if isinstance(answer, RpcResponseError) and not return_errors:
                raise answer
            out.append(answer)
        return out

    async def get_logs(self, flt: LogFilter) -> list[Log]:
        """eth_getLogs, shared by markets asking the same filter."""
        return await self._shared(("logs", flt), lambda: self._rpc.get_logs(flt))


def _raise_first(results: Sequence[object]) -> None:
    for r in results:
        if isinstance(r, BaseException):
            raise r


def _nth(batch: asyncio.Future[list[Any]], i: int) -> Callable[[], Awaitable[Any]]:
    async def pick() -> Any:
        return (await asyncio.shield(batch))[i]

    return pick
