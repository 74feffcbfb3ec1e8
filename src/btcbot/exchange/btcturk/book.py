"""An order book rebuilt from BTCTurk's 431 (full) and kept current by 432 (diff) frames.

Levels live in dicts keyed by price with sorted key lists beside them, so a diff costs a bisect and a publish
costs a slice: the reader thread can publish an immutable snapshot after every frame.
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


class OrderBook:
    __slots__ = ("_ask_keys", "_asks", "_bid_keys", "_bids", "seq", "symbol", "synced")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bids: dict[Decimal, PriceLevel] = {}
        self._asks: dict[Decimal, PriceLevel] = {}
        self._bid_keys: list[Decimal] = []  # negated prices, ascending => best bid first
        self._ask_keys: list[Decimal] = []  # prices ascending => best ask first
        self.seq: int | None = None
        self.synced = False

    def reset(self, bids: Iterable[Mapping[str, Any]], asks: Iterable[Mapping[str, Any]], seq: int | None) -> None:
        self._bids = {}
        self._asks = {}
        for lvl in bids:
            p, a = Decimal(lvl["P"]), Decimal(lvl["A"])
            if a > 0:
                self._bids[p] = PriceLevel(p, a)
        for lvl in asks:
            p, a = Decimal(lvl["P"]), Decimal(lvl["A"])
            if a > 0:
                self._asks[p] = PriceLevel(p, a)
        self._bid_keys = sorted(-p for p in self._bids)
        self._ask_keys = sorted(self._asks)
        self.seq = seq
        self.synced = True

    def unsync(self) -> None:
        self.synced = False

    def apply(self, bids: Iterable[Mapping[str, Any]], asks: Iterable[Mapping[str, Any]]) -> None:
        for lvl in bids:
            self._change(self._bids, self._bid_keys, lvl, negate=True)
        for lvl in asks:
            self._change(self._asks, self._ask_keys, lvl, negate=False)

    @staticmethod
    def _change(
        levels: dict[Decimal, PriceLevel], keys: list[Decimal], lvl: Mapping[str, Any], *, negate: bool
    ) -> None:
        price = Decimal(lvl["P"])
        amount = Decimal(lvl["A"])
        key = -price if negate else price
        # CP 3 removes; an update to a zero size is a removal too (A still carries a number on removals).
        if int(lvl.get("CP", CP_UPDATE)) == CP_REMOVE or amount <= 0:
            if levels.pop(price, None) is not None:
                i = bisect_left(keys, key)
                if i < len(keys) and keys[i] == key:
                    del keys[i]
            return
        if price not in levels:
            insort(keys, key)
        levels[price] = PriceLevel(price, amount)

    def snapshot(
        self,
        *,
        depth: int,
        received_monotonic_ns: int,
        received_wall_ms: int,
        source: MarketDataSourceKind = "ws",
    ) -> BookSnapshot:
        bids = self._bids
        asks = self._asks
        return BookSnapshot(
            symbol=self.symbol,
            bids=tuple(bids[-k] for k in self._bid_keys[:depth]),
            asks=tuple(asks[k] for k in self._ask_keys[:depth]),
            exchange_ts_ms=None,  # WS book frames carry no timestamp
            received_monotonic_ns=received_monotonic_ns,
            received_wall_ms=received_wall_ms,
            source=source,
            sequence=self.seq,
        )
