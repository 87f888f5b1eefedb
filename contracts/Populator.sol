// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface IPopPool {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
}

interface IPopToken {
    function mint(address to, uint256 amount) external;
    function approve(address spender, uint256 amount) external returns (bool);
}

/// @title PopulatorAccount
/// @notice Devnet helper: runtime code put (anvil_setCode) at a generated account's own address while it is
///         populated and removed afterwards. The account then makes its own calls (msg.sender is the account)
///         inside one Populator transaction for hundreds of accounts, instead of a transaction each.
contract PopulatorAccount {
    /// @notice Call `target` with `data` as this account; a revert is passed on with its reason.
    function act(address target, bytes calldata data) external {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}

/// @title Populator
/// @notice Devnet helper: mints test collateral and supplies it to the pool on behalf of many accounts in one
///         transaction, and has many accounts act (e-mode, borrow) in one transaction, so a large borrower
///         population is created with few transactions.
contract Populator {
    /// @notice pool => asset => whether the pool may take any amount of the asset from this contract
    mapping(address => mapping(address => bool)) public approved;

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
            if (!approved[address(pool)][address(assets[i])]) {
                // once per pool and asset: an approval per supply cost more gas than the mint
                assets[i].approve(address(pool), type(uint256).max);
                approved[address(pool)][address(assets[i])] = true;
            }
            assets[i].mint(address(this), amounts[i]);
            pool.supply(address(assets[i]), amounts[i], accounts[i], 0);
        }
    }

    /// @notice In order, account `accounts[i]` (holding PopulatorAccount code) calls `target` with `calls[i]`.
    function actAs(address target, address[] calldata accounts, bytes[] calldata calls) external {
        require(accounts.length == calls.length, "Populator: lengths");
        for (uint256 i = 0; i < accounts.length; i++) {
            PopulatorAccount(accounts[i]).act(target, calls[i]);
        }
    }
}
