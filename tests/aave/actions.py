"""Driving the devnet in discovery tests: users that supply, borrow, withdraw and move aTokens."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.crypto import keccak

from monitor.devnet.aave_deploy import POOL, aave
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.rpc import MAX_UINT, DevRpc

ERC20 = own_artifact("TestERC20").abi
POOL_ABI = aave(POOL).abi
ATOKEN_ABI = aave("protocol/tokenization/AToken.sol/AToken").abi


def user(label: str) -> str:
    """A deterministic fresh address (impersonated by anvil when it sends)."""
    return "0x" + keccak(text=label)[-20:].hex()


@dataclass
class Chain:
    """A running devnet with helpers that send real Aave transactions."""

    url: str
    rpc: DevRpc
    dep: Deployment

    def _send(self, sender: str, to: str, data: str) -> int:
        """Send from an impersonated, funded account; returns the block the transaction landed in."""
        self.rpc.call("anvil_impersonateAccount", sender)
        self.rpc.call("anvil_setBalance", sender, hex(10**20))
        receipt = self.rpc.call("eth_getTransactionReceipt", self.rpc.send(sender, to, data))
        return int(receipt["blockNumber"], 16)

    def amount(self, symbol: str, units: float) -> int:
        """``units`` whole tokens in base units."""
        return int(units * 10 ** self.dep.token(symbol).decimals)

    def fund(self, who: str, symbol: str, units: float) -> None:
        """Mint tokens and approve the pool (two blocks)."""
        token = self.dep.token(symbol).address
        self._send(who, token, ERC20.fn("mint").encode(who, self.amount(symbol, units)))
        self._send(who, token, ERC20.fn("approve").encode(self.dep.pool, MAX_UINT))

    def supply_tx(self, who: str, symbol: str, units: float, *, on_behalf_of: str | None = None) -> dict[str, str]:
        """The supply transaction, unsent."""
        token = self.dep.token(symbol).address
        data = POOL_ABI.fn("supply").encode(token, self.amount(symbol, units), on_behalf_of or who, 0)
        return {"from": who, "to": self.dep.pool, "data": data, "gas": hex(3_000_000)}

    def supply(self, who: str, symbol: str, units: float, *, on_behalf_of: str | None = None) -> int:
        """Mint, approve and supply (one block per transaction); returns the supply's block."""
        self.fund(who, symbol, units)
        tx = self.supply_tx(who, symbol, units, on_behalf_of=on_behalf_of)
        return self._send(who, tx["to"], tx["data"])

    def borrow(self, who: str, symbol: str, units: float) -> None:
        """Variable-rate borrow."""
        token = self.dep.token(symbol).address
        self._send(who, self.dep.pool, POOL_ABI.fn("borrow").encode(token, self.amount(symbol, units), 2, 0, who))

    def withdraw_all(self, who: str, symbol: str) -> None:
        """Withdraw the whole supply."""
        token = self.dep.token(symbol).address
        self._send(who, self.dep.pool, POOL_ABI.fn("withdraw").encode(token, MAX_UINT, who))

    def transfer_atoken(self, who: str, to: str, symbol: str, units: float) -> None:
        """Move collateral by transferring aTokens."""
        a_token = self.dep.token(symbol).a_token
        self._send(who, a_token, ATOKEN_ABI.fn("transfer").encode(to, self.amount(symbol, units)))

    def approve_atoken(self, who: str, spender: str, symbol: str) -> None:
        """An aToken approval (touches no position)."""
        self._send(who, self.dep.token(symbol).a_token, ATOKEN_ABI.fn("approve").encode(spender, 1))

    def set_emode(self, who: str, category: int) -> None:
        """Enter an e-mode category."""
        self._send(who, self.dep.pool, POOL_ABI.fn("setUserEMode").encode(category))

    def head(self) -> int:
        """Latest block number."""
        return self.rpc.block_number()
