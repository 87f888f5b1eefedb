"""Aave v3: everything that knows its contracts, events and exact maths.

- :mod:`~.config` — the ``protocol: aave-v3`` entry of ``markets:`` (:class:`AaveV3MarketConfig`).
- :mod:`~.tracker` — Aave v3 behind the protocol seam (:mod:`monitor.protocols.base`): :class:`AaveV3Tracker`
  follows one market, :class:`AaveV3View` is its book at one block.
- :mod:`~.discovery` — who has a position, over the protocol-neutral :class:`monitor.chain.follow.driver.LogFollower`
  (ranges, reorgs, the hash ring and the checkpoint live there): each committed range says which accounts it
  ``touched``, which are new, and whether risk parameters or the reserve listing changed; a
  :class:`~.discovery.Rollback` says which accounts a reorg removed (``reset``: no stored block was on the chain
  any more and the market is backfilled from ``start_block``).
- :mod:`~.indexer` — discovery -> reads pinned to one block -> book: :meth:`MarketIndexer.refresh`. Positions are
  not stored: the first refresh of a process reads every known account at the refresh block; later refreshes read
  only the accounts the new ranges touched.
- :mod:`~.version` — the pool's ``POOL_REVISION`` picks the maths and liquidation rules (v3.0.2 or v3.6).
- :mod:`~.reader` — reserves, e-mode categories, indices, oracle prices and positions at one block (the account
  lens injected with a state override).
- :mod:`~.liquidation_model`, :mod:`~.risk_input` — the protocol's liquidation rules for the cascade engine, and
  the book as the engine's neutral risk table.
- :mod:`~.events` (pure) — the events that touch accounts or configuration, and :func:`~.events.digest_logs`.
- :mod:`~.market` (pure) — the market's contract addresses and the provider/pool view functions that find them.
- :mod:`~.book` (pure) — the columnar book with integer-exact health factors.
"""
