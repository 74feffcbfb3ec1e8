"""The order lifecycle: every transition it allows and refuses, TTL at its boundary, and the DB row both ways."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import product

import pytest

from btcbot.domain.orders import OrderIntent, OrderMethod, OrderSide, OrderStatus, VenueOrderStatus
from btcbot.errors import InvariantViolation
from btcbot.runtime.lifecycle import (
    LIVE_STATUSES,
    ORDER_COLUMNS,
    OrderLedger,
    OrderRecord,
    advance,
    new_intent_record,
    order_row,
    record_from_row,
    status_from_venue,
)

S = OrderStatus
T0 = 1_700_000_000_123

# The lifecycle as the runbook tells it, written out pair by pair (staying put is always allowed).
LEGAL = {
    S.INTENT: {S.OPEN, S.PARTIAL, S.FILLED, S.REJECTED, S.UNKNOWN, S.NOT_SENT, S.CANCELLED},
    S.UNKNOWN: {S.OPEN, S.PARTIAL, S.FILLED, S.REJECTED, S.NOT_SENT, S.CANCELLED, S.CANCEL_PENDING},
    S.OPEN: {S.PARTIAL, S.FILLED, S.CANCEL_PENDING, S.CANCELLED},
    S.PARTIAL: {S.FILLED, S.CANCEL_PENDING, S.CANCELLED},
    S.CANCEL_PENDING: {S.CANCELLED, S.FILLED, S.PARTIAL, S.OPEN},
    S.FILLED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
    S.NOT_SENT: set(),
}


def record(status: OrderStatus = S.OPEN, **changes: object) -> OrderRecord:
    base = OrderRecord(
        client_order_id="btcbot-s-1",
        symbol="BTCTRY",
        side=OrderSide.BUY,
        method=OrderMethod.LIMIT,
        price=Decimal("2000000.5"),
        quantity=Decimal("0.0001"),
        status=status,
        run_id="r1",
        cycle_id=4,
        created_ms=T0,
        updated_ms=T0,
        ttl_seconds=30,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(("old", "new"), list(product(S, S)))
def test_advance_allows_exactly_the_lifecycle(old: OrderStatus, new: OrderStatus) -> None:
    r = record(old)
    if new is old or new in LEGAL[old]:
        out = advance(r, new, T0 + 7, exchange_order_id=9)
        assert out == replace(r, status=new, updated_ms=T0 + 7, exchange_order_id=9)
    else:
        with pytest.raises(InvariantViolation, match=f"order btcbot-s-1: {old} -> {new} is not a legal transition"):
            advance(r, new, T0 + 7)


def test_live_statuses_are_the_ones_that_may_still_rest_at_the_venue() -> None:
    assert {S.INTENT, S.OPEN, S.PARTIAL, S.CANCEL_PENDING, S.UNKNOWN} == LIVE_STATUSES
    for status in S:
        assert record(status).is_live is (status in LIVE_STATUSES)


def test_notional_and_age() -> None:
    r = record()
    assert r.notional == Decimal("200.00005")
    assert r.age_ms(T0 + 2500) == 2500


def test_ttl_expires_exactly_at_the_limit_not_a_millisecond_before() -> None:
    r = record(ttl_seconds=30)
    assert not r.ttl_expired(T0 + 29_999)
    assert r.ttl_expired(T0 + 30_000)
    assert r.ttl_expired(T0 + 30_001)


def test_new_intent_record_carries_the_intent_and_the_run() -> None:
    intent = OrderIntent("ETHTRY", OrderSide.SELL, Decimal(70), Decimal(3), "btcbot-s-9", OrderMethod.MARKET)
    out = new_intent_record(intent, run_id="r9", cycle_id=12, now_ms=T0, ttl_seconds=45, decision_id="d-1")
    assert out == OrderRecord(
        client_order_id="btcbot-s-9",
        symbol="ETHTRY",
        side=OrderSide.SELL,
        method=OrderMethod.MARKET,
        price=Decimal(70),
        quantity=Decimal(3),
        status=S.INTENT,
        run_id="r9",
        cycle_id=12,
        created_ms=T0,
        updated_ms=T0,
        ttl_seconds=45,
        decision_id="d-1",
    )


@pytest.mark.parametrize(
    ("venue", "current", "expected"),
    [
        (VenueOrderStatus.CLOSED, S.OPEN, S.FILLED),
        (VenueOrderStatus.CLOSED, S.CANCEL_PENDING, S.FILLED),
        (VenueOrderStatus.CANCELED, S.OPEN, S.CANCELLED),
        (VenueOrderStatus.CANCELED, S.CANCEL_PENDING, S.CANCELLED),
        (VenueOrderStatus.UNTOUCHED, S.CANCEL_PENDING, S.CANCEL_PENDING),
        (VenueOrderStatus.PARTIAL, S.CANCEL_PENDING, S.CANCEL_PENDING),
        (VenueOrderStatus.PARTIAL, S.OPEN, S.PARTIAL),
        (VenueOrderStatus.PARTIAL, S.UNKNOWN, S.PARTIAL),
        (VenueOrderStatus.UNTOUCHED, S.UNKNOWN, S.OPEN),
        (VenueOrderStatus.UNTOUCHED, S.INTENT, S.OPEN),
    ],
)
def test_status_from_venue(venue: VenueOrderStatus, current: OrderStatus, expected: OrderStatus) -> None:
    assert status_from_venue(venue, current) is expected


def full_record() -> OrderRecord:
    return record(
        S.PARTIAL,
        exchange_order_id=987654321,
        filled_quantity=Decimal("0.00004"),
        decision_id="d-7",
        submitted_ms=T0 + 1,
        acked_ms=T0 + 2,
        submit_latency_ms=1.5,
        updated_ms=T0 + 3,
        last_error="venue said no once",
    )


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC).replace(microsecond=(ms % 1000) * 1000)


def test_order_row_is_every_column() -> None:
    assert order_row(full_record()) == {
        "client_order_id": "btcbot-s-1",
        "exchange_order_id": 987654321,
        "run_id": "r1",
        "cycle_id": 4,
        "decision_id": "d-7",
        "symbol": "BTCTRY",
        "side": "buy",
        "method": "limit",
        "price": Decimal("2000000.5"),
        "quantity": Decimal("0.0001"),
        "filled_quantity": Decimal("0.00004"),
        "status": "PARTIAL",
        "created_at": at(T0),
        "updated_at": at(T0 + 3),
        "submitted_at": at(T0 + 1),
        "acked_at": at(T0 + 2),
        "submit_latency_ms": 1.5,
        "ttl_seconds": 30,
        "last_error": "venue said no once",
    }
    bare = order_row(record())
    assert (bare["submitted_at"], bare["acked_at"], bare["exchange_order_id"]) == (None, None, None)


def as_selected(rec: OrderRecord) -> tuple[object, ...]:
    """The row as ``ORDER_COLUMNS`` selects it: the same columns in the same order, timestamps as epoch ms."""
    return tuple(round(v.timestamp() * 1000) if isinstance(v, datetime) else v for v in order_row(rec).values())


def test_record_from_row_inverts_order_row() -> None:
    selected = [c.strip().removeprefix("epoch_ms(").removesuffix(")") for c in ORDER_COLUMNS.split(",")]
    assert selected == list(order_row(record()))
    rec = full_record()
    assert record_from_row(as_selected(rec)) == rec
    bare = record()
    assert record_from_row(as_selected(bare)) == bare


def test_an_unknown_row_is_unknown_since_its_last_update() -> None:
    rec = record(S.UNKNOWN, updated_ms=T0 + 40)
    assert record_from_row(as_selected(rec)) == replace(rec, unknown_since_ms=T0 + 40)


def test_ledger_keeps_the_latest_record_per_order_and_prunes_finished_ones() -> None:
    a = record(S.OPEN, client_order_id="a")
    b = record(S.INTENT, client_order_id="b")
    ledger = OrderLedger([a, b])
    assert len(ledger) == 2 and ledger.get("a") == a and ledger.get("zz") is None
    filled = replace(a, status=S.FILLED)
    ledger.put(filled)
    assert ledger.get("a") == filled and len(ledger) == 2
    assert ledger.live() == (b,)
    ledger.prune_terminal()
    assert len(ledger) == 1 and ledger.get("a") is None and ledger.get("b") == b
