"""BtcturkExchange, rules cache, REST market data, order book and clock offset against local fakes."""

from __future__ import annotations

import random
import threading
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from btcbot.domain.clock import VirtualClock
from btcbot.domain.orders import OrderMethod, OrderSide, VenueOrderStatus
from btcbot.errors import SymbolNotTradable
from btcbot.exchange.btcturk import BtcturkExchange, ClockOffset, measure_clock_offset, stamp_window_threatened
from btcbot.exchange.btcturk.book import OrderBook
from btcbot.exchange.btcturk.rest_md import RestMarketData
from btcbot.exchange.btcturk.rules_cache import RulesCache
from btcbot.exchange.btcturk.ws import MAX_CONNECTS_PER_MINUTE, ConnectPacer, WsMarketData
from btcbot.exchange.retry import RetryPolicy
from btcbot.testing.waiting import wait_until


def test_domain_conversions(venue: Any, make_http: Any) -> None:
    ex = BtcturkExchange(make_http(venue.url))
    balances = {b.asset: b for b in ex.balances()}
    assert balances["TRY"].free == Decimal("10100.53") and balances["TRY"].locked == Decimal("150.00")
    (opened,) = ex.open_orders("BTCTRY")
    assert opened.created_ms == 1713439781304  # open rows carry time=0: updateTime is the real time
    assert opened.side is OrderSide.BUY and opened.status is VenueOrderStatus.UNTOUCHED
    stop = ex.get_order(61912740)
    assert stop.method is OrderMethod.MARKET and stop.side is OrderSide.SELL  # stopmarket maps to its kind
    assert stop.left_amount == Decimal("0.12345678")
    cancelled = ex.all_orders("BTCTRY")[0]
    assert cancelled.status is VenueOrderStatus.CANCELED and cancelled.filled_quantity == Decimal("0.0006")
    (fill,) = ex.user_trades()
    assert fill.quantity == Decimal("0.3384") and fill.fee == Decimal("0.06297817") and fill.tax > 0
    assert fill.symbol == "ETHWTRY" and fill.side is OrderSide.SELL
    assert ex.user_trades("BTCTRY") == []


def test_find_by_client_id_merges_open_and_all_orders(venue: Any, make_http: Any) -> None:
    ex = BtcturkExchange(make_http(venue.url))
    found = ex.find_orders_by_client_id("BTCTRY", "btcbot-test-00000000000000000000")
    assert [o.exchange_order_id for o in found] == [21770789256]
    old = ex.find_order_by_client_id("BTCTRY", "btcbot-test-11111111111111111111")
    assert old is not None and old.status is VenueOrderStatus.CANCELED
    assert ex.find_order_by_client_id("BTCTRY", "btcbot-test-nope") is None


def test_confirm_cancel_reports_unconfirmed_while_the_order_still_rests(venue: Any, make_http: Any) -> None:
    clock = VirtualClock()
    ex = BtcturkExchange(make_http(venue.url), clock=clock)
    result = ex.confirm_cancel(61912740, timeout_s=1.0, poll_interval_s=0.25)
    assert not result.confirmed and not result.cancelled
    assert result.order is not None and result.order.status is VenueOrderStatus.UNTOUCHED
    assert len(venue.seen) == 5  # polled at t=0, .25, .5, .75, 1.0 of virtual time


def test_rules_cache_refreshes_on_age_and_refuses_untradable(venue: Any, make_http: Any) -> None:
    now = [0.0]
    cache = RulesCache(make_http(venue.url), max_age_s=30, monotonic=lambda: now[0])
    rules = cache.rules("BTC_TRY")
    assert rules.price_scale == 0 and rules.min_exchange_value == Decimal("99.91")
    assert rules.maximum_limit_order_price == Decimal("37541350")
    cache.rules("BTCTRY")
    assert cache.refreshes == 1
    now[0] = 31.0
    cache.rules("BTCTRY")
    assert cache.refreshes == 2
    with pytest.raises(SymbolNotTradable, match="HALTED"):
        cache.rules("ETHTRY")
    with pytest.raises(SymbolNotTradable, match="not listed"):
        cache.rules("DOGETRY")
    cache.invalidate()
    cache.rules("BTCTRY")
    assert cache.refreshes == 3


def test_rest_market_data_503_is_unavailable(venue: Any, make_http: Any, fx: Any) -> None:
    venue.script = lambda req: fx.Reply(status=503) if "orderbook" in req.path else None
    md = RestMarketData(make_http(venue.url), ("BTCTRY",))
    assert md.snapshot("BTCTRY") is None
    assert md.unavailable == 1 and md.last_error is not None and "503" in md.last_error
    venue.script = None
    snap = md.snapshot("BTCTRY")
    assert snap is not None and snap.exchange_ts_ms == 1613315997466 and snap.best_bid == Decimal("3842925")


def _lv(p: str, a: str, cp: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"P": p, "A": a}
    if cp is not None:
        d["CP"] = cp
    return d


def test_order_book_change_types() -> None:
    book = OrderBook("BTCUSDT")
    book.reset([_lv("86689", "1"), _lv("86688", "2")], [_lv("86699", "1"), _lv("86718", "3")], 10)
    book.apply([_lv("86689", "0.5", 0), _lv("86690", "4", 1)], [_lv("86699", "1", 3), _lv("86700", "0.1", 1)])
    snap = book.snapshot(depth=100, received_monotonic_ns=1, received_wall_ms=2)
    assert [(lv.price, lv.amount) for lv in snap.bids] == [
        (Decimal("86690"), Decimal("4")),
        (Decimal("86689"), Decimal("0.5")),
        (Decimal("86688"), Decimal("2")),
    ]
    assert [lv.price for lv in snap.asks] == [Decimal("86700"), Decimal("86718")]
    assert snap.exchange_ts_ms is None and snap.sequence == 10 and snap.is_valid
    assert book.snapshot(depth=1, received_monotonic_ns=1, received_wall_ms=2).bids[0].price == Decimal("86690")


def test_order_book_garbage_levels_surface_as_invalid() -> None:
    book = OrderBook("BTCTRY")
    book.reset([_lv("100", "1")], [_lv("101", "1")], 1)
    book.apply([_lv("0", "1", 1)], [])
    snap = book.snapshot(depth=100, received_monotonic_ns=1, received_wall_ms=2)
    assert snap.best_bid == 0 and not snap.is_valid
    book.apply([_lv("0", "1", 3)], [])
    book.apply([_lv("102", "1", 1)], [])  # a bid above the ask: crossed, shown as it is
    assert not book.snapshot(depth=100, received_monotonic_ns=1, received_wall_ms=2).is_valid


class _FixedServer:
    def __init__(self, server_ms: int, step_ns: int) -> None:
        self.server_ms = server_ms
        self.calls = 0
        self.step_ns = step_ns

    def server_time_ms(self) -> int:
        self.calls += 1
        return self.server_ms


def test_clock_offset_is_round_trip_corrected_and_uses_the_fastest_sample() -> None:
    ticks = iter([0, 10_000_000, 20_000_000, 22_000_000, 30_000_000, 36_000_000])  # rtts 10, 2, 6 ms
    server = _FixedServer(server_ms=5_021, step_ns=0)
    offset = measure_clock_offset(server, samples=3, now_ns=lambda: next(ticks))  # type: ignore[arg-type]
    assert server.calls == 3
    assert offset.rtt_ms == 2.0 and offset.offset_ms == 5_021 - 21.0
    assert offset.threatens_stamp_window() and stamp_window_threatened(offset)
    assert not ClockOffset(offset_ms=-1500.0, rtt_ms=4.0).threatens_stamp_window()
    assert ClockOffset(offset_ms=-4200.0, rtt_ms=4.0).threatens_stamp_window()


def test_exchange_is_thread_safe_for_concurrent_reads(venue: Any, make_http: Any) -> None:
    ex = BtcturkExchange(make_http(venue.url))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                ex.balances()
                ex.symbol_rules("BTCTRY")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_one_malformed_listing_does_not_hide_the_others(venue: Any, make_http: Any, fx: Any) -> None:
    import json

    from btcbot.errors import ProtocolError

    payload = json.loads(fx.fixture_bytes("exchangeinfo.json"))
    payload["data"]["symbols"].append({"id": 99, "name": "NEWTRY", "status": "TRADING"})  # fields missing
    venue.script = lambda req: fx.Reply(body=fx.json_body(payload)) if "exchangeinfo" in req.path else None
    cache = RulesCache(make_http(venue.url))
    assert cache.rules("BTCTRY").symbol == "BTCTRY"
    assert cache.exchange_info().unparsed == ("NEWTRY",)
    with pytest.raises(ProtocolError, match="NEWTRY"):
        cache.rules("NEWTRY")


def test_ws_frame_handler_ignores_what_it_does_not_know() -> None:
    md = WsMarketData("ws://unused", ("BTCUSDT",))
    frames = [
        b'[991, {"type": 991, "current": "6.0.0", "min": "2.3.0"}]',
        b'[100, {"type": 100, "ok": false, "message": "join|obdiff:BTCUSDT"}]',
        b'[451, {"type": 451, "pairId": 0, "symbol": "BTCTRY", "id": 0}]',
        b'{"not": "a list"}',
        b"not json at all",
        b'[432, {"PS": "BTCUSDT", "AO": [], "BO": []}]',  # a diff before any full book: ignored
        b'[431, {"CS": 5, "PS": "BTCUSDT", "AO": [{"A": "1", "P": "101"}], "BO": [{"A": "1", "P": "100"}]}]',
        b'[432, {"PS": "BTCUSDT", "AO": [], "BO": []}]',  # no CS once synced: a bad frame, counted
        b'[432, {"CS": 6, "PS": "BTCUSDT", "AO": [{"CP": 1, "P": "102", "A": "2"}], "BO": []}]',
        b'[432, {"CS": 6, "PS": "BTCUSDT", "AO": [{"CP": 3, "P": "102", "A": "2"}], "BO": []}]',  # duplicate CS
        b'[402, {"PS": "BTCUSDT", "B": "100", "A": "101", "LA": "100.5"}]',
        b'[422, {"PS": "BTCUSDT", "D": "1787692480001", "I": "100163842129199948", "A": "0.1", "P": "100.5", "S": 1}]',
    ]
    for i, frame in enumerate(frames):
        md._handle(None, frame, i, i)  # type: ignore[arg-type]
    snap = md.snapshot("BTCUSDT")
    assert snap is not None and snap.sequence == 6 and [lv.price for lv in snap.asks] == [Decimal(101), Decimal(102)]
    assert (
        md.stats.bad_frames == 2 and md.stats.diffs_applied == 1
    )  # bad JSON; a synced diff without CS and md.stats.gaps == 0
    ticker = md.ticker("BTCUSDT")
    assert ticker is not None and ticker.bid == Decimal(100) and ticker.last == Decimal("100.5")
    (trade,) = md.trades("BTCUSDT")
    assert trade.trade_id == 100163842129199948 and trade.side_code == 1


def _reconnect_policy(seed: int) -> RetryPolicy:
    # The reader's default backoff (0.2 s doubling to 5 s), with a seeded jitter.
    return RetryPolicy(max_attempts=1_000_000, base_delay_s=0.2, max_delay_s=5.0, rng=random.Random(seed))


def _assert_paced(times_s: list[float]) -> None:
    """Attempts inside the venue's connect limit, and never a lock-out: whenever the venue comes back, the next
    attempt is at most one pacing interval (60 s / (12 - the burst of 4)) away."""
    assert len(times_s) > 60
    assert max(sum(1 for u in times_s if t <= u < t + 60) for t in times_s) <= MAX_CONNECTS_PER_MINUTE
    assert max(b - a for a, b in pairwise(times_s)) <= 60 / (MAX_CONNECTS_PER_MINUTE - 4) + 1e-6
    assert times_s[3] - times_s[0] < 3  # a blip is retried at once (the burst), not paced


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_connect_pacer_through_a_long_outage(seed: int) -> None:
    pacer = ConnectPacer(_reconnect_policy(seed), per_minute=MAX_CONNECTS_PER_MINUTE, burst=4, now_s=0.0)
    now, times = 0.0, []
    while now < 15 * 60:  # every attempt fails, as the reader's loop paces them
        while (wait := pacer.slot_wait_s(now)) > 0:
            now += wait
        pacer.attempt()
        times.append(now)
        now += pacer.backoff_s()
    _assert_paced(times)
    assert pacer.interval_s == pytest.approx(7.5)


def test_ws_reconnects_stay_inside_the_connection_attempt_limit(fx: Any) -> None:
    dead = fx.closed_port_url().replace("http://", "ws://")
    # Virtual time: the reader's waits pass at once, so minutes of a dead venue take milliseconds.
    md = fx.RecordingWs(dead, ("BTCTRY",), clock=VirtualClock(), reconnect=_reconnect_policy(4))
    md.start()
    try:
        wait_until(lambda: md.stats.connect_failures >= 100, what="100 refused connects")
    finally:
        md.stop()
    _assert_paced(md.attempts_s)
    assert md.snapshot("BTCTRY") is None
