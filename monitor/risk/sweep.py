"""Shock sweeps and the critical shock.

A sweep projects a drop of one asset at the steps of :class:`~monitor.risk.params.SweepSpec` (1% .. 90% by
default) and keeps the curves: final drop, amplification, debt repaid, accounts liquidated, new bad debt. The
*critical shock* of an asset is the smallest drop whose cascade crosses the limits (amplification or new bad debt
above :class:`~monitor.risk.params.Limits`): the first crossing step of the curve is bracketed with the step
below it and narrowed by bisection down to the tolerance (the cascade need not be monotonic in the drop; the
search returns a crossing drop within that bracket).

Which steps are projected (:mod:`monitor.risk.grid`): the *exhaustive* sweep projects every step; the default
one projects a coarse grid and refines it only where the curve moves or bends, where it comes near the limits
and where the crossing flips, down to adjacent steps (so the first crossing it finds has the same bracket as the
exhaustive sweep's); the steps in between are interpolated (``AssetSweep.projected`` says which are which).
Without curves (``curves=False``, the daemon's critical shocks) it walks the coarse grid upwards and stops at the
first crossing, so the large drops, the most expensive projections, are only projected when no smaller one
crosses.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from monitor.errors import DataError
from monitor.risk.engine import Projector
from monitor.risk.grid import Grid, Judge, closeness
from monitor.risk.params import Limits, SweepSpec
from monitor.risk.results import CascadeResult


@dataclass(frozen=True)
class AssetSweep:
    """The curves of one asset (index ``i`` = ``drops[i]``; ``projected[i]``: projected, else interpolated
    between the nearest projected steps) and its critical shock (None: no step crosses)."""

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
    projected: tuple[bool, ...] = ()


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
    amplification, bad_debt = excess(result, asset, baseline)
    if amplification > limits.amplification:
        return "amplification"
    if bad_debt > limits.bad_debt_usd:
        return "bad_debt"
    return None


def excess(result: CascadeResult, asset: str, baseline: CascadeResult | None = None) -> tuple[float, float]:
    """The amplification and new bad debt (USD) :func:`crossing` compares with the limits."""
    if baseline is None:
        return result.amplification.get(asset, 1.0), result.new_bad_debt_usd
    shock = -result.shocks.get(asset, 0.0)
    extra = result.drop(asset) - baseline.drop(asset)
    amplification = (extra + BASELINE_SHOCK) / shock if shock > 0 else 1.0
    return amplification, result.new_bad_debt_usd - baseline.new_bad_debt_usd


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
    baseline: CascadeResult | None = None,
) -> tuple[float, str | None]:
    """Bisect between a drop that does not cross (``below``) and one that does (``above``, crossing for
    ``reason`` when the caller already knows it); ``baseline``: the no-shock projection when already made."""
    key = projector.market.resolve(asset)
    base = baseline or projector.project({key: -BASELINE_SHOCK})
    return bisect_shock(projector, key, lambda r: crossing(r, key, limits, base), below, above, tolerance, reason)


def bisect_shock(
    projector: Projector,
    key: str,
    hit: Callable[[CascadeResult], str | None],
    below: float,
    above: float,
    tolerance: float,
    reason: str | None = None,
) -> tuple[float, str | None]:
    """Narrow ``(below, above)`` (a drop of ``key`` that ``hit`` passes and one it stops, for ``reason`` when
    known) by bisection down to ``tolerance``: the stopped drop and why."""
    reason = reason or hit(projector.project({key: -above}))
    while above - below > tolerance:
        mid = (below + above) / 2.0
        why = hit(projector.project({key: -mid}))
        if why:
            above, reason = mid, why
        else:
            below = mid
    return above, reason


def first_shock(projector: Projector, asset: str, judge: Judge, spec: SweepSpec) -> tuple[float | None, str | None]:
    """The smallest drop of ``asset`` that ``judge`` stops (its reason and closeness as for the critical shock's
    grid): the coarse grid walked upwards to the first stopped step, then bisected; (None, None) if none is."""
    key = projector.market.resolve(asset)
    grid = Grid(lambda d: projector.project({key: -d}), spec.drops, key, judge)
    grid.refine_to_first_crossing()
    first = grid.first_crossing()
    if first is None:
        return None, None
    below = spec.drops[first - 1] if first else 0.0
    return bisect_shock(
        projector, key, lambda r: judge(r)[0], below, spec.drops[first], spec.tolerance, grid.hits[first]
    )


def sweep_asset(
    projector: Projector, asset: str, spec: SweepSpec, limits: Limits, *, exhaustive: bool = False, curves: bool = True
) -> AssetSweep:
    """One asset's curves and critical shock (see the module docstring for ``exhaustive`` and ``curves``)."""
    m = projector.market
    key = m.resolve(asset)
    base = projector.project({key: -BASELINE_SHOCK})

    def judge(r: CascadeResult) -> tuple[str | None, float]:
        return crossing(r, key, limits, base), closeness(*excess(r, key, base), limits.amplification,
                                                         limits.bad_debt_usd)  # fmt: skip

    grid = Grid(lambda d: projector.project({key: -d}), spec.drops, key, judge)
    if exhaustive:
        grid.every_step()
    elif curves:
        grid.refine_curves()
    else:
        grid.refine_to_first_crossing()
    critical: float | None = None
    reason: str | None = None
    first = grid.first_crossing()
    if first is not None:
        below = spec.drops[first - 1] if first else 0.0
        critical, reason = critical_shock(
            projector, key, limits, below, spec.drops[first], spec.tolerance, grid.hits[first], base
        )
    c = grid.curves(interpolate=curves)
    symbol = m.symbols[m.column[key]] if key in m.column else key
    return AssetSweep(asset=key, symbol=symbol, critical_shock=critical, critical_reason=reason, **asdict(c))


def sweep(
    projector: Projector,
    assets: Sequence[str] | None = None,
    spec: SweepSpec | None = None,
    limits: Limits | None = None,
    *,
    exhaustive: bool = False,
    curves: bool = True,
    workers: int = 1,
) -> SweepResult:
    """Sweep ``assets`` (default: every collateral asset some account holds).

    ``exhaustive``: project every step (the reference; the default refines a coarse grid). ``curves=False``:
    only the critical shocks are wanted; the curves then hold the projected steps only (``drops`` says which).
    ``workers`` > 1: the assets are spread over that many forked processes (POSIX only; not from a process
    whose other threads hold locks the children would need). The projector is arranged first
    (:meth:`Projector.arrange`).
    """
    spec = spec or SweepSpec()
    limits = limits or Limits()
    if workers < 1:
        raise DataError(f"workers must be at least 1, got {workers}")
    names = list(assets) if assets else collateral_assets(projector)
    projector.arrange()  # hundreds of projections: each cheaper in the engine's order
    jobs = [(a, spec, limits, exhaustive, curves) for a in names]
    if workers == 1 or len(names) < 2:
        return SweepResult(limits, tuple(_sweep_in(projector, job) for job in jobs))
    global _FORKED
    projector.before()  # the per-book sums every child needs: computed once, inherited
    _FORKED = projector
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(names))) as pool:
            out = pool.map(_sweep_forked, jobs, chunksize=1)
    finally:
        _FORKED = None
    return SweepResult(limits, tuple(out))


Job = tuple[str, SweepSpec, Limits, bool, bool]
#: The projector forked sweep workers inherit (set only while a pool runs).
_FORKED: Projector | None = None


def _sweep_in(projector: Projector, job: Job) -> AssetSweep:
    asset, spec, limits, exhaustive, curves = job
    return sweep_asset(projector, asset, spec, limits, exhaustive=exhaustive, curves=curves)


def _sweep_forked(job: Job) -> AssetSweep:
    if _FORKED is None:
        raise DataError("a sweep worker started without its projector")
    return _sweep_in(_FORKED, job)
