"""Lending protocols, one package each (``aave_v3``, ...): everything that knows a protocol's contracts, events,
storage layout and exact maths lives in its package; the engine and the daemon never learn a protocol's name."""
