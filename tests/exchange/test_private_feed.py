"""The adapter's private-channel parsing on frames shaped as the real exchange sends them, then on the simulator.

The captured frames (tests/fixtures/btcturk/ws_4xx.json, re-typed from real 2022-2025 captures) go through the
feed's frame handler as bytes off the socket; the simulator run checks that a fill pushed as 423 becomes the
very ``Fill`` the REST trade list gives for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.domain.orders import Fill, OrderIntent, OrderSide, client_order_id
from btcbot.exchange.btcturk import BtcturkExchange, BtcturkHttp
from btcbot.exchange.btcturk.private_ws import T_ORDER_DELETE, T_ORDER_INSERT, PrivateOrderFeed
from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET
from btcbot.testing.waiting import WEDGED_AFTER_S

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "btcturk"
ORDER_ID = 21770789301  # the order every capture file is about


def captured(name: str) -> bytes:
    """A capture file as the socket delivers it: one compact JSON text frame."""
    return json.dumps(json.loads((CAPTURES / name).read_text(encoding="utf-8"))).encode()


@pytest.fixture
def feed() -> PrivateOrderFeed:
    return PrivateOrderFeed("ws://127.0.0.1:9", DEMO_API_KEY, DEMO_API_SECRET)  # never started


def test_order_events_parse_from_the_captured_451_and_452(feed: PrivateOrderFeed) -> None:
    feed._handle(captured("ws_451.json"))
    feed._handle(captured("ws_452.json"))  # 16-digit decimals
    insert, delete = feed.events(ORDER_ID)
    assert (insert.kind, insert.symbol, insert.client_order_id, insert.num_left) == (
        T_ORDER_INSERT, "BTCUSDT", "wire-demo-1", Decimal("0.05"),
    )  # fmt: skip
    assert delete.kind == T_ORDER_DELETE and delete.num_left == Decimal("0.0377")
    assert feed.wait_for_delete(ORDER_ID, timeout_s=0) == delete
    assert feed.last_error is None


def test_a_fill_parses_from_the_captured_423_with_positive_amounts(feed: PrivateOrderFeed) -> None:
    feed._handle(captured("ws_423.json"))
    assert feed.fills(ORDER_ID) == (
        Fill(
            trade_id=100163842129200001,
            exchange_order_id=ORDER_ID,
            client_order_id="wire-demo-1",
            symbol="BTCUSDT",
            side=OrderSide.SELL,
            price=Decimal("62000.00"),
            quantity=Decimal("0.0123"),
            fee=Decimal("0.6355"),
            tax=Decimal("0.1271"),
            ts_ms=1787692481234,
        ),
    )
    assert feed.last_error is None


@pytest.mark.parametrize("name", ["ws_441.json", "ws_201.json", "ws_451_zero.json"])
def test_frames_the_feed_does_not_use_are_ignored_quietly(feed: PrivateOrderFeed, name: str) -> None:
    feed._handle(captured(name))
    assert feed.events(ORDER_ID) == () and feed.fills(ORDER_ID) == () and feed.events(0) == ()
    assert feed.last_error is None


def test_a_malformed_order_frame_is_reported_not_raised(feed: PrivateOrderFeed) -> None:
    frame = json.loads(captured("ws_451.json"))
    del frame[1]["numLeft"]
    feed._handle(json.dumps(frame).encode())
    assert feed.events(ORDER_ID) == () and feed.last_error == "bad frame: ValidationError"


@pytest.fixture
def ex(fresh_sim: Any) -> Iterator[BtcturkExchange]:
    http = BtcturkHttp(fresh_sim.rest_url, api_key=fresh_sim.api_key, api_secret=fresh_sim.api_secret)
    exchange = BtcturkExchange(http, owns_http=True)
    yield exchange
    exchange.close()


@pytest.mark.integration
def test_a_fill_from_the_simulators_423_equals_the_rest_fill(ex: BtcturkExchange, fresh_sim: Any, fx: Any) -> None:
    feed = PrivateOrderFeed(fresh_sim.ws_url, fresh_sim.api_key, fresh_sim.api_secret)
    feed.start()
    try:
        assert feed.logged_in.wait(WEDGED_AFTER_S)
        ask = ex.http.order_book("BTCTRY").asks[0][0]
        intent = OrderIntent("BTCTRY", OrderSide.SELL, ask - 5000, Decimal("0.001"), client_order_id("wire", "423"))
        ack = ex.submit_order(intent, fx.armed_gate().submit_token())  # crosses the bids: fills at once
        assert feed.wait_for_delete(ack.exchange_order_id, timeout_s=5) is not None
        rest = sorted(
            (f for f in ex.user_trades("BTCTRY") if f.exchange_order_id == ack.exchange_order_id),
            key=lambda f: f.trade_id,
        )
        assert feed.fills(ack.exchange_order_id) == tuple(rest)
        assert sum(f.quantity for f in rest) == Decimal("0.001")
        assert all(f.side is OrderSide.SELL and f.fee > 0 and f.tax > 0 for f in rest)
    finally:
        feed.stop()
