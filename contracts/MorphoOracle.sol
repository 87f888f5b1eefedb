// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IAnswerFeed {
    function latestAnswer() external view returns (int256);
    function decimals() external view returns (uint8);
}

/// @title MorphoOracle
/// @notice A Morpho Blue oracle (`price()`: one unit of collateral token in loan-token units, scaled by 1e36) made
///         from two Chainlink-style USD feeds: price = 1e36 * collateralUsd / loanUsd * 10^loanDecimals /
///         10^collateralDecimals, rounded down; the feeds' own decimals cancel out through `scale`.
contract MorphoOracle {
    IAnswerFeed public immutable collateralFeed;
    IAnswerFeed public immutable loanFeed;
    /// @notice 10^(36 + loanDecimals + loanFeedDecimals - collateralDecimals - collateralFeedDecimals)
    uint256 public immutable scale;

    constructor(IAnswerFeed collateralFeed_, IAnswerFeed loanFeed_, uint8 collateralDecimals, uint8 loanDecimals) {
        collateralFeed = collateralFeed_;
        loanFeed = loanFeed_;
        scale = 10 ** (36 + uint256(loanDecimals) + loanFeed_.decimals() - collateralDecimals - collateralFeed_.decimals());
    }

    function price() external view returns (uint256) {
        int256 collateralUsd = collateralFeed.latestAnswer();
        int256 loanUsd = loanFeed.latestAnswer();
        require(collateralUsd > 0 && loanUsd > 0, "MorphoOracle: non-positive feed answer");
        return scale * uint256(collateralUsd) / uint256(loanUsd);
    }
}
