"""The replay venue's realism: partial fills against recorded depth, taken liquidity, order-entry latency, fees."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.domain.clock import VirtualClock
from btcbot.domain.orders import OrderIntent, OrderSide, VenueOrderStatus
from btcbot.exchange.btcturk.limiter import DOCUMENTED_LIMITS
from btcbot.replay.accounting import Touch
from btcbot.replay.dataset import DatasetReader
from btcbot.replay.market import RecordedMarket
from btcbot.replay.rules import rules_from_header
from btcbot.replay.venue import R_CANCEL, R_SUBMIT, VENUE_ROUTES, InProcessVenue

from .conftest import T0, armed_gate, diff, full

D = Decimal
GATE = armed_gate()


def _venue(path: Path, latency_ms: int = 0) -> tuple[VirtualClock, InProcessVenue]:
    market = RecordedMarket(DatasetReader(path))
    clock = VirtualClock(start_ms=T0)
    rules = rules_from_header(str(path), market.header.symbols, market.header.exchange_info)
    return clock, InProcessVenue(market, clock, rules, latency_ms=latency_ms)


def _buy(venue: InProcessVenue, price: str, qty: str, cid: str = "c1") -> int:
    intent = OrderIntent(symbol="BTCTRY", side=OrderSide.BUY, price=D(price), quantity=D(qty), client_order_id=cid)
    return venue.submit_order(intent, GATE.submit_token()).exchange_order_id


def _book(t: int, asks: list[list[Any]], cs: int = 1) -> list[Any]:
    return [431, T0 + t, None, "BTCTRY", cs, [["3000000", "1"]], asks]


def _filled(venue: InProcessVenue) -> list[tuple[Decimal, Decimal]]:
    return [(f.price, f.quantity) for f in venue.user_trades()]


def test_a_recorded_level_cannot_fill_the_same_order_twice(write_dataset: Callable[..., Path]) -> None:
    """Re-announcing a level we already took (a new size, or the same) must not fill us again from it."""
    path = write_dataset(
        [
            full(0),
            diff(1000, 2, asks=[["2999500", "0.0002", 1]]),
            diff(2000, 3, asks=[["2999500", "0.00015", 0]]),  # someone else took some: still less than we took
            diff(3000, 4, asks=[["2999500", "0.00015", 0]]),
            diff(4000, 5, asks=[["2999500", "0", 3]]),  # the level is gone ...
            diff(5000, 6, asks=[["2999500", "0.0003", 1]]),  # ... and new liquidity arrives there
        ]
    )
    clock, venue = _venue(path)
    oid = _buy(venue, "2999500", "0.001")
    for expected_left in ("0.0008", "0.0008", "0.0008", "0.0008", "0.0005"):
        clock.advance_ms(1000)
        assert venue.get_order(oid).left_amount == D(expected_left)
    assert _filled(venue) == [(D(2999500), D("0.0002")), (D(2999500), D("0.0003"))]


def test_a_full_book_without_the_taken_level_makes_it_whole_again(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset(
        [
            full(0),
            diff(1000, 2, asks=[["2999500", "0.0002", 1]]),
            full(2000, cs=3),  # 2999500 is not in this book
            diff(3000, 4, asks=[["2999500", "0.0002", 1]]),
        ]
    )
    clock, venue = _venue(path)
    oid = _buy(venue, "2999500", "0.001")
    clock.advance_ms(3500)
    assert venue.get_order(oid).left_amount == D("0.0006")


def test_a_marketable_order_walks_the_recorded_depth_and_rests_the_rest(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset(
        [
            _book(0, [["3001000", "0.01"], ["3002000", "0.02"], ["3005000", "1"]]),
            diff(1000, 2, asks=[["3002000", "0.025", 0]]),  # 0.005 more than we took there
            diff(2000, 3, asks=[["3002000", "0", 3]]),
            diff(3000, 4, asks=[["3002000", "0.01", 1]]),
        ]
    )
    clock, venue = _venue(path)
    oid = _buy(venue, "3002000", "0.05")
    order = venue.get_order(oid)
    assert order.status is VenueOrderStatus.PARTIAL and order.left_amount == D("0.02")
    assert _filled(venue) == [(D(3001000), D("0.01")), (D(3002000), D("0.02"))]
    assert [bf.maker for bf in venue.backtest_fills()] == [False, False]
    clock.advance_ms(3500)
    assert _filled(venue)[2:] == [(D(3002000), D("0.005")), (D(3002000), D("0.01"))]
    assert venue.get_order(oid).left_amount == D("0.005")
    assert [bf.maker for bf in venue.backtest_fills()][2:] == [True, True]


def test_maker_and_taker_fees_with_the_vat_share_as_tax(write_dataset: Callable[..., Path]) -> None:
    """§6.7: fee and tax in the quote asset; TRY pairs 0.12 % maker / 0.24 % taker, tax = 20/120 of the charge."""
    path = write_dataset([full(0), diff(1000, 2, asks=[["2999000", "1", 1]])])
    clock, venue = _venue(path)
    _buy(venue, "3001000", "0.001", cid="taker")
    _buy(venue, "2999500", "0.001", cid="maker")
    clock.advance_ms(1500)
    venue.balances()  # any query brings the market up to now
    taker, maker = venue.backtest_fills()
    for bf, rate in ((taker, D("0.0024")), (maker, D("0.0012"))):
        charge = bf.fill.price * bf.fill.quantity * rate
        assert bf.fill.fee + bf.fill.tax == charge
        assert bf.fill.tax == charge * 20 / 120
    assert (taker.maker, maker.maker) == (False, True)
    assert maker.fill.price == D(2999500)  # a resting order fills at its own price


@pytest.mark.parametrize(("latency_ms", "taker", "price"), [(0, False, "3000500"), (500, True, "3000300")])
def test_latency_delays_a_submit_past_a_market_move(
    write_dataset: Callable[..., Path], latency_ms: int, taker: bool, price: str
) -> None:
    """Sent at t=0, the ask drops at t=200: at once the order rests and is hit; 500 ms late it takes the new ask."""
    path = write_dataset([full(0), diff(200, 2, asks=[["3000300", "1", 1]])])
    clock, venue = _venue(path, latency_ms)
    oid = _buy(venue, "3000500", "0.001")
    assert clock.wall_ms() == T0 + latency_ms  # the call lasted as long as the trip
    clock.advance_ms(1000)
    assert venue.get_order(oid).status is VenueOrderStatus.CLOSED
    (bf,) = venue.backtest_fills()
    assert (bf.maker, bf.fill.price) == (not taker, D(price))
    assert venue.calls[R_SUBMIT] == [T0 + latency_ms]


@pytest.mark.parametrize(("latency_ms", "filled"), [(0, "0"), (500, "0.0004")])
def test_a_resting_order_can_fill_while_its_cancel_travels(
    write_dataset: Callable[..., Path], latency_ms: int, filled: str
) -> None:
    path = write_dataset([full(0), diff(300, 2, asks=[["3000400", "0.0004", 1]])])
    clock, venue = _venue(path, latency_ms)
    oid = _buy(venue, "3000500", "0.001")
    sent = clock.wall_ms()
    venue.cancel_order(oid, GATE.cancel_token())
    assert clock.wall_ms() == sent + latency_ms
    order = venue.get_order(oid)
    assert order.status is VenueOrderStatus.CANCELED
    assert order.quantity - order.left_amount == D(filled)
    assert venue.calls[R_CANCEL] == [sent + latency_ms]


def test_latency_cannot_be_negative(write_dataset: Callable[..., Path]) -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        _venue(write_dataset([full(0)]), -1)


def test_every_venue_call_is_counted_under_a_route_the_limiter_knows() -> None:
    assert set(VENUE_ROUTES) <= set(DOCUMENTED_LIMITS)


def test_mark_samples_follow_the_recorded_touch_and_skip_repeats(write_dataset: Callable[..., Path]) -> None:
    path = write_dataset([full(0), diff(1000, 2, bids=[["3000500", "1", 1]])])
    clock, venue = _venue(path)
    venue.balances()
    clock.advance_ms(500)
    venue.balances()  # same touch, no fill: nothing new to value
    clock.advance_ms(1000)
    venue.open_orders()
    assert venue.mark_samples == [
        (T0, {"BTCTRY": Touch(D(3000000), D(3001000))}),
        (T0 + 1500, {"BTCTRY": Touch(D(3000500), D(3001000))}),
    ]


def test_a_resting_sell_is_hit_by_a_recorded_bid_and_a_removal_reaches_nothing(
    write_dataset: Callable[..., Path],
) -> None:
    path = write_dataset(
        [
            full(0),
            diff(1000, 2, bids=[["3000600", "0", 3]]),  # a removal at a crossing price: no fill
            diff(2000, 3, bids=[["3000600", "0.0004", 1]]),
        ]
    )
    clock, venue = _venue(path)
    intent = OrderIntent(
        symbol="BTCTRY", side=OrderSide.SELL, price=D("3000500"), quantity=D("0.001"), client_order_id="s1"
    )
    oid = venue.submit_order(intent, GATE.submit_token()).exchange_order_id
    clock.advance_ms(1500)
    assert venue.get_order(oid).left_amount == D("0.001")
    clock.advance_ms(1000)
    assert venue.get_order(oid).left_amount == D("0.0006")
    (bf,) = venue.backtest_fills()
    assert (bf.maker, bf.fill.side, bf.fill.price) == (True, OrderSide.SELL, D(3000500))


def test_open_orders_and_the_trade_window_agree_with_the_engine_account(write_dataset: Callable[..., Path]) -> None:
    """The venue answers from the book and a bisected trade list; the account's full history must say the same."""
    path = write_dataset(
        [
            _book(0, [["3001000", "0.01"], ["3005000", "1"]]),
            diff(1000, 2, asks=[["3000400", "0.0004", 1]]),
            diff(2000, 3, asks=[["3000400", "0", 3], ["3000300", "0.001", 1]]),
        ]
    )
    clock, venue = _venue(path)
    filled_at_once = _buy(venue, "3001000", "0.005", cid="taker")
    partly = _buy(venue, "3000500", "0.001", cid="resting")
    cancelled = _buy(venue, "2990000", "0.001", cid="cancelled")
    untouched = _buy(venue, "2980000", "0.001", cid="untouched")
    venue.cancel_order(cancelled, GATE.cancel_token())
    clock.advance_ms(1500)
    from btcbot.replay.venue import ACCOUNT_ID

    open_ids = [o.exchange_order_id for o in venue.open_orders()]
    assert open_ids == sorted(o.id for o in venue.engine.orders(ACCOUNT_ID, open_only=True)) == [partly, untouched]
    assert [o.exchange_order_id for o in venue.open_orders("BTCTRY")] == open_ids
    clock.advance_ms(1000)
    trades = venue.user_trades()
    assert [t.exchange_order_id for t in trades] == [filled_at_once, partly, partly]
    assert [t.ts_ms for t in venue.user_trades("BTCTRY", start_ms=T0 + 1000)] == [T0 + 1000, T0 + 2000]
    assert venue.user_trades(start_ms=T0 + 2001) == []
