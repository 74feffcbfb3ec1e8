"""Market-data value types shared by the feed, the freshness guard and the strategy."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

MarketDataSourceKind = Literal["rest", "ws", "replay"]


@dataclass(frozen=True, slots=True)
class PriceLevel:
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """The freshest view of one symbol's book.

    ``exchange_ts_ms`` is the venue's own timestamp when it gives one (REST order book, ticker); WebSocket
    book frames carry none, so it is ``None`` there. ``received_monotonic_ns`` is the local monotonic clock
    at receipt, so the freshness guard can judge age both ways without trusting wall-clock jumps.
    """

    symbol: str
    bids: tuple[PriceLevel, ...]  # best (highest) first
    asks: tuple[PriceLevel, ...]  # best (lowest) first
    exchange_ts_ms: int | None
    received_monotonic_ns: int
    received_wall_ms: int
    source: MarketDataSourceKind
    sequence: int | None = None
    # False once the feed knows this book diverged from the venue (a sequence gap, a lost connection) and a
    # fresh full book is still to come: stale at once, whatever its receive time says.
    in_sync: bool = True

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2

    @property
    def is_valid(self) -> bool:
        """False when a side is empty, a level has a zero or negative price or amount, a side is not strictly
        sorted best first (bids descending, asks ascending), or the best bid is not strictly below the best ask.
        """
        bids, asks = self.bids, self.asks
        if not bids or not asks or bids[0].price >= asks[0].price:
            return False
        for side, descending in ((bids, True), (asks, False)):
            prev = None
            for lv in side:
                if lv.price <= 0 or lv.amount <= 0:
                    return False
                if prev is not None and (lv.price >= prev if descending else lv.price <= prev):
                    return False
                prev = lv.price
        return True
