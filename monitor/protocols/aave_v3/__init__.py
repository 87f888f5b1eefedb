"""Aave v3 markets: who has a position (discovery over the chain-level log follower) and the book kept current.

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
    counts) or a :class:`~.discovery.Rollback` (reorg: everything after ``fork_block`` forgotten,
    ``removed_accounts`` with it unless a later range touches them again; ``reset``: no stored block was on the
    chain any more and the market is backfilled from ``start_block``).
  - ``disc.accounts()`` — every known account; ``disc.last_block`` — the newest processed block.

  The following itself (ranges, reorgs, the hash ring, the checkpoint) is the protocol-neutral
  :class:`monitor.chain.follow.driver.LogFollower`; positions are not stored, a process reads every known
  account once (:class:`~.indexer.MarketIndexer`) and then only the accounts each update touched.
- :mod:`monitor.protocols.aave_v3.events` (pure) — the events that touch accounts, reserves or configuration, and
  :func:`~.events.digest_logs` turning logs into a :class:`~.events.LogDigest`.
- :mod:`~.market` (pure) — :class:`MarketAddresses`, :class:`ReserveTokens` and the provider/pool
  view functions discovery calls.
"""
