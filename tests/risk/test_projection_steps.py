"""The projection's vectorised steps against straightforward references on random inputs (hypothesis): the
liquidator's pick, the per-mask price spreads, the follow-limit selection, a slot view's lazily sorted tiers and
the exposure masks' ids. The whole
projection is compared with the per-account loop in test_engine_vs_loop.py and with properties in
test_properties.py."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation, _largest, own_unit_prices
from monitor.risk import synthetic as syn
from monitor.risk.baseline import FOLLOW_STEPS, SlotView, between
from monitor.risk.masks import COUNTED_KEYS, _extremes, _unique
from monitor.risk.screen import Exposure

BOOK = syn.book(syn.Population(200, seed=5))
MARKET = BOOK.market


def largest_reference(x: np.ndarray, up: np.ndarray) -> list[int]:
    """Per column: the held reserve with the largest ``(floor(balance * unit price), symbol)``, as the devnet's
    liquidator takes ``max`` over tuples; the largest symbol when nothing is held."""
    syms = MARKET.symbols
    out = []
    for i in range(x.shape[1]):
        held = [(math.floor(float(x[j, i]) * float(up[j])), syms[j], j) for j in range(MARKET.size) if x[j, i] > 0]
        out.append(max(held)[2] if held else max(range(MARKET.size), key=lambda j: syms[j]))
    return out


balances = st.lists(
    st.sampled_from([0.0, 1.0, 7.0, 1e6, 3e17, 1e18, 2.5e21]), min_size=MARKET.size, max_size=MARKET.size
)


@settings(max_examples=60, deadline=None)
@given(st.lists(balances, min_size=1, max_size=40), st.floats(0.3, 3.0), st.booleans())
def test_the_pick_is_the_largest_value_then_the_largest_symbol(columns: list[list[float]], move: float,
                                                               equal_prices: bool) -> None:  # fmt: skip
    """Ties of values (equal balances at equal unit prices), empty columns and large balances included."""
    x = np.array(columns, dtype=np.float64).T.copy()
    prices = MARKET.prices.copy()
    prices[0] = max(math.floor(prices[0] * move), 1.0)
    up = own_unit_prices(MARKET, prices)
    if equal_prices:
        up = np.full(MARKET.size, up[0])
    assert _largest(MARKET, x, up).tolist() == largest_reference(x, up)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_mask_extremes_are_the_min_and_max_over_each_masks_slots(checks: int, masks: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    slots = 6
    rho = rng.uniform(0.2, 2.0, (checks, slots))
    lo_bits, hi_bits = rng.random((masks, slots)) < 0.4, rng.random((masks, slots)) < 0.4
    lo, hi = _extremes(rho, lo_bits, hi_bits)
    for k in range(checks):
        for u in range(masks):
            assert lo[k, u] == (rho[k, lo_bits[u]].min() if lo_bits[u].any() else 1.0)
            assert hi[k, u] == (rho[k, hi_bits[u]].max() if hi_bits[u].any() else 1.0)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 300), st.integers(1, 6), st.booleans(), st.booleans(), st.integers(0, 2**32 - 1))
def test_between_selects_what_a_per_account_comparison_selects(n: int, masks: int, uniform: bool, lower: bool,
                                                               seed: int) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    steps = np.array([1.04, 1.15, 2.0, np.inf])
    tau = np.where(rng.random(n) < 0.1, np.inf, rng.choice([0.9, 1.04, 1.1, 1.15, 1.5, 2.0, 3.0], n))
    ids = rng.integers(0, masks, n)
    high = np.full(masks, 1.15) if uniform else rng.choice(steps, masks)
    low = np.minimum(high, rng.choice(steps, masks)) if lower else None
    want = tau < high[ids]
    if low is not None:
        want &= tau >= low[ids]
    assert between(tau, ids, low, high).tolist() == np.flatnonzero(want).tolist()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.sampled_from([4, 1 << 16, COUNTED_KEYS, 1 << 40]), st.integers(0, 2**32 - 1))
def test_mask_ids_are_np_unique_by_counting_or_sorting(n: int, span: int, seed: int) -> None:
    """Small keys are counted, large ones sorted: the same distinct keys and inverse as ``np.unique``."""
    keys = np.random.default_rng(seed).integers(0, span, n, dtype=np.int64)
    unique, inverse = _unique(keys)
    want, want_inverse = np.unique(keys, return_inverse=True)
    assert unique.tolist() == want.tolist()
    assert inverse.tolist() == want_inverse.reshape(-1).tolist()


def in_range(order: np.ndarray, tau: np.ndarray, ids: np.ndarray, low: np.ndarray | None,
             high: np.ndarray) -> np.ndarray:  # fmt: skip
    """``order`` where ``low[ids] <= tau < high[ids]`` (``tau`` and ``ids`` in that order)."""
    keep = tau < high[ids]
    if low is not None:
        keep &= tau >= low[ids]
    out: np.ndarray = order[keep]
    return out


def test_the_views_lazily_sorted_tiers_select_what_a_sort_of_every_account_selects() -> None:
    """The unexposed accounts a slot's view hands over, for limits below, at and across the follow steps (in
    any order of asking, so tiers are sorted in at different times), equal those of one sort of every account
    by mask then tau (ties in row order), in the same order."""
    book = syn.book(syn.Population(20_000, seed=7))
    ex = Exposure(book, AaveV3Liquidation())
    rng = np.random.default_rng(3)
    masks = ex.masks.count
    steps = [*FOLLOW_STEPS, math.inf]
    for s in range(book.market.size):
        view = SlotView(ex, s)
        other, a, d, tau, _ = view._rest
        ids = ex.masks.ids[other]
        ref = np.lexsort((tau, ids))  # by mask, then tau; lexsort is stable: ties in row order
        for _ in range(6):
            old = rng.choice(steps[:-1], masks)
            new = np.maximum(old, rng.choice([*steps, 1.1, 3.0], masks))
            rows, fa, fd, ftau, starts = view.others(old)
            at = in_range(ref, tau[ref], ids[ref], None, old)
            assert rows.tolist() == other[at].tolist()
            assert np.array_equal(fa, a[at]) and np.array_equal(fd, d[at]) and np.array_equal(ftau, tau[at])
            assert starts.tolist() == np.searchsorted(ids[at], np.arange(masks + 1)).tolist()
            rows, fa, fd = view.others_between(old, new)
            at = in_range(ref, tau[ref], ids[ref], old, new)
            assert rows.tolist() == other[at].tolist()
            assert np.array_equal(fa, a[at]) and np.array_equal(fd, d[at])
        assert view._sorted == len(steps)  # every tier was reached (some limit was unbounded)
