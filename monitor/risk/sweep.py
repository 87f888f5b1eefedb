"""Shock sweeps and the critical shock.

A sweep projects a drop of one asset at each step (1% .. 90% by default) and keeps the curves: final drop,
amplification, debt repaid, accounts liquidated, new bad debt. The *critical shock* of an asset is the smallest
drop whose cascade crosses the limits (amplification or new bad debt above :class:`~monitor.risk.params.Limits`):
the first crossing step of the curve is bracketed with the step below it and narrowed by bisection down to the
tolerance (the cascade need not be monotonic in the drop; the search returns a crossing drop within that
bracket).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.risk.engine import Projector
from monitor.risk.params import Limits, SweepSpec
from monitor.risk.results import CascadeResult


@dataclass(frozen=True)
class AssetSweep:
    """The curves of one asset (index ``i`` = ``drops[i]``) and its critical shock (None: no step crosses)."""

    asset: str
    symbol: str
    drops: tuple[float, ...]
    final_drop: tuple[float, ...]
    amplification: tuple[float, ...]
    debt_repaid_usd: tuple[float, ...]
    accounts_liquidated: tuple[int, ...]
    new_bad_debt_usd: tuple[float, ...]
    rounds: tuple[int, ...]
    critical_shock: float | None
    critical_reason: str | None  # "amplification" or "bad_debt"


@dataclass(frozen=True)
class SweepResult:
    """Every swept asset, with the limits used."""

    limits: Limits
    assets: tuple[AssetSweep, ...]


BASELINE_SHOCK = 1e-9  # the "no shock" projection: what the liquidations already due do on their own


def crossing(result: CascadeResult, asset: str, limits: Limits, baseline: CascadeResult | None = None) -> str | None:
    """Which limit a cascade crosses: ``"amplification"``, ``"bad_debt"`` or None.

    With a ``baseline`` (the same book projected with no shock), both limits apply to what the shock adds:
    a market that already holds liquidatable accounts cascades a little on its own, and that drift is not the
    shock's doing (else the critical shock of such a market would read ~0 and flap as the drift comes and goes).
    """
    if baseline is None:
        amplification = result.amplification.get(asset, 1.0)
        bad_debt = result.new_bad_debt_usd
    else:
        shock = -result.shocks.get(asset, 0.0)
        extra = result.drop(asset) - baseline.drop(asset)
        amplification = (extra + BASELINE_SHOCK) / shock if shock > 0 else 1.0
        bad_debt = result.new_bad_debt_usd - baseline.new_bad_debt_usd
    if amplification > limits.amplification:
        return "amplification"
    if bad_debt > limits.bad_debt_usd:
        return "bad_debt"
    return None


def collateral_assets(projector: Projector) -> list[str]:
    """Assets that count as collateral (LT > 0 in some risk class) and that some account holds."""
    m, b = projector.market, projector.book
    held = b.collateral.sum(axis=1) > 0
    counts = m.lt_table.max(axis=0) > 0
    return [a for j, a in enumerate(m.assets) if counts[j] and held[j]]


def critical_shock(
    projector: Projector,
    asset: str,
    limits: Limits,
    below: float,
    above: float,
    tolerance: float = 0.001,
    reason: str | None = None,
) -> tuple[float, str | None]:
    """Bisect between a drop that does not cross (``below``) and one that does (``above``, crossing for
    ``reason`` when the caller already knows it)."""
    key = projector.market.resolve(asset)
    base = projector.project({key: -BASELINE_SHOCK})
    reason = reason or crossing(projector.project({key: -above}), key, limits, base)
    while above - below > tolerance:
        mid = (below + above) / 2.0
        hit = crossing(projector.project({key: -mid}), key, limits, base)
        if hit:
            above, reason = mid, hit
        else:
            below = mid
    return above, reason


def sweep_asset(projector: Projector, asset: str, spec: SweepSpec, limits: Limits) -> AssetSweep:
    """One asset's curves and critical shock."""
    m = projector.market
    key = m.resolve(asset)
    results = [projector.project({key: -d}) for d in spec.drops]
    base = projector.project({key: -BASELINE_SHOCK})
    hits = [crossing(r, key, limits, base) for r in results]
    critical: float | None = None
    reason: str | None = None
    first = next((i for i, h in enumerate(hits) if h), None)
    if first is not None:
        below = spec.drops[first - 1] if first else 0.0
        critical, reason = critical_shock(projector, key, limits, below, spec.drops[first], spec.tolerance, hits[first])
    return AssetSweep(
        asset=key,
        symbol=m.symbols[m.column[key]] if key in m.column else key,
        drops=spec.drops,
        final_drop=tuple(r.drop(key) for r in results),
        amplification=tuple(r.amplification.get(key, 1.0) for r in results),
        debt_repaid_usd=tuple(r.debt_repaid_usd for r in results),
        accounts_liquidated=tuple(r.accounts_liquidated for r in results),
        new_bad_debt_usd=tuple(r.new_bad_debt_usd for r in results),
        rounds=tuple(len(r.rounds) for r in results),
        critical_shock=critical,
        critical_reason=reason,
    )


def sweep(
    projector: Projector,
    assets: Sequence[str] | None = None,
    spec: SweepSpec | None = None,
    limits: Limits | None = None,
) -> SweepResult:
    """Sweep ``assets`` (default: every collateral asset some account holds)."""
    spec = spec or SweepSpec()
    limits = limits or Limits()
    names = list(assets) if assets else collateral_assets(projector)
    return SweepResult(limits, tuple(sweep_asset(projector, a, spec, limits) for a in names))
