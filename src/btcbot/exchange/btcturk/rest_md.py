"""MARKET_DATA_MODE=rest: the order book fetched on demand into the same BookSnapshot type as the WebSocket.

A 503 (the venue withholding a delayed book), a timeout or a rate limit is *unavailable data*: snapshot()
returns None and the freshness guard blocks trading. It never crashes the feed.
"""

from __future__ import annotations

import threading

from btcbot.domain.clock import Clock, SystemClock
from btcbot.domain.market import BookSnapshot
from btcbot.errors import ProtocolError, SymbolNotTradable, TransientError
from btcbot.exchange.btcturk.convert import norm_symbol, rest_book
from btcbot.exchange.btcturk.http import BtcturkHttp


class RestMarketData:
    def __init__(
        self, http: BtcturkHttp, symbols: tuple[str, ...], *, depth: int = 100, clock: Clock | None = None
    ) -> None:
        self._http = http
        self.symbols = tuple(norm_symbol(s) for s in symbols)
        self._depth = depth
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self.unavailable = 0  # fetches that gave no usable book
        self.last_error: str | None = None

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        return self.fetch(symbol)

    def fetch(self, symbol: str) -> BookSnapshot | None:
        try:
            data = self._http.order_book(norm_symbol(symbol), self._depth)
        except (TransientError, ProtocolError, SymbolNotTradable) as exc:
            with self._lock:
                self.unavailable += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
            return None
        return rest_book(
            symbol,
            data,
            received_monotonic_ns=self._clock.monotonic_ns(),
            received_wall_ms=self._clock.wall_ms(),
        )
