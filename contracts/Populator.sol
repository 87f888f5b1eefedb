// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IPopPool {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
}

interface IPopToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @title Populator
/// @notice Devnet helper: mints test collateral and supplies it to the pool on behalf of many accounts in one
///         transaction, so a large borrower population is created with few transactions.
contract Populator {
    /// @param assets    asset of each supply
    /// @param amounts   amount of each supply (token units)
    /// @param accounts  account credited with each supply
    function supplyFor(
        IPopPool pool,
        IPopToken[] calldata assets,
        uint256[] calldata amounts,
        address[] calldata accounts
    ) external {
        require(assets.length == amounts.length && amounts.length == accounts.length, "Populator: lengths");
        for (uint256 i = 0; i < assets.length; i++) {
            assets[i].mint(address(this), amounts[i]);
            assets[i].approve(address(pool), amounts[i]);
            pool.supply(address(assets[i]), amounts[i], accounts[i], 0);
        }
    }
}
