"""MARKET_DATA_MODE=ws: BTCTurk's public WebSocket feed in one reader thread.

The thread runs a plain ``recv()`` loop (faster than WebSocketApp), subscribes ``obdiff``, ``ticker`` and
``trade`` for every symbol, rebuilds each book from 431 and applies 432 diffs in ``CS`` order. A gap in ``CS``
is counted and resynced by leaving and re-joining that symbol's obdiff channel (a fresh 431 follows); until then
the symbol's snapshot says it is out of sync (``in_sync`` False), which the freshness guard treats as stale. A socket
that sends no data past ``stale_after_ms`` is dropped and reconnected with jittered backoff, paced evenly inside
the venue's 15-connections-a-minute limit (``ConnectPacer``), so the reader is never locked out once the venue
is back. The thread never waits on consumers: after each frame it publishes an immutable
BookSnapshot per symbol, whose receive stamps are those of the frame that last changed it — so a silent feed
shows its age instead of pretending to be fresh. A frame that cannot be read (not JSON, nested too deeply, the
wrong shape) is counted and skipped: it never ends the reader.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import websocket

from btcbot.domain.clock import Clock, SystemClock
from btcbot.domain.market import BookSnapshot
from btcbot.exchange.btcturk.book import OrderBook
from btcbot.exchange.btcturk.convert import norm_symbol
from btcbot.exchange.btcturk.http import BtcturkHttp
from btcbot.exchange.btcturk.limiter import Limit, TokenBucket
from btcbot.exchange.btcturk.rest_md import RestMarketData
from btcbot.exchange.retry import RetryPolicy

log = logging.getLogger(__name__)

T_RESULT = 100
T_TICKER = 402
T_TRADES = 421
T_TRADE = 422
T_BOOK_FULL = 431
T_BOOK_DIFF = 432
T_SUBSCRIBE = 151

MAX_CONNECTS_PER_MINUTE = 12  # the venue blocks an IP for 60 s after 15
CONNECT_BURST = 4  # quick retries for a blip; the rest of the minute's budget is spread evenly
BAD_FRAME_LOG_EVERY = 1000  # the first unreadable frame is logged, then one in this many


@dataclass(frozen=True, slots=True)
class WsTicker:
    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal | None
    received_monotonic_ns: int
    received_wall_ms: int


@dataclass(frozen=True, slots=True)
class WsTrade:
    symbol: str
    trade_id: int
    price: Decimal
    amount: Decimal
    side_code: int  # BTCTurk's ``S``; its meaning is not confirmed, so it is not mapped to buy/sell
    ts_ms: int


@dataclass(slots=True)
class WsStats:
    frames: int = 0
    diffs_applied: int = 0
    full_books: int = 0
    gaps: int = 0
    resyncs: int = 0
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    stalls: int = 0
    pings_sent: int = 0
    pongs: int = 0
    rest_fallbacks: int = 0
    bad_frames: int = 0
    last_error: str | None = field(default=None)


class _Stalled(Exception):
    pass


class ConnectPacer:
    """When the reader may open its next socket.

    After a failure the reader backs off with full jitter; every attempt also takes a token from a bucket that
    admits at most ``per_minute`` attempts in any minute (a burst of ``burst``, then one every
    ``60 / (per_minute - burst)`` s). Without the even pacing a long outage spent the minute's budget in its
    first seconds and the reader then sat out the rest of the window, blind, after the venue was back; now the
    first attempt after any outage comes within one pacing interval.
    """

    def __init__(self, backoff: RetryPolicy, *, per_minute: int, burst: int, now_s: float) -> None:
        self._backoff = backoff
        self._bucket = TokenBucket(Limit(per_minute, 60), safety=1.0, now=now_s, capacity=burst)
        self.failures = 0

    @property
    def interval_s(self) -> float:
        """The longest wait for a connection slot (also the pace of a long outage)."""
        return 1.0 / self._bucket.rate_per_s

    def backoff_s(self) -> float:
        """The jittered pause after a failed or lost connection; each one in a row waits longer (capped)."""
        delay = self._backoff.backoff_s(min(self.failures, 10))
        self.failures += 1
        return delay

    def slot_wait_s(self, now_s: float) -> float:
        """How long until the connect limit admits an attempt (0: now)."""
        return self._bucket.wait_s(now_s)

    def attempt(self) -> None:
        self._bucket.take()

    def succeeded(self) -> None:
        self.failures = 0


class WsMarketData:
    def __init__(
        self,
        url: str,
        symbols: tuple[str, ...],
        *,
        stale_after_ms: int = 10_000,
        ping_interval_s: float = 10.0,
        recv_timeout_s: float = 0.25,
        connect_timeout_s: float = 5.0,
        reconnect: RetryPolicy | None = None,
        depth: int = 100,
        channels: tuple[str, ...] = ("obdiff", "ticker", "trade"),
        rest_fallback: BtcturkHttp | None = None,
        fallback_after_ms: int = 3000,
        clock: Clock | None = None,
        max_connects_per_minute: int = MAX_CONNECTS_PER_MINUTE,
    ) -> None:
        self.url = url
        self.max_connects_per_minute = max_connects_per_minute
        self.symbols = tuple(norm_symbol(s) for s in symbols)
        self.stale_after_ns = stale_after_ms * 1_000_000
        self.ping_interval_s = ping_interval_s
        self.recv_timeout_s = recv_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect = reconnect or RetryPolicy(max_attempts=1_000_000, base_delay_s=0.2, max_delay_s=5.0)
        self.depth = depth
        self.channels = channels
        self._clock: Clock = clock or SystemClock()
        self._fallback = RestMarketData(rest_fallback, self.symbols, clock=self._clock) if rest_fallback else None
        self._fallback_after_ns = fallback_after_ms * 1_000_000
        self._books = {s: OrderBook(s) for s in self.symbols}
        self._snapshots: dict[str, BookSnapshot] = {}
        self._tickers: dict[str, WsTicker] = {}
        self._trades: dict[str, deque[WsTrade]] = {s: deque(maxlen=50) for s in self.symbols}
        self._book_events = {s: threading.Event() for s in self.symbols}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ws: websocket.WebSocket | None = None
        self._pacer = ConnectPacer(
            self.reconnect,
            per_minute=max_connects_per_minute,
            burst=min(CONNECT_BURST, max_connects_per_minute // 3),
            now_s=self._clock.monotonic_ns() / 1e9,
        )
        self.stats = WsStats()
        self.connected = threading.Event()

    # ------------------------------------------------------------------ MarketDataSource
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="btcturk-ws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None:
            # Unblocks a recv() in progress; the reader thread then closes the socket itself.
            ws.abort()  # type: ignore[no-untyped-call]
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def snapshot(self, symbol: str) -> BookSnapshot | None:
        sym = norm_symbol(symbol)
        snap = self._snapshots.get(sym)
        if self._fallback is not None and (
            snap is None
            or not snap.in_sync
            or self._clock.monotonic_ns() - snap.received_monotonic_ns > self._fallback_after_ns
        ):
            rest = self._fallback.fetch(sym)
            if rest is not None:
                self.stats.rest_fallbacks += 1
                return rest
        return snap

    # ------------------------------------------------------------------ extras
    def ticker(self, symbol: str) -> WsTicker | None:
        return self._tickers.get(norm_symbol(symbol))

    def trades(self, symbol: str) -> tuple[WsTrade, ...]:
        return tuple(self._trades.get(norm_symbol(symbol), ()))

    def wait_for_book(self, symbol: str, timeout_s: float) -> bool:
        """Block until a first full book for ``symbol`` arrived (start-up and tests)."""
        return self._book_events[norm_symbol(symbol)].wait(timeout_s)

    def book_synced(self, symbol: str) -> bool:
        return self._books[norm_symbol(symbol)].synced

    # ------------------------------------------------------------------ reader thread
    def _run(self) -> None:
        pacer = self._pacer
        lost_at_ns: int | None = None  # when the socket the reader had was lost; None while it has one
        while not self._stop.is_set():
            if self._wait_for_slot():
                return
            pacer.attempt()
            try:
                ws = self._open()
            except (OSError, websocket.WebSocketException) as exc:
                self.stats.connect_failures += 1
                self.stats.last_error = f"connect: {type(exc).__name__}"
                if pacer.failures == 0:
                    log.warning("btcturk ws: cannot connect (%s); retrying with backoff", type(exc).__name__)
                if self._sleep(pacer.backoff_s()):
                    return
                continue
            self._ws = ws
            self.stats.connects += 1
            if lost_at_ns is not None:
                # The loss was logged; the operator also learns when the feed came back and how long it was blind.
                log.warning(
                    "btcturk ws: reconnected after %.1fs; resubscribing (the books are stale until their full books)",
                    (self._clock.monotonic_ns() - lost_at_ns) / 1e9,
                )
            try:
                ws.settimeout(self.recv_timeout_s)
                for sym in self.symbols:
                    for channel in self.channels:
                        self._send_join(ws, channel, sym, join=True)
                self.connected.set()
                if self._pump(ws):
                    pacer.succeeded()
                if not self._stop.is_set():
                    log.warning("btcturk ws: the venue closed the connection; reconnecting")
            except _Stalled:
                self.stats.stalls += 1
                self.stats.last_error = "stalled: no data past the threshold"
                log.warning("btcturk ws: no data for %.1fs; reconnecting", self.stale_after_ns / 1e9)
            except (OSError, websocket.WebSocketException) as exc:
                self.stats.last_error = f"socket: {type(exc).__name__}"
                if not self._stop.is_set():  # stop() aborts the socket: that is no lost connection
                    log.warning("btcturk ws: connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                self.connected.clear()
                self._ws = None
                for book in self._books.values():
                    self._unsync(book)
                try:
                    ws.close(timeout=0.2)
                except (OSError, websocket.WebSocketException):
                    log.debug("ws close failed", exc_info=True)
            if self._stop.is_set():
                return
            self.stats.disconnects += 1
            lost_at_ns = self._clock.monotonic_ns()
            if self._sleep(pacer.backoff_s()):
                return

    def _open(self) -> websocket.WebSocket:
        return websocket.create_connection(
            self.url,
            timeout=self.connect_timeout_s,
            skip_utf8_validation=True,
            enable_multithread=True,
        )

    def _sleep(self, seconds: float) -> bool:
        """Wait in the injected clock's time; True if stop() was called meanwhile."""
        return self._clock.wait(self._stop, seconds)

    def _wait_for_slot(self) -> bool:
        """Wait until the connect limit admits an attempt; True if stop() was called meanwhile."""
        while (wait := self._pacer.slot_wait_s(self._clock.monotonic_ns() / 1e9)) > 0:
            if self._sleep(wait):
                return True
        return self._stop.is_set()

    def _send_join(self, ws: websocket.WebSocket, channel: str, symbol: str, *, join: bool) -> None:
        frame = [T_SUBSCRIBE, {"type": T_SUBSCRIBE, "channel": channel, "event": symbol, "join": join}]
        ws.send(json.dumps(frame))

    def _pump(self, ws: websocket.WebSocket) -> bool:
        """Receive until the socket closes, stalls or stop() is called. True if any data arrived."""
        clock = self._clock
        last_rx = clock.monotonic_ns()
        last_ping = last_rx
        ping_ns = int(self.ping_interval_s * 1e9)
        got_data = False
        while not self._stop.is_set():
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                opcode, data = None, None
            now = clock.monotonic_ns()
            if opcode == websocket.ABNF.OPCODE_TEXT or opcode == websocket.ABNF.OPCODE_BINARY:
                last_rx = now
                got_data = True
                self._handle(ws, data, now, clock.wall_ms())
            elif opcode == websocket.ABNF.OPCODE_PONG:
                self.stats.pongs += 1
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                return got_data
            if now - last_rx > self.stale_after_ns:
                raise _Stalled
            if now - last_ping > ping_ns:
                ws.ping()
                self.stats.pings_sent += 1
                last_ping = now
        return got_data

    def _handle(self, ws: websocket.WebSocket, data: Any, mono_ns: int, wall_ms: int) -> None:
        self.stats.frames += 1
        try:
            msg = json.loads(data)
            if not isinstance(msg, list) or len(msg) != 2 or not isinstance(msg[1], dict):
                return  # unknown shapes are ignored, as the venue's docs ask
            typ, obj = msg
            if typ == T_BOOK_DIFF:
                self._on_diff(ws, obj, mono_ns, wall_ms)
            elif typ == T_BOOK_FULL:
                self._on_full(obj, mono_ns, wall_ms)
            elif typ == T_TICKER:
                self._on_ticker(obj, mono_ns, wall_ms)
            elif typ == T_TRADE:
                self._on_trade(obj, obj.get("PS"))
            elif typ == T_TRADES:
                for item in obj.get("items", ()):
                    self._on_trade(item, obj.get("symbol") or obj.get("event"))
        except (ValueError, KeyError, TypeError, ArithmeticError, RecursionError) as exc:
            # RecursionError: json's answer to a frame nested thousands deep.
            self.stats.bad_frames += 1
            self.stats.last_error = f"bad frame: {type(exc).__name__}"
            if self.stats.bad_frames % BAD_FRAME_LOG_EVERY == 1:
                # The type only: a frame's text is the venue's and is never logged.
                log.warning(
                    "btcturk ws: unreadable frame skipped (%s), %d so far", type(exc).__name__, self.stats.bad_frames
                )

    def _on_full(self, obj: dict[str, Any], mono_ns: int, wall_ms: int) -> None:
        sym = obj.get("PS") or obj.get("event")
        book = self._books.get(sym) if isinstance(sym, str) else None
        if book is None:
            return
        cs = obj.get("CS")
        book.reset(obj.get("BO") or (), obj.get("AO") or (), int(cs) if cs is not None else None)
        self.stats.full_books += 1
        self._publish(book, mono_ns, wall_ms)
        self._book_events[book.symbol].set()

    def _on_diff(self, ws: websocket.WebSocket, obj: dict[str, Any], mono_ns: int, wall_ms: int) -> None:
        sym = obj.get("PS") or obj.get("event")
        book = self._books.get(sym) if isinstance(sym, str) else None
        if book is None or not book.synced:
            return  # waiting for the 431 of a (re)subscription
        cs = int(obj["CS"])
        if book.seq is not None:
            if cs <= book.seq:
                return  # a duplicate or a straggler from before the last full book
            if cs != book.seq + 1:
                self.stats.gaps += 1
                log.warning("btcturk ws: %s book sequence gap (%d after %d); resyncing", book.symbol, cs, book.seq)
                self._resync(ws, book)
                return
        book.apply(obj.get("BO") or (), obj.get("AO") or ())
        book.seq = cs
        self.stats.diffs_applied += 1
        self._publish(book, mono_ns, wall_ms)

    def _resync(self, ws: websocket.WebSocket, book: OrderBook) -> None:
        self._unsync(book)
        self.stats.resyncs += 1
        self._send_join(ws, "obdiff", book.symbol, join=False)
        self._send_join(ws, "obdiff", book.symbol, join=True)

    def _unsync(self, book: OrderBook) -> None:
        """The book no longer follows the venue: say so at once. The last snapshot keeps its receive time (its
        age stays true) and is marked out of sync until the fresh 431 replaces it.
        """
        book.unsync()
        snap = self._snapshots.get(book.symbol)
        if snap is not None and snap.in_sync:
            self._snapshots[book.symbol] = replace(snap, in_sync=False)

    def _publish(self, book: OrderBook, mono_ns: int, wall_ms: int) -> None:
        self._snapshots[book.symbol] = book.snapshot(
            depth=self.depth, received_monotonic_ns=mono_ns, received_wall_ms=wall_ms
        )

    def _on_ticker(self, obj: dict[str, Any], mono_ns: int, wall_ms: int) -> None:
        sym = obj.get("PS")
        if not isinstance(sym, str) or sym not in self._books:
            return
        last = obj.get("LA")
        self._tickers[sym] = WsTicker(
            symbol=sym,
            bid=Decimal(str(obj["B"])),
            ask=Decimal(str(obj["A"])),
            last=Decimal(str(last)) if last is not None else None,
            received_monotonic_ns=mono_ns,
            received_wall_ms=wall_ms,
        )

    def _on_trade(self, obj: dict[str, Any], symbol: object) -> None:
        if not isinstance(symbol, str) or symbol not in self._trades:
            return
        self._trades[symbol].append(
            WsTrade(
                symbol=symbol,
                trade_id=int(obj["I"]),
                price=Decimal(str(obj["P"])),
                amount=Decimal(str(obj["A"])),
                side_code=int(obj.get("S", -1)),
                ts_ms=int(obj["D"]),
            )
        )
