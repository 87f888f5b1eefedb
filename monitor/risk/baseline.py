"""The screening terms of every account right after the shock, and the *followed* set built from them.

A projection follows the accounts that can enter the watch set while the prices of each account's slots keep
their spread (max/min of ratios to the post-shock prices) within a limit per exposure mask, and the largest
ratio >= GUARD: ``a / limit - slack / GUARD < d``. Accounts are handed over in two groups: *hot* ones, checked
one by one every round, and *cold* ones, sorted per mask by ``tau = a / (d + slack / GUARD)`` so that a round
only looks at a prefix (an account with ``tau >= rho_max / rho_min`` and ``rho_max >= GUARD`` cannot be
liquidatable: ``a rho_min - slack >= d rho_max``).

For a shock of one price slot the accounts that slot does not price keep their terms, so they are sorted once
per book and slot (:class:`SlotView`) and every projection of that slot (a sweep) reuses the order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.risk.screen import GUARD, ROUNDING, Exposure

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
Idx = NDArray[np.intp]


def followed(a: F64, d: F64, slack: float, limit: F64 | float) -> Bool:
    """Accounts that can enter the watch set while the price ratios over their slots keep a spread (max/min)
    within ``limit`` of the post-shock prices and ``rho_max >= GUARD``."""
    out: Bool = (d > 0) & (a / limit - slack / GUARD < d)
    return out


@dataclass
class Followed:
    """Hot accounts (rows, terms) and cold ones (rows, terms, ``tau`` ascending within each mask's block
    ``starts[u]:starts[u + 1]``)."""

    rows: Idx
    a: F64
    d: F64
    cold_rows: Idx
    cold_a: F64
    cold_d: F64
    cold_tau: F64
    cold_starts: Idx


def per_account(limits: F64, ids: Idx) -> F64 | float:
    """``limits[ids]`` (a limit per exposure mask, for each account of mask ``ids``), or the one limit when every
    mask has the same (a scalar compares without gathering a value per account)."""
    first = float(limits[0]) if limits.size else 0.0
    if not limits.size or (limits == first).all():
        return first
    out: F64 = limits[ids]
    return out


def between(tau: F64, ids: Idx, low: F64 | None, high: F64) -> Idx:
    """Positions ``i`` (ascending) with ``low[ids[i]] <= tau[i] < high[ids[i]]`` (no lower bound without ``low``):
    first against the widest bounds over every mask (scalars), then, unless every mask has the same bounds, the
    few that pass against their own mask's (a gather of the candidates' limits, not of every account's)."""
    if not high.size:
        return np.zeros(0, dtype=np.intp)
    top = float(high.max())
    keep = tau < top
    if low is not None:
        keep &= tau >= float(low.min())
    cand = np.flatnonzero(keep)
    if (high == top).all() and (low is None or (low == low[0]).all()):
        return cand
    t, own = tau[cand], ids[cand]
    exact = t < high[own]
    if low is not None:
        exact &= t >= low[own]
    out: Idx = cand[exact]
    return out


class Baseline:
    """Bound terms ``(a, d)`` of every account at the post-shock prices (``d`` = 0: never liquidatable)."""

    slack: float

    def follow(self, limits: F64) -> Followed:
        """The accounts :func:`followed` with ``limits[mask]`` (per exposure mask), with their terms."""
        raise NotImplementedError

    def widen(self, old: F64, new: F64) -> tuple[Idx, F64, F64]:
        """Rows and terms of the accounts followed with limits ``new`` but not with ``old`` (``new >= old``)."""
        raise NotImplementedError


def _no_cold(masks: int) -> tuple[Idx, F64, F64, F64, Idx]:
    z = np.zeros(0)
    return np.zeros(0, dtype=np.intp), z, z, z, np.zeros(masks + 1, dtype=np.intp)


class DenseBaseline(Baseline):
    """Terms held for every account (several slots shocked): every followed account is hot."""

    def __init__(self, a: F64, d: F64, slack: float, ids: Idx, masks: int) -> None:
        self.a, self.d, self.slack, self.ids, self.masks = a, d, slack, ids, masks

    def follow(self, limits: F64) -> Followed:
        """See :class:`Baseline`."""
        rows = np.flatnonzero(followed(self.a, self.d, self.slack, per_account(limits, self.ids)))
        return Followed(rows, self.a[rows], self.d[rows], *_no_cold(self.masks))

    def widen(self, old: F64, new: F64) -> tuple[Idx, F64, F64]:
        """See :class:`Baseline`."""
        a, d, slack = self.a, self.d, self.slack
        rows = np.flatnonzero(
            followed(a, d, slack, per_account(new, self.ids)) & ~followed(a, d, slack, per_account(old, self.ids))
        )
        return rows, a[rows], d[rows]


#: The followed set covers price moves up to this spread (max/min of price ratios) from the post-shock prices,
#: and price levels down to GUARD times them; beyond, it is widened in these steps, then without bound (the
#: accounts it adds are followed as hot: :mod:`monitor.risk.watch`).
FOLLOW_STEPS = (1.04, 1.15, 2.0)


class SlotView:
    """For shocks of one price slot: the accounts it prices (*exposed*) with their sums and that slot's share,
    and the others sorted by mask and ``tau`` (their terms do not move).

    Only the others with ``tau`` below the limits asked for so far are sorted, in tiers cut at the follow
    steps: most projections follow only accounts below the first steps, and sorting every account was the
    largest part of building the view (the daemon builds one per shocked slot and block)."""

    def __init__(self, ex: Exposure, s: int) -> None:
        ws, ds = ex.slot(s)
        exposed = (ws > 0) | (ds > 0)
        live = ex.has_collateral
        self.slack = ex.slack
        self.scale = ex.scale
        self.masks = ex.masks.count
        self.rows: Idx = np.flatnonzero(exposed)
        self.w0, self.ws = ex.w0[self.rows], ws[self.rows]
        self.live = live[self.rows]
        # debt sums zeroed where no collateral is counted: such an account's post-shock debt term is 0 (never
        # liquidatable) without a selection per projection
        self.d0 = np.where(self.live, ex.d0[self.rows], 0.0)
        self.ds = np.where(self.live, ds[self.rows], 0.0)
        self.ids = ex.masks.ids[self.rows]
        other = np.flatnonzero(~exposed & live & (ex.d0 > 0))
        a, d = ex.terms(ex.w0[other], ex.d0[other])
        tau = a / (d + self.slack / GUARD)  # followed iff tau < limit
        self._mask_of = ex.masks.ids
        self._small = np.int16 if self.masks < 2**15 else np.intp
        # the accounts not sorted yet (row order) and their tier: tier ``t`` holds ``tau`` in
        # ``[FOLLOW_STEPS[t - 1], FOLLOW_STEPS[t])`` (the last one up from the last step)
        tier = np.searchsorted(np.array(FOLLOW_STEPS), tau, side="right").astype(np.int8)
        self._rest = (other, a, d, tau, tier)
        self._sorted = 0  # tiers ``[0, _sorted)`` are in the sorted arrays
        self.other: Idx = np.zeros(0, dtype=np.intp)
        self.other_a, self.other_d, self.tau = np.zeros(0), np.zeros(0), np.zeros(0)
        self.starts: Idx = np.zeros(self.masks + 1, dtype=np.intp)

    def _cover(self, limit: float) -> None:
        """Sort in every account with ``tau < limit`` (the tiers that reach below it)."""
        need = int(np.searchsorted(np.array(FOLLOW_STEPS), limit, side="left")) + 1
        if need <= self._sorted:
            return
        other, a, d, tau, tier = self._rest
        now = tier < need
        at, rest = np.flatnonzero(now), np.flatnonzero(~now)
        # by mask, then tau (ties in row order): a stable sort by tau, then a stable one by mask (a radix sort of
        # small integers), the same order as ``np.lexsort((tau, oid))`` in about half the time; the accounts
        # sorted before hold smaller tau, so they stay ahead within each mask
        at = at[np.argsort(tau[at], kind="stable")]
        rows = np.concatenate([self.other, other[at]])
        oid = self._mask_of[rows].astype(self._small)
        order = np.argsort(oid, kind="stable")
        self.other = rows[order]
        self.other_a = np.concatenate([self.other_a, a[at]])[order]
        self.other_d = np.concatenate([self.other_d, d[at]])[order]
        self.tau = np.concatenate([self.tau, tau[at]])[order]
        self.starts = np.searchsorted(oid[order], np.arange(self.masks + 1)).astype(np.intp)
        self._rest = (other[rest], a[rest], d[rest], tau[rest], tier[rest])
        self._sorted = need

    def others(self, limits: F64) -> tuple[Idx, F64, F64, F64, Idx]:
        """Unexposed accounts followed at ``limits[mask]``: rows, terms, tau, block starts per mask."""
        if limits.size:
            self._cover(float(limits.max()))
        parts = []
        sizes = np.zeros(self.masks, dtype=np.intp)
        for u in np.flatnonzero(self.starts[1:] > self.starts[:-1]).tolist():
            lo, hi = int(self.starts[u]), int(self.starts[u + 1])
            k = int(np.searchsorted(self.tau[lo:hi], limits[u], side="left"))
            if k:
                parts.append(np.arange(lo, lo + k))
                sizes[u] = k
        at = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        return self.other[at], self.other_a[at], self.other_d[at], self.tau[at], starts

    def others_between(self, old: F64, new: F64) -> tuple[Idx, F64, F64]:
        """Rows and terms of the unexposed accounts followed at ``new[mask]`` but not at ``old[mask]``."""
        if new.size:
            self._cover(float(new.max()))
        parts = []
        for u in np.flatnonzero((self.starts[1:] > self.starts[:-1]) & (new > old)).tolist():
            lo, hi = int(self.starts[u]), int(self.starts[u + 1])
            k0, k1 = np.searchsorted(self.tau[lo:hi], [old[u], new[u]], side="left").tolist()
            if k1 > k0:
                parts.append(np.arange(lo + k0, lo + k1))
        at = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        return self.other[at], self.other_a[at], self.other_d[at]


class SlotBaseline(Baseline):
    """Terms when one slot's price moved by ``ratio`` (see :class:`SlotView`): the exposed followed accounts
    are hot, the others cold."""

    def __init__(self, view: SlotView, ratio: float) -> None:
        self.v, self.slack = view, view.slack
        # in place: a few arrays of the exposed accounts' size instead of one per operation
        a = np.multiply(view.ws, ratio - 1.0)
        a += view.w0
        np.maximum(a, 0.0, out=a)
        a *= view.scale
        d = np.multiply(view.ds, ratio - 1.0)
        d += view.d0
        np.maximum(d, 0.0, out=d)
        d *= 1.0 + ROUNDING  # 0 without collateral (the view's debt sums are)
        self.a, self.d = a, d
        # followed iff tau < limit (as for the unexposed accounts); never without debt
        # (a selection by ``np.where``: a masked assignment is several times slower on a scattered mask)
        owes = d > 0
        tau = d + self.slack / GUARD
        np.divide(a, tau, out=tau, where=owes)
        self.tau = np.where(owes, tau, np.inf)

    def follow(self, limits: F64) -> Followed:
        """See :class:`Baseline`."""
        v = self.v
        mine = between(self.tau, v.ids, None, limits)
        return Followed(v.rows[mine], self.a[mine], self.d[mine], *v.others(limits))

    def widen(self, old: F64, new: F64) -> tuple[Idx, F64, F64]:
        """See :class:`Baseline`."""
        v = self.v
        mine = between(self.tau, v.ids, old, new)
        rows, a, d = v.others_between(old, new)
        return (
            np.concatenate([v.rows[mine], rows]),
            np.concatenate([self.a[mine], a]),
            np.concatenate([self.d[mine], d]),
        )


def baseline(ex: Exposure, ratios: dict[int, float]) -> Baseline:
    """Bound terms of every account when slot ``s``'s price is ``ratios[s]`` times the market's."""
    moved = {s: r for s, r in ratios.items() if r != 1.0}
    if len(moved) == 1:
        ((s, r),) = moved.items()
        view = ex.views.get(s)
        if not isinstance(view, SlotView):
            view = ex.views[s] = SlotView(ex, s)
        return SlotBaseline(view, r)
    w, d = ex.at(moved)
    a, dd = ex.terms(w, d)
    return DenseBaseline(a, np.where(ex.has_collateral, dd, 0.0), ex.slack, ex.masks.ids, ex.masks.count)
