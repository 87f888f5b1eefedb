"""Aave v3 markets: who has a position (discovery), and what survives a restart (checkpoint).

Public API:

- :class:`monitor.protocols.aave_v3.discovery.Discovery` — ``Discovery(rpc, checkpoint, market_config,
  confirmations=chain.confirmations, poll_interval_s=chain.poll_interval_s)``:

  - ``await disc.open()`` resolves the pool via ``PoolAddressesProvider.getPool()`` and the reserves' tokens
    (:class:`~monitor.protocols.aave_v3.market.MarketAddresses`); an address that is not a provider raises
    :class:`~monitor.errors.ProtocolError`; a checkpoint made for another market or ``start_block`` raises
    :class:`~monitor.errors.CheckpointError`.
  - ``await disc.sync(max_ranges=None)`` catches up to ``head - confirmations`` and returns the updates;
    ``async for update in disc.follow(stop_event)`` does that forever, polling.
  - An update is a :class:`~monitor.protocols.aave_v3.discovery.RangeResult` (``from_block..to_block`` committed:
    ``touched`` and ``new_accounts``, ``reserves_updated``, ``config_changed``, ``listing_changed``, event
    counts) or a :class:`~.discovery.Rollback` (reorg: everything after ``fork_block`` forgotten;
    ``removed_accounts`` leave the book, ``stale_positions`` must be read again).
  - ``disc.accounts()`` — every known account; ``disc.last_block`` — the newest processed block.

  Wiring: after each update, read the positions of ``touched`` accounts (all on a rollback's
  ``stale_positions``) at ``update.to_block`` — the block discovery stands at, one snapshot per block —
  and store them with :meth:`Checkpoint.save_positions`; on restart :meth:`Checkpoint.load_positions` gives
  the book its inputs back without re-reading every account.
- :class:`monitor.protocols.aave_v3.checkpoint.Checkpoint` — one SQLite file (WAL, one transaction per write) for all
  markets: ``market(name)``, ``accounts(name)``, ``first_seen(name)``, ``block_hashes(name)``,
  ``save_positions(name, block, [AccountInput])``, ``load_positions(name) -> {account: StoredPosition}``,
  ``delete_positions``; discovery alone calls ``create_market``, ``commit_range`` and ``rollback``.
  Positions are the book's own :class:`~.book.inputs.AccountInput` (ints stored as decimal TEXT).
- :mod:`monitor.protocols.aave_v3.events` (pure) — the events that touch accounts, reserves or configuration, and
  :func:`~.events.digest_logs` turning logs into a :class:`~.events.LogDigest`.
- :mod:`monitor.protocols.aave_v3.logrange` (pure) — adaptive eth_getLogs spans (:class:`SpanPolicy`).
- :mod:`~.market` (pure) — :class:`MarketAddresses`, :class:`ReserveTokens` and the provider/pool
  view functions discovery calls.
"""
