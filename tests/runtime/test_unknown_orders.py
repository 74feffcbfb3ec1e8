"""Issue 11 §2: an UNKNOWN order stays UNKNOWN until the venue proves its state.

Pure decisions first (no threads, no venue), then the runtime against the simulator over loopback: a dropped
submit answer while the venue's order views lag, a refused connection, and an UNKNOWN that outlives
UNKNOWN_ORDER_MAX_AGE_SECONDS.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderMethod, OrderSide, OrderStatus, VenueOrder, VenueOrderStatus
from btcbot.errors import (
    AuthenticationError,
    AuthRefusedLocally,
    ExchangeError,
    HeldBackLocally,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    RejectedByVenue,
    RequestNotSent,
    SymbolNotTradable,
    TransientError,
)
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.reconcile import reconcile, status_after_submit_error
from btcbot.runtime.session import RuntimeOptions, StopControl
from btcbot.runtime.supervision import UNKNOWN_NEXT_ACTION, MonitorLimits, SafeModeMonitor
from btcbot.sim.engine import EngineEvent, OrderEvent
from btcbot.testing.runtime_fakes import order_record

NOW_MS = 1_700_000_000_000
CID = "btcbot-s-1"
S = OrderStatus


def record(status: OrderStatus = S.UNKNOWN, *, xid: int | None = None, cid: str = CID) -> OrderRecord:
    unknown_since = NOW_MS if status is S.UNKNOWN else None
    return order_record(cid, status, at_ms=NOW_MS, exchange_order_id=xid, unknown_since_ms=unknown_since)


def seen(status: VenueOrderStatus = VenueOrderStatus.UNTOUCHED, *, xid: int = 77, left: str = "1") -> VenueOrder:
    return VenueOrder(
        xid,
        CID,
        "BTCTRY",
        OrderSide.BUY,
        OrderMethod.LIMIT,
        Decimal(100),
        Decimal(1),
        Decimal(left),
        status,
        NOW_MS,
        NOW_MS,
    )


def judge(records, *, venue_open=(), lookups=None, now_ms=NOW_MS + 10):
    return reconcile(
        records,
        venue_open=list(venue_open),
        lookups=lookups if lookups is not None else {},
        owned_prefixes=("btcbot-s-",),
        known_client_ids=frozenset(r.client_order_id for r in records),
        now_ms=now_ms,
        run_id="r",
        cycle_id=2,
        default_ttl_seconds=30,
    )


class TestOnlyPositiveEvidenceResolves:
    def test_not_found_any_number_of_times_for_any_time_stays_unknown(self):
        r = record()
        for look in range(1, 200):
            out = judge([r], lookups={CID: None}, now_ms=NOW_MS + look * 1000)
            assert out.updates == () and out.alerts == () and out.adopted == ()

    def test_seen_open_resolves_to_open_with_its_exchange_id(self):
        out = judge([record()], venue_open=[seen()], lookups={})
        (u,) = out.updates
        assert (u.event, u.record.status, u.record.exchange_order_id) == ("resolved", S.OPEN, 77)
        assert [a.reason_code for a in out.alerts] == [rc.RECONCILE_UNKNOWN_RESOLVED]
        assert out.resolved_unknown == 1

    @pytest.mark.parametrize(
        ("venue_status", "left", "expected"),
        [
            (VenueOrderStatus.CLOSED, "0", S.FILLED),
            (VenueOrderStatus.CANCELED, "1", S.CANCELLED),
            (VenueOrderStatus.PARTIAL, "0.4", S.PARTIAL),
            (VenueOrderStatus.UNTOUCHED, "1", S.OPEN),
        ],
    )
    def test_seen_in_history_resolves_to_its_state_there(self, venue_status, left, expected):
        (u,) = judge([record()], lookups={CID: seen(venue_status, left=left)}).updates
        assert u.event == "resolved" and u.record.status is expected and u.record.exchange_order_id == 77
        assert u.record.filled_quantity == Decimal(1) - Decimal(left)

    def test_orders_the_views_do_not_show_are_left_as_they_are(self):
        live = [record(S.OPEN, xid=5, cid="btcbot-s-2"), record(S.CANCEL_PENDING, xid=6, cid="btcbot-s-3")]
        assert judge(live, lookups={r.client_order_id: None for r in live}).updates == ()

    def test_a_recovered_intent_the_venue_does_not_show_becomes_unknown_never_not_sent(self):
        intent = record(S.INTENT)
        out = judge([intent], lookups={CID: None}, now_ms=NOW_MS + 5000)
        (u,) = out.updates
        assert (u.event, u.record.status, u.record.unknown_since_ms) == ("unknown", S.UNKNOWN, NOW_MS + 5000)
        assert [a.reason_code for a in out.alerts] == [rc.ORDER_UNKNOWN] and out.became_unknown == 1
        (found,) = judge([intent], lookups={CID: seen()}).updates
        assert found.event == "resolved" and found.record.status is S.OPEN

    def test_an_intent_not_looked_up_this_time_is_not_judged(self):
        assert judge([record(S.INTENT)], lookups={}).updates == ()


class TestWhatASubmitFailureProves:
    @pytest.mark.parametrize(
        ("exc", "expected"),
        [
            (RequestNotSent("connection refused"), S.NOT_SENT),
            (HeldBackLocally("client-side limit", retry_after_s=3.0), S.NOT_SENT),
            (RejectedByVenue("FAILED_MIN_TOTAL_AMOUNT", http_status=400, venue_code=1123), S.REJECTED),
            (AuthenticationError("401", http_status=401), S.REJECTED),
            (SymbolNotTradable("not in this dataset"), S.REJECTED),
            (RateLimited("429", retry_after_s=1.0, http_status=429), S.REJECTED),
            (OutcomeUnknown("read timeout after send"), S.UNKNOWN),
            (OutcomeUnknown("connect timeout: no proof"), S.UNKNOWN),
            (OutcomeUnknown("HTTP 503", http_status=503), S.UNKNOWN),
            (TransientError("no answer"), S.UNKNOWN),
            (ProtocolError("unreadable", http_status=None), S.UNKNOWN),
            (ProtocolError("HTTP 405 from the venue's front", http_status=405), S.REJECTED),
            (AuthenticationError("nothing sent, but untyped"), S.UNKNOWN),
            (AuthRefusedLocally("not sent: 10 signed requests in a row were refused"), S.NOT_SENT),
        ],
        ids=lambda v: type(v).__name__ if isinstance(v, ExchangeError) else str(v),
    )
    def test_status(self, exc, expected):
        assert status_after_submit_error(exc) is expected


class TestUnknownAgeEndsTheRun:
    LIMITS = MonitorLimits(
        stale_cycles=2, unknown_max_age_ms=60_000, max_reject_rate=Decimal(1), max_latency_p95_ms=Decimal(10**6)
    )

    def test_within_the_age_nothing_happens(self):
        assert SafeModeMonitor(self.LIMITS).observe_cycle({}, [record()], NOW_MS + 60_000) is None

    def test_past_the_age_it_latches_ends_the_run_and_names_the_orders_and_the_next_action(self):
        other = replace(record(cid="btcbot-s-9"), unknown_since_ms=NOW_MS + 30_000)  # not yet overdue
        esc = SafeModeMonitor(self.LIMITS).observe_cycle({}, [record(), other], NOW_MS + 60_001)
        assert esc is not None and esc.cause == "unknown_order_unresolved" and esc.ends_run
        assert CID in esc.detail and "btcbot-s-9" not in esc.detail and UNKNOWN_NEXT_ACTION in esc.detail
        assert "`btcbot orders list`" in esc.detail and "`btcbot orders cancel-all --confirm`" in esc.detail

    def test_a_stale_market_latched_every_cycle_does_not_hide_it(self):
        monitor = SafeModeMonitor(self.LIMITS)
        stale = {"BTCTRY": rc.MARKET_DATA_STALE}
        assert monitor.observe_cycle(stale, [record()], NOW_MS) is None
        for _ in range(2):
            assert monitor.observe_cycle(stale, [record()], NOW_MS).cause == "stale_market_data"
        assert monitor.observe_cycle(stale, [record()], NOW_MS + 60_001).cause == "unknown_order_unresolved"


# ----------------------------------------------------------------- the runtime against the simulator


class _OpenOrderWatch:
    """The matching engine's own truth (not the lagging views): the most orders of one account open at once."""

    def __init__(self, user_id: int) -> None:
        self._user_id = user_id
        self._open: set[int] = set()
        self._lock = threading.Lock()
        self.most = 0

    def __call__(self, event: EngineEvent) -> None:
        if not isinstance(event, OrderEvent) or event.order.user_id != self._user_id:
            return
        with self._lock:
            if event.order.is_open:
                self._open.add(event.order.id)
            else:
                self._open.discard(event.order.id)
            self.most = max(self.most, len(self._open))


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _StopWhenSettled:
    """The real reader; asks the run to stop once the venue's views show the first order in a final state."""

    def __init__(self, inner: Any, stop: StopControl) -> None:
        self._inner = inner
        self._stop = stop
        self._first: str | None = None

    def _look(self, orders: list[VenueOrder]) -> list[VenueOrder]:
        for o in orders:
            self._first = self._first or o.client_order_id
            if o.client_order_id == self._first and o.status in (VenueOrderStatus.CANCELED, VenueOrderStatus.CLOSED):
                self._stop.graceful.set()  # the test's own end, not a signal: no interruption (exit 130)
        return orders

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return self._look(self._inner.open_orders(symbol))

    def all_orders(self, symbol: str, start_ms: int | None = None) -> list[VenueOrder]:
        return self._look(self._inner.all_orders(symbol, start_ms))

    def get_order(self, exchange_order_id: int) -> VenueOrder:
        return self._look([self._inner.get_order(exchange_order_id)])[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.integration
def test_dropped_answer_and_lagging_views_one_post_never_two_open_resolved_once_the_view_catches_up(vharness):
    # Virtual time: the venue's lag and the order's TTL pass with the session's own waits, never slept through.
    lag_ms = 3000  # several seconds: longer than any "not found for a while, so never sent" guess would wait
    watch = _OpenOrderWatch(vharness.sim.user_id)
    vharness.sim.core.engine.subscribe(watch)
    vharness.faults(drop_order_response=True, order_view_lag_ms=lag_ms)
    settings = vharness.armed(ttl_seconds=30)
    # The canary loop places again as soon as its order is settled; the run stops once the venue shows the first
    # order final (cancelled at its 1 s TTL, or filled), so any second submit would have happened by then.
    stop = StopControl()
    options = RuntimeOptions(command="canary_loop", max_cycles=400, cycle_seconds=0.05, ttl_seconds=1)
    run = vharness.run(
        settings, options, submit_timeout_s=0.5, stop=stop, reader_wrapper=lambda ex: _StopWhenSettled(ex, stop)
    )

    posts = [w for w in vharness.writes() if w["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["status"] == 0  # one submit, whose answer never came
    assert watch.most == 1  # never two orders open at the venue at once
    [(cid, xid, status)] = run.rows("SELECT client_order_id, exchange_order_id, status FROM orders")
    assert status in ("CANCELLED", "FILLED")  # resolved, then cancelled at its TTL (or filled meanwhile)
    [venue] = [o for o in vharness.venue_orders(settings) if o.client_order_id == cid]
    assert venue.exchange_order_id == xid
    events = run.rows("SELECT event, epoch_ms(ts) FROM order_events ORDER BY ts")
    assert [e for e, _ in events][:2] == ["intent", "unknown"]
    resolved_ms = next(ts for e, ts in events if e == "resolved")
    assert resolved_ms - posts[0]["ts_ms"] >= lag_ms - 100  # not before the view could show it
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE symbol = 'BTCTRY' ORDER BY cycle_id")]
    assert codes[0] == rc.ORDER_UNKNOWN and rc.RISK_UNKNOWN_ORDER in codes[1:]
    s = run.result.summary
    assert (s.placed, s.unknown, s.unknown_resolved, s.unknown_at_end, s.orphans) == (1, 1, 1, 0, 0)
    assert run.result.exit_code == 1  # an UNKNOWN is an anomaly the operator must hear about
    assert vharness.no_actor_threads()


@pytest.mark.integration
def test_an_unknown_the_venue_never_shows_ends_the_run_naming_it_and_the_next_action(vharness):
    watch = _OpenOrderWatch(vharness.sim.user_id)
    vharness.sim.core.engine.subscribe(watch)
    vharness.faults(drop_order_response=True, order_view_lag_ms=600_000)  # the views never catch up
    settings = vharness.armed(ttl_seconds=30, unknown_order_max_age_seconds=3)
    # Virtual time: a few long cycles reach the 3 s age as surely as many short ones.
    options = RuntimeOptions(command="canary_loop", max_cycles=600, cycle_seconds=0.5, ttl_seconds=1)
    run = vharness.run(settings, options, submit_timeout_s=0.5)

    assert run.result.summary.cycles < 600  # ended by the latch, not by running out of cycles
    assert run.gate.safe_mode_cause == "unknown_order_unresolved"
    assert len([w for w in vharness.writes() if w["method"] == "POST"]) == 1  # a read timeout is not NOT_SENT
    assert watch.most == 1
    [(cid, status)] = run.rows("SELECT client_order_id, status FROM orders")
    assert status == "UNKNOWN"
    codes = {r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE symbol = 'BTCTRY' AND cycle_id > 1")}
    assert codes == {rc.RISK_UNKNOWN_ORDER}
    assert f"anomaly: unknown_at_end ids={cid} next: {UNKNOWN_NEXT_ACTION}" in run.result.summary.lines()
    [detail] = [r[0] for r in run.rows("SELECT details FROM decisions WHERE symbol = '*'")]
    assert cid in detail and "btcbot orders list" in detail
    assert run.result.exit_code == 1
    assert vharness.no_actor_threads()


@pytest.mark.integration
def test_a_refused_connection_proves_the_submit_never_left_and_unblocks_the_symbol(vharness):
    settings = vharness.armed(ttl_seconds=30)
    options = RuntimeOptions(command="canary_loop", max_cycles=2, cycle_seconds=0.05, ttl_seconds=1)
    run = vharness.run(settings, options, gateway_base_url=_closed_port_url())

    assert vharness.writes() == []
    statuses = [r[0] for r in run.rows("SELECT status FROM orders ORDER BY created_at")]
    assert statuses == ["NOT_SENT", "NOT_SENT"]  # proven, so the next cycle was free to try again
    codes = [r[0] for r in run.rows("SELECT reason_code FROM decisions WHERE symbol = 'BTCTRY' ORDER BY cycle_id")]
    assert codes == [rc.ORDER_SEND_FAILED] * 2
    s = run.result.summary
    assert (s.placed, s.unknown, s.unknown_at_end) == (0, 0, 0)
    assert run.gate.safe_mode_cause is None
