"""Aave v3: everything that knows its contracts, events and exact maths.

- :mod:`~.config` — the ``protocol: aave-v3`` entry of ``markets:`` (:class:`AaveV3MarketConfig`).
- :mod:`~.tracker` — Aave v3 behind the protocol seam (:mod:`monitor.protocols.base`): :class:`AaveV3Tracker`
  follows one market, :class:`AaveV3View` is its book at one block.
- :mod:`~.discovery` — who has a position: backfill from ``start_block``, then follow the head, reorg-safe;
  each committed range says which accounts it ``touched``, which are new, and whether risk parameters or the
  reserve listing changed; a :class:`~.discovery.Rollback` says which accounts a reorg removed or made stale.
- :mod:`~.checkpoint` — one SQLite file (WAL, one transaction per write) for all markets: discovery's ranges,
  accounts and block hashes, and the positions last read per account.
- :mod:`~.indexer` — discovery -> reads pinned to one block -> book: :meth:`MarketIndexer.refresh`. On the first
  refresh of a process every known account is read again at the refresh block (stored positions are not
  trusted across a restart); later refreshes read only the accounts the new ranges touched.
- :mod:`~.reader` — reserves, e-mode categories, indices, oracle prices and positions at one block (the account
  lens injected with a state override).
- :mod:`~.events` (pure) — the events that touch accounts or configuration, and :func:`~.events.digest_logs`.
- :mod:`~.logrange` (pure) — adaptive eth_getLogs spans.
- :mod:`~.market` (pure) — the market's contract addresses and the provider/pool view functions that find them.
- :mod:`~.book` (pure) — the columnar book with integer-exact health factors.
"""
