"""The system's combined risk table (:class:`SystemTable`): the members' tables joined into one (see
:mod:`monitor.risk.system`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from monitor.errors import DataError
from monitor.risk.market import AssetParams, CascadeBook, RiskClass, RiskMarket
from monitor.risk.model import RiskInput

I64 = NDArray[np.int64]
Idx = NDArray[np.intp]


@dataclass(frozen=True)
class SystemMember:
    """One market of the system: its config name, protocol and the engine's input for it."""

    name: str
    protocol: str
    risk: RiskInput


class SystemTable:
    """The members' risk tables as one (see the module docstring) and the maps between them.

    ``columns[i]``: the combined asset column of each of member ``i``'s assets (its order); ``slots[i]``: the
    combined slot of each of its price slots; ``scale[i]``: its price units per combined price unit;
    ``rows[i]``: its first account row in the combined book; ``class_member`` / ``class_local``: per combined
    risk class, the member it belongs to and its index in that member's market; ``same_columns[i]`` /
    ``same_slots[i]``: whether the member's assets / slots are the combined ones in the same order."""

    def __init__(self, members: Sequence[SystemMember]) -> None:
        if not members:
            raise DataError("a system projection needs at least one market")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise DataError(f"market names must be unique in a system projection, got {names}")
        self.members = tuple(members)
        markets = [m.risk.book.market for m in members]
        first = markets[0]
        unit = first.price_unit
        self.scale: tuple[float, ...] = tuple(mk.price_unit / unit for mk in markets)
        assets: dict[str, AssetParams] = {}
        prices: dict[str, float] = {}
        for mk, scale in zip(markets, self.scale, strict=True):
            for j, a in enumerate(mk.assets):
                known = assets.get(a)
                if known is not None and known.decimals != mk.decimals[j]:
                    raise DataError(
                        f"asset {a} has {known.decimals} decimals in one market, {mk.decimals[j]} in another"
                    )
                if known is None:
                    own = mk is first
                    assets[a] = AssetParams(
                        a,
                        mk.symbols[j],
                        mk.decimals[j],
                        float(mk.lt[j]) if own else 0.0,
                        float(mk.bonus[j]) if own else 0.0,
                        float(mk.protocol_fee[j]),
                    )
            for s, a in enumerate(mk.slots):
                prices.setdefault(a, float(mk.prices[s]) if scale == 1.0 else float(mk.prices[s]) / scale)
        classes: list[RiskClass] = []
        class_member: list[int] = [0]
        class_local: list[int] = [0]
        for i, (member, mk) in enumerate(zip(members, markets, strict=True)):
            for k in range(0 if i else 1, mk.n_classes):
                classes.append(self._class(member.name if len(members) > 1 else "", mk, k, assets))
                class_member.append(i)
                class_local.append(k)
        self.market = RiskMarket(list(assets.values()), prices, unit, classes)
        m = self.market
        self.columns: tuple[Idx, ...] = tuple(
            np.array([m.column[a] for a in mk.assets], dtype=np.intp) for mk in markets
        )
        self.slots: tuple[Idx, ...] = tuple(np.array([m.slot[a] for a in mk.slots], dtype=np.intp) for mk in markets)
        self.identity: tuple[bool, ...] = tuple(
            len(markets) == 1 and bool(np.array_equal(s, np.arange(m.n_slots))) and sc == 1.0
            for s, sc in zip(self.slots, self.scale, strict=True)
        )
        self.same_columns: tuple[bool, ...] = tuple(bool(np.array_equal(c, np.arange(m.size))) for c in self.columns)
        self.same_slots: tuple[bool, ...] = tuple(bool(np.array_equal(s, np.arange(m.n_slots))) for s in self.slots)
        self.class_member: I64 = np.array(class_member, dtype=np.int64)
        self.class_local: I64 = np.array(class_local, dtype=np.int64)
        offsets = np.flatnonzero(np.diff(self.class_member, prepend=-1))  # first combined class of each member
        self.book = self._book(offsets)

    @staticmethod
    def _class(name: str, mk: RiskMarket, k: int, assets: Mapping[str, AssetParams]) -> RiskClass:
        """Member market ``mk``'s class ``k`` over the combined assets (0 for assets it does not list), named
        ``market:class`` (a one-market system keeps the market's own class names, as projected alone)."""
        lt = dict.fromkeys(assets, 0.0)
        bonus = dict.fromkeys(assets, 0.0)
        source: dict[str, str] = {}
        for j, a in enumerate(mk.assets):
            lt[a] = float(mk.lt_of[k][j])
            bonus[a] = float(mk.bonus_of[k][j])
            slot = int(mk.slot_of[k][j])
            if slot != j:
                source[a] = mk.slots[slot]
        return RiskClass(f"{name}:{mk.class_names[k]}" if name else mk.class_names[k], lt, bonus, source)

    def _book(self, class_offsets: Idx) -> CascadeBook:
        m = self.market
        books = [member.risk.book for member in self.members]
        sizes = [len(b) for b in books]
        self.rows: tuple[int, ...] = tuple(int(x) for x in np.cumsum([0, *sizes[:-1]]))
        n = sum(sizes)
        c, d = np.zeros((m.size, n)), np.zeros((m.size, n))
        risk_class = np.zeros(n, dtype=np.int64)
        for i, b in enumerate(books):
            at = slice(self.rows[i], self.rows[i] + sizes[i])
            c[self.columns[i], at] = b.collateral
            d[self.columns[i], at] = b.debt
            risk_class[at] = b.risk_class + class_offsets[i]  # a member's classes are consecutive
        addresses: tuple[str, ...] = ()
        if all(b.addresses for b in books):
            addresses = tuple(a for b in books for a in b.addresses)
        return CascadeBook(m, c, d, risk_class, addresses)

    def member_of(self, risk_class: I64) -> I64:
        """The member each account of the combined book belongs to, from its (combined) risk class."""
        out: I64 = self.class_member[risk_class]
        return out
