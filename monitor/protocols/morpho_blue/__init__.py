"""Morpho Blue: isolated lending markets (one loan token, one collateral token, an oracle, an IRM and an LLTV each).

Pure modules reproduce the contract's integer maths exactly (``shares``, ``interest``, ``health``,
``liquidation``; market identity in ``params``) and hold a group of markets at one block (``book``);
``reads`` and ``prices`` are the thin I/O edge (positions, market totals, oracle prices, IRM rates, token
metadata, loan tokens' USD feeds at one pinned block). Behind the protocol seam: ``config`` (the
``morpho-blue`` entry), ``discovery`` (borrower-side events for the chain-level log follower), ``tracker``,
``view``, and for the cascade engine ``risk_input`` (each market a risk class) with ``liquidation_model``.
"""
