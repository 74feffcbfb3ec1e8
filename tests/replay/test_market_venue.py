"""The dataset feed (books in virtual time) and the in-process venue (fills against recorded books)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from btcbot.arming import ArmingGate
from btcbot.domain.clock import VirtualClock
from btcbot.domain.orders import OrderIntent, OrderSide, VenueOrderStatus
from btcbot.errors import InsufficientFunds, InvariantViolation, NotArmedError, RejectedByVenue
from btcbot.replay.dataset import DatasetReader
from btcbot.replay.feed import DatasetFeed
from btcbot.replay.market import RecordedMarket
from btcbot.replay.rules import rules_from_header
from btcbot.replay.venue import InProcessVenue, assert_in_process
from btcbot.settings import Settings

from .conftest import T0, armed_gate, diff, full


def _setup(path: Path) -> tuple[VirtualClock, RecordedMarket, DatasetFeed, InProcessVenue]:
    market = RecordedMarket(DatasetReader(path))
    clock = VirtualClock(start_ms=T0)
    rules = rules_from_header(str(path), market.header.symbols, market.header.exchange_info)
    return clock, market, DatasetFeed(market, clock), InProcessVenue(market, clock, rules)


def test_feed_applies_events_up_to_virtual_now(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset(
        [
            full(0),
            diff(100, 2, bids=[["3000500", "0.1", 1]]),
            diff(200, 3, asks=[["3001000", "0", 3]]),
            diff(300, 5, bids=[["3000900", "1", 1]]),  # gap in CS: ignored until the next full book
            full(9000, bid="3100000", ask="3101000", cs=9),
        ]
    )
    clock, market, feed, _ = _setup(path)
    snap = feed.snapshot("BTCTRY")
    assert snap is not None and snap.best_bid == Decimal("3000000") and snap.received_wall_ms == T0
    clock.advance_ms(150)
    snap = feed.snapshot("BTCTRY")
    assert snap is not None and snap.best_bid == Decimal("3000500") and snap.received_monotonic_ns == (T0 + 100) * 10**6
    clock.advance_ms(1000)
    snap = feed.snapshot("BTCTRY")
    assert snap is not None and snap.best_ask == Decimal("3002000")
    assert snap.best_bid == Decimal("3000500")  # the gapped diff was not applied
    assert snap.received_wall_ms == T0 + 200  # ... and the book kept ageing
    assert not market.exhausted
    clock.advance_ms(10_000)
    snap = feed.snapshot("BTCTRY")
    assert snap is not None and snap.best_bid == Decimal("3100000")
    assert market.exhausted and market.events_applied == 5


def test_a_gap_leaves_the_book_out_of_sync_at_once_as_the_live_feed_does(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset([full(0), diff(100, 2, bids=[["3000500", "0.1", 1]]), diff(200, 5), full(900, cs=9)])
    clock, _, feed, _ = _setup(path)
    clock.advance_ms(150)
    assert feed.snapshot("BTCTRY").in_sync  # type: ignore[union-attr]
    clock.advance_ms(100)  # the gapped diff (CS 5 after 2) is now in the past
    snap = feed.snapshot("BTCTRY")
    assert snap is not None and not snap.in_sync and snap.received_wall_ms == T0 + 100
    clock.advance_ms(1000)
    assert feed.snapshot("BTCTRY").in_sync  # type: ignore[union-attr]


def _intent(side: OrderSide, price: str, qty: str = "0.0001", cid: str = "c1") -> OrderIntent:
    return OrderIntent(symbol="BTCTRY", side=side, price=Decimal(price), quantity=Decimal(qty), client_order_id=cid)


def test_resting_buy_fills_when_recorded_asks_reach_it(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset(
        [full(0), diff(5000, 2, asks=[["2999500", "0.00005", 1]]), diff(6000, 3, asks=[["2999400", "1", 1]])]
    )
    clock, _, _, venue = _setup(path)
    gate = armed_gate()
    ack = venue.submit_order(_intent(OrderSide.BUY, "2999500"), gate.submit_token())
    assert venue.get_order(ack.exchange_order_id).status is VenueOrderStatus.UNTOUCHED
    try_before = {b.asset: b for b in venue.balances()}["TRY"]
    assert try_before.locked > 0
    clock.advance_ms(5500)
    order = venue.get_order(ack.exchange_order_id)
    assert order.status is VenueOrderStatus.PARTIAL and order.left_amount == Decimal("0.00005")
    clock.advance_ms(1000)
    assert venue.get_order(ack.exchange_order_id).status is VenueOrderStatus.CLOSED
    fills = venue.user_trades("BTCTRY")
    assert [f.ts_ms for f in fills] == [T0 + 5000, T0 + 6000]
    assert all(f.price == Decimal("2999500") and f.fee > 0 for f in fills)
    balances = {b.asset: b for b in venue.balances()}
    assert balances["BTC"].total == Decimal("1.0001")
    assert balances["TRY"].locked == 0
    assert venue.open_orders() == []


def test_marketable_order_takes_book_and_cancel_rules(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset([full(0)])
    _, _, _, venue = _setup(path)
    gate = armed_gate()
    ack = venue.submit_order(_intent(OrderSide.BUY, "3005000", qty="0.001"), gate.submit_token())
    assert venue.get_order(ack.exchange_order_id).status is VenueOrderStatus.CLOSED
    assert venue.user_trades()[0].price == Decimal("3001000")
    with pytest.raises(RejectedByVenue):
        venue.cancel_order(ack.exchange_order_id, gate.cancel_token())
    resting = venue.submit_order(_intent(OrderSide.SELL, "3100000", cid="c2"), gate.submit_token())
    venue.cancel_order(resting.exchange_order_id, gate.cancel_token())
    assert venue.get_order(resting.exchange_order_id).status is VenueOrderStatus.CANCELED
    with pytest.raises(RejectedByVenue, match="MIN_TOTAL_AMOUNT"):
        venue.submit_order(_intent(OrderSide.BUY, "2000000", qty="0.00001"), gate.submit_token())
    with pytest.raises(InsufficientFunds):
        venue.submit_order(_intent(OrderSide.SELL, "3100000", qty="5"), gate.submit_token())
    assert venue.rejects == 2


def test_observe_only_gate_cannot_write_and_venue_is_in_process(write_dataset: Callable[..., Path]) -> None:
    _, _, _, venue = _setup(write_dataset([full(0)]))
    assert_in_process(venue)
    with pytest.raises(InvariantViolation):
        assert_in_process(object())
    with pytest.raises(NotArmedError):
        ArmingGate.from_settings(Settings()).submit_token()
