"""The engine's account order (monitor.risk.locality): a projector arranges the accounts on first use (unless told
not to) and then works on the given accounts in that order; the answers do not depend on the order the accounts
come in."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import ModelParams, Projector, sweep
from monitor.risk import synthetic as syn
from monitor.risk.locality import TAU_STEPS, locality_order
from monitor.risk.market import CascadeBook
from monitor.risk.screen import GUARD, Exposure

N = 20_000
BOOK = syn.book(syn.Population(N, seed=11))


def close(x: Any, y: Any, path: str = "") -> None:
    """``x`` equals ``y`` field by field, floats within 1e-12 relative (sums over accounts may add in another
    order), everything else exactly."""
    if dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            close(getattr(x, f.name), getattr(y, f.name), f"{path}.{f.name}")
    elif isinstance(x, dict):
        assert set(x) == set(y), path
        for k in x:
            close(x[k], y[k], f"{path}[{k}]")
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            close(u, v, f"{path}[{i}]")
    elif isinstance(x, float):
        assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9), (path, x, y)
    else:
        assert x == y, (path, x, y)


def test_the_order_groups_accounts_by_sided_mask_then_by_their_screening_term() -> None:
    ex = Exposure(BOOK, AaveV3Liquidation())
    order = locality_order(ex)
    assert sorted(order.tolist()) == list(range(N))  # a permutation
    mask = ex.masks.sided_ids[order]
    assert (np.diff(mask) >= 0).all()
    a, d = ex.terms(ex.w0, ex.d0)
    tau = np.where(d > 0, a / (d + ex.slack / GUARD), np.inf)[order]
    step = np.minimum(tau * TAU_STEPS, 2**16 - 1).astype(np.int64)
    for u in np.unique(mask).tolist():
        assert (np.diff(step[mask == u]) >= 0).all()


def test_a_projector_arranges_the_accounts_on_first_use_unless_told_not_to() -> None:
    venues = syn.venues(BOOK.market, tvl_scale=N / 10_000)
    default = Projector(BOOK, venues, model=AaveV3Liquidation())
    assert default.order is None and default.book is BOOK  # nothing done before the first use
    default.project({"WETH": -0.1})
    assert default.order is not None and np.array_equal(default.book.debt, BOOK.debt[:, default.order])
    given = Projector(BOOK, venues, model=AaveV3Liquidation(), arrange=False)
    given.project({"WETH": -0.1})
    assert given.order is None and given.book is BOOK
    # asked to arrange before its first use (as a sweep does), a projector arranges once: the order maps back
    early = Projector(BOOK, venues, model=AaveV3Liquidation())
    early.arrange()
    assert early.order is not None and np.array_equal(early.book.debt, BOOK.debt[:, early.order])
    assert np.array_equal(early.order, default.order)


def test_an_arranged_projector_works_on_the_given_accounts_in_the_order() -> None:
    proj = Projector(BOOK, syn.venues(BOOK.market, tvl_scale=N / 10_000), model=AaveV3Liquidation(), arrange=False)
    proj.project({"WETH": -0.1})  # sums made in the given order first: arranging replaces them
    assert proj.order is None and proj.book is BOOK
    proj.arrange()
    book, order = proj.book, proj.order
    assert order is not None and not np.array_equal(order, np.arange(N))
    assert np.array_equal(book.collateral, BOOK.collateral[:, order])
    assert np.array_equal(book.debt, BOOK.debt[:, order])
    assert np.array_equal(book.risk_class, BOOK.risk_class[order])
    ex = proj.exposure
    again = Exposure(book, AaveV3Liquidation())
    assert np.array_equal(ex.w0, again.w0) and np.array_equal(ex.d0, again.d0)
    assert np.array_equal(ex.masks.ids, again.masks.ids)
    assert np.array_equal(ex.masks.sided_ids, again.masks.sided_ids)


@pytest.mark.parametrize("rules", ["v3.0", "v3.3"])
def test_projections_and_sweeps_do_not_depend_on_the_order_of_the_accounts(rules: str) -> None:
    """The same book with its accounts shuffled and arranged: the same projections as the book as it comes
    (counts exactly, sums to rounding), and the same sweeps (a sweep arranges both)."""
    shuffled = np.random.default_rng(3).permutation(N)
    other = CascadeBook(BOOK.market, BOOK.collateral[:, shuffled], BOOK.debt[:, shuffled], BOOK.risk_class[shuffled])
    venues = syn.venues(BOOK.market, tvl_scale=N / 10_000)
    model_a, model_b = AaveV3Liquidation(rules), AaveV3Liquidation(rules)  # type: ignore[arg-type]
    a = Projector(BOOK, venues, ModelParams(), model=model_a, arrange=False)
    b = Projector(other, venues, ModelParams(), model=model_b)
    assets = BOOK.market.assets
    for shocks in ({assets[0]: -0.2}, {assets[1]: -0.5}, {assets[0]: -0.3, assets[4]: -0.4}):
        ra, rb = a.project(shocks), b.project(shocks)
        assert ra.accounts_liquidated > 0
        close(ra, rb)
    close(sweep(a, assets[:2]), sweep(b, assets[:2]))
