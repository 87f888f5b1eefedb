"""The one async RPC owner: raw JSON-RPC over one pooled HTTP client, for every reader of the monitor.

Batching (chunks of ``batch_size``, sent concurrently), bounded concurrency, an optional requests-per-second
limit, a hard timeout per HTTP request, retries of idempotent reads with capped exponential backoff and full
jitter, failover across ``rpc_urls`` with cooldowns, chain-id verification of every endpoint before use, and
counters by method and endpoint (:meth:`RpcClient.stats`). Use as ``async with RpcClient(chain) as rpc:``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from monitor.chain import jsonrpc
from monitor.chain.endpoints import Endpoint, EndpointPool
from monitor.chain.model import Block, Log, LogFilter
from monitor.chain.ratelimit import TokenBucket
from monitor.chain.retry import Backoff, all_idempotent
from monitor.chain.stats import RpcStats, StatsRecorder
from monitor.config import ChainConfig
from monitor.errors import (
    ChainIdMismatchError,
    MalformedResponseError,
    RpcError,
    RpcResponseError,
    RpcTransportError,
)

log = logging.getLogger(__name__)

BLOCK_TAGS = frozenset({"latest", "earliest", "pending", "safe", "finalized"})
Parser = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Req:
    method: str
    params: Sequence[Any]
    parse: Parser | None = None


class _AttemptFailed(Exception):
    """One attempt at one endpoint failed in a way that another attempt may fix."""

    def __init__(self, error: RpcError, kind: str, *, sent: bool, retry_after: float = 0.0) -> None:
        super().__init__(str(error))
        self.error = error
        self.kind = kind
        self.sent = sent  # False: the request surely never reached the node
        self.retry_after = retry_after


def block_param(block: int | str) -> str:
    """A block number or tag as a JSON-RPC block parameter."""
    if isinstance(block, bool):
        raise TypeError("block must be an int or a tag")
    if isinstance(block, int):
        if block < 0:
            raise ValueError(f"negative block number {block}")
        return hex(block)
    if block in BLOCK_TAGS or block.startswith("0x"):
        return block
    raise ValueError(f"not a block number or tag: {block!r}")


class RpcClient:
    """Async JSON-RPC client over ``config.rpc_urls`` (failover in order)."""

    def __init__(
        self,
        config: ChainConfig,
        *,
        backoff: Backoff | None = None,
        cooldown_s: float = 2.0,
        max_cooldown_s: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._pool = EndpointPool(config.rpc_urls, cooldown_s=cooldown_s, max_cooldown_s=max_cooldown_s)
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._client: aiohttp.ClientSession | None = None
        self._sem = asyncio.Semaphore(config.max_concurrency)
        self._bucket = TokenBucket(config.requests_per_second) if config.requests_per_second > 0 else None
        self._ids = itertools.count(1)
        self._stats = StatsRecorder()

    # -- lifecycle -------------------------------------------------------------------------------------
    async def __aenter__(self) -> RpcClient:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Open the HTTP pool and check the chain id of every endpoint (at least one must answer).

        When the check fails (or is cancelled) the pool is closed again before the error propagates:
        ``async with`` runs ``__aexit__`` only after a successful ``__aenter__``.
        """
        if self._client is None:
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.config.max_concurrency),
                timeout=aiohttp.ClientTimeout(total=self.config.request_timeout_s),
                headers={"content-type": "application/json"},
            )
        try:
            await self._verify_all()
        except BaseException:
            await self.aclose()
            raise

    async def _verify_all(self) -> None:
        """Check every endpoint's chain id: a mismatch raises, at least one must answer."""
        outcomes = await asyncio.gather(*(self._verify(ep) for ep in self._pool.endpoints), return_exceptions=True)
        problems: list[str] = []
        for ep, out in zip(self._pool.endpoints, outcomes, strict=True):
            if isinstance(out, ChainIdMismatchError):
                raise out
            if isinstance(out, _AttemptFailed):
                self._pool.failed(ep)
                detail = str(out.error).removeprefix("eth_chainId: ")
                problems.append(detail if ep.label in detail else f"{ep.label}: {detail}")
            elif isinstance(out, BaseException):
                raise out
        if len(problems) == len(self._pool.endpoints):
            raise RpcTransportError("no RPC endpoint answered eth_chainId: " + "; ".join(problems))
        for p in problems:
            log.warning("RPC endpoint unavailable at start (will retry later): %s", p)

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Redacted labels of the endpoints, in failover order."""
        return tuple(e.label for e in self._pool.endpoints)

    def stats(self) -> RpcStats:
        """An immutable snapshot of the counters."""
        return self._stats.snapshot()

    # -- generic ---------------------------------------------------------------------------------------
    async def call(self, method: str, params: Sequence[Any] = (), *, parse: Parser | None = None) -> Any:
        """One request; ``parse`` (raising MalformedResponseError) checks and converts the result."""
        result = (await self._execute([_Req(method, params, parse)], single=True))[0]
        if isinstance(result, RpcResponseError):
            raise result
        return result

    async def batch(self, requests: Sequence[tuple[str, Sequence[Any]]], *, return_errors: bool = False) -> list[Any]:
        """Many requests in JSON-RPC batches of ``batch_size``; results in order.

        A JSON-RPC error of one item raises it (or, with ``return_errors``, stands in its place as an
        :class:`RpcResponseError` value).
        """
        return await self._batch([_Req(m, p) for m, p in requests], return_errors=return_errors)

    async def _batch(self, reqs: Sequence[_Req], *, return_errors: bool) -> list[Any]:
        size = self.config.batch_size
        chunks = [list(reqs[i : i + size]) for i in range(0, len(reqs), size)]
        if len(chunks) <= 1:
            results = [await self._execute(c, single=False) for c in chunks]
        else:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(self._execute(c, single=False)) for c in chunks]
            results = [t.result() for t in tasks]
        flat = [r for part in results for r in part]
        if not return_errors:
            for r in flat:
                if isinstance(r, RpcResponseError):
                    raise r
        return flat

    # -- typed helpers ---------------------------------------------------------------------------------
    async def chain_id(self) -> int:
        """eth_chainId."""
        cid: int = await self.call("eth_chainId", parse=lambda v: jsonrpc.quantity(v, "eth_chainId"))
        return cid

    async def block_number(self) -> int:
        """eth_blockNumber."""
        n: int = await self.call("eth_blockNumber", parse=lambda v: jsonrpc.quantity(v, "eth_blockNumber"))
        return n

    async def block(self, number_or_tag: int | str) -> Block | None:
        """A block header (transactions not included); None when the node has no such block."""
        b: Block | None = await self.call(
            "eth_getBlockByNumber", [block_param(number_or_tag), False], parse=jsonrpc.block
        )
        return b

    async def blocks(self, numbers: Sequence[int]) -> list[Block | None]:
        """Many headers, batched."""
        reqs = [_Req("eth_getBlockByNumber", [block_param(n), False], jsonrpc.block) for n in numbers]
        return await self._batch(reqs, return_errors=False)

    async def get_code(self, address: str, block: int) -> str:
        """eth_getCode at an explicit block."""
        code: str = await self.call(
            "eth_getCode", [address, block_param(block)], parse=lambda v: jsonrpc.data(v, "eth_getCode")
        )
        return code

    async def eth_call(self, to: str, data: str, block: int, state_override: dict[str, Any] | None = None) -> str:
        """eth_call at an explicit block, optional state override set; a revert raises RpcResponseError."""
        params: list[Any] = [{"to": to, "data": data}, block_param(block)]
        if state_override:
            params.append(state_override)
        out: str = await self.call("eth_call", params, parse=lambda v: jsonrpc.data(v, "eth_call"))
        return out

    async def eth_calls(
        self,
        calls: Sequence[tuple[str, str]],
        block: int,
        *,
        state_override: dict[str, Any] | None = None,
        return_errors: bool = False,
    ) -> list[Any]:
        """Many ``(to, data)`` eth_calls at one block, batched; results are 0x-hex strings."""
        tag = block_param(block)
        extra = [state_override] if state_override else []
        reqs = [
            _Req("eth_call", [{"to": to, "data": data}, tag, *extra], lambda v: jsonrpc.data(v, "eth_call"))
            for to, data in calls
        ]
        return await self._batch(reqs, return_errors=return_errors)

    async def get_logs(self, flt: LogFilter) -> list[Log]:
        """eth_getLogs over an explicit block range."""
        out: list[Log] = await self.call("eth_getLogs", [flt.to_params()], parse=jsonrpc.logs)
        return out

    # -- the attempt loop ------------------------------------------------------------------------------
    async def _execute(self, reqs: Sequence[_Req], *, single: bool) -> list[Any]:
        methods = [r.method for r in reqs]
        idempotent = all_idempotent(methods)
        attempts = 1 + self.config.max_retries
        failed: Endpoint | None = None
        last: _AttemptFailed | None = None
        for attempt in range(attempts):
            ep = self._pool.pick(avoid=failed)
            if attempt:
                if ep is failed or not self._pool.healthy(ep):
                    await asyncio.sleep(
                        self._backoff.delay(attempt, self._rng, at_least=last.retry_after if last else 0)
                    )
                else:
                    self._stats.failover()
                self._stats.retry(methods, ep.label)
            try:
                if not ep.verified:
                    await self._verify(ep)
                results = await self._once(ep, reqs, single=single)
            except _AttemptFailed as fail:
                self._pool.failed(ep)
                failed, last = ep, fail
                log.debug("%s attempt %d at %s failed: %s", methods[0], attempt + 1, ep.label, fail.error)
                if fail.sent and not idempotent:
                    break
                continue
            self._pool.succeeded(ep)
            return results
        assert last is not None
        err = last.error
        tries = f"{attempt + 1} attempt(s)"
        what = methods[0] if len(set(methods)) == 1 else f"batch of {len(methods)}"
        raise type(err)(f"{what}: {tries} failed; last: {err}", method=err.method, url=err.url) from None

    async def _verify(self, ep: Endpoint) -> None:
        """Check the endpoint's chain id once; a transport failure raises _AttemptFailed (not sent)."""
        try:
            answer = await self._post(ep, jsonrpc.request(0, "eth_chainId", []), ["eth_chainId"])
            value = jsonrpc.unwrap(answer, "eth_chainId")
            if isinstance(value, RpcResponseError):
                raise MalformedResponseError(f"eth_chainId answered an error: {value}")
            cid = jsonrpc.quantity(value, "eth_chainId")
        except MalformedResponseError as exc:
            self._stats.error(["eth_chainId"], ep.label, "malformed")
            raise _AttemptFailed(_with_url(exc, ep), "malformed", sent=False) from None
        except _AttemptFailed as fail:
            self._stats.error(["eth_chainId"], ep.label, fail.kind)
            raise _AttemptFailed(fail.error, fail.kind, sent=False, retry_after=fail.retry_after) from None
        if cid != self.config.chain_id:
            self._stats.error(["eth_chainId"], ep.label, "chain_id")
            raise ChainIdMismatchError(
                f"RPC endpoint {ep.label} serves chain id {cid}, but the config says chain_id {self.config.chain_id}"
            )
        ep.verified = True

    async def _once(self, ep: Endpoint, reqs: Sequence[_Req], *, single: bool) -> list[Any]:
        methods = [r.method for r in reqs]
        ids = [next(self._ids) for _ in reqs]
        objs = [jsonrpc.request(i, r.method, r.params) for i, r in zip(ids, reqs, strict=True)]
        try:
            answer = await self._post(ep, objs[0] if single else objs, methods)
        except _AttemptFailed as fail:
            self._stats.error(methods, ep.label, fail.kind)
            raise
        try:
            if single:
                results = [jsonrpc.unwrap(answer, methods[0], ids[0])]
            else:
                results = jsonrpc.split_batch(answer, ids, methods)
            for k, (r, value) in enumerate(zip(reqs, results, strict=True)):
                if isinstance(value, RpcResponseError):
                    value.url = ep.label
                    self._stats.error([r.method], ep.label, "rpc_error")
                elif r.parse is not None:
                    results[k] = r.parse(value)
        except MalformedResponseError as exc:
            self._stats.error(methods, ep.label, "malformed")
            raise _AttemptFailed(_with_url(exc, ep), "malformed", sent=True) from None
        except RpcResponseError as exc:  # a whole batch rejected with one error object
            exc.url = ep.label
            self._stats.error(methods, ep.label, "rpc_error")
            raise
        return results

    async def _post(self, ep: Endpoint, payload: object, methods: Sequence[str]) -> Any:
        """POST one JSON-RPC payload; returns the parsed JSON answer or raises _AttemptFailed."""
        if self._client is None:
            raise RuntimeError("RpcClient is not started: use `async with RpcClient(...)` or await start()")
        body = json.dumps(payload, separators=(",", ":")).encode()
        what = methods[0] if len(methods) == 1 else f"batch of {len(methods)}"
        async with self._sem:
            if self._bucket is not None:
                await self._bucket.acquire(len(methods))
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(self.config.request_timeout_s):
                    async with self._client.post(ep.url, data=body, allow_redirects=False) as resp:
                        status, content = resp.status, await resp.read()
                        retry_after = _retry_after(resp.headers.get("retry-after", ""))
            except TimeoutError:
                err = RpcTransportError(
                    f"{what}: no answer from {ep.label} within {self.config.request_timeout_s:g} s",
                    method=methods[0],
                    url=ep.label,
                )
                raise _AttemptFailed(err, "timeout", sent=True) from None
            except (aiohttp.ClientError, OSError) as exc:
                sent = not isinstance(exc, aiohttp.ClientConnectorError)
                err = RpcTransportError(f"{what}: {ep.label}: {_describe(exc, ep)}", method=methods[0], url=ep.label)
                raise _AttemptFailed(err, "transport", sent=sent) from None
            finally:
                self._stats.sent(methods, ep.label, time.perf_counter() - t0)
        if status != 200:
            if 400 <= status < 500 and status != 429:
                try:  # some nodes answer a JSON-RPC error object with a 4xx status
                    answer = json.loads(content)
                    if isinstance(answer, dict) and answer.get("error") is not None:
                        return answer
                except ValueError:
                    pass
            err = RpcTransportError(f"{what}: {ep.label} answered HTTP {status}", method=methods[0], url=ep.label)
            raise _AttemptFailed(err, "http_status", sent=True, retry_after=retry_after)
        try:
            return jsonrpc.loads(content)
        except MalformedResponseError as exc:
            raise _AttemptFailed(_with_url(exc, ep, prefix=what), "malformed", sent=True) from None


def _with_url(exc: RpcError, ep: Endpoint, prefix: str = "") -> RpcError:
    msg = f"{prefix}: {ep.label}: {exc}" if prefix else f"{ep.label}: {exc}"
    return type(exc)(msg, method=exc.method, url=ep.label)


def _describe(exc: BaseException, ep: Endpoint) -> str:
    text = str(exc).replace(ep.url, ep.label)  # never echo a URL that may carry an API key
    if isinstance(exc, aiohttp.ClientConnectorError):
        text = f"cannot connect ({exc.os_error.strerror or exc.os_error})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retry_after(value: str) -> float:
    try:
        return min(max(0.0, float(value)), 3600.0)
    except ValueError:
        return 0.0
