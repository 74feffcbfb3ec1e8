"""Record the venue's market data into a dataset file: WebSocket 431/432 frames, or REST order-book snapshots.

Each event is stamped with the local wall clock on receipt (``recv_ms``) and the venue's own timestamp when
it gives one (REST). Recording is read-only and public: no credentials are used or stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from btcbot.domain.clock import Clock, SystemClock
from btcbot.errors import ExchangeError, ProtocolError
from btcbot.replay.dataset import DIFF, FULL_BOOK, DatasetHeader, DatasetWriter, Event

ProgressFn = Callable[["RecordStats"], None]


@dataclass(slots=True)
class RecordStats:
    events: int = 0
    full_books: int = 0
    diffs: int = 0
    resubscribes: int = 0
    elapsed_s: float = 0.0
    duration_s: float = 0.0


def _norm(value: Any) -> str:
    """A decimal string in one canonical spelling, so a diff finds the level its full book created."""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ProtocolError(f"venue sent a non-numeric book value {value!r}") from None
    text = format(d.normalize(), "f")
    return text if text != "-0" else "0"


def _http_json(url: str, timeout_s: float = 5.0) -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False
    try:
        resp = session.get(url, timeout=timeout_s)
    except requests.RequestException as exc:
        raise ExchangeError(f"GET {url.split('?')[0]} failed ({exc.__class__.__name__})") from None
    finally:
        session.close()
    if resp.status_code != 200:
        raise ExchangeError(f"GET {url.split('?')[0]} answered HTTP {resp.status_code}", http_status=resp.status_code)
    try:
        return resp.json()
    except ValueError:
        raise ProtocolError(f"GET {url.split('?')[0]} answered non-JSON") from None


def fetch_exchange_info(base_url: str, symbols: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    body = _http_json(base_url.rstrip("/") + "/api/v2/server/exchangeinfo")
    entries = {e.get("name"): e for e in (body.get("data") or {}).get("symbols") or [] if isinstance(e, dict)}
    missing = [s for s in symbols if s not in entries]
    if missing:
        raise ExchangeError(f"exchangeinfo at {base_url} lists no symbol {', '.join(missing)}")
    return {s: entries[s] for s in symbols}


class WsRecorder:
    """Subscribes to ``obdiff`` per symbol and records every 431 full book and 432 diff as it arrives."""

    def __init__(self, ws_url: str, symbols: tuple[str, ...], writer: DatasetWriter, clock: Clock) -> None:
        self._url = ws_url
        self._symbols = symbols
        self._writer = writer
        self._clock = clock
        self._cs: dict[str, int] = {}
        self.stats = RecordStats()

    def _subscribe(self, ws: Any, symbol: str, join: bool) -> None:
        ws.send(json.dumps([151, {"type": 151, "channel": "obdiff", "event": symbol, "join": join}]))

    def run(self, duration_s: float, stop: threading.Event, progress: ProgressFn | None) -> RecordStats:
        import websocket

        try:
            ws = websocket.create_connection(self._url, timeout=5, skip_utf8_validation=True, enable_multithread=True)
        except (OSError, websocket.WebSocketException) as exc:
            raise ExchangeError(
                f"cannot connect to the WebSocket feed {self._url} ({exc.__class__.__name__}); "
                "check BTCTURK_WS_URL, or record REST snapshots with MARKET_DATA_MODE=rest"
            ) from None
        try:
            for s in self._symbols:
                self._subscribe(ws, s, True)
            start = time.monotonic()
            last_progress = 0.0
            ws.settimeout(0.25)
            while not stop.is_set():
                elapsed = time.monotonic() - start
                if elapsed >= duration_s:
                    break
                if progress is not None and elapsed - last_progress >= 1.0:
                    last_progress = elapsed
                    self.stats.elapsed_s = elapsed
                    progress(self.stats)
                try:
                    frame = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                recv_ms = self._clock.wall_ms()
                if isinstance(frame, bytes):
                    continue
                self._on_frame(ws, frame, recv_ms)
            self.stats.elapsed_s = time.monotonic() - start
        finally:
            ws.close()
        return self.stats

    def _on_frame(self, ws: Any, frame: str, recv_ms: int) -> None:
        try:
            msg = json.loads(frame)
        except ValueError:
            return
        if not isinstance(msg, list) or len(msg) != 2 or msg[0] not in (FULL_BOOK, DIFF):
            return
        body = msg[1]
        symbol = body.get("PS") or body.get("event")
        if symbol not in self._symbols:
            return
        cs = body.get("CS")
        if msg[0] == DIFF:
            prev = self._cs.get(symbol)
            if prev is None or cs != prev + 1:
                # A gap: the book is unknown until a fresh full book; resubscribe, as the live feed does.
                self._cs.pop(symbol, None)
                self.stats.resubscribes += 1
                self._subscribe(ws, symbol, False)
                self._subscribe(ws, symbol, True)
                return
            bids = [[_norm(lv["P"]), _norm(lv["A"]), int(lv["CP"])] for lv in body.get("BO") or ()]
            asks = [[_norm(lv["P"]), _norm(lv["A"]), int(lv["CP"])] for lv in body.get("AO") or ()]
            self.stats.diffs += 1
        else:
            bids = [[_norm(lv["P"]), _norm(lv["A"])] for lv in body.get("BO") or ()]
            asks = [[_norm(lv["P"]), _norm(lv["A"])] for lv in body.get("AO") or ()]
            self.stats.full_books += 1
        if isinstance(cs, int):
            self._cs[symbol] = cs
        event: Event = [msg[0], recv_ms, None, symbol, cs if isinstance(cs, int) else None, bids, asks]
        self._writer.write(event)
        self.stats.events += 1


class RestRecorder:
    """Polls ``/api/v2/orderbook`` per symbol and records each answer as a full book with the venue's stamp."""

    def __init__(
        self, base_url: str, symbols: tuple[str, ...], writer: DatasetWriter, clock: Clock, interval_s: float = 0.25
    ) -> None:
        self._base = base_url.rstrip("/")
        self._symbols = symbols
        self._writer = writer
        self._clock = clock
        self._interval_s = interval_s
        self.stats = RecordStats()

    def run(self, duration_s: float, stop: threading.Event, progress: ProgressFn | None) -> RecordStats:
        import requests

        session = requests.Session()
        session.trust_env = False
        start = time.monotonic()
        last_progress = 0.0
        try:
            while not stop.is_set():
                elapsed = time.monotonic() - start
                if elapsed >= duration_s:
                    break
                if progress is not None and elapsed - last_progress >= 1.0:
                    last_progress = elapsed
                    self.stats.elapsed_s = elapsed
                    progress(self.stats)
                for symbol in self._symbols:
                    self._poll(session, symbol)
                stop.wait(self._interval_s)
        finally:
            session.close()
        self.stats.elapsed_s = time.monotonic() - start
        return self.stats

    def _poll(self, session: Any, symbol: str) -> None:
        import requests

        try:
            resp = session.get(f"{self._base}/api/v2/orderbook", params={"pairSymbol": symbol}, timeout=5)
        except requests.RequestException:
            return  # a missed poll is a gap in the data, which is what the live feed saw too
        recv_ms = self._clock.wall_ms()
        if resp.status_code != 200:
            return
        try:
            data = resp.json().get("data") or {}
        except ValueError:
            return
        ts = data.get("timestamp")
        exch_ms = int(ts) if isinstance(ts, (int, float)) else None
        bids = [[_norm(p), _norm(a)] for p, a, *_ in data.get("bids") or ()]
        asks = [[_norm(p), _norm(a)] for p, a, *_ in data.get("asks") or ()]
        self._writer.write([FULL_BOOK, recv_ms, exch_ms, symbol, None, bids, asks])
        self.stats.events += 1
        self.stats.full_books += 1


def record(
    *,
    source: str,
    base_url: str,
    ws_url: str,
    symbols: tuple[str, ...],
    out: Path,
    duration_s: float,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    progress: ProgressFn | None = None,
    extra_header: dict[str, Any] | None = None,
) -> RecordStats:
    """Record ``duration_s`` seconds of market data for ``symbols`` into ``out``."""
    clock = clock or SystemClock()
    stop = stop or threading.Event()
    info = fetch_exchange_info(base_url, symbols)
    header = DatasetHeader(
        path=str(out),
        source=source,
        symbols=symbols,
        recorded_from=ws_url if source == "ws" else base_url,
        started_ms=clock.wall_ms(),
        exchange_info=info,
        extra=dict(extra_header or {}),
    )
    writer = DatasetWriter(out, header)
    try:
        if source == "ws":
            stats = WsRecorder(ws_url, symbols, writer, clock).run(duration_s, stop, progress)
        else:
            stats = RestRecorder(base_url, symbols, writer, clock).run(duration_s, stop, progress)
    except BaseException:  # Ctrl-C included: the file must still end with a complete gzip trailer
        writer.close()
        if writer.events == 0:
            out.unlink(missing_ok=True)  # a header without events is no dataset; leave nothing behind
        raise
    writer.close()
    stats.duration_s = duration_s
    return stats
