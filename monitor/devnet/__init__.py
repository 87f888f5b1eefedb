"""The built-in devnet: anvil running the published Aave v3 and Uniswap v3 bytecode, with a borrower population.

Public API (all synchronous; the devnet is a test and demo fixture, not part of the monitor's hot path):

- :class:`monitor.devnet.anvil.Anvil` — start/stop an anvil process on a free loopback port (context manager).
- :class:`monitor.devnet.rpc.DevRpc` — small JSON-RPC client with batching, for driving the devnet.
- :func:`monitor.devnet.build.build_devnet` — deploy tokens, feeds, Aave v3 and Uniswap v3 (returns a
  :class:`monitor.devnet.deployment.Deployment` with every address).
- :func:`monitor.devnet.population.populate` — N borrowers with a target health-factor distribution.
- :mod:`monitor.devnet.market` — prices, swaps, crashes, the scripted liquidator, time travel.
- :mod:`monitor.devnet.cache` — dump a populated devnet once and reload it fast.
"""
