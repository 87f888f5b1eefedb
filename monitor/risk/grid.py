"""Which steps of a sweep to project: every step, or a coarse grid refined where it matters.

A :class:`Grid` holds the projections of one asset's sweep by step index. The refinement bisects the index
interval between two projected steps (down to adjacent steps) when

- the crossing flips between its ends (so the first crossing found has the step below it projected: the same
  bracket as projecting every step, hence the same critical shock);
- either end comes within ``NEAR`` of a limit (:func:`closeness`), where a crossing may hide in between
  (these two only below the first crossing known: above it no earlier crossing can hide);
- (curves only) a curve bends inside it: its chord departs from both neighbouring chords by more than ``MOVE``
  of that curve's range (the final drop beyond the shock's own share: by more than ``EXTRA_MOVE``), where linear
  interpolation would be coarse.

Between projected steps the curves are interpolated linearly in the drop (the amplification from the
interpolated final drop, counts rounded). A crossing confined between two projected steps that are far from the
limits and where nothing moves is the one thing the refinement can miss.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.risk.results import CascadeResult

#: Index distance between the steps of the coarse grid.
COARSE = 10
#: An end this close to a limit (1 = at the limit, see :func:`closeness`) gets its interval refined.
NEAR = 0.5
#: A chord departing from its neighbours by more than this share of the curve's range gets refined.
MOVE = 0.1
#: The same for the final drop beyond the shock (share of price).
EXTRA_MOVE = 0.02

Judge = Callable[[CascadeResult], tuple[str | None, float]]


@dataclass(frozen=True)
class Curves:
    """A sweep's curves (index ``i`` = ``drops[i]``) and which steps were projected."""

    drops: tuple[float, ...]
    final_drop: tuple[float, ...]
    amplification: tuple[float, ...]
    debt_repaid_usd: tuple[float, ...]
    accounts_liquidated: tuple[int, ...]
    new_bad_debt_usd: tuple[float, ...]
    rounds: tuple[int, ...]
    projected: tuple[bool, ...]


def closeness(amplification: float, bad_debt: float, limit_amplification: float, limit_bad_debt: float) -> float:
    """How close a cascade is to the limits: the larger of ``(amplification - 1) / (limit - 1)`` and
    ``bad debt / limit`` (1 = at a limit; an exceeded zero-width limit counts as infinitely close)."""
    amp = (amplification - 1.0) / (limit_amplification - 1.0) if limit_amplification > 1.0 else (
        float("inf") if amplification > 1.0 else 0.0)  # fmt: skip
    bad = bad_debt / limit_bad_debt if limit_bad_debt > 0 else (float("inf") if bad_debt > 0 else 0.0)
    return max(amp, bad)


class Grid:
    """Projections of one asset's drops by step index; ``judge`` says which limit a projection crosses (or
    None) and how close it is to the limits (:func:`closeness`)."""

    def __init__(
        self, project: Callable[[float], CascadeResult], drops: Sequence[float], asset: str, judge: Judge
    ) -> None:
        self.project = project
        self.drops = tuple(drops)
        self.asset = asset
        self.judge = judge
        self.results: dict[int, CascadeResult] = {}
        self.hits: dict[int, str | None] = {}
        self.near: dict[int, float] = {}

    def at(self, i: int) -> CascadeResult:
        """The projection of step ``i`` (made once)."""
        if i not in self.results:
            r = self.project(self.drops[i])
            self.results[i] = r
            self.hits[i], self.near[i] = self.judge(r)
        return self.results[i]

    def coarse(self) -> list[int]:
        """The coarse grid: every ``COARSE``-th step from the first, and the last."""
        n = len(self.drops)
        return sorted({*range(0, n, COARSE), n - 1})

    # -- strategies -------------------------------------------------------------------------------------------

    def every_step(self) -> None:
        """Project every step (the reference)."""
        for i in range(len(self.drops)):
            self.at(i)

    def refine_curves(self) -> None:
        """The coarse grid, refined for the crossing and for the curves."""
        grid = self.coarse()
        for i in grid:
            self.at(i)
        for i, j in itertools.pairwise(grid):
            self._refine(i, j, curves=True)

    def refine_to_first_crossing(self) -> None:
        """The coarse grid upwards, refined for the crossing only, up to the first crossing."""
        grid = self.coarse()
        self.at(grid[0])
        if self.hits[grid[0]]:
            return
        for i, j in itertools.pairwise(grid):
            self.at(j)
            self._refine(i, j, curves=False)
            if self.first_crossing() is not None:
                return

    def _refine(self, i: int, j: int, *, curves: bool) -> None:
        """Bisect ``(i, j)`` (both projected) while it needs it; without curves, stop at the first crossing."""
        if j - i <= 1 or not self._needs(i, j, curves):
            return
        m = (i + j) // 2
        self.at(m)
        self._refine(i, m, curves=curves)
        first = self.first_crossing()
        if not curves and first is not None and first <= m:
            return  # Branch: the first crossing is in the lower half: the upper half cannot hold an earlier one
        self._refine(m, j, curves=curves)

    def _needs(self, i: int, j: int, curves: bool) -> bool:
        first = self.first_crossing()
        if first is None or i < first:
            # Branch: below the first crossing (as far as known) a crossing may still hide in (i, j).
            hi, hj = bool(self.hits[i]), bool(self.hits[j])
            if hi != hj or (not (hi and hj) and max(self.near[i], self.near[j]) >= NEAR):
                return True
        return curves and self._bends(i, j)

    def _bends(self, i: int, j: int) -> bool:
        """Whether the chord over ``(i, j)`` disagrees with both neighbouring chords (a bend inside, not at
        an end) by more than the tolerances; an interval without a projected neighbour counts as bent."""
        done = sorted(self.results)
        h = max((k for k in done if k < i), default=None)
        k = min((x for x in done if x > j), default=None)
        for value, tolerance in self._values():
            v = {x: value(x) for x in (h, i, j, k) if x is not None}
            left = abs(v[j] - self._line(h, i, j, v)) if h is not None else float("inf")
            right = abs(v[i] - self._line(k, j, i, v)) if k is not None else float("inf")
            if min(left, right) > tolerance:
                return True
        return False

    def _line(self, a: int, b: int, at: int, v: dict[int, float]) -> float:
        """The value at step ``at`` on the line through steps ``a`` and ``b``."""
        x = self.drops
        return v[b] + (v[b] - v[a]) * (x[at] - x[b]) / (x[b] - x[a])

    def _values(self) -> list[tuple[Callable[[int], float], float]]:
        """The curves the refinement follows, with their tolerances (see the module docstring)."""
        a, rs = self.asset, self.results
        out: list[tuple[Callable[[int], float], float]] = [(lambda x: rs[x].drop(a) - self.drops[x], EXTRA_MOVE)]
        curves: tuple[Callable[[int], float], ...] = (
            lambda x: rs[x].debt_repaid_usd,
            lambda x: float(rs[x].accounts_liquidated),
            lambda x: rs[x].new_bad_debt_usd,
        )
        for value in curves:
            values = [value(x) for x in rs]
            out.append((value, MOVE * (max(values) - min(values))))
        return out

    # -- answers ----------------------------------------------------------------------------------------------

    def first_crossing(self) -> int | None:
        """The smallest projected step that crosses a limit."""
        return next((i for i in sorted(self.hits) if self.hits[i]), None)

    def curves(self, *, interpolate: bool) -> Curves:
        """Every step (interpolated between projected ones) or, without ``interpolate``, the projected steps."""
        done = sorted(self.results)
        steps = list(range(len(self.drops))) if interpolate else done
        a = self.asset
        final, debt, liq, bad, rounds = [], [], [], [], []
        for i in steps:
            lo = max(k for k in done if k <= i) if i >= done[0] else done[0]
            hi = min((k for k in done if k >= i), default=done[-1])
            r0, r1 = self.results[lo], self.results[hi]
            t = 0.0 if hi == lo else (self.drops[i] - self.drops[lo]) / (self.drops[hi] - self.drops[lo])
            final.append(_lerp(r0.drop(a), r1.drop(a), t))
            debt.append(_lerp(r0.debt_repaid_usd, r1.debt_repaid_usd, t))
            liq.append(round(_lerp(r0.accounts_liquidated, r1.accounts_liquidated, t)))
            bad.append(_lerp(r0.new_bad_debt_usd, r1.new_bad_debt_usd, t))
            rounds.append(round(_lerp(len(r0.rounds), len(r1.rounds), t)))
        amp = tuple(
            self.results[i].amplification.get(a, 1.0) if i in self.results else f / self.drops[i]
            for i, f in zip(steps, final, strict=True)
        )
        return Curves(
            drops=tuple(self.drops[i] for i in steps),
            final_drop=tuple(final),
            amplification=amp,
            debt_repaid_usd=tuple(debt),
            accounts_liquidated=tuple(liq),
            new_bad_debt_usd=tuple(bad),
            rounds=tuple(rounds),
            projected=tuple(i in self.results for i in steps),
        )


def _lerp(a: float, b: float, t: float) -> float:
    return a if t == 0.0 else b if t == 1.0 else a + (b - a) * t
