"""Integer bounds of the Solidity types the Uniswap v3 ports work with."""

from __future__ import annotations

UINT8_MAX = (1 << 8) - 1
UINT24_MAX = (1 << 24) - 1
UINT128_MAX = (1 << 128) - 1
UINT160_MAX = (1 << 160) - 1
UINT256_MAX = (1 << 256) - 1
INT128_MIN = -(1 << 127)
INT128_MAX = (1 << 127) - 1
INT256_MIN = -(1 << 255)
INT256_MAX = (1 << 255) - 1

#: FixedPoint96: sqrt prices are Q64.96 fixed-point numbers.
RESOLUTION = 96
Q96 = 1 << RESOLUTION

#: Fees are in hundredths of a bip: 1e6 is 100 %.
FEE_DENOMINATOR = 1_000_000
