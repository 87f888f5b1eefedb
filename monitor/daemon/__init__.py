"""The long-running monitor: per market, each new safe block runs indexer -> book -> pools -> projections ->
one immutable :class:`~monitor.daemon.result.MarketResult`, which the Prometheus collector and the alert
rules read. See :mod:`monitor.daemon.run` for the task layout."""
