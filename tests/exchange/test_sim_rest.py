"""BtcturkExchange / BtcturkHttp against the local simulator over real loopback HTTP: every call, every fault."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from btcbot.domain.orders import OrderIntent, OrderMethod, OrderSide, VenueOrderStatus, client_order_id
from btcbot.errors import (
    AuthenticationError,
    InsufficientFunds,
    NotArmedError,
    OutcomeUnknown,
    RateLimited,
    RejectedByVenue,
    SymbolNotTradable,
    TransientError,
)
from btcbot.exchange.btcturk import BtcturkExchange, BtcturkHttp, measure_clock_offset
from btcbot.exchange.btcturk.rest_md import RestMarketData
from btcbot.exchange.interfaces import ExchangeReader, OrderGateway
from btcbot.exchange.retry import RetryPolicy
from btcbot.testing.waiting import WEDGED_AFTER_S, wait_until

pytestmark = pytest.mark.integration


def _control(sim: Any, path: str) -> Any:
    return requests.get(sim.rest_url + path, timeout=5).json()


def _order_writes(sim: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in _control(sim, "/sim/requests")
        if r["method"] in ("POST", "DELETE") and r["path"].lower() == "/api/v1/order"
    ]


@pytest.fixture
def ex(fresh_sim: Any, sleeps: Any) -> Iterator[BtcturkExchange]:
    http = BtcturkHttp(
        fresh_sim.rest_url,
        api_key=fresh_sim.api_key,
        api_secret=fresh_sim.api_secret,
        read_timeout_s=WEDGED_AFTER_S,  # every answer the simulator means to give arrives, however loaded the machine
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.002, max_retry_after_s=0.5, sleep=sleeps),
    )
    exchange = BtcturkExchange(http, owns_http=True)
    yield exchange
    exchange.close()


def _intent(symbol: str, side: OrderSide, price: Decimal, qty: str, key: str) -> OrderIntent:
    return OrderIntent(symbol, side, price, Decimal(qty), client_order_id("simtest", key))


def _passive_buy(ex: BtcturkExchange, key: str) -> OrderIntent:
    book = ex.http.order_book("BTCTRY")
    rules = ex.symbol_rules("BTCTRY")
    price = rules.round_price(book.bids[0][0] * Decimal("0.99"), OrderSide.BUY)
    return _intent("BTCTRY", OrderSide.BUY, price, "0.001", key)


def test_implements_protocols(ex: BtcturkExchange) -> None:
    assert isinstance(ex, ExchangeReader)
    assert isinstance(ex, OrderGateway)


def test_public_reads_are_typed(ex: BtcturkExchange, fresh_sim: Any) -> None:
    before_ms = time.time_ns() // 1_000_000
    server_ms = ex.server_time_ms()
    assert before_ms <= server_ms <= time.time_ns() // 1_000_000
    rules = ex.symbol_rules("btc_try")
    assert rules.symbol == "BTCTRY" and rules.tradable and rules.numerator_scale == 8
    assert isinstance(rules.min_exchange_value, Decimal) and rules.min_exchange_value > 0
    ticker = ex.http.ticker("BTCTRY")
    assert ticker is not None and isinstance(ticker.bid, Decimal) and ticker.bid < ticker.ask
    assert ex.http.ticker("NOPETRY") is None
    book = ex.http.order_book("BTCTRY")
    assert book.bids[0][0] < book.asks[0][0] and all(isinstance(a, Decimal) for _, a in book.bids)
    with pytest.raises(SymbolNotTradable, match="NOPETRY"):
        ex.symbol_rules("NOPETRY")
    with pytest.raises(SymbolNotTradable):
        ex.http.order_book("NOPETRY")


def test_order_lifecycle_cancel_is_only_accepted_until_confirmed(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    gate = fx.armed_gate()
    intent = _passive_buy(ex, "lifecycle")
    ack = ex.submit_order(intent, gate.submit_token())
    assert ack.client_order_id == intent.client_order_id and ack.exchange_order_id > 0
    opened = ex.open_orders("BTCTRY")
    assert [o.exchange_order_id for o in opened] == [ack.exchange_order_id]
    assert opened[0].status is VenueOrderStatus.UNTOUCHED and opened[0].method is OrderMethod.LIMIT
    assert ex.get_order(ack.exchange_order_id).client_order_id == intent.client_order_id
    found = ex.find_order_by_client_id("BTCTRY", intent.client_order_id)
    assert found is not None and found.exchange_order_id == ack.exchange_order_id
    assert {b.asset for b in ex.balances()} >= {"TRY", "BTC"}
    locked = {b.asset: b.locked for b in ex.balances()}
    assert locked["TRY"] > 0

    assert ex.cancel_order(ack.exchange_order_id, gate.cancel_token()) is None  # accepted, nothing more
    confirmation = ex.confirm_cancel(ack.exchange_order_id, timeout_s=3, poll_interval_s=0.01)
    assert confirmation.confirmed and confirmation.cancelled and not confirmation.filled
    assert ex.open_orders("BTCTRY") == []
    assert ex.all_orders("BTCTRY")[0].status is VenueOrderStatus.CANCELED
    assert len(_order_writes(fresh_sim)) == 2  # exactly one POST and one DELETE


def test_fill_and_user_trades(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    gate = fx.armed_gate()
    book = ex.http.order_book("BTCTRY")
    intent = _intent("BTCTRY", OrderSide.BUY, book.asks[0][0] * Decimal("1.01"), "0.001", "fill")
    intent = _intent(
        "BTCTRY", OrderSide.BUY, ex.symbol_rules("BTCTRY").round_price(intent.price, OrderSide.BUY), "0.001", "fill"
    )
    ack = ex.submit_order(intent, gate.submit_token())
    order = ex.get_order(ack.exchange_order_id)
    assert order.status is VenueOrderStatus.CLOSED and order.filled_quantity == Decimal("0.001")
    fills = [f for f in ex.user_trades("BTCTRY") if f.exchange_order_id == ack.exchange_order_id]
    assert fills and sum(f.quantity for f in fills) == Decimal("0.001")
    assert all(f.quantity > 0 and f.fee >= 0 and f.side is OrderSide.BUY for f in fills)
    assert all(f.client_order_id == intent.client_order_id for f in fills)
    assert ex.user_trades("ETHTRY") == []


def test_dropped_order_response_is_outcome_unknown_then_reconciled(
    ex: BtcturkExchange, fresh_sim: Any, fx: Any
) -> None:
    gate = fx.armed_gate()
    intent = _passive_buy(ex, "dropped")
    fresh_sim.set_faults(drop_order_response=True)
    # Only the dropped answer times out: this submit goes through a client that gives up after 0.5 s.
    impatient = BtcturkHttp(
        fresh_sim.rest_url, api_key=fresh_sim.api_key, api_secret=fresh_sim.api_secret, read_timeout_s=0.5
    )
    writer = BtcturkExchange(impatient, owns_http=True)
    try:
        with pytest.raises(OutcomeUnknown, match="reconcile"):
            writer.submit_order(intent, gate.submit_token())
    finally:
        writer.close()
    fresh_sim.set_faults(drop_order_response=False)
    assert len(_order_writes(fresh_sim)) == 1  # never retried
    found = ex.find_order_by_client_id("BTCTRY", intent.client_order_id)
    assert found is not None and found.status is VenueOrderStatus.UNTOUCHED


def test_5xx_reads_retry_and_writes_do_not(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    gate = fx.armed_gate()
    intent = _passive_buy(ex, "5xx")
    fresh_sim.set_faults(error_rate=1.0)
    with pytest.raises(TransientError):
        ex.balances()
    balances_calls = [r for r in _control(fresh_sim, "/sim/requests") if r["path"].endswith("/users/balances")]
    assert len(balances_calls) == 3
    with pytest.raises(OutcomeUnknown):
        ex.submit_order(intent, gate.submit_token())
    with pytest.raises(OutcomeUnknown):
        ex.cancel_order(123, gate.cancel_token())
    assert len(_order_writes(fresh_sim)) == 2


def test_latency_within_and_past_the_read_timeout(ex: BtcturkExchange, fresh_sim: Any) -> None:
    fresh_sim.set_faults(latency_ms=60)
    t0 = time.perf_counter()
    assert ex.balances()
    assert time.perf_counter() - t0 >= 0.06  # a lower bound on the injected delay: load cannot make it fail
    # Far past the read timeout, so no scheduling delay on a loaded machine lets the late answer count.
    fresh_sim.set_faults(latency_ms=1000)
    impatient = BtcturkHttp(fresh_sim.rest_url, read_timeout_s=0.1, retry=RetryPolicy(base_delay_s=0.001))
    try:
        with pytest.raises(TransientError, match="no answer"):
            impatient.server_time_ms()  # three attempts, each past the 0.1 s read timeout
    finally:
        impatient.close()


def test_429_is_rate_limited_with_retry_after(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    fresh_sim.set_faults(rate_limit=True)
    with pytest.raises(RateLimited) as info:
        ex.http.open_orders("BTCTRY")
    assert info.value.retry_after_s == 1.0 and info.value.http_status == 429
    with pytest.raises(RateLimited):
        ex.submit_order(
            _intent("BTCTRY", OrderSide.BUY, Decimal(1000000), "0.001", "429"), fx.armed_gate().submit_token()
        )


def test_rejections_are_typed(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    gate = fx.armed_gate()
    intent = _passive_buy(ex, "reject")
    fresh_sim.set_faults(reject_orders=True)
    with pytest.raises(RejectedByVenue) as info:
        ex.submit_order(intent, gate.submit_token())
    assert info.value.venue_message == "FAILED_LIMIT_ORDER" and info.value.venue_code == 1120
    fresh_sim.set_faults(reject_orders=False)
    with pytest.raises(InsufficientFunds):
        ex.submit_order(_intent("BTCTRY", OrderSide.SELL, intent.price * 2, "50", "too-big"), gate.submit_token())


def test_price_band_rejection_refreshes_rules(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    rules = ex.symbol_rules("BTCTRY")
    assert rules.maximum_limit_order_price is not None
    before = ex.rules_cache.refreshes
    too_high = rules.maximum_limit_order_price * 2
    with pytest.raises(RejectedByVenue):
        ex.submit_order(_intent("BTCTRY", OrderSide.SELL, too_high, "0.001", "band"), fx.armed_gate().submit_token())
    ex.symbol_rules("BTCTRY")
    assert ex.rules_cache.refreshes == before + 1


def test_not_armed_sends_nothing(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    gate = fx.armed_gate()
    token = gate.submit_token()
    gate.latch_safe_mode("test")
    with pytest.raises(NotArmedError):
        ex.submit_order(_passive_buy(ex, "latched"), token)
    assert _order_writes(fresh_sim) == []


def test_clock_skew_measured_and_breaks_auth(ex: BtcturkExchange, fresh_sim: Any) -> None:
    # The venue reads its clock somewhere inside the round trip: the estimate is off by at most half of it (and a
    # millisecond of rounding), however long a loaded machine makes the trip.
    calm = measure_clock_offset(ex.http, samples=3)
    assert abs(calm.offset_ms) <= calm.rtt_ms / 2 + 1 and not calm.threatens_stamp_window()
    fresh_sim.set_faults(clock_skew_ms=7000)
    skewed = measure_clock_offset(ex.http, samples=3)
    assert abs(skewed.offset_ms - 7000) <= skewed.rtt_ms / 2 + 1 and skewed.rtt_ms >= 0
    assert skewed.threatens_stamp_window()
    with pytest.raises(AuthenticationError, match="clock"):
        ex.balances()


def test_wrong_secret_is_authentication_error(fresh_sim: Any, fx: Any) -> None:
    wrong = base64.b64encode(b"\xff" * 32).decode()
    assert wrong != fresh_sim.api_secret
    http = BtcturkHttp(fresh_sim.rest_url, api_key=fresh_sim.api_key, api_secret=wrong)
    try:
        with pytest.raises(AuthenticationError) as info:
            http.balances()
        assert wrong not in str(info.value) and fresh_sim.api_key not in str(info.value)
    finally:
        http.close()


def test_rest_market_data_frozen_crossed_and_zero_bid(ex: BtcturkExchange, fresh_sim: Any) -> None:
    md = RestMarketData(ex.http, ("BTCTRY",))
    snap = md.snapshot("BTCTRY")
    assert snap is not None and snap.is_valid and snap.source == "rest" and snap.exchange_ts_ms is not None
    fresh_sim.set_faults(freeze_market_data=True)
    frozen1 = md.snapshot("BTCTRY")
    time.sleep(0.02)  # not waiting for anything: the clock moves on, so an unfrozen book would be stamped later
    fresh_sim.tick(3)
    frozen2 = md.snapshot("BTCTRY")
    assert frozen1 is not None and frozen2 is not None
    # The adapter reports the venue's own (frozen) stamp; the freshness guard judges it.
    assert frozen2.exchange_ts_ms == frozen1.exchange_ts_ms
    assert frozen2.received_wall_ms > frozen2.exchange_ts_ms  # type: ignore[operator]
    fresh_sim.set_faults(freeze_market_data=False, crossed_book=True)
    crossed = md.snapshot("BTCTRY")
    assert crossed is not None and not crossed.is_valid
    fresh_sim.set_faults(crossed_book=False, zero_bid=True)
    zero = md.snapshot("BTCTRY")
    assert zero is not None and not zero.is_valid


def test_client_limiter_keeps_a_burst_inside_the_venue_limits(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    """Twelve cancels in a burst: the venue allows 10 a second; our limiter spaces them so none meets a 429."""
    gate = fx.armed_gate()
    outcomes = []
    for i in range(12):
        try:
            ex.cancel_order(10_000 + i, gate.cancel_token())
            outcomes.append("accepted")
        except RejectedByVenue as exc:  # unknown ids: the venue answers, it does not rate-limit
            outcomes.append(exc.venue_message)
    statuses = [r["status"] for r in _order_writes(fresh_sim)]
    assert len(statuses) == 12 and 429 not in statuses
    assert ex.http.limiter.waits > 0
    # Negative control: without the client-side limiter the same burst does meet the venue's 429.
    from btcbot.exchange.btcturk.limiter import unlimited

    fresh_sim.reset()
    raw = BtcturkHttp(
        fresh_sim.rest_url, api_key=fresh_sim.api_key, api_secret=fresh_sim.api_secret, limiter=unlimited()
    )
    try:
        with pytest.raises(RateLimited):
            for i in range(12):
                with contextlib.suppress(RejectedByVenue):
                    raw.cancel_order(20_000 + i, gate.cancel_token())
    finally:
        raw.close()


def test_cancel_confirmed_by_the_private_452_event(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    from btcbot.exchange.btcturk.private_ws import T_ORDER_DELETE, T_ORDER_INSERT, PrivateOrderFeed

    feed = PrivateOrderFeed(fresh_sim.ws_url, fresh_sim.api_key, fresh_sim.api_secret)
    feed.start()
    try:
        assert feed.logged_in.wait(WEDGED_AFTER_S)
        gate = fx.armed_gate()
        intent = _passive_buy(ex, "ws452")
        ack = ex.submit_order(intent, gate.submit_token())
        ex.cancel_order(ack.exchange_order_id, gate.cancel_token())
        before_reads = len(_control(fresh_sim, "/sim/requests"))
        result = ex.confirm_cancel(ack.exchange_order_id, timeout_s=3, order_events=feed)
        assert result.confirmed and result.cancelled
        kinds = [e.kind for e in feed.events(ack.exchange_order_id)]
        assert kinds[0] == T_ORDER_INSERT and kinds[-1] == T_ORDER_DELETE
        assert feed.events(ack.exchange_order_id)[0].client_order_id == intent.client_order_id
        # Waited on the event, then read the order exactly once (no polling loop).
        reads = _control(fresh_sim, "/sim/requests")[before_reads:]
        assert len([r for r in reads if "/api/v1/order/" in r["path"].lower()]) == 1
    finally:
        feed.stop()


def test_private_feed_refuses_a_wrong_key(fresh_sim: Any) -> None:
    from btcbot.exchange.btcturk.private_ws import PrivateOrderFeed

    feed = PrivateOrderFeed(fresh_sim.ws_url, fresh_sim.api_key, base64.b64encode(b"\x01" * 32).decode())
    feed.start()
    try:
        wait_until(lambda: feed.login_failures, what="the refused login")
        assert not feed.logged_in.is_set()
        assert "login refused" in (feed.last_error or "") and fresh_sim.api_secret not in repr(feed)
    finally:
        feed.stop()
