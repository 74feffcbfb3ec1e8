"""The two-sided quoter: quotes around the mid, inventory skew, the position cap, replacement only on drift."""

from __future__ import annotations

from decimal import Decimal

from btcbot.strategies.quoter import PassiveQuoter
from btcbot.strategy import OrderSide, WantedOrder

B, S = OrderSide.BUY, OrderSide.SELL


def quoter(**params):
    return PassiveQuoter.from_params(**{"spread_bps": 20, "order_notional": 120, "skew_bps": 10, **params})


def by_side(wanted):
    return {o.side: o for o in wanted.orders}


def test_quotes_both_sides_around_the_mid_post_only_on_the_grid(view):
    w = quoter().decide(view(2_000_000))
    q = by_side(w)
    assert q[B].price == 1_998_000 and q[S].price == 2_002_000  # 10 bps either side
    assert q[B].post_only and q[S].post_only and w.reason is None
    assert q[B].quantity == Decimal("0.00006006") and q[B].notional <= 120  # rounded down to the grid
    assert q[S].quantity == Decimal("0.00005994")


def test_never_crosses_a_tight_book(view):
    q = by_side(quoter(spread_bps=2).decide(view(2_000_000, half_spread=1000)))
    assert q[B].price < 2_001_000 and q[S].price > 1_999_000


def test_inventory_skew_moves_both_quotes_against_the_position(view):
    flat = by_side(quoter(max_position="0.001").decide(view(position="0")))
    long = by_side(quoter(max_position="0.001").decide(view(position="0.0005")))
    short = by_side(quoter(max_position="0.001").decide(view(position="-0.0005")))
    assert long[B].price < flat[B].price and long[S].price < flat[S].price
    assert short[B].price > flat[B].price and short[S].price > flat[S].price
    # Half the full position moves the center by half of skew_bps: 5 bps, to 1,999,000.
    assert (long[B].price, long[S].price) == (1_997_001, 2_000_999)
    assert quoter().decide(view(position="0.0005")).orders == quoter().decide(view()).orders  # no limit: no skew


def test_position_cap_stops_the_side_that_would_pass_it(view):
    q = quoter(max_position="0.0001")
    at_cap = q.decide(view(position="0.00005"))  # one more bid (0.00006) would make 0.00011
    assert set(by_side(at_cap)) == {S} and at_cap.reason == "buy:position_limit"
    short = q.decide(view(position="-0.00005"))
    assert set(by_side(short)) == {B} and short.reason == "sell:position_limit"
    # The tighter of its own bound and MAX_POSITION_BASE (view.limits) applies.
    assert set(by_side(quoter(max_position="1").decide(view(position="0.00005", max_position="0.0001")))) == {S}


def test_position_cap_cancels_a_resting_quote_on_the_closed_side(view, order):
    w = quoter(max_position="0.0001").decide(view(position="0.00005", orders=(order(B, 1_998_000, "0.00006006"),)))
    assert [o.side for o in w.orders] == [S]  # the bid is no longer wanted: the order manager cancels it


def test_balances_close_a_side_the_account_cannot_fund(view, order):
    w = quoter().decide(view(balances={"TRY": 1000, "BTC": "0.00001"}))
    assert set(by_side(w)) == {B} and w.reason == "sell:no_base_balance"
    # What the live ask already holds counts as available to it.
    resting = order(S, 2_002_000, "0.00005994")
    kept = quoter().decide(view(balances={"TRY": 1000, "BTC": "0"}, orders=(resting,)))
    assert by_side(kept)[S] == resting.keep()
    assert set(by_side(quoter().decide(view(balances={"TRY": 10, "BTC": 1})))) == {S}


def test_a_live_quote_is_kept_until_it_drifts_past_the_threshold(view, order):
    q = quoter(replace_threshold_bps=10)
    bid = order(B, 1_998_000, "0.00006006", "b")
    ask = order(S, 2_002_000, "0.00005994", "a")
    small = q.decide(view(2_001_000, orders=(bid, ask)))  # targets move 5 bps
    assert set(small.orders) == {bid.keep(), ask.keep()}
    big = by_side(q.decide(view(2_004_000, orders=(bid, ask))))  # 20 bps: past the threshold, both replaced
    assert big[B] == WantedOrder(B, 2_001_996, Decimal("0.00005994"), True)
    assert big[B] != bid.keep() and big[S] != ask.keep()


def test_a_cancelling_quote_is_not_kept(view, order):
    from btcbot.strategy import OrderStatus

    bid = order(B, 1_998_000, "0.00006006", "b", OrderStatus.CANCEL_PENDING)
    q = by_side(quoter().decide(view(2_000_000, orders=(bid,))))
    assert q[B] == WantedOrder(B, 1_998_000, Decimal("0.00006006"), True)  # wanted anew; the diff defers it
