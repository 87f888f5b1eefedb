"""Which JSON-RPC errors of an oracle or IRM call mark a Morpho market unpriced (the call's own execution failed)
and which stay node failures (the cycle fails and is retried): messages as geth, anvil and nethermind word them."""

from __future__ import annotations

import pytest

from monitor.errors import RpcResponseError
from monitor.protocols.morpho_blue.reads import is_execution_error

EXECUTION_FAILED = [
    (3, "execution reverted: custom error 0x1234"),
    (-32000, "execution reverted"),
    (-32015, "VM execution error."),
    (-32000, "invalid opcode: INVALID"),
    (-32000, "out of gas"),
    (-32000, "invalid jump destination"),
    (-32000, "stack underflow (0 <=> 1)"),
    (-32000, "stack limit reached 1024 (1023)"),
    (-32603, "EVM error InvalidFEOpcode"),
    (-32603, "EVM error OutOfGas(Basic)"),
    (-32603, "EVM error InvalidJump"),
    (-32603, "EVM error StackUnderflow"),
    (-32603, "EVM error OpcodeNotFound"),
]
NODE_FAILED = [
    (-32005, "limit exceeded"),
    (-32000, "execution aborted (timeout = 5s)"),
    (-32000, "header not found"),
    (-32000, "missing trie node 0xabc (path )"),
    (-32602, "BlockOutOfRangeError: block height is 437 but requested was 237"),
    (-32601, "the method eth_call does not exist/is not available"),
    (429, "Too Many Requests"),
]


@pytest.mark.parametrize(("code", "message"), EXECUTION_FAILED)
def test_a_failed_execution_marks_the_market_unpriced(code: int, message: str) -> None:
    assert is_execution_error(RpcResponseError(message, code=code))


@pytest.mark.parametrize(("code", "message"), NODE_FAILED)
def test_a_node_that_could_not_run_the_call_is_not_the_markets_failure(code: int, message: str) -> None:
    assert not is_execution_error(RpcResponseError(message, code=code))
