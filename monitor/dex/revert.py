"""The error raised where the Uniswap v3 Solidity code would revert.

The ports in :mod:`monitor.dex` mirror the contracts bit for bit, including the inputs on which the contracts
revert. Those cases raise :class:`RevertError`, a :class:`~monitor.errors.DataError` (the inputs handed to
the pure maths are not ones the chain would accept), carrying the contract's revert reason when it has one.
"""

from __future__ import annotations

from monitor.errors import DataError


class RevertError(DataError):
    """The Solidity code would revert on these inputs; ``reason`` is its revert string (or a short tag)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{message} (Solidity would revert: {reason})")
        self.reason = reason
