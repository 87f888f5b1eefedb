"""Scripted market activity for daemon tests and the demo: borrows, repays, withdrawals, new accounts, prices."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from monitor.devnet.aave_deploy import POOL, aave
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.deployment import Deployment
from monitor.devnet.market import oracle_price
from monitor.devnet.population import VARIABLE_RATE, PopulationSpec, borrower_address, plan_population
from monitor.devnet.rpc import MAX_UINT, DevRpc, hex_int
from monitor.devnet.spec import market_for

VOLATILE = ("WETH", "WBTC", "LINK")


@dataclass
class ActivityGenerator:
    """Each :meth:`step` mines one block with a handful of realistic user actions (some may revert, as on
    mainnet). Deterministic for a seed."""

    rpc: DevRpc
    dep: Deployment
    seed: int = 11
    actions_per_block: int = 8
    price_volatility: float = 0.003  # per-block standard deviation of volatile prices

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._new = 0
        self.rpc.call("anvil_autoImpersonateAccount", True)

    def step(self) -> Counter[str]:
        """One block of activity; returns how many actions of each kind were sent."""
        pool = aave(POOL).abi
        erc20 = own_artifact("TestERC20").abi
        rng = self._rng
        txs: list[tuple[str, str | None, str]] = []
        done: Counter[str] = Counter()
        for _ in range(self.actions_per_block):
            kind = rng.choices(["borrow", "repay", "withdraw", "new", "price"], [3, 3, 2, 1, 2])[0]
            user = rng.choice(self.dep.borrowers) if self.dep.borrowers else None
            if kind == "price":
                sym = rng.choice(VOLATILE)
                price = oracle_price(self.rpc, self.dep, sym)
                new = max(int(price * (1 + rng.gauss(0, self.price_volatility))), 1)
                feed = own_artifact("PriceFeed").abi.fn("setAnswer")
                txs.append((self.dep.deployer, self.dep.tokens[sym].feed, feed.encode(new)))
            elif kind == "new":
                txs += self._new_account()
            elif user is None:
                continue
            elif kind == "borrow":
                sym = rng.choice(["USDC", "DAI"])
                amount = rng.randint(10, 500) * 10 ** self.dep.tokens[sym].decimals
                txs.append((user, self.dep.pool, pool.fn("borrow").encode(self.dep.tokens[sym].address, amount,
                                                                            VARIABLE_RATE, 0, user)))  # fmt: skip
            elif kind == "repay":
                sym = rng.choice(["USDC", "DAI", "WETH"])
                t = self.dep.tokens[sym]
                amount = rng.randint(10, 300) * 10**t.decimals // (3000 if sym == "WETH" else 1)
                txs += [
                    (user, t.address, erc20.fn("mint").encode(user, amount)),
                    (user, t.address, erc20.fn("approve").encode(self.dep.pool, MAX_UINT)),
                    (user, self.dep.pool, pool.fn("repay").encode(t.address, amount, VARIABLE_RATE, user)),
                ]
            elif kind == "withdraw":
                sym = rng.choice(["WETH", "WBTC", "USDC", "DAI", "LINK"])
                t = self.dep.tokens[sym]
                amount = 10**t.decimals // rng.choice([100, 1000, 10_000])
                txs.append((user, self.dep.pool, pool.fn("withdraw").encode(t.address, amount, user)))
            done[kind] += 1
        self.rpc.batch([("anvil_setBalance", [s, hex_int(10**19)]) for s in {s for s, _, _ in txs}])
        self.rpc.send_many(txs, gas=2_000_000, check=False)
        return done

    def _new_account(self) -> list[tuple[str, str | None, str]]:
        """A fresh account supplies collateral (through the Populator) and borrows at a comfortable HF."""
        self._new += 1
        seed = 10_000 + self.seed
        plan = plan_population(PopulationSpec(borrowers=self._new, seed=seed, cluster_share=0.0, hf_median=2.0),
                               market_for(self.dep.aave_version))[-1]  # fmt: skip
        plan.address = borrower_address(seed, self._new - 1)
        populator = own_artifact("Populator").abi
        pool = aave(POOL).abi
        syms = list(plan.collateral)
        txs: list[tuple[str, str | None, str]] = [
            (self.dep.deployer, self.dep.populator, populator.fn("supplyFor").encode(
                self.dep.pool, [self.dep.tokens[s].address for s in syms], [plan.collateral[s] for s in syms],
                [plan.address] * len(syms)))
        ]  # fmt: skip
        if plan.emode:
            txs.append((plan.address, self.dep.pool, pool.fn("setUserEMode").encode(plan.emode)))
        for sym, amount in plan.debt.items():
            data = pool.fn("borrow").encode(self.dep.tokens[sym].address, amount, VARIABLE_RATE, 0, plan.address)
            txs.append((plan.address, self.dep.pool, data))
        self.dep.borrowers.append(plan.address)
        return txs


def mine_busy_blocks(url: str, dep: Deployment, stop: threading.Event, *, seed: int, actions_per_block: int) -> None:
    """Heavy blocks back to back, 12 s apart in chain time, until ``stop`` is set (its own connection to ``url``:
    run it on a thread next to the reads it is to race)."""
    with DevRpc(url) as own:
        gen = ActivityGenerator(own, dep, seed=seed, actions_per_block=actions_per_block)
        while not stop.is_set():
            own.increase_time(12)
            gen.step()
