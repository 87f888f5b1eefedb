// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

interface ILensPool {
    function getUserAccountData(address user)
        external
        view
        returns (uint256, uint256, uint256, uint256, uint256, uint256);
    function getUserConfiguration(address user) external view returns (uint256);
    function getUserEMode(address user) external view returns (uint256);
}

/// @dev Liquid e-mode getters of Aave v3.2+ pools.
interface ILensEModePool {
    function getEModeCategoryCollateralConfig(uint8 id) external view returns (uint16, uint16, uint16);
    function getEModeCategoryCollateralBitmap(uint8 id) external view returns (uint128);
    function getEModeCategoryBorrowableBitmap(uint8 id) external view returns (uint128);
    function getEModeCategoryLtvzeroBitmap(uint8 id) external view returns (uint128);
}

interface ILensToken {
    function balanceOf(address user) external view returns (uint256);
    function scaledBalanceOf(address user) external view returns (uint256);
}

/// @title AaveLens
/// @notice Read-only batch reader for many accounts in one eth_call. It holds no state and needs no deployment:
///         callers may inject its runtime code with an eth_call state override.
contract AaveLens {
    /// @notice getUserAccountData for every user, six words each, flattened.
    function accountData(ILensPool pool, address[] calldata users) external view returns (uint256[] memory out) {
        out = new uint256[](users.length * 6);
        for (uint256 i = 0; i < users.length; i++) {
            (uint256 c, uint256 d, uint256 a, uint256 lt, uint256 ltv, uint256 hf) = pool.getUserAccountData(users[i]);
            uint256 o = i * 6;
            out[o] = c;
            out[o + 1] = d;
            out[o + 2] = a;
            out[o + 3] = lt;
            out[o + 4] = ltv;
            out[o + 5] = hf;
        }
    }

    /// @notice The user configuration bitmap and e-mode category of every user.
    function userStates(ILensPool pool, address[] calldata users)
        external
        view
        returns (uint256[] memory configs, uint256[] memory emodes)
    {
        configs = new uint256[](users.length);
        emodes = new uint256[](users.length);
        for (uint256 i = 0; i < users.length; i++) {
            configs[i] = pool.getUserConfiguration(users[i]);
            emodes[i] = pool.getUserEMode(users[i]);
        }
    }

    /// @notice Every user's configuration bitmap, e-mode category and raw positions, reading only the reserves
    ///         its bitmap flags: scaled aToken balance where used as collateral, scaled variable debt and stable
    ///         debt where borrowing. values[u * 3n + i] = aToken, [u * 3n + n + i] = variable, [u * 3n + 2n + i] =
    ///         stable debt of reserve i (n = number of reserves, i = reserve id); zero where not read.
    function positions(
        ILensPool pool,
        address[] calldata users,
        ILensToken[] calldata aTokens,
        ILensToken[] calldata variableDebtTokens,
        ILensToken[] calldata stableDebtTokens
    ) external view returns (uint256[] memory configs, uint256[] memory emodes, uint256[] memory values) {
        uint256 n = aTokens.length;
        configs = new uint256[](users.length);
        emodes = new uint256[](users.length);
        values = new uint256[](users.length * 3 * n);
        for (uint256 u = 0; u < users.length; u++) {
            address user = users[u];
            uint256 cfg = pool.getUserConfiguration(user);
            configs[u] = cfg;
            emodes[u] = pool.getUserEMode(user);
            uint256 o = u * 3 * n;
            for (uint256 i = 0; i < n && (cfg >> (2 * i)) != 0; i++) {
                if ((cfg >> (2 * i + 1)) & 1 == 1) {
                    values[o + i] = aTokens[i].scaledBalanceOf(user);
                }
                if ((cfg >> (2 * i)) & 1 == 1) {
                    values[o + n + i] = variableDebtTokens[i].scaledBalanceOf(user);
                    if (address(stableDebtTokens[i]) != address(0)) {
                        values[o + 2 * n + i] = stableDebtTokens[i].balanceOf(user);
                    }
                }
            }
        }
    }

    /// @notice Every configured e-mode category of an Aave v3.2+ pool (liquidation threshold non-zero), ids 1-255,
    ///         seven words each: id, ltv, liquidation threshold, liquidation bonus, collateral bitmap, borrowable
    ///         bitmap, ltvzero bitmap (0 where the pool has no ltvzero getter).
    function emodeCategories(ILensEModePool pool) external view returns (uint256[] memory out) {
        uint256[] memory found = new uint256[](255 * 7);
        uint256 n = 0;
        for (uint256 id = 1; id <= 255; id++) {
            (uint16 ltv, uint16 lt, uint16 bonus) = pool.getEModeCategoryCollateralConfig(uint8(id));
            if (lt == 0) continue;
            uint256 o = n * 7;
            found[o] = id;
            found[o + 1] = ltv;
            found[o + 2] = lt;
            found[o + 3] = bonus;
            found[o + 4] = pool.getEModeCategoryCollateralBitmap(uint8(id));
            found[o + 5] = pool.getEModeCategoryBorrowableBitmap(uint8(id));
            try pool.getEModeCategoryLtvzeroBitmap(uint8(id)) returns (uint128 bits) {
                found[o + 6] = bits;
            } catch {}
            n++;
        }
        out = new uint256[](n * 7);
        for (uint256 i = 0; i < n * 7; i++) {
            out[i] = found[i];
        }
    }

    /// @notice balanceOf(user) of every token for every user; out[u * tokens.length + t].
    function balances(ILensToken[] calldata tokens, address[] calldata users)
        external
        view
        returns (uint256[] memory out)
    {
        out = new uint256[](users.length * tokens.length);
        for (uint256 u = 0; u < users.length; u++) {
            for (uint256 t = 0; t < tokens.length; t++) {
                out[u * tokens.length + t] = tokens[t].balanceOf(users[u]);
            }
        }
    }
}
