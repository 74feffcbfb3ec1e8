"""Wanted versus live: keep, cancel, submit, defer, drop."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from btcbot.domain.orders import OrderIntent, OrderSide, OrderStatus
from btcbot.runtime.lifecycle import new_intent_record
from btcbot.runtime.order_diff import diff_orders
from btcbot.strategy import WantedOrder
from btcbot.testing.runtime_fakes import btctry_rules

RULES = btctry_rules()  # integer prices, 8-decimal quantities
B, S = OrderSide.BUY, OrderSide.SELL


def live(side=B, price="100", qty="0.5", *, status=OrderStatus.OPEN, filled="0", cid="c1", xid=1):
    rec = new_intent_record(
        OrderIntent("BTCTRY", side, Decimal(price), Decimal(qty), cid),
        run_id="r", cycle_id=1, now_ms=0, ttl_seconds=30, decision_id="d",
    )  # fmt: skip
    return replace(rec, status=status, filled_quantity=Decimal(filled), exchange_order_id=xid)


def want(side=B, price="100", qty="0.5", post_only=False):
    return WantedOrder(side, Decimal(price), Decimal(qty), post_only)


def test_same_order_is_kept_nothing_sent():
    d = diff_orders([want()], [live()], RULES)
    assert [r.client_order_id for r in d.keep] == ["c1"] and d.cancel == () and d.submit == () and not d.acts


def test_partially_filled_order_is_kept_by_original_or_remaining_quantity():
    rec = live(status=OrderStatus.PARTIAL, filled="0.2")
    assert diff_orders([want(qty="0.5")], [rec], RULES).keep == (rec,)
    assert diff_orders([want(qty="0.3")], [rec], RULES).keep == (rec,)
    other = diff_orders([want(qty="0.4")], [rec], RULES)
    assert other.cancel == (rec,) and other.deferred == (want(qty="0.4"),) and other.submit == ()


def test_unwanted_order_is_cancelled_and_new_one_submitted_on_an_idle_side():
    d = diff_orders([want(S, "110", "0.5")], [live()], RULES)
    assert d.cancel == (live(),) and d.submit == (want(S, "110", "0.5"),) and d.deferred == ()


def test_replacement_waits_for_the_cancel():
    moved = want(price="99")
    d = diff_orders([moved], [live()], RULES)
    assert d.cancel == (live(),) and d.submit == () and d.deferred == (moved,)
    pending = live(status=OrderStatus.CANCEL_PENDING)
    d2 = diff_orders([moved], [pending], RULES)
    assert d2.cancel == () and d2.submit == () and d2.deferred == (moved,)  # never cancelled twice


def test_in_flight_orders_are_never_cancelled():
    intent = live(status=OrderStatus.INTENT, xid=None)
    d = diff_orders([], [intent, live(status=OrderStatus.UNKNOWN, xid=None, cid="c2")], RULES)
    assert d.cancel == () and not d.acts


def test_prices_and_quantities_go_on_the_grid_away_from_crossing():
    d = diff_orders([want(B, "100.9", "0.123456789"), want(S, "100.1", "1")], [], RULES)
    assert d.submit == (want(B, "100", "0.12345678"), want(S, "101", "1"))


def test_a_quantity_that_rounds_to_nothing_is_dropped():
    d = diff_orders([want(qty="0.000000001")], [], RULES)
    assert d.submit == () and len(d.dropped) == 1


def test_each_live_order_satisfies_one_wanted_order():
    d = diff_orders([want(), want()], [live()], RULES)
    assert d.keep == (live(),) and d.submit == (want(),)  # a second, identical order: nothing leaves the side
    d2 = diff_orders([want(), want()], [live(), live(cid="c2", xid=2)], RULES)
    assert len(d2.keep) == 2 and not d2.acts
    d3 = diff_orders([want()], [live(), live(cid="c2", xid=2)], RULES)
    assert [r.client_order_id for r in d3.cancel] == ["c2"]


def test_wanting_nothing_cancels_every_cancellable_order():
    a, b = live(), live(S, "110", cid="c2", xid=2)
    assert diff_orders([], [a, b], RULES).cancel == (a, b)


def test_a_value_in_exponent_form_is_submitted_and_recorded_in_plain_digits():
    # A strategy that rounds to thousands (mid.quantize(Decimal("1E+3"))) or computes at a low precision gets
    # 1.999E+6: equal to the grid price, but the order, its record and its export would show it in that form.
    (w,) = diff_orders([want(price="1.999E+6", qty="6.0E-5")], [], RULES).submit
    assert (str(w.price), str(w.quantity)) == ("1999000", "0.00006000")
    same = want(price="1999000", qty="0.00006000")
    assert diff_orders([same], [], RULES).submit[0] is same  # already on the grid: the strategy's own object
