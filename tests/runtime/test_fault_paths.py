"""The armed runtime against the simulator's faults, the way an operator meets them (virtual time).

Each test is a case where btcbot once told the operator less than the truth or fell over: a stop at once while a
submit's answer was still awaited, an order view that went back in time, a stop-time cancel answered 429.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderMethod, OrderSide, OrderStatus, VenueOrder, VenueOrderStatus
from btcbot.errors import OutcomeUnknown
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.reconcile import reconcile
from btcbot.runtime.session import RuntimeOptions, StopControl
from btcbot.runtime.summary import OPEN_ORDER_NEXT
from btcbot.runtime.supervision import UNKNOWN_NEXT_ACTION
from btcbot.testing.runtime_fakes import order_record
from btcbot.testing.waiting import wait_until

S = OrderStatus
NOW_MS = 1_700_000_000_000
CID = "btcbot-s-1"


def _record(status: OrderStatus, filled: str) -> OrderRecord:
    return order_record(CID, status, at_ms=NOW_MS, exchange_order_id=77, filled_quantity=Decimal(filled))


def _view(status: VenueOrderStatus, left: str) -> VenueOrder:
    return VenueOrder(
        77, CID, "BTCTRY", OrderSide.BUY, OrderMethod.LIMIT, Decimal(100), Decimal(1), Decimal(left), status, NOW_MS,
        NOW_MS,
    )  # fmt: skip


def _judge(records: list[OrderRecord], views: list[VenueOrder], *, open_view: bool) -> Any:
    return reconcile(
        records,
        venue_open=views if open_view else [],
        lookups={} if open_view else {CID: views[0]},
        owned_prefixes=("btcbot-s-",),
        known_client_ids=frozenset({CID}),
        now_ms=NOW_MS + 10,
        run_id="r",
        cycle_id=3,
        default_ttl_seconds=30,
    )


class TestAnOlderViewProvesNothing:
    """The venue's views trail its engine, by a lag that varies: a view older than what was already seen of an
    order (less filled) is not news, neither in the open list nor in a lookup."""

    @pytest.mark.parametrize("open_view", [True, False], ids=["open_orders", "lookup"])
    @pytest.mark.parametrize("status", [S.PARTIAL, S.CANCEL_PENDING])
    def test_a_less_filled_view_changes_nothing(self, status, open_view):
        out = _judge([_record(status, "0.4")], [_view(VenueOrderStatus.UNTOUCHED, "1")], open_view=open_view)
        assert out.updates == () and out.alerts == ()

    def test_a_view_that_caught_up_still_counts(self):
        (u,) = _judge([_record(S.PARTIAL, "0.4")], [_view(VenueOrderStatus.PARTIAL, "0.3")], open_view=True).updates
        assert u.record.status is S.PARTIAL and u.record.filled_quantity == Decimal("0.7")
        (done,) = _judge([_record(S.PARTIAL, "0.4")], [_view(VenueOrderStatus.CLOSED, "0")], open_view=False).updates
        assert done.record.status is S.FILLED and done.record.filled_quantity == Decimal(1)


class _PartialThenLaggingViews:
    """The real reader. At the second look after the order rests, the market fills half of it; at the next look the
    venue's views fall behind, to a moment before that fill (they show the order untouched again)."""

    def __init__(self, inner: Any, harness: Any) -> None:
        self._inner = inner
        self._h = harness
        self._looks = 0

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        self._looks += 1
        if self._looks == 3:  # start-up, cycle 1 (the order rests), cycle 2: half of it fills now
            (ours,) = self._inner.open_orders(symbol)
            half = (ours.quantity / 2).quantize(Decimal("0.00000001"))
            asks = [(ours.price, half), (ours.price + 1000, Decimal(1))]
            bids = [(ours.price - 1000, Decimal(1))]
            self._h.sim.call(lambda: self._h.sim.core.engine.replace_book("BTCTRY", bids=bids, asks=asks))
        if self._looks == 4:  # cycle 3: the views now show the order as it was half a second after it was placed
            self._h.faults(order_view_lag_ms=1500)
        return self._inner.open_orders(symbol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.integration
def test_a_view_that_goes_back_before_a_partial_fill_is_not_an_actor_failure(vharness):
    settings = vharness.armed(ttl_seconds=600)
    options = RuntimeOptions(command="canary_loop", max_cycles=4, cycle_seconds=1)
    run = vharness.run(settings, options, reader_wrapper=lambda ex: _PartialThenLaggingViews(ex, vharness))

    lines = run.result.summary.lines()
    assert run.gate.safe_mode_cause is None, lines
    assert not [ln for ln in lines if "actor_failure" in ln], lines
    ((cid, qty, filled, status),) = run.rows("SELECT client_order_id, quantity, filled_quantity, status FROM orders")
    assert filled == (qty / 2).quantize(Decimal("0.00000001"))  # the fill seen once is never unseen
    assert status == "CANCELLED"  # cancelled at the stop, once the views showed it
    events = [r[0] for r in run.rows("SELECT event FROM order_events WHERE client_order_id = ? ORDER BY ts", [cid])]
    assert "partial" in events and "acked" not in events[events.index("partial") :]
    assert [w["method"] for w in vharness.writes()] == ["POST", "DELETE"]
    assert vharness.no_actor_threads()


class _SecondSignalWhileTheSubmitWaits:
    """The real gateway: the submit reaches the venue, then the operator presses Ctrl-C twice while its answer is
    still awaited, and the answer (a read timeout) comes only after the stop has given up on the order manager."""

    def __init__(self, inner: Any, stop: StopControl) -> None:
        self._inner = inner
        self._stop = stop
        self.answer = threading.Event()

    def submit_order(self, intent: Any, token: Any) -> Any:
        self._inner.submit_order(intent, token)  # the venue has booked it
        self._stop.request("SIGINT")
        self._stop.request("SIGINT")
        self.answer.wait()
        raise OutcomeUnknown("submit order: the request was sent but no answer came back (ReadTimeout)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.integration
def test_a_stop_at_once_during_a_submit_still_names_the_order_it_never_heard_back_about(vharness):
    stop = StopControl()
    gateways: list[_SecondSignalWhileTheSubmitWaits] = []

    def wrap(inner: Any) -> _SecondSignalWhileTheSubmitWaits:
        gateways.append(_SecondSignalWhileTheSubmitWaits(inner, stop))
        return gateways[0]

    options = RuntimeOptions(command="canary_once", max_cycles=5, cycle_seconds=1, until_idle=True)
    try:
        run = vharness.run(vharness.armed(ttl_seconds=600), options, stop=stop, gateway_wrapper=wrap)
    finally:
        gateways[0].answer.set()
    lines = run.result.summary.lines()
    (venue,) = vharness.venue_orders(vharness.settings())
    assert venue.status is VenueOrderStatus.UNTOUCHED  # resting at the venue, its submit never answered
    assert run.result.exit_code == 130, lines
    assert "anomaly: actors_not_stopped actors=order_manager" in lines
    assert f"anomaly: unknown_at_end ids={venue.client_order_id} next: {UNKNOWN_NEXT_ACTION}" in lines
    assert not [ln for ln in lines if "canary_not_placed" in ln], lines  # it was placed: it is at the venue
    assert [w["method"] for w in vharness.writes()] == ["POST"]
    wait_until(vharness.no_actor_threads, what="the order manager ends once its submit is answered")


# A fault the simulator applies to a request, and how to clear it.
RATE_LIMIT = ({"rate_limit": True}, {"rate_limit": False})  # 429, Retry-After: 1
SERVER_ERROR = ({"error_rate": 1.0}, {"error_rate": 0.0})  # 500 before doing anything


class _CancelsMeetAFault:
    """The real gateway; the venue answers the first ``times`` cancels with ``fault``, the next ones normally."""

    def __init__(self, inner: Any, harness: Any, times: int, fault: tuple[dict[str, Any], dict[str, Any]]) -> None:
        self._inner = inner
        self._h = harness
        self._left = times
        self._on, self._off = fault

    def cancel_order(self, exchange_order_id: int, token: Any) -> None:
        if self._left <= 0:
            return self._inner.cancel_order(exchange_order_id, token)
        self._left -= 1
        self._h.faults(**self._on)
        try:
            return self._inner.cancel_order(exchange_order_id, token)
        finally:
            self._h.faults(**self._off)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.integration
def test_a_ttl_cancel_the_venue_did_not_take_is_recorded_and_tried_again(vharness):
    options = RuntimeOptions(command="canary_loop", max_cycles=4, cycle_seconds=1, ttl_seconds=2)
    run = vharness.run(
        vharness.armed(), options, gateway_wrapper=lambda g: _CancelsMeetAFault(g, vharness, 1, SERVER_ERROR)
    )
    ((cid, status),) = run.rows("SELECT client_order_id, status FROM orders")
    assert status == "CANCELLED"
    assert [w["status"] for w in vharness.writes() if w["method"] == "DELETE"] == [500, 200]
    rows = run.rows("SELECT cycle_id, action, reason_code, client_order_id, details FROM decisions ORDER BY cycle_id")
    (failed, retried) = [r for r in rows if r[2] == rc.ORDER_TTL_CANCEL]
    assert failed[:4] == (failed[0], "none", rc.ORDER_TTL_CANCEL, cid)
    assert json.loads(failed[4])["result"] == "failed"
    assert retried[:4] == (failed[0] + 1, "cancel", rc.ORDER_TTL_CANCEL, cid)
    assert "result" not in json.loads(retried[4])


@pytest.mark.integration
def test_a_stop_cancel_answered_429_is_tried_again_within_the_stop_bound(vharness):
    options = RuntimeOptions(command="canary_loop", max_cycles=2, cycle_seconds=1)
    settings = vharness.armed(ttl_seconds=600)
    run = vharness.run(settings, options, gateway_wrapper=lambda g: _CancelsMeetAFault(g, vharness, 1, RATE_LIMIT))
    lines = run.result.summary.lines()
    deletes = [w["status"] for w in vharness.writes() if w["method"] == "DELETE"]
    assert deletes == [429, 200], deletes
    (venue,) = vharness.venue_orders(vharness.settings())
    assert venue.status is VenueOrderStatus.CANCELED
    assert run.rows("SELECT status FROM orders") == [("CANCELLED",)]
    assert not [ln for ln in lines if ln.startswith("anomaly: open_at_end")], lines
    assert "anomaly: venue_rate_limited http_429=1" in lines and run.result.exit_code == 1


@pytest.mark.integration
def test_a_stop_cancel_the_venue_keeps_refusing_is_given_up_within_bounds_and_listed(vharness):
    options = RuntimeOptions(command="canary_loop", max_cycles=2, cycle_seconds=1)
    settings = vharness.armed(ttl_seconds=600)
    run = vharness.run(settings, options, gateway_wrapper=lambda g: _CancelsMeetAFault(g, vharness, 10**6, RATE_LIMIT))
    lines = run.result.summary.lines()
    deletes = [w["status"] for w in vharness.writes() if w["method"] == "DELETE"]
    assert deletes and set(deletes) == {429} and len(deletes) <= 5, deletes
    ((cid, status),) = run.rows("SELECT client_order_id, status FROM orders")
    assert status == "OPEN"
    assert f"anomaly: open_at_end ids={cid} next: {OPEN_ORDER_NEXT}" in lines
    assert run.result.exit_code == 1
