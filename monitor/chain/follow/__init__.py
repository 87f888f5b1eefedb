"""The reorg-safe log follower of one market, protocol-neutral: sans-I/O decisions, a thin async driver, the
checkpoint it keeps.

- :mod:`~monitor.chain.follow.machine` (pure) — :class:`~.machine.Follower`, the state machine: events in
  (head seen, headers and logs of a range, current hashes of stored blocks, an eth_getLogs refusal), actions
  out (read the head / a range / hashes, commit a range, roll back to the fork point, reset, caught up).
- :mod:`~monitor.chain.follow.span` (pure) — adaptive eth_getLogs spans (:class:`~.span.SpanPolicy`).
- :mod:`~monitor.chain.follow.updates` (pure) — what the follower reports (:class:`~.updates.Committed`,
  :class:`~.updates.RolledBack`) and :class:`~.updates.BookChanges`, a consumer's fold of them in order.
- :mod:`~monitor.chain.follow.driver` — :class:`~.driver.LogFollower`, performing the actions with
  :class:`~monitor.chain.rpc.RpcClient` and the checkpoint; a protocol gives it a log filter and a digest.
- :mod:`~monitor.chain.follow.checkpoint` — :class:`~.checkpoint.Checkpoint`, one SQLite file with
  market-keyed tables (markets, accounts with their first block, the block-hash ring).
"""
