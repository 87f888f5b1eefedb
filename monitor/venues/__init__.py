"""Reading trading venues from the chain: Uniswap v3 pools at a pinned block, kept fresh from their events
(:mod:`monitor.venues.uniswap_v3`). The maths of what a pool does with a trade is pure and lives in
:mod:`monitor.dex`."""
