"""QuoterV2's single-pool quotes, computed from a :class:`~monitor.dex.pool.PoolState` without a node.

QuoterV2 runs ``pool.swap`` and reverts inside the callback to read the outcome; these functions return
what ``quoteExactInputSingle`` / ``quoteExactOutputSingle`` return (less the gas estimate) and raise
:class:`~monitor.dex.revert.RevertError` in the cases where QuoterV2 reverts.
"""

from __future__ import annotations

from typing import NamedTuple

from monitor.dex.pool import PoolState
from monitor.dex.revert import RevertError
from monitor.dex.swap import SwapResult, swap


class Quote(NamedTuple):
    """QuoterV2's answer: the quoted amount (out for exact input, in for exact output), price and ticks."""

    amount: int
    sqrt_price_x96_after: int
    initialized_ticks_crossed: int


def _checked(result: SwapResult) -> SwapResult:
    # the quoter's callback requires that something was paid in
    if result.amount_in <= 0:
        raise RevertError("quoter", "the swap lies entirely in a range without liquidity")
    return result


def quote_exact_input_single(
    state: PoolState, zero_for_one: bool, amount_in: int, sqrt_price_limit_x96: int = 0
) -> Quote:
    """``QuoterV2.quoteExactInputSingle``: amount out for selling ``amount_in``."""
    result = _checked(swap(state, zero_for_one, amount_in, sqrt_price_limit_x96))
    return Quote(result.amount_out, result.sqrt_price_x96_after, result.ticks_crossed)


def quote_exact_output_single(
    state: PoolState, zero_for_one: bool, amount_out: int, sqrt_price_limit_x96: int = 0
) -> Quote:
    """``QuoterV2.quoteExactOutputSingle``: amount in for buying ``amount_out``.

    Without a price limit QuoterV2 insists on the full output and reverts on a partial fill.
    """
    result = _checked(swap(state, zero_for_one, -amount_out, sqrt_price_limit_x96))
    if not sqrt_price_limit_x96 and result.amount_out != amount_out:
        raise RevertError("quoter", f"only {result.amount_out} of {amount_out} can be bought")
    return Quote(result.amount_in, result.sqrt_price_x96_after, result.ticks_crossed)
