"""WebSocket market data against the simulator: book equality after thousands of diffs, a forced sequence gap,
a reconnect, a stall, invalid books and the REST fallback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from btcbot.domain.clock import VirtualClock
from btcbot.domain.market import BookSnapshot
from btcbot.exchange.btcturk import BtcturkHttp, build_market_data
from btcbot.exchange.btcturk.rest_md import RestMarketData
from btcbot.exchange.btcturk.ws import MAX_CONNECTS_PER_MINUTE, T_BOOK_DIFF, WsMarketData
from btcbot.exchange.retry import RetryPolicy
from btcbot.settings import Settings
from btcbot.testing.waiting import WEDGED_AFTER_S, wait_until

pytestmark = pytest.mark.integration

FAST_RECONNECT = RetryPolicy(max_attempts=1_000_000, base_delay_s=0.01, max_delay_s=0.05)


class LossyWs(WsMarketData):
    """Drops chosen 432 frames on arrival, as a lossy network would, to force a sequence gap."""

    def __init__(self, *args: Any, drop_diff_numbers: frozenset[int] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drop = drop_diff_numbers
        self._seen_diffs = 0

    def _handle(self, ws: Any, data: Any, mono_ns: int, wall_ms: int) -> None:
        if bytes(data).startswith(f"[{T_BOOK_DIFF},".encode()):
            self._seen_diffs += 1
            if self._seen_diffs in self._drop:
                return
        super()._handle(ws, data, mono_ns, wall_ms)


def levels(snap: BookSnapshot | None) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    assert snap is not None
    return [(lv.price, lv.amount) for lv in snap.bids], [(lv.price, lv.amount) for lv in snap.asks]


@pytest.fixture
def http(fresh_sim: Any) -> Iterator[BtcturkHttp]:
    h = BtcturkHttp(fresh_sim.rest_url, api_key=fresh_sim.api_key, api_secret=fresh_sim.api_secret)
    yield h
    h.close()


def matches_rest(md: WsMarketData, http: BtcturkHttp, symbol: str) -> bool:
    book = http.order_book(symbol)
    bids, asks = levels(md.snapshot(symbol))
    return bids == list(book.bids) and asks == list(book.asks)


def test_book_equals_rest_after_thousands_of_diffs_a_gap_and_a_reconnect(fresh_sim: Any, http: BtcturkHttp) -> None:
    md = LossyWs(
        fresh_sim.ws_url,
        ("BTCTRY", "ETHTRY"),
        drop_diff_numbers=frozenset({700}),
        reconnect=FAST_RECONNECT,
    )
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S) and md.wait_for_book("ETHTRY", WEDGED_AFTER_S)
        for _ in range(1200):
            fresh_sim.tick(1)
        wait_until(
            lambda: matches_rest(md, http, "BTCTRY") and matches_rest(md, http, "ETHTRY"),
            what="the WS books match REST",
        )
        assert md.stats.gaps == 1 and md.stats.resyncs == 1
        connects_before = md.stats.connects
        applied_before = md.stats.diffs_applied

        fresh_sim.set_faults(ws_disconnect=True)  # closes every socket and refuses new ones
        wait_until(lambda: md.stats.disconnects >= 1, what="the reader sees the disconnect")
        fresh_sim.tick(5)
        fresh_sim.set_faults(ws_disconnect=False)
        wait_until(
            lambda: md.stats.connects > connects_before and md.book_synced("BTCTRY"),
            what="the reader reconnects and resyncs",
        )
        for _ in range(900):
            fresh_sim.tick(1)
        wait_until(
            lambda: matches_rest(md, http, "BTCTRY") and matches_rest(md, http, "ETHTRY"),
            what="the WS books match REST",
        )
        assert md.stats.diffs_applied - applied_before > 500
        assert md.stats.diffs_applied >= 2000
        snap = md.snapshot("BTCTRY")
        assert snap is not None and snap.exchange_ts_ms is None and snap.source == "ws" and snap.is_valid
        assert md.ticker("BTCTRY") is not None and md.trades("BTCTRY")
    finally:
        md.stop()


def test_stall_shows_age_and_reconnects(fresh_sim: Any) -> None:
    md = WsMarketData(fresh_sim.ws_url, ("BTCTRY",), stale_after_ms=300, reconnect=FAST_RECONNECT)
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        seq0 = md.snapshot("BTCTRY").sequence  # type: ignore[union-attr]
        fresh_sim.tick(1)
        # The tick's diff is on the wire before tick() returns; wait until the reader has applied it.
        wait_until(lambda: md.snapshot("BTCTRY").sequence != seq0, what="the reader applies the tick")  # type: ignore[union-attr]
        fresh_sim.set_faults(ws_stall=True)
        before = md.snapshot("BTCTRY")
        assert before is not None
        # The still market may already have been silent past the threshold on a slow run (a stall and a resync
        # before the fault): wait for a stall counted from here.
        stalls = md.stats.stalls
        wait_until(lambda: md.stats.stalls > stalls, what="the reader calls the stall")
        after = md.snapshot("BTCTRY")
        assert after is not None
        # Never pretend to be fresh: the receive stamp is that of the last real update, older than the stall
        # threshold (a lower bound: load only makes the silence longer).
        assert after.received_monotonic_ns == before.received_monotonic_ns
        assert time.monotonic_ns() - after.received_monotonic_ns > 300_000_000
        fresh_sim.set_faults(ws_stall=False)
        fresh_sim.tick(1)
        wait_until(
            lambda: (s := md.snapshot("BTCTRY")) is not None and s.received_monotonic_ns > before.received_monotonic_ns,
            what="fresh data after the stall",
        )
    finally:
        md.stop()


def test_crossed_and_zero_bid_books_come_through_as_invalid(fresh_sim: Any) -> None:
    md = WsMarketData(fresh_sim.ws_url, ("BTCTRY",), reconnect=FAST_RECONNECT)
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        assert md.snapshot("BTCTRY").is_valid  # type: ignore[union-attr]
        fresh_sim.set_faults(crossed_book=True)
        fresh_sim.tick(1)
        wait_until(lambda: not md.snapshot("BTCTRY").is_valid, what="the crossed book arrives")  # type: ignore[union-attr]
        fresh_sim.set_faults(crossed_book=False, zero_bid=True)
        fresh_sim.tick(1)
        wait_until(
            lambda: (s := md.snapshot("BTCTRY")) is not None and not s.is_valid, what="the zero-bid book arrives"
        )
    finally:
        md.stop()


def test_rest_fallback_when_ws_unavailable(fresh_sim: Any, http: BtcturkHttp, fx: Any) -> None:
    dead_ws = fx.closed_port_url().replace("http://", "ws://")
    md = WsMarketData(dead_ws, ("BTCTRY",), rest_fallback=http, fallback_after_ms=100, reconnect=FAST_RECONNECT)
    md.start()
    try:
        snap = md.snapshot("BTCTRY")
        assert snap is not None and snap.source == "rest" and snap.is_valid
        assert md.stats.rest_fallbacks == 1
        wait_until(lambda: md.stats.connect_failures >= 1, what="a failed connect")
    finally:
        md.stop()
    no_fallback = WsMarketData(dead_ws, ("BTCTRY",))
    assert no_fallback.snapshot("BTCTRY") is None


def test_build_market_data_follows_settings(fresh_sim: Any, http: BtcturkHttp) -> None:
    rest = build_market_data(Settings(btcturk_base_url=fresh_sim.rest_url), http)
    assert isinstance(rest, RestMarketData)
    snap = rest.snapshot("BTCTRY")
    assert snap is not None and snap.source == "rest"
    ws_settings = Settings(
        market_data_mode="ws",
        btcturk_ws_enabled=True,
        btcturk_ws_url=fresh_sim.ws_url,
        universe_symbols="BTCTRY",
        ws_market_data_rest_fallback=True,
    )
    ws = build_market_data(ws_settings, http)
    assert isinstance(ws, WsMarketData)
    ws.start()
    try:
        assert ws.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        snap = ws.snapshot("BTCTRY")
        assert snap is not None and snap.source == "ws"
    finally:
        ws.stop()


def test_keepalive_pings_are_answered(fresh_sim: Any) -> None:
    # Pongs are not data: the still market must not be called stalled (and reconnected) on a slow run.
    md = WsMarketData(
        fresh_sim.ws_url,
        ("BTCTRY",),
        ping_interval_s=0.02,
        stale_after_ms=int(WEDGED_AFTER_S * 1000),
        reconnect=FAST_RECONNECT,
    )
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        wait_until(lambda: md.stats.pongs >= 2, what="two pongs")
        assert md.stats.pings_sent >= md.stats.pongs and md.stats.disconnects == 0
    finally:
        md.stop()


def test_frozen_market_data_never_looks_fresh(fresh_sim: Any) -> None:
    # No stall (and resync) of the still market in the middle of the test, however slow the machine.
    stale_after_ms = int(WEDGED_AFTER_S * 1000)
    md = WsMarketData(fresh_sim.ws_url, ("BTCTRY",), stale_after_ms=stale_after_ms, reconnect=FAST_RECONNECT)
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        seq0 = md.snapshot("BTCTRY").sequence  # type: ignore[union-attr]
        fresh_sim.tick(1)
        wait_until(lambda: md.snapshot("BTCTRY").sequence != seq0, what="the reader applies the tick")  # type: ignore[union-attr]
        fresh_sim.set_faults(freeze_market_data=True)
        frozen = md.snapshot("BTCTRY")
        assert frozen is not None
        applied = md.stats.diffs_applied
        for _ in range(20):
            fresh_sim.tick(1)
        fresh_sim.set_faults(freeze_market_data=False)
        fresh_sim.tick(5)  # one publish: one diff
        wait_until(
            lambda: md.snapshot("BTCTRY").received_monotonic_ns != frozen.received_monotonic_ns,  # type: ignore[union-attr]
            what="the thawed market's diff",
        )
        # The socket is ordered: whatever the frozen ticks had sent would have arrived before the thaw's diff. Only
        # that one came, so the book's receive stamp (its age) stood still through the 20 frozen ticks.
        assert md.stats.diffs_applied == applied + 1
    finally:
        md.stop()


class HostileWs(WsMarketData):
    """Sees one frame nested 100,000 deep before the first real diff, as a hostile or broken venue might send."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.injected = False

    def _handle(self, ws: Any, data: Any, mono_ns: int, wall_ms: int) -> None:
        if not self.injected and bytes(data).startswith(f"[{T_BOOK_DIFF},".encode()):
            self.injected = True
            super()._handle(ws, b"[" * 100_000 + b"]" * 100_000, mono_ns, wall_ms)
        super()._handle(ws, data, mono_ns, wall_ms)


def test_a_frame_nested_too_deep_does_not_end_the_reader(fresh_sim: Any, http: BtcturkHttp) -> None:
    md = HostileWs(fresh_sim.ws_url, ("BTCTRY",), reconnect=FAST_RECONNECT)
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        for _ in range(50):
            fresh_sim.tick(1)
        # Not every tick changes the book, so fewer diffs than ticks arrive; all of them come after the bad frame.
        wait_until(
            lambda: md.injected and md.stats.diffs_applied >= 20 and matches_rest(md, http, "BTCTRY"),
            what="the reader survives the deep frame and follows the book",
        )
        assert md.stats.bad_frames == 1 and md.stats.disconnects == 0 and md.stats.gaps == 0
    finally:
        md.stop()


def test_a_lost_connection_makes_the_book_stale_at_once(fresh_sim: Any) -> None:
    md = WsMarketData(fresh_sim.ws_url, ("BTCTRY",), reconnect=FAST_RECONNECT)
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        assert md.snapshot("BTCTRY").in_sync  # type: ignore[union-attr]
        fresh_sim.set_faults(ws_disconnect=True)
        wait_until(lambda: md.stats.disconnects >= 1, what="the reader sees the disconnect")
        snap = md.snapshot("BTCTRY")
        assert snap is not None and not snap.in_sync
        fresh_sim.set_faults(ws_disconnect=False)
        wait_until(lambda: (s := md.snapshot("BTCTRY")) is not None and s.in_sync, what="the reader resyncs")
    finally:
        md.stop()


def test_after_a_long_disconnect_the_feed_is_back_within_one_pacing_interval(
    fresh_sim: Any, http: BtcturkHttp, fx: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Virtual time: the reader's waits pass at once, so ten minutes of a refusing venue take milliseconds. The
    # default backoff and connect limit: a reader that spends the minute's budget early sits out the rest of it.
    clock = VirtualClock()
    md = fx.RecordingWs(fresh_sim.ws_url, ("BTCTRY",), clock=clock, rest_fallback=http, fallback_after_ms=1000)
    md.start()
    try:
        assert md.wait_for_book("BTCTRY", WEDGED_AFTER_S)
        fresh_sim.set_faults(ws_disconnect=True)
        wait_until(lambda: md.stats.connect_failures >= 80, what="ten minutes of refused connects")
        blind = md.snapshot("BTCTRY")  # WS_MARKET_DATA_REST_FALLBACK: the REST book while the socket is down
        assert blind is not None and blind.source == "rest" and blind.is_valid
        fresh_sim.set_faults(ws_disconnect=False)
        wait_until(lambda: md.book_synced("BTCTRY"), what="the reader reconnects and resyncs")
        back = md.snapshot("BTCTRY")
        assert back is not None and back.source == "ws" and back.in_sync
        assert md.stats.connects == 2
        # The attempt that got through came at most one pacing interval (60 s over the 8 paced attempts of the
        # minute's 12) after the last refused one: wherever the venue came back, the reader was that close.
        last_refused_s, reconnected_s = md.attempts_s[-2:]
        assert reconnected_s - last_refused_s <= 60 / (MAX_CONNECTS_PER_MINUTE - 4) + 1e-6
        # The operator's log says the feed went blind and when it came back, with how long it was out.
        said = [r.getMessage() for r in caplog.records if r.name == "btcbot.exchange.btcturk.ws"]
        assert "btcturk ws: the venue closed the connection; reconnecting" in said
        assert any(m.startswith("btcturk ws: reconnected after ") for m in said)
    finally:
        md.stop()
