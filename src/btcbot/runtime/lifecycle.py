"""The bot's view of each order it owns, and the only transitions that view may take.

``OrderRecord`` is immutable; every change makes a new record through ``advance``, which refuses a
transition the lifecycle does not allow (a FILLED order never becomes CANCELLED). ``OrderLedger`` is the
plain, single-threaded collection the order manager keeps; the risk gate and strategy see frozen copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from btcbot.domain.orders import OrderIntent, OrderMethod, OrderSide, OrderStatus, VenueOrderStatus
from btcbot.errors import InvariantViolation

S = OrderStatus

_ALLOWED: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    S.INTENT: frozenset({S.OPEN, S.PARTIAL, S.FILLED, S.REJECTED, S.UNKNOWN, S.NOT_SENT, S.CANCELLED}),
    S.UNKNOWN: frozenset({S.OPEN, S.PARTIAL, S.FILLED, S.REJECTED, S.NOT_SENT, S.CANCELLED, S.CANCEL_PENDING}),
    S.OPEN: frozenset({S.PARTIAL, S.FILLED, S.CANCEL_PENDING, S.CANCELLED}),
    S.PARTIAL: frozenset({S.PARTIAL, S.FILLED, S.CANCEL_PENDING, S.CANCELLED}),
    S.CANCEL_PENDING: frozenset({S.CANCELLED, S.FILLED, S.PARTIAL, S.OPEN}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.NOT_SENT: frozenset(),
}

# Orders that still count against a symbol's open-order cap (an unanswered submit may be resting).
LIVE_STATUSES = frozenset({S.INTENT, S.OPEN, S.PARTIAL, S.CANCEL_PENDING, S.UNKNOWN})


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_order_id: str
    symbol: str
    side: OrderSide
    method: OrderMethod
    price: Decimal
    quantity: Decimal
    status: OrderStatus
    run_id: str
    cycle_id: int
    created_ms: int
    updated_ms: int
    ttl_seconds: int
    exchange_order_id: int | None = None
    filled_quantity: Decimal = Decimal(0)
    decision_id: str | None = None
    submitted_ms: int | None = None
    acked_ms: int | None = None
    submit_latency_ms: float | None = None
    unknown_since_ms: int | None = None
    cancel_requested_ms: int | None = None
    last_error: str | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity

    def age_ms(self, now_ms: int) -> int:
        return now_ms - self.created_ms

    def ttl_expired(self, now_ms: int) -> bool:
        return self.age_ms(now_ms) >= self.ttl_seconds * 1000


def advance(record: OrderRecord, status: OrderStatus, now_ms: int, **changes: Any) -> OrderRecord:
    """The record in ``status``; raises InvariantViolation for a transition the lifecycle forbids."""
    if status is not record.status and status not in _ALLOWED[record.status]:
        raise InvariantViolation(
            f"order {record.client_order_id}: {record.status} -> {status} is not a legal transition"
        )
    return replace(record, status=status, updated_ms=now_ms, **changes)


def new_intent_record(
    intent: OrderIntent, *, run_id: str, cycle_id: int, now_ms: int, ttl_seconds: int, decision_id: str
) -> OrderRecord:
    return OrderRecord(
        client_order_id=intent.client_order_id,
        symbol=intent.symbol,
        side=intent.side,
        method=intent.method,
        price=intent.price,
        quantity=intent.quantity,
        status=S.INTENT,
        run_id=run_id,
        cycle_id=cycle_id,
        created_ms=now_ms,
        updated_ms=now_ms,
        ttl_seconds=ttl_seconds,
        decision_id=decision_id,
    )


def status_from_venue(venue: VenueOrderStatus, current: OrderStatus) -> OrderStatus:
    """Map BTCTurk's status onto ours; a resting order we asked to cancel stays CANCEL_PENDING."""
    if venue is VenueOrderStatus.CLOSED:
        return S.FILLED
    if venue is VenueOrderStatus.CANCELED:
        return S.CANCELLED
    if current is S.CANCEL_PENDING:
        return S.CANCEL_PENDING
    return S.PARTIAL if venue is VenueOrderStatus.PARTIAL else S.OPEN


def _ts(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def order_row(record: OrderRecord) -> dict[str, Any]:
    """The ``orders`` table row for a record."""
    return {
        "client_order_id": record.client_order_id,
        "exchange_order_id": record.exchange_order_id,
        "run_id": record.run_id,
        "cycle_id": record.cycle_id,
        "decision_id": record.decision_id,
        "symbol": record.symbol,
        "side": record.side.value,
        "method": record.method.value,
        "price": record.price,
        "quantity": record.quantity,
        "filled_quantity": record.filled_quantity,
        "status": record.status.value,
        "created_at": _ts(record.created_ms),
        "updated_at": _ts(record.updated_ms),
        "submitted_at": _ts(record.submitted_ms),
        "acked_at": _ts(record.acked_ms),
        "submit_latency_ms": record.submit_latency_ms,
        "ttl_seconds": record.ttl_seconds,
        "last_error": record.last_error,
    }


ORDER_COLUMNS = (
    "client_order_id, exchange_order_id, run_id, cycle_id, decision_id, symbol, side, method, price, quantity, "
    "filled_quantity, status, epoch_ms(created_at), epoch_ms(updated_at), epoch_ms(submitted_at), "
    "epoch_ms(acked_at), submit_latency_ms, ttl_seconds, last_error"
)


def record_from_row(row: tuple[Any, ...]) -> OrderRecord:
    """Inverse of ``order_row`` for a row selected with ``ORDER_COLUMNS``."""
    (
        cid,
        xid,
        run_id,
        cycle_id,
        decision_id,
        symbol,
        side,
        method,
        price,
        qty,
        filled,
        status,
        created,
        updated,
        submitted,
        acked,
        latency,
        ttl,
        last_error,
    ) = row
    rec = OrderRecord(
        client_order_id=str(cid),
        exchange_order_id=None if xid is None else int(xid),
        run_id=str(run_id),
        cycle_id=int(cycle_id),
        decision_id=decision_id,
        symbol=str(symbol),
        side=OrderSide(side),
        method=OrderMethod(method),
        price=Decimal(str(price)),
        quantity=Decimal(str(qty)),
        filled_quantity=Decimal(str(filled)),
        status=OrderStatus(status),
        created_ms=int(created),
        updated_ms=int(updated),
        submitted_ms=None if submitted is None else int(submitted),
        acked_ms=None if acked is None else int(acked),
        submit_latency_ms=latency,
        ttl_seconds=int(ttl),
        last_error=last_error,
    )
    if rec.status is S.UNKNOWN:
        rec = replace(rec, unknown_since_ms=rec.updated_ms)
    return rec


class OrderLedger:
    """The order manager's records, keyed by client order id. Not thread-safe: one actor owns it."""

    def __init__(self, records: Iterable[OrderRecord] = ()) -> None:
        self._records: dict[str, OrderRecord] = {r.client_order_id: r for r in records}

    def put(self, record: OrderRecord) -> None:
        self._records[record.client_order_id] = record

    def get(self, client_order_id: str) -> OrderRecord | None:
        return self._records.get(client_order_id)

    def live(self) -> tuple[OrderRecord, ...]:
        return tuple(r for r in self._records.values() if r.is_live)

    def prune_terminal(self) -> None:
        """Forget finished orders (the DB keeps them); the ledger only needs what can still change."""
        self._records = {k: r for k, r in self._records.items() if r.is_live}

    def __len__(self) -> int:
        return len(self._records)
