"""Lending protocols, one package each (``aave_v3``, ...): everything that knows a protocol's contracts, events,
storage layout and exact maths lives in its package. :mod:`~monitor.protocols.base` is the interface the daemon
and the commands use; :mod:`~monitor.protocols.registry` maps a config entry's ``protocol`` to its package.
"""
