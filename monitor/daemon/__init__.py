"""The long-running monitor: owns the process, its chain loop, results and exporters.

Per new safe block, :mod:`~monitor.daemon.chain_loop` reads one block context for the chain
(:mod:`~monitor.daemon.context`: head, header, DEX pools, through the shared reads of
:mod:`~monitor.daemon.blockreads`) while every market's tracker refreshes, then each market's
:mod:`~monitor.daemon.pipeline` computes one immutable :class:`~monitor.daemon.result.MarketResult` from it
(figures, pool summaries, projections). The :mod:`~monitor.daemon.store` keeps the newest result per market;
the Prometheus collector (:mod:`~monitor.daemon.metrics`) and the alert rules (:mod:`~monitor.daemon.alerting`)
read it. With several markets, once each has its result of a block, the scenarios are projected on all of them
as one cascade (:mod:`~monitor.daemon.system`); the critical-shock sweep runs in a process of its own
(:mod:`~monitor.daemon.sweeper`) so that it never holds up the block path. See :mod:`monitor.daemon.run` for the
task layout. Nothing here knows a protocol's name.
"""
