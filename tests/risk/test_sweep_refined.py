"""The refined sweep (a coarse grid refined where it matters) against the exhaustive one (every step projected):
the same critical shocks (same bracket, same bisection) and, at every projected step, the same curve values."""

from __future__ import annotations

import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import AssetSweep, Limits, Projector, SweepResult, SweepSpec, sweep
from monitor.risk import synthetic as syn

MODEL = AaveV3Liquidation("v3.0")
#: (population, pool depth scale, limits): a crowded devnet mix, a calm one, thin pools, a bad-debt limit only.
CASES = {
    "devnet mix": (syn.Population(6_000, seed=3), 0.6, Limits()),
    "calm": (
        syn.Population(6_000, seed=4, hf_median=1.9, hf_sigma=0.45, hf_min=1.02, cluster_share=0.03),
        0.6,
        Limits(),
    ),
    "thin pools": (syn.Population(4_000, seed=5), 0.1, Limits(amplification=1.2, bad_debt_usd=50_000)),
    "bad debt only": (
        syn.Population(4_000, seed=6, hf_min=1.01, cluster_share=0.4),
        0.3,
        Limits(amplification=1e6, bad_debt_usd=20_000),
    ),
}


def compare(refined: SweepResult, exhaustive: SweepResult, spec: SweepSpec, *, curves: bool) -> None:
    """Critical shocks equal; every projected step of ``refined`` equal to the exhaustive sweep's."""
    assert [a.asset for a in refined.assets] == [a.asset for a in exhaustive.assets]
    for got, want in zip(refined.assets, exhaustive.assets, strict=True):
        assert got.critical_reason == want.critical_reason, got.symbol
        if want.critical_shock is None:
            assert got.critical_shock is None, got.symbol
        else:
            assert got.critical_shock == pytest.approx(want.critical_shock, abs=spec.tolerance), got.symbol
        assert all(want.projected) and len(want.drops) == len(spec.drops)
        index = {d: i for i, d in enumerate(want.drops)}
        if curves:
            assert got.drops == want.drops and len(got.projected) == len(want.drops)
        for k, (d, projected) in enumerate(zip(got.drops, got.projected, strict=True)):
            if not projected:
                continue
            i = index[d]
            for field in (
                "final_drop",
                "amplification",
                "debt_repaid_usd",
                "accounts_liquidated",
                "new_bad_debt_usd",
                "rounds",
            ):
                assert getattr(got, field)[k] == getattr(want, field)[i], (got.symbol, d, field)


def projected_share(result: SweepResult) -> float:
    steps = [p for a in result.assets for p in a.projected]
    return sum(steps) / len(steps)


@pytest.mark.parametrize("case", list(CASES))
def test_refined_sweep_equals_the_exhaustive_one(case: str) -> None:
    population, depth, limits = CASES[case]
    book = syn.book(population)
    projector = Projector(book, syn.venues(book.market, tvl_scale=depth), model=MODEL)
    spec = SweepSpec()
    exhaustive = sweep(projector, None, spec, limits, exhaustive=True)
    refined = sweep(projector, None, spec, limits)
    critical_only = sweep(projector, None, spec, limits, curves=False)
    compare(refined, exhaustive, spec, curves=True)
    compare(critical_only, exhaustive, spec, curves=False)
    crossed = [a.symbol for a in exhaustive.assets if a.critical_shock is not None]
    share_critical = sum(len(a.drops) for a in critical_only.assets) / sum(len(a.drops) for a in exhaustive.assets)
    print(
        f"\n{case}: critical {[(a.symbol, a.critical_shock) for a in exhaustive.assets]}; projected share "
        f"refined {projected_share(refined):.0%}, critical-only {share_critical:.0%}"
    )
    assert crossed, "the case has a crossing to find"
    assert projected_share(refined) < 0.5
    worst = interpolation_error(refined.assets, exhaustive.assets)
    print(f"largest interpolation error of the final drop: {worst:.3f}")
    assert worst < 0.1, f"interpolated final drop off by {worst:.3f}"


def interpolation_error(refined: tuple[AssetSweep, ...], exhaustive: tuple[AssetSweep, ...]) -> float:
    """Largest difference of an interpolated final drop from the projected one (share of price)."""
    return max(
        (
            abs(g - w)
            for a, b in zip(refined, exhaustive, strict=True)
            for g, w in zip(a.final_drop, b.final_drop, strict=True)
        ),
        default=0.0,
    )


def test_assets_spread_over_processes_give_the_same_sweep() -> None:
    book = syn.book(syn.Population(2_000, seed=7))
    projector = Projector(book, syn.venues(book.market, tvl_scale=0.2), model=MODEL)
    spec = SweepSpec(drops=tuple(i / 50 for i in range(1, 45)))
    one = sweep(projector, None, spec, Limits())
    two = sweep(projector, None, spec, Limits(), workers=2)
    assert two == one and len(one.assets) == book.market.size
    with pytest.raises(DataError, match="workers"):
        sweep(projector, None, spec, Limits(), workers=0)
