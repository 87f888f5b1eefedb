"""Conversion of account inputs to the book's reserve-major columns, with validation against the market."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.protocols.aave_v3.book.inputs import AccountInput
from monitor.protocols.aave_v3.book.tables import MarketTables

Obj = NDArray[np.object_]


def resized(old: NDArray[np.generic] | None, cap: int, n: int, dtype: type[np.generic]) -> NDArray[np.generic]:
    """A length-``cap`` array holding the first ``n`` entries of ``old`` (``old`` itself when already that size)."""
    if old is not None and old.size == cap:
        return old
    new = np.zeros(cap, dtype=dtype)
    if old is not None:
        keep = min(n, old.size)
        new[:keep] = old[:keep]
    return new


def check_config(tables: MarketTables, address: str, config: int) -> None:
    """:class:`DataError` when ``config`` flags a reserve id the market does not have."""
    stray = config & ~tables.known_bits
    if stray:
        ids = sorted({(b.bit_length() - 1) // 2 for b in _bits(stray)})
        raise DataError(f"account {address}: configuration flags reserve ids {ids} unknown to the market")


def _bits(value: int) -> Iterable[int]:
    while value:
        low = value & -value
        yield low
        value ^= low


def position_matrices(tables: MarketTables, accounts: Sequence[AccountInput]) -> tuple[Obj, Obj, Obj]:
    """``(scaled_atoken, scaled_variable_debt, stable_debt)`` as ``(R, k)`` object arrays of ``accounts``."""
    shape = (tables.size, len(accounts))
    sc: Obj = np.zeros(shape, dtype=object)
    sv: Obj = np.zeros(shape, dtype=object)
    st: Obj = np.zeros(shape, dtype=object)
    for i, acc in enumerate(accounts):
        for asset, pos in acc.positions.items():
            j = tables.column.get(asset)
            if j is None:
                raise DataError(f"account {acc.address}: position in {asset}, not a reserve of the market")
            sc[j, i], sv[j, i], st[j, i] = pos.scaled_atoken, pos.scaled_variable_debt, pos.stable_debt
    return sc, sv, st


def uint_matrix(values: NDArray[np.generic], shape: tuple[int, int], what: str) -> Obj:
    """``(accounts, reserves)`` ints -> reserve-major object array of Python ints, validated."""
    arr = np.asarray(values)
    if arr.shape != shape:
        raise DataError(f"{what}: shape {arr.shape}, expected {shape} (accounts, reserves)")
    if arr.dtype.kind in "iu":
        if arr.size and arr.min() < 0:
            raise DataError(f"{what}: negative balance")
        out: Obj = arr.T.astype(object)
        return out
    if arr.dtype != object:
        raise DataError(f"{what}: expected integers, got dtype {arr.dtype}")
    flat = arr.ravel().tolist()
    if not set(map(type, flat)) <= {int}:
        raise DataError(f"{what}: every entry must be an int")
    if flat and (min(flat) < 0 or max(flat) >= 1 << 256):
        raise DataError(f"{what}: entries must be uint256")
    return np.ascontiguousarray(arr.T)
