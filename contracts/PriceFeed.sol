// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title PriceFeed
/// @notice A Chainlink-aggregator-shaped price feed whose owner sets the answer (devnet only).
///         AaveOracle reads `latestAnswer`; monitors may read `latestRoundData` and follow `AnswerUpdated`.
contract PriceFeed {
    address public immutable owner;
    uint8 public immutable decimals;
    string public description;
    int256 public latestAnswer;
    uint256 public latestTimestamp;
    uint256 public latestRound;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        owner = msg.sender;
        decimals = decimals_;
        description = description_;
        _set(initialAnswer);
    }

    function setAnswer(int256 answer) external {
        require(msg.sender == owner, "PriceFeed: not owner");
        _set(answer);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (uint80(latestRound), latestAnswer, latestTimestamp, latestTimestamp, uint80(latestRound));
    }

    function _set(int256 answer) private {
        latestRound += 1;
        latestAnswer = answer;
        latestTimestamp = block.timestamp;
        emit AnswerUpdated(answer, latestRound, block.timestamp);
    }
}
