"""The ERC20 reads every protocol package needs: ``symbol()`` (a string, or bytes32 on old tokens) and
``decimals()``. Build call -> execute -> decode, as the rest of :mod:`monitor.chain`."""

from __future__ import annotations

from monitor.chain.abi import AbiFunction
from monitor.errors import MalformedResponseError

SYMBOL = AbiFunction("symbol", (), ("string",))
SYMBOL_BYTES32 = AbiFunction("symbol", (), ("bytes32",))
DECIMALS = AbiFunction("decimals", (), ("uint8",))


def decode_symbol(raw: str) -> str:
    """ERC20 ``symbol()``: a string, or bytes32 on old tokens (MKR), or empty when neither decodes."""
    try:
        return str(SYMBOL.decode(raw)[0])
    except MalformedResponseError:
        pass
    try:
        return bytes(SYMBOL_BYTES32.decode(raw)[0]).rstrip(b"\0").decode(errors="replace")
    except MalformedResponseError:
        return ""
