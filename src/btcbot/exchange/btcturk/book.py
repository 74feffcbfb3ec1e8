"""An order book rebuilt from BTCTurk's 431 (full) and kept current by 432 (diff) frames.

Levels live in dicts keyed by price with sorted key lists beside them, so a diff costs a bisect and a publish
costs a slice: the reader thread can publish an immutable snapshot after every frame.

A level with a non-positive price or a negative amount is garbage from the venue. It is kept apart and shown at
the *top* of its side, so it comes through as such (``BookSnapshot.is_valid`` False) and the freshness guard
blocks, rather than the adapter quietly sorting it out of sight. A zero amount is the protocol's removal.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from btcbot.domain.market import BookSnapshot, MarketDataSourceKind, PriceLevel

CP_UPDATE = 0
CP_NEW = 1
CP_REMOVE = 3


class _Side:
    __slots__ = ("bad", "keys", "levels", "negate")

    def __init__(self, negate: bool) -> None:
        self.negate = negate
        # Keyed by sort key (the negated price for bids) so publishing is one C-level map over a slice.
        self.levels: dict[Decimal, PriceLevel] = {}
        self.keys: list[Decimal] = []  # ascending => best first
        self.bad: dict[Decimal, PriceLevel] = {}

    def reset(self, raw: Iterable[Mapping[str, Any]]) -> None:
        self.levels = {}
        self.bad = {}
        for lvl in raw:
            p, a = Decimal(lvl["P"]), Decimal(lvl["A"])
            if a == 0:
                continue
            if p > 0 and a > 0:
                self.levels[-p if self.negate else p] = PriceLevel(p, a)
            else:
                self.bad[p] = PriceLevel(p, a)
        self.keys = sorted(self.levels)

    def change(self, lvl: Mapping[str, Any]) -> None:
        price = Decimal(lvl["P"])
        amount = Decimal(lvl["A"])
        if self.bad:
            self.bad.pop(price, None)  # this frame replaces whatever garbage stood at this price
        key = -price if self.negate else price
        # CP 3 removes; an update to a zero size is a removal too (A still carries a number on removals).
        if int(lvl.get("CP", CP_UPDATE)) == CP_REMOVE or amount == 0:
            self._drop(key)
            return
        if price <= 0 or amount < 0:
            self._drop(key)
            self.bad[price] = PriceLevel(price, amount)
            return
        if key not in self.levels:
            insort(self.keys, key)
        self.levels[key] = PriceLevel(price, amount)

    def _drop(self, key: Decimal) -> None:
        if self.levels.pop(key, None) is not None:
            i = bisect_left(self.keys, key)
            if i < len(self.keys) and self.keys[i] == key:
                del self.keys[i]

    def top(self, depth: int) -> tuple[PriceLevel, ...]:
        good = tuple(map(self.levels.__getitem__, self.keys[:depth]))
        if self.bad:
            return (*self.bad.values(), *good)[:depth]
        return good


class OrderBook:
    __slots__ = ("_asks", "_bids", "seq", "symbol", "synced")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bids = _Side(negate=True)
        self._asks = _Side(negate=False)
        self.seq: int | None = None
        self.synced = False

    def reset(self, bids: Iterable[Mapping[str, Any]], asks: Iterable[Mapping[str, Any]], seq: int | None) -> None:
        self._bids.reset(bids)
        self._asks.reset(asks)
        self.seq = seq
        self.synced = True

    def unsync(self) -> None:
        self.synced = False

    def apply(self, bids: Iterable[Mapping[str, Any]], asks: Iterable[Mapping[str, Any]]) -> None:
        for lvl in bids:
            self._bids.change(lvl)
        for lvl in asks:
            self._asks.change(lvl)

    def snapshot(
        self,
        *,
        depth: int,
        received_monotonic_ns: int,
        received_wall_ms: int,
        source: MarketDataSourceKind = "ws",
    ) -> BookSnapshot:
        return BookSnapshot(
            symbol=self.symbol,
            bids=self._bids.top(depth),
            asks=self._asks.top(depth),
            exchange_ts_ms=None,  # WS book frames carry no timestamp
            received_monotonic_ns=received_monotonic_ns,
            received_wall_ms=received_wall_ms,
            source=source,
            sequence=self.seq,
        )
