"""A junk USDC market on the devnet, as anyone can create one on Morpho Blue: WBTC collateral priced by an oracle of
its own and with an IRM of its own (copies of the devnet's, immutables included) that the test switches to revert,
to price 0 and back. A lender and a borrower hold a position in it, opened while both answered."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.crypto import keccak

from monitor.devnet.morpho_compile import morpho_artifact
from monitor.protocols.morpho_blue.params import MarketParams
from tests.conftest import Devnet
from tests.morpho.chain import create_market_with_borrower, morpho_of

REVERTS = "0x60006000fd"  # PUSH1 0 PUSH1 0 REVERT: every call reverts, no reason
PRICES_ZERO = "0x60206000f3"  # PUSH1 32 PUSH1 0 RETURN: every call answers 32 zero bytes (price 0)
COLLATERAL_WBTC = 10**8  # the borrower's collateral: 1 WBTC
BORROW_USDC = 20_000 * 10**6


@dataclass(frozen=True)
class JunkMarket:
    """The market's parameters, its oracle and IRM (switchable), their working code and its borrower."""

    params: MarketParams
    oracle: str
    code: str
    borrower: str
    irm_code: str

    @property
    def market_id(self) -> str:
        """The market's id."""
        return self.params.id

    def set_oracle(self, devnet: Devnet, code: str | None) -> None:
        """Give the oracle ``code`` (None: its working code back) and mine a block so that reads see it."""
        devnet.rpc.call("anvil_setCode", self.oracle, self.code if code is None else code)
        devnet.rpc.mine()

    def set_irm(self, devnet: Devnet, code: str | None) -> None:
        """Give the IRM ``code`` (None: its working code back) and mine a block."""
        devnet.rpc.call("anvil_setCode", self.params.irm, self.irm_code if code is None else code)
        devnet.rpc.mine()


def create_junk_market(devnet: Devnet) -> JunkMarket:
    """Create the market (LLTV 77%, an LLTV the devnet enables), supply it and open the borrower's position."""
    rpc, dep, info = devnet.rpc, devnet.dep, morpho_of(devnet.dep)
    wbtc = info.market("WBTC/USDC-86")
    oracle = "0x" + keccak(b"morpho-test:junk-oracle")[-20:].hex()
    code = str(rpc.call("eth_getCode", wbtc.oracle, "latest"))
    rpc.call("anvil_setCode", oracle, code)
    irm = "0x" + keccak(b"morpho-test:junk-irm")[-20:].hex()
    irm_code = str(rpc.call("eth_getCode", wbtc.irm, "latest"))
    rpc.call("anvil_setCode", irm, irm_code)
    params = MarketParams(wbtc.loan_token, wbtc.collateral_token, oracle, irm, 77 * 10**16)
    rpc.call("anvil_autoImpersonateAccount", True)
    rpc.send_many([(info.owner, info.morpho, morpho_artifact().abi.fn("enableIrm").encode(irm))])
    borrower = create_market_with_borrower(rpc, dep, params, "junk", COLLATERAL_WBTC, BORROW_USDC)
    return JunkMarket(params, oracle, code, borrower, irm_code)


def create_tokenless_market(devnet: Devnet) -> MarketParams:
    """A USDC market whose collateral "token" is an address without code (no decimals to read; nobody can
    supply it), priced by the devnet's WBTC oracle."""
    info = morpho_of(devnet.dep)
    wbtc = info.market("WBTC/USDC-86")
    nothing = "0x" + keccak(b"morpho-test:not-a-token")[-20:].hex()
    params = MarketParams(wbtc.loan_token, nothing, wbtc.oracle, wbtc.irm, 77 * 10**16)
    abi = morpho_artifact().abi
    devnet.rpc.send_many([(devnet.dep.deployer, info.morpho, abi.fn("createMarket").encode(params.as_tuple()))])
    return params
