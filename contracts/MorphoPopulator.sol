// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IMorphoBlueLike, MorphoMarketParams} from "./MorphoTypes.sol";

interface IMorphoPopToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @title MorphoPopulator
/// @notice Devnet helper: mints test collateral and supplies it to Morpho Blue on behalf of many accounts in one
///         transaction, so a large borrower population is created with few transactions.
contract MorphoPopulator {
    /// @param markets   market of each supply
    /// @param amounts   collateral amount of each supply (token units)
    /// @param accounts  account credited with each supply
    function supplyCollateralFor(
        IMorphoBlueLike morpho,
        MorphoMarketParams[] calldata markets,
        uint256[] calldata amounts,
        address[] calldata accounts
    ) external {
        require(markets.length == amounts.length && amounts.length == accounts.length, "MorphoPopulator: lengths");
        for (uint256 i = 0; i < markets.length; i++) {
            IMorphoPopToken token = IMorphoPopToken(markets[i].collateralToken);
            token.mint(address(this), amounts[i]);
            token.approve(address(morpho), amounts[i]);
            morpho.supplyCollateral(markets[i], amounts[i], accounts[i], "");
        }
    }
}
