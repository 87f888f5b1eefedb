"""Morpho Blue: isolated lending markets (one loan token, one collateral token, an oracle, an IRM and an LLTV each).

Pure modules reproduce the contract's integer maths exactly (``shares``, ``interest``, ``health``,
``liquidation``; market identity in ``params``); ``reads`` is the thin I/O edge that loads positions, market
totals, oracle prices and IRM rates at one pinned block.
"""
