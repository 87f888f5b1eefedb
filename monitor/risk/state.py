"""Per-projection account state: the book's balances stay read-only; accounts a projection liquidates get a
private copy (an overlay), so a projection costs in proportion to what it touches, not to the book."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from monitor.risk.market import CascadeBook

F64 = NDArray[np.float64]
Idx = NDArray[np.intp]


class Overlay:
    """Balances of the accounts a projection changed; ``pos`` maps a book row to its overlay column (-1: none).

    ``pos`` is borrowed from the caller (one array per book, all -1) and restored by :meth:`release`; so are
    the balance ``buffers`` when given (``(reserves, accounts)`` each, reused between projections).
    """

    def __init__(self, book: CascadeBook, pos: NDArray[np.int64], buffers: tuple[F64, F64] | None = None) -> None:
        self.book = book
        self.pos = pos
        r = book.market.size
        # Branch: reusable (reserves, accounts) buffers never need to grow.
        self.c, self.d = buffers if buffers is not None else (np.empty((r, 1024)), np.empty((r, 1024)))
        self.rows: Idx = np.empty(self.c.shape[1], dtype=np.intp)
        self.n = 0

    def get(self, rows: Idx) -> tuple[Idx, F64, F64]:
        """Current balances of book ``rows``: ``(order, c, d)`` with column ``i`` = ``rows[order[i]]``
        (accounts from the book first, then changed ones: each value is gathered once)."""
        if not self.n:
            return (
                np.arange(rows.size),
                np.take(self.book.collateral, rows, axis=1),
                np.take(self.book.debt, rows, axis=1),
            )
        p = self.pos[rows]
        mine = p >= 0
        fresh, changed = np.flatnonzero(~mine), np.flatnonzero(mine)
        pf, pc = rows[fresh], p[changed]
        b = self.book
        if not pf.size or not pc.size:
            # Branch: one source only: one gather of every row at once
            src_c, src_d, at = (b.collateral, b.debt, pf) if pf.size else (self.c, self.d, pc)
            return np.concatenate([fresh, changed]), np.take(src_c, at, axis=1), np.take(src_d, at, axis=1)
        # both: row by row into the two halves of one array (gathering each part whole, then joining them,
        # copies every value twice)
        nf = pf.size
        c, d = np.empty((b.collateral.shape[0], rows.size)), np.empty((b.debt.shape[0], rows.size))
        for j in range(c.shape[0]):
            np.take(b.collateral[j], pf, out=c[j, :nf])
            np.take(self.c[j], pc, out=c[j, nf:])
            np.take(b.debt[j], pf, out=d[j, :nf])
            np.take(self.d[j], pc, out=d[j, nf:])
        return np.concatenate([fresh, changed]), c, d

    def put(self, rows: Idx, c: F64, d: F64) -> None:
        """Store new balances of book ``rows``."""
        if self.n:
            # (nothing stored yet: every row is new, without looking up positions scattered over the book's)
            p = self.pos[rows]
            new = np.flatnonzero(p < 0)
            if new.size < rows.size:
                # Branch: some stored already: their columns are overwritten; the new ones take the next columns.
                if new.size:
                    self._grow(self.n + new.size)
                    slots = np.arange(self.n, self.n + new.size)
                    self.pos[rows[new]] = slots
                    self.rows[slots] = rows[new]
                    p[new] = slots
                    self.n += new.size
                self.c[:, p] = c
                self.d[:, p] = d
                return
        # Branch: all of them new: they take the next columns in order (a slice, not a scatter).
        k = rows.size
        self._grow(self.n + k)
        at = slice(self.n, self.n + k)
        self.pos[rows] = np.arange(self.n, self.n + k)
        self.rows[at] = rows
        self.n += k
        self.c[:, at] = c
        self.d[:, at] = d

    def _grow(self, need: int) -> None:
        cap = self.rows.size
        if need <= cap:
            return
        cap = max(need, 2 * cap)
        rows = np.empty(cap, dtype=np.intp)
        rows[: self.n] = self.rows[: self.n]
        c, d = np.empty((self.c.shape[0], cap)), np.empty((self.d.shape[0], cap))
        c[:, : self.n], d[:, : self.n] = self.c[:, : self.n], self.d[:, : self.n]
        self.rows, self.c, self.d = rows, c, d

    @property
    def balances(self) -> tuple[F64, F64]:
        """Overlay balances, column ``i`` = book row ``touched[i]``."""
        return self.c[:, : self.n], self.d[:, : self.n]

    @property
    def touched(self) -> Idx:
        """Book rows of every changed account."""
        return self.rows[: self.n]

    def release(self) -> None:
        """Give ``pos`` back all -1."""
        self.pos[self.rows[: self.n]] = -1
