"""The watch set of each round: the followed accounts (:mod:`monitor.risk.baseline`) whose screening bound
(:mod:`monitor.risk.screen`) is below 1 at the current prices, with their balances and exact health.

Accounts that were watched once (hot) are checked against the prices of their last look; the others (cold) by
a prefix of a per-mask order. When the prices of some mask leave the followed range, that mask's range is
widened in steps (``FOLLOW_STEPS``, then unbounded) and the accounts it adds are followed as hot ones.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from monitor.risk.baseline import FOLLOW_STEPS, Baseline, followed
from monitor.risk.health import Health
from monitor.risk.market import CascadeBook
from monitor.risk.screen import GUARD, Exposure, linear_sums, may_liquidate
from monitor.risk.state import Overlay

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]

#: Above this share of the book in the watch set, recompute every followed account's bound at current prices.
RELINEAR = 0.4


class Watch:
    """Followed accounts with their screening terms, and the prices of every look (``checks``)."""

    def __init__(self, exposure: Exposure, baseline: Baseline, overlay: Overlay, ref: F64) -> None:
        self.ex = exposure
        self.book: CascadeBook = exposure.book
        self.m = self.book.market
        self.baseline = baseline
        self.overlay = overlay
        self.ref = ref
        self.prices = ref
        self.checks: list[F64] = [ref]
        self.masks = exposure.masks
        self.refollow(np.full(self.masks.count, FOLLOW_STEPS[0]))

    def refollow(self, limits: F64) -> None:
        """Follow every account that can be watched while the spread of its slots' prices from the post-shock
        ones stays <= ``limits[mask]`` (and rho_max >= GUARD); their bounds restart from the post-shock prices.
        Positions ``[0, hot)`` of the followed arrays are hot, the rest cold (see :mod:`monitor.risk.baseline`).
        """
        self.limits = limits
        f = self.baseline.follow(limits)
        rows, a, d = f.rows, f.a, f.d
        cold, ca, cd = f.cold_rows, f.cold_a, f.cold_d
        ov = self.overlay
        if ov.n:
            # Branch: accounts liquidated so far follow from their current balances, not the baseline.
            keep = ov.pos[rows] < 0
            rows, a, d = rows[keep], a[keep], d[keep]
            t = ov.touched
            oc, od = ov.balances
            ta, td = self.ex.terms(*linear_sums(self.book, oc, od, self.book.risk_class[t], self.ref))
            td = np.where(oc.sum(axis=0) > 0, td, 0.0)
            sel = np.flatnonzero(followed(ta, td, self.ex.slack, limits[self.masks.ids[t]]))
            rows, a, d = np.concatenate([rows, t[sel]]), np.concatenate([a, ta[sel]]), np.concatenate([d, td[sel]])
        hot = rows.size
        self.follow: Idx = np.concatenate([rows, cold])
        self.fa: F64 = np.concatenate([a, ca])
        self.fd: F64 = np.concatenate([d, cd])
        self.fsided: Idx = self.masks.sided_ids[self.follow]
        #: ``check * sided masks + sided mask`` of each followed account: where its spreads since its last look
        #: are in the flattened ``(checks, sided masks)`` table (check 0: the post-shock prices)
        self.fkey: Idx = self.fsided.copy()
        self.cold_tau: F64 = f.cold_tau
        self.cold_starts: Idx = f.cold_starts + hot
        #: The mask of each cold position (its block).
        self.cold_block: Idx = np.repeat(np.arange(f.cold_starts.size - 1), np.diff(f.cold_starts))
        self.hot = np.zeros(self.follow.size, dtype=bool)
        self.hot[:hot] = True
        self.hot_pos: Idx = np.arange(hot)

    def widen(self, limits: F64) -> None:
        """Follow as well the accounts the wider ``limits`` add, from their post-shock terms, as hot accounts
        appended after the others (the cold blocks keep their order). Every account liquidated so far was
        watched, hence is followed already, with its current terms."""
        rows, a, d = self.baseline.widen(self.limits, limits)
        self.limits = limits
        if self.overlay.n:
            keep = self.overlay.pos[rows] < 0
            rows, a, d = rows[keep], a[keep], d[keep]
        start = self.follow.size
        self.follow = np.concatenate([self.follow, rows])
        self.fa, self.fd = np.concatenate([self.fa, a]), np.concatenate([self.fd, d])
        sided = self.masks.sided_ids[rows]
        self.fsided = np.concatenate([self.fsided, sided])
        self.fkey = np.concatenate([self.fkey, sided])
        self.hot = np.concatenate([self.hot, np.ones(rows.size, dtype=bool)])
        self.hot_pos = np.concatenate([self.hot_pos, np.arange(start, start + rows.size)])

    def relinear(self) -> None:
        """Bound terms of every followed account at the current prices (a new check)."""
        b, ov = self.book, self.overlay
        w, d = linear_sums(b, b.collateral, b.debt, b.risk_class, self.prices, self.ex.members)
        if ov.n:
            t = ov.touched
            w[t], d[t] = linear_sums(b, *ov.balances, b.risk_class[t], self.prices)
        a, dd = self.ex.terms(w[self.follow], d[self.follow])
        live = self.ex.has_collateral[self.follow]
        p = ov.pos[self.follow]
        mine = np.flatnonzero(p >= 0)
        live[mine] = ov.c[:, p[mine]].sum(axis=0) > 0
        self.checks.append(self.prices.copy())
        self.fa, self.fd = a, np.where(live, dd, 0.0)
        self.fkey = self.fsided + (len(self.checks) - 1) * self.masks.sided_count
        self.hot[:] = True
        self.hot_pos = np.arange(self.follow.size)

    def _cold_candidates(self, lo0: F64, hi0: F64, sided_lo: F64, sided_hi: F64) -> Idx:
        """Cold followed accounts whose bound (from the post-shock prices) is below 1 now: per mask, the prefix
        with ``tau <= rho_max / rho_min`` (all of the mask's when ``rho_max < GUARD``) not watched yet, then
        checked with the sided bound (:mod:`monitor.risk.masks`; ``sided_lo`` / ``sided_hi``: the sided spreads
        since the post-shock prices)."""
        start = int(self.cold_starts[0])
        if self.cold_tau.size == 0:
            return np.zeros(0, dtype=np.intp)
        # within a mask's block tau ascends, so ``tau <= limit of its mask`` is the block's prefix that a
        # search per mask would find: one comparison over the cold accounts instead of a search per mask
        limit = np.where(hi0 >= GUARD, hi0 / lo0 * (1.0 + 1e-9), np.inf)
        near = self.cold_tau <= limit[self.cold_block]
        near &= ~self.hot[start : start + self.cold_tau.size]
        cand: Idx = np.flatnonzero(near)
        cand += start
        sided = self.fsided[cand]
        keep = may_liquidate(self.fa[cand], self.fd[cand], self.ex.slack, sided_lo[sided], sided_hi[sided])
        out: Idx = cand[keep]
        return out

    def _hot_candidates(self, lo_k: F64, hi_k: F64) -> Idx:
        """Accounts watched before whose sided bound, from the prices of their last look, is below 1 now
        (``lo_k`` / ``hi_k``: the sided spreads since each look, ``(checks, sided masks)``).

        Hot accounts whose terms say never liquidatable (``fd`` 0: no debt or no collateral left, which stays so
        until :meth:`relinear` follows every account again) leave ``hot_pos`` here, once their ``fd`` is read."""
        hp = self.hot_pos
        if hp.size == 0:
            return hp
        fd = self.fd[hp]
        alive = fd > 0
        if not alive.all():
            hp, fd = hp[alive], fd[alive]
            self.hot_pos = hp
        at = self.fkey[hp]
        lo, hi = np.take(lo_k, at), np.take(hi_k, at)
        out: Idx = hp[may_liquidate(self.fa[hp], fd, self.ex.slack, lo, hi)]
        return out

    def screen(self, prices: F64) -> tuple[Idx, Idx, F64, F64, Health]:
        """The watch set at ``prices`` (positions in the followed set, book rows), balances and exact health;
        the watched accounts' bounds move to these prices."""
        self.prices = prices
        lo0, hi0 = (x[0] for x in self.masks.spreads(self.prices / self.ref))
        out = ((hi0 / lo0 > self.limits) | (hi0 < GUARD)) & np.isfinite(self.limits)
        if out.any():
            # Branch: some masks' prices left the followed range: widen theirs in steps.
            wider = self.limits.copy()
            for u in np.flatnonzero(out).tolist():
                step = next((x for x in FOLLOW_STEPS if x >= hi0[u] / lo0[u]), math.inf)
                wider[u] = step if hi0[u] >= GUARD else math.inf
            self.widen(wider)
        # the sided spreads since every look (row 0: since the post-shock prices, what the cold accounts' terms
        # are from)
        lo_k, hi_k = self.masks.sided_spreads(self.prices / np.array(self.checks))
        wpos = np.concatenate([self._cold_candidates(lo0, hi0, lo_k[0], hi_k[0]), self._hot_candidates(lo_k, hi_k)])
        if wpos.size > RELINEAR * len(self.book):
            # Branch: prices moved so much that the spread bound flags a large share: one linear pass over
            # every followed account at the current prices is cheaper than that many exact health factors.
            self.relinear()
            wpos = np.flatnonzero(may_liquidate(self.fa, self.fd, self.ex.slack, 1.0, 1.0))
        fresh = wpos[~self.hot[wpos]]
        self.hot[fresh] = True
        self.hot_pos = np.concatenate([self.hot_pos, fresh])
        order, c, d = self.overlay.get(self.follow[wpos])
        wpos = wpos[order]
        watch = self.follow[wpos]
        h = self.ex.model.health(self.m, c, d, self.book.risk_class[watch], self.prices)
        self.checks.append(self.prices.copy())
        a, dd = self.ex.terms_exact(h)
        # no collateral or no debt (in base units, as the pool sees it): never liquidatable from here on
        self.fa[wpos], self.fd[wpos] = a, np.where((h.t > 0) & (h.d > 0), dd, 0.0)
        self.fkey[wpos] = self.fsided[wpos] + (len(self.checks) - 1) * self.masks.sided_count
        return wpos, watch, c, d, h

    def moved(self, fpos: Idx, c: F64, d: F64, risk_class: NDArray[np.int64], live: NDArray[np.bool_]) -> None:
        """New balances of followed positions ``fpos`` (liquidated at the current prices): their terms."""
        a, dd = self.ex.terms(*linear_sums(self.book, c, d, risk_class, self.prices))
        self.fa[fpos], self.fd[fpos] = a, np.where(live, dd, 0.0)
