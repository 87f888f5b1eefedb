// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IMorphoBlueLike, MorphoMarket, MorphoMarketParams} from "./MorphoTypes.sol";

interface ILensOracle {
    function price() external view returns (uint256);
}

interface ILensIrm {
    function borrowRateView(MorphoMarketParams memory marketParams, MorphoMarket memory market)
        external
        view
        returns (uint256);
}

/// @title MorphoLens
/// @notice Read-only batch reader of Morpho Blue in one eth_call. It holds no state and needs no deployment:
///         callers may inject its runtime code with an eth_call state override.
contract MorphoLens {
    /// @notice position(ids[i], users[i]) of every pair: out[3i] supplyShares, [3i+1] borrowShares, [3i+2] collateral.
    function positions(IMorphoBlueLike morpho, bytes32[] calldata ids, address[] calldata users)
        external
        view
        returns (uint256[] memory out)
    {
        require(ids.length == users.length, "MorphoLens: lengths");
        out = new uint256[](ids.length * 3);
        for (uint256 i = 0; i < ids.length; i++) {
            (uint256 s, uint128 b, uint128 c) = morpho.position(ids[i], users[i]);
            out[3 * i] = s;
            out[3 * i + 1] = b;
            out[3 * i + 2] = c;
        }
    }

    /// @notice Everything the health maths needs per market, 13 words each: totalSupplyAssets, totalSupplyShares,
    ///         totalBorrowAssets, totalBorrowShares, lastUpdate, fee, loanToken, collateralToken, oracle, irm, lltv,
    ///         oracle price (0 when the oracle reverts), borrowRateView (0 when there is no IRM or it reverts).
    function markets(IMorphoBlueLike morpho, bytes32[] calldata ids) external view returns (uint256[] memory out) {
        out = new uint256[](ids.length * 13);
        for (uint256 i = 0; i < ids.length; i++) {
            MorphoMarket memory m;
            (m.totalSupplyAssets, m.totalSupplyShares, m.totalBorrowAssets, m.totalBorrowShares, m.lastUpdate, m.fee) =
                morpho.market(ids[i]);
            MorphoMarketParams memory p;
            (p.loanToken, p.collateralToken, p.oracle, p.irm, p.lltv) = morpho.idToMarketParams(ids[i]);
            uint256 o = 13 * i;
            out[o] = m.totalSupplyAssets;
            out[o + 1] = m.totalSupplyShares;
            out[o + 2] = m.totalBorrowAssets;
            out[o + 3] = m.totalBorrowShares;
            out[o + 4] = m.lastUpdate;
            out[o + 5] = m.fee;
            out[o + 6] = uint160(p.loanToken);
            out[o + 7] = uint160(p.collateralToken);
            out[o + 8] = uint160(p.oracle);
            out[o + 9] = uint160(p.irm);
            out[o + 10] = p.lltv;
            if (p.oracle != address(0)) {
                try ILensOracle(p.oracle).price() returns (uint256 price) {
                    out[o + 11] = price;
                } catch {}
            }
            if (p.irm != address(0)) {
                try ILensIrm(p.irm).borrowRateView(p, m) returns (uint256 rate) {
                    out[o + 12] = rate;
                } catch {}
            }
        }
    }
}
