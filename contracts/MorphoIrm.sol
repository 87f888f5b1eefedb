// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {MorphoMarket, MorphoMarketParams} from "./MorphoTypes.sol";

/// @title MorphoIrm
/// @notice A stateless kinked interest-rate model in Morpho Blue's IRM form: the borrow rate per second (WAD) is
///         base + slope1 * u / kink below the kink and base + slope1 + slope2 * (u - kink) / (1 - kink) above it,
///         u = totalBorrowAssets / totalSupplyAssets (WAD, rounded down; 0 on an empty market).
contract MorphoIrm {
    uint256 internal constant WAD = 1e18;
    uint256 public immutable baseRate;
    uint256 public immutable slope1;
    uint256 public immutable slope2;
    uint256 public immutable kink;

    constructor(uint256 baseRate_, uint256 slope1_, uint256 slope2_, uint256 kink_) {
        require(kink_ > 0 && kink_ < WAD, "MorphoIrm: kink out of range");
        baseRate = baseRate_;
        slope1 = slope1_;
        slope2 = slope2_;
        kink = kink_;
    }

    function borrowRateView(MorphoMarketParams memory, MorphoMarket memory market) public view returns (uint256) {
        if (market.totalSupplyAssets == 0) return baseRate;
        uint256 utilization = uint256(market.totalBorrowAssets) * WAD / market.totalSupplyAssets;
        if (utilization > WAD) utilization = WAD;
        if (utilization <= kink) return baseRate + slope1 * utilization / kink;
        return baseRate + slope1 + slope2 * (utilization - kink) / (WAD - kink);
    }

    function borrowRate(MorphoMarketParams memory marketParams, MorphoMarket memory market) external view returns (uint256) {
        return borrowRateView(marketParams, market);
    }
}
