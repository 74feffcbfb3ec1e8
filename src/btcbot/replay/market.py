"""Recorded books, applied in virtual time: the one place a dataset's events touch state.

Events are applied *where they arrive*: whoever needs the market at virtual time T (the feed building a
snapshot, the venue answering a query) calls ``advance_to(T)`` and every event received at or before T is
applied to plain per-symbol dicts, in file order. Per event that is a few dict writes: no actor hop, no
Decimal parsing, no allocation of snapshot objects (those are built once per cycle, when asked for).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal

from btcbot.domain.market import BookSnapshot, PriceLevel
from btcbot.replay.dataset import DIFF, DatasetReader, Event

# Called for every applied event of a watched symbol (the venue matching resting orders).
EventListener = Callable[[Event], None]


class RecordedBook:
    """One symbol's book as price-string -> amount-string dicts, plus when it last changed."""

    __slots__ = ("asks", "bids", "broken", "cs", "exch_ms", "recv_ms", "snapshot_cache", "version")

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.recv_ms: int | None = None
        self.exch_ms: int | None = None
        self.cs: int | None = None
        # A diff that does not follow its predecessor leaves the book unknown until the next full book,
        # exactly like a live client that must resubscribe: the book then ages and the guard blocks it.
        self.broken = True
        self.snapshot_cache: BookSnapshot | None = None
        self.version = 0

    def levels(self, side: str) -> list[tuple[Decimal, Decimal]]:
        book = self.bids if side == "bids" else self.asks
        levels = [(Decimal(p), Decimal(a)) for p, a in book.items()]
        levels.sort(key=lambda lv: lv[0], reverse=side == "bids")
        # A zero amount is a removal; a negative one is garbage the book must show, as the live book does.
        return [lv for lv in levels if lv[1] != 0]

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        if self.recv_ms is None:
            return None
        if self.snapshot_cache is None:
            self.snapshot_cache = BookSnapshot(
                symbol=symbol,
                bids=tuple(PriceLevel(p, a) for p, a in self.levels("bids")),
                asks=tuple(PriceLevel(p, a) for p, a in self.levels("asks")),
                exchange_ts_ms=self.exch_ms,
                received_monotonic_ns=self.recv_ms * 1_000_000,
                received_wall_ms=self.recv_ms,
                source="replay",
                sequence=self.cs,
                in_sync=not self.broken,
            )
        return self.snapshot_cache


class RecordedMarket:
    """The dataset cursor plus the recorded books; thread-safe, time only moves forward."""

    def __init__(self, reader: DatasetReader) -> None:
        self.header = reader.header
        self.path = reader.path
        self._reader = reader
        self._chunks: Iterator[list[Event]] = reader.chunks()
        self._chunk: list[Event] = []
        self._i = 0
        self.books: dict[str, RecordedBook] = {s: RecordedBook() for s in reader.header.symbols}
        self._watch: dict[str, EventListener] = {}
        # One lock for the market and the venue that listens to it: a single lock order, no deadlock.
        self.lock = threading.RLock()
        self._lock = self.lock
        self.events_applied = 0
        self.exhausted = False
        self._on_exhausted: list[Callable[[], None]] = []
        self.last_event_ms: int | None = None

    def first_event_ms(self) -> int | None:
        """The receive time of the first event (loads the first chunk); None for an empty dataset."""
        with self._lock:
            if not self._fill():
                return None
            return int(self._chunk[self._i][1])

    def on_exhausted(self, callback: Callable[[], None]) -> None:
        self._on_exhausted.append(callback)

    def watch(self, symbol: str, listener: EventListener | None) -> None:
        with self._lock:
            if listener is None:
                self._watch.pop(symbol, None)
            else:
                self._watch[symbol] = listener

    def _fill(self) -> bool:
        while self._i >= len(self._chunk):
            nxt = next(self._chunks, None)
            if nxt is None:
                return False
            self._chunk, self._i = nxt, 0
        return True

    def advance_to(self, now_ms: int) -> int:
        """Apply every event received at or before ``now_ms``; returns how many were applied."""
        with self._lock:
            if self.exhausted:
                return 0
            applied = self._apply_until(now_ms)
            if self.exhausted:
                for cb in self._on_exhausted:
                    cb()
            return applied

    def _apply_until(self, now_ms: int) -> int:
        books = self.books
        watch = self._watch
        applied = 0
        while True:
            chunk, i = self._chunk, self._i
            n = len(chunk)
            while i < n:
                ev = chunk[i]
                recv = ev[1]
                if recv > now_ms:
                    self._i = i
                    self.events_applied += applied
                    return applied
                i += 1
                applied += 1
                book = books[ev[3]]
                if ev[0] == DIFF:
                    cs = ev[4]
                    if book.broken or (cs is not None and book.cs is not None and cs != book.cs + 1):
                        if not book.broken:
                            book.broken = True
                            book.snapshot_cache = None  # out of sync from now on, as the live feed says
                        continue
                    bids = book.bids
                    for p, a, c in ev[5]:
                        if c == 3:
                            bids.pop(p, None)
                        else:
                            bids[p] = a
                    asks = book.asks
                    for p, a, c in ev[6]:
                        if c == 3:
                            asks.pop(p, None)
                        else:
                            asks[p] = a
                else:
                    book.bids = {lv[0]: lv[1] for lv in ev[5]}
                    book.asks = {lv[0]: lv[1] for lv in ev[6]}
                    book.broken = False
                book.cs = ev[4]
                book.recv_ms = recv
                book.exch_ms = ev[2]
                book.snapshot_cache = None
                book.version += 1
                self.last_event_ms = recv
                if watch:
                    listener = watch.get(ev[3])
                    if listener is not None:
                        listener(ev)
            self._i = i
            if not self._fill():
                self.exhausted = True
                self.events_applied += applied
                self._reader.close()
                return applied

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        with self._lock:
            book = self.books.get(symbol)
            return None if book is None else book.snapshot(symbol)

    def close(self) -> None:
        self._reader.close()
