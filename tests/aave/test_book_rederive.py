"""The book's balances re-derived at new indexes (every block) stay the exact integers, rounded to float once,
and its collateral-at-risk curves computed together equal the curves one by one."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from monitor.protocols.aave_v3.book import (
    AccountInput,
    Book,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    ReserveInput,
)
from monitor.protocols.aave_v3.book.store import ray_mul_floats
from monitor.protocols.aave_v3.book.wadray import HALF_RAY, RAY


def _objects(values: list[int]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@pytest.mark.parametrize("add", [0, HALF_RAY, RAY - 1])
def test_ray_mul_floats_is_the_integer_formula_rounded_once(add: int) -> None:
    rng = random.Random(7)
    values = [0, 1, RAY - 1, RAY, 2**53 - 1, 2**53 + 1, 2**255, 2**256 - 1]
    values += [rng.getrandbits(rng.randrange(1, 257)) for _ in range(20_000)]
    extra = [rng.getrandbits(rng.randrange(1, 100)) for _ in values]
    for index in (1, RAY // 2, RAY, RAY + 1, 2 * RAY - 1, 10**30 + 12_345, rng.getrandbits(128)):
        got = ray_mul_floats(_objects(values), index, add)
        assert got.tolist() == [float((v * index + add) // RAY) for v in values], index
        got = ray_mul_floats(_objects(values), index, add, _objects(extra))
        assert got.tolist() == [float((v * index + add) // RAY + e) for v, e in zip(values, extra, strict=True)]


@pytest.mark.parametrize("add", [0, HALF_RAY, RAY - 1])
def test_ray_mul_floats_with_tight_bits_and_a_small_index(add: int) -> None:
    """The bits the book passes are the balances' own (a few, for small balances): the dividend's bound must then
    come from ``add`` where ``v * index`` is smaller than it (an index below RAY, as ReserveInput accepts)."""
    values = [0, 1, 2, 3, 5, 7]
    tight = max(v.bit_length() for v in values)
    for index in (1, 10**20, RAY // 3, RAY, 3 * RAY + 7):
        got = ray_mul_floats(_objects(values), index, add, value_bits=tight)
        assert got.tolist() == [float((v * index + add) // RAY) for v in values], index
    assert ray_mul_floats(_objects([]), RAY, add).size == 0
    # a tighter bound on the values' bits (the book keeps one per reserve) gives the same floats
    small = [v >> 170 for v in values]
    for bits in (max(v.bit_length() for v in small), 256):
        got = ray_mul_floats(_objects(small), RAY + 12_345, add, None, bits)
        assert got.tolist() == [float((v * (RAY + 12_345) + add) // RAY) for v in small]


def _market(maths: str, income: int, debt: int) -> MarketInputs:
    reserves = [
        ReserveInput(f"0x{0xA0 + j:02x}" + "11" * 19, sym, j, dec, 7000, lt, 10_500, price,
                     normalized_income=income + j, normalized_variable_debt=debt + 3 * j)
        for j, (sym, dec, lt, price) in enumerate([("WETH", 18, 8250, 3000 * 10**8), ("USDC", 6, 8000, 10**8),
                                                   ("WBTC", 8, 7800, 60_000 * 10**8), ("LINK", 18, 0, 15 * 10**8)])
    ]  # fmt: skip
    bitmap = {"collateral_bitmap": 0b0011, "borrowable_bitmap": 0b0010} if maths == "v3.6" else {}
    cats = [EModeCategoryInput(1, 9000, 9300, 10_100, **bitmap)]  # type: ignore[arg-type]
    return MarketInputs(reserves, cats, maths=maths)


def _accounts(market: MarketInputs, n: int, stable: bool) -> list[AccountInput]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        positions, config = {}, 0
        for r in market.reserves:
            supplied = rng.getrandbits(rng.randrange(1, 90)) if rng.random() < 0.5 else 0
            owed = rng.getrandbits(rng.randrange(1, 80)) if rng.random() < 0.4 else 0
            fixed = rng.getrandbits(60) if stable and owed and rng.random() < 0.3 else 0
            if supplied or owed or fixed:
                positions[r.asset] = PositionInput(supplied, owed, fixed)
            # flags not always matching the balances (a flag without a balance, a balance without a flag)
            config |= (rng.random() < 0.8) << (2 * r.reserve_id + 1) if supplied else 0
            config |= (1 << (2 * r.reserve_id)) if owed or fixed or rng.random() < 0.05 else 0
        out.append(AccountInput(f"0x{0x5000 + i:040x}", config, 1 if rng.random() < 0.1 else 0, positions))
    return out


@pytest.mark.parametrize(("maths", "stable"), [("v3.0", True), ("v3.6", False)])
def test_index_update_of_a_large_book_equals_a_fresh_book(maths: str, stable: bool) -> None:
    market = _market(maths, RAY + 10**25, RAY + 3 * 10**25)
    accounts = _accounts(market, 3_000, stable)
    book = Book.build(market, accounts)
    moved = {r.asset: (r.normalized_income + 7 * 10**21, r.normalized_variable_debt + 11 * 10**21)
             for r in market.reserves[:3]}  # fmt: skip
    book.set_indexes(moved)
    fresh_market = MarketInputs(
        [
            replace(r, normalized_income=moved[r.asset][0], normalized_variable_debt=moved[r.asset][1])
            if r.asset in moved
            else r
            for r in market.reserves
        ],
        market.emode_categories,
        maths=maths,
    )
    fresh = Book.build(fresh_market, accounts)
    assert book.diff(fresh) == []
    # the floats are the exact balances rounded once
    arr = book.arrays()
    for j, r in enumerate(fresh_market.reserves):
        for i, acc in enumerate(accounts[:200]):
            pos = acc.positions.get(r.asset, PositionInput())
            owes = bool(acc.user_configuration >> (2 * r.reserve_id) & 1) and (
                pos.scaled_variable_debt or pos.stable_debt
            )
            if maths == "v3.6":
                owed = -(-pos.scaled_variable_debt * r.normalized_variable_debt // RAY) + pos.stable_debt
            else:
                owed = (pos.scaled_variable_debt * r.normalized_variable_debt + HALF_RAY) // RAY + pos.stable_debt
            assert arr.fd[j, i] == (float(owed) if owes else 0.0)


def test_collateral_at_risk_of_every_reserve_together_equals_one_by_one() -> None:
    market = _market("v3.6", RAY + 10**25, RAY + 3 * 10**25)
    book = Book.build(market, _accounts(market, 2_000, False))
    assets = [r.asset for r in market.reserves]
    drops = (0.05, 0.1, 0.2, 0.4)
    assert book.collateral_at_risk_each(assets, drops) == [book.collateral_at_risk(a, drops) for a in assets]
