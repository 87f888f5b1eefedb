"""The indexer's re-derivation beside the accounts' round trip: the answer waits for the work, also on failure."""

from __future__ import annotations

import asyncio
import threading

import pytest

from monitor.errors import ChainError
from monitor.protocols.aave_v3.indexer import beside


def _slow_work(done: threading.Event, ran_in: list[str]) -> None:
    ran_in.append(threading.current_thread().name)
    threading.Event().wait(0.2)  # longer than the read below
    done.set()


async def _read(value: int, fail: bool) -> int:
    await asyncio.sleep(0.01)
    if fail:
        raise ChainError("read failed")
    return value


def test_the_answer_comes_after_the_work() -> None:
    done, ran_in = threading.Event(), []

    async def go() -> int:
        return await beside(_read(7, False), lambda: _slow_work(done, ran_in))

    assert asyncio.run(go()) == 7
    assert done.is_set(), "returned before the work finished"
    assert ran_in and ran_in[0] != threading.main_thread().name


def test_a_failed_read_raises_only_after_the_work() -> None:
    done, ran_in = threading.Event(), []

    async def go() -> int:
        return await beside(_read(7, True), lambda: _slow_work(done, ran_in))

    with pytest.raises(ChainError, match="read failed"):
        asyncio.run(go())
    assert done.is_set(), "raised while the work still ran"


def test_the_work_overlaps_the_read() -> None:
    """The work sees the read answered while it runs: run one after the other, it would wait in vain."""
    answered, seen = threading.Event(), []

    async def read() -> str:
        await asyncio.sleep(0.05)
        answered.set()
        return "rows"

    def work() -> None:
        seen.append(answered.wait(timeout=10))

    assert asyncio.run(beside(read(), work)) == "rows"
    assert seen == [True]
