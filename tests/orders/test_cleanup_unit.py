"""The clean-up's pure parts: the venue/DB join, the cancel procedure's outcomes, and the rows it records."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate, ArmingInputs, WriteToken, decide_arming
from btcbot.cleanup.cancel_all import Bounds, CleanupResult, Outcome, cancel_all
from btcbot.cleanup.records import CleanupContext, cleanup_rows
from btcbot.cleanup.view import JOURNAL_ONLY, UNKNOWN_TO_DB, KnownOrder, join, render_lines
from btcbot.domain.clock import VirtualClock
from btcbot.domain.orders import OrderMethod, OrderSide, OrderStatus, VenueOrder, VenueOrderStatus, owned_prefix
from btcbot.errors import OrderNotCancellable, RejectedByVenue, TransientError
from btcbot.exchange.btcturk.exchange import CancelConfirmation
from btcbot.runtime.lifecycle import OrderRecord

SCOPE = "acct1"
PREFIX = owned_prefix(SCOPE)


def vo(xid: int, cid: str | None, status: VenueOrderStatus = VenueOrderStatus.UNTOUCHED) -> VenueOrder:
    return VenueOrder(
        exchange_order_id=xid,
        client_order_id=cid,
        symbol="BTCTRY",
        side=OrderSide.BUY,
        method=OrderMethod.LIMIT,
        price=Decimal(3_000_000),
        quantity=Decimal("0.0001"),
        left_amount=Decimal("0.0001") if status is not VenueOrderStatus.CLOSED else Decimal(0),
        status=status,
        created_ms=1_700_000_000_000,
        updated_ms=1_700_000_000_000,
    )


def record(cid: str, status: OrderStatus, xid: int | None = None) -> OrderRecord:
    return OrderRecord(
        client_order_id=cid,
        symbol="BTCTRY",
        side=OrderSide.BUY,
        method=OrderMethod.LIMIT,
        price=Decimal(3_000_000),
        quantity=Decimal("0.0001"),
        status=status,
        run_id="run-1",
        cycle_id=4,
        created_ms=1_700_000_000_000,
        updated_ms=1_700_000_000_000,
        ttl_seconds=30,
        exchange_order_id=xid,
    )


def test_join_tells_open_unknown_and_db_only_apart() -> None:
    venue = [vo(1, f"{PREFIX}a"), vo(2, f"{PREFIX}b"), vo(3, "btcbot-other-c"), vo(4, None)]
    known = [
        KnownOrder.from_record(record(f"{PREFIX}a", OrderStatus.OPEN, 1)),
        KnownOrder.from_record(record(f"{PREFIX}gone", OrderStatus.OPEN, 9)),
        KnownOrder.from_record(record(f"{PREFIX}done", OrderStatus.CANCELLED, 8)),
        KnownOrder(f"{PREFIX}j", "BTCTRY", "buy", Decimal(1), Decimal(1), JOURNAL_ONLY),
    ]
    view = join(SCOPE, (PREFIX,), venue, known)
    by = {line.client_order_id: (line.venue, line.db) for line in view.lines}
    assert by == {
        f"{PREFIX}a": ("open", "OPEN"),
        f"{PREFIX}b": ("open", UNKNOWN_TO_DB),
        f"{PREFIX}gone": ("not open", "OPEN"),
        f"{PREFIX}j": ("not open", JOURNAL_ONLY),
    }
    assert view.other_open_at_venue == 2  # another scope's and a hand-placed order: listed as a count only
    assert [line.client_order_id for line in view.unknown_to_db] == [f"{PREFIX}b"]
    table = render_lines(view.lines)
    assert table[0].split()[:3] == ["EXCHANGE_ID", "CLIENT_ORDER_ID", "SYMBOL"] and len(table) == 5


def test_a_db_row_the_venue_contradicts_is_shown_with_its_db_status() -> None:
    # The DB says CANCELLED, the venue still shows it open: the operator must see both.
    known = [KnownOrder.from_record(record(f"{PREFIX}a", OrderStatus.CANCELLED, 1))]
    view = join(SCOPE, (PREFIX,), [vo(1, f"{PREFIX}a")], known)
    assert [(line.venue, line.db) for line in view.lines] == [("open", "CANCELLED")]


def test_orders_of_a_pre_upgrade_prefix_are_this_scopes_too() -> None:
    # Orders placed before ACCOUNT_SCOPE stopped deriving from the key carry the old prefix: still ours to list and
    # cancel, never another scope's.
    legacy = "btcbot-1a2b3c4d-"
    view = join(SCOPE, (PREFIX, legacy), [vo(1, f"{legacy}x"), vo(2, "btcbot-other-y")], [])
    assert [(line.client_order_id, line.db) for line in view.lines] == [(f"{legacy}x", UNKNOWN_TO_DB)]


class FakeCancelVenue:
    """Open orders that a cancel closes (or not), with the venue's possible answers."""

    def __init__(self, orders: list[VenueOrder]) -> None:
        self.orders = {o.exchange_order_id: o for o in orders}
        self.refuse: set[int] = set()
        self.ignore: set[int] = set()  # accepted, but the order stays open
        self.fill_first: set[int] = set()
        self.filled_before: set[int] = set()  # filled before the cancel arrives: BTCTurk answers 1050
        self.unreadable = False
        self.cancels: list[int] = []

    def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        if self.unreadable:
            raise TransientError("open orders: no answer")
        return [o for o in self.orders.values() if o.status in (VenueOrderStatus.UNTOUCHED, VenueOrderStatus.PARTIAL)]

    def cancel_order(self, exchange_order_id: int, token: WriteToken) -> None:
        token.check_at_send("cancel")
        self.cancels.append(exchange_order_id)
        if exchange_order_id in self.refuse:
            raise RejectedByVenue("cancel: rejected by BTCTurk: SOMETHING (code 1)", venue_code=1)
        if exchange_order_id in self.ignore:
            return
        if exchange_order_id in self.filled_before:
            self.orders[exchange_order_id] = replace(self.orders[exchange_order_id], status=VenueOrderStatus.CLOSED)
            raise OrderNotCancellable("cancel: ORDER_COULD_NOT_BE_CANCELED", http_status=400, venue_code=1050)
        final = VenueOrderStatus.CLOSED if exchange_order_id in self.fill_first else VenueOrderStatus.CANCELED
        self.orders[exchange_order_id] = replace(self.orders[exchange_order_id], status=final)

    def confirm_cancel(
        self, exchange_order_id: int, *, timeout_s: float = 5.0, poll_interval_s: float = 0.2
    ) -> CancelConfirmation:
        o = self.orders[exchange_order_id]
        final = o.status in (VenueOrderStatus.CANCELED, VenueOrderStatus.CLOSED)
        return CancelConfirmation(exchange_order_id, final, o)


def token() -> WriteToken:
    inputs = ArmingInputs(False, "", True, True, True, False, True)
    return ArmingGate(decide_arming(inputs)).operator_cleanup_token(confirmed=True)


def run(fake: FakeCancelVenue, checks: int = 3) -> tuple[CleanupResult, list[str]]:
    lines: list[str] = []
    clock = VirtualClock()
    targets = [o for o in fake.open_orders() if (o.client_order_id or "").startswith(PREFIX)]

    def open_now() -> list[VenueOrder]:
        return [o for o in fake.open_orders() if (o.client_order_id or "").startswith(PREFIX)]

    result = cancel_all(
        fake, token(), targets, open_now=open_now, clock=clock, out=lines.append, bounds=Bounds(settle_checks=checks)
    )
    return result, lines


def test_every_order_cancelled_is_clean_and_exits_0() -> None:
    fake = FakeCancelVenue([vo(1, f"{PREFIX}a"), vo(2, f"{PREFIX}b")])
    fake.fill_first.add(2)
    result, lines = run(fake)
    assert [a.outcome for a in result.attempts] == [Outcome.CANCELLED, Outcome.FILLED]
    assert result.clean and result.exit_code == 0 and result.checks == 1
    assert any("venue: Canceled (confirmed)" in line for line in lines)
    assert lines[-1] == "venue check 1/3: none of this scope's orders open"


def test_an_order_filled_before_its_cancel_is_reported_filled_not_failed() -> None:
    fake = FakeCancelVenue([vo(1, f"{PREFIX}a")])
    fake.filled_before.add(1)
    result, lines = run(fake)
    assert [a.outcome for a in result.attempts] == [Outcome.FILLED]
    assert result.clean and result.exit_code == 0
    assert any("filled before the cancel took effect" in line for line in lines)


def test_a_refused_or_ignored_cancel_leaves_it_open_and_exits_1() -> None:
    fake = FakeCancelVenue([vo(1, f"{PREFIX}a"), vo(2, f"{PREFIX}b"), vo(3, f"{PREFIX}c")])
    fake.refuse.add(2)
    fake.ignore.add(3)
    result, lines = run(fake, checks=3)
    assert [a.outcome for a in result.attempts] == [Outcome.CANCELLED, Outcome.FAILED, Outcome.UNCONFIRMED]
    assert result.remaining is not None and {o.exchange_order_id for o in result.remaining} == {2, 3}
    assert result.exit_code == 1 and result.checks == 3  # bounded: it looked three times, then gave up
    assert "venue check 3/3: 2 of this scope's order(s) still open" in lines


def test_an_unreadable_venue_at_the_end_is_not_clean() -> None:
    fake = FakeCancelVenue([vo(1, f"{PREFIX}a")])
    targets = fake.open_orders()
    fake.unreadable = True
    out: list[str] = []
    result = cancel_all(fake, token(), targets, open_now=fake.open_orders, clock=VirtualClock(), out=out.append,
                        bounds=Bounds(settle_checks=2))  # fmt: skip
    assert [a.outcome for a in result.attempts] == [Outcome.CANCELLED]
    assert result.remaining is None and result.exit_code == 1  # confirmed one by one, but never seen empty
    assert "venue check 2/2: open orders could not be read (TransientError)" in out


def test_records_decisions_order_rows_events_and_one_alert() -> None:
    fake = FakeCancelVenue(
        [vo(1, f"{PREFIX}known"), vo(2, f"{PREFIX}orphan"), vo(3, f"{PREFIX}intent"), vo(4, f"{PREFIX}bad")]
    )
    fake.refuse.add(4)
    result, _ = run(fake, checks=1)
    known = {
        f"{PREFIX}known": record(f"{PREFIX}known", OrderStatus.OPEN, 1),
        f"{PREFIX}intent": record(f"{PREFIX}intent", OrderStatus.INTENT),
        f"{PREFIX}bad": record(f"{PREFIX}bad", OrderStatus.OPEN, 4),
    }
    ctx = CleanupContext(run_id="op-1", mode="observe", scope=SCOPE, started_ms=1, now_ms=2, ttl_seconds=30)
    rows = cleanup_rows(ctx, result, known)
    decisions = {d["client_order_id"]: (d["reason_code"], d["action"]) for d in rows["decisions"]}
    assert decisions == {
        f"{PREFIX}known": (rc.OPERATOR_CANCEL_ALL, "cancel"),
        f"{PREFIX}orphan": (rc.OPERATOR_CANCEL_ALL, "cancel"),
        f"{PREFIX}intent": (rc.OPERATOR_CANCEL_ALL, "cancel"),
        f"{PREFIX}bad": (rc.OPERATOR_CANCEL_FAILED, "none"),
    }
    assert len({d["decision_id"] for d in rows["decisions"]}) == 4
    statuses = {o["client_order_id"]: o["status"] for o in rows["orders"]}
    assert statuses == {
        f"{PREFIX}known": "CANCELLED",
        f"{PREFIX}orphan": "CANCELLED",
        f"{PREFIX}intent": "CANCELLED",
        f"{PREFIX}bad": "OPEN",
    }
    events: dict[str, list[str]] = {}
    for e in rows["order_events"]:
        events.setdefault(e["client_order_id"], []).append(e["event"])
    assert events[f"{PREFIX}orphan"] == ["orphan", "cancel_requested", "cancelled"]
    assert events[f"{PREFIX}intent"] == ["resolved", "cancel_requested", "cancelled"]
    assert events[f"{PREFIX}bad"] == ["cancel_failed"]
    [alert] = rows["alerts"]
    assert (alert["kind"], alert["severity"], alert["reason_code"]) == (
        "operator_cancel_all",
        "critical",
        rc.OPERATOR_CANCEL_FAILED,
    )
    assert json.loads(alert["details"])["remaining"] == [f"{PREFIX}bad"]


def test_nothing_open_still_leaves_one_record() -> None:
    result, _ = run(FakeCancelVenue([]), checks=1)
    ctx = CleanupContext(run_id="op-2", mode="observe", scope=SCOPE, started_ms=1, now_ms=2, ttl_seconds=30)
    rows = cleanup_rows(ctx, result, {})
    assert [(d["symbol"], d["reason_code"]) for d in rows["decisions"]] == [("*", rc.OPERATOR_CANCEL_ALL)]
    assert rows["alerts"][0]["severity"] == "info" and rows["orders"] == []


def test_the_settle_loop_waits_on_the_clock_not_the_wall() -> None:
    fake = FakeCancelVenue([vo(1, f"{PREFIX}a")])
    fake.ignore.add(1)
    clock = VirtualClock()
    start = clock.monotonic_ns()
    cancel_all(fake, token(), fake.open_orders(), open_now=fake.open_orders, clock=clock, out=lambda _: None,
               bounds=Bounds(settle_checks=4, settle_interval_s=0.5))  # fmt: skip
    assert clock.monotonic_ns() - start == 3 * 500_000_000  # three waits between four checks
