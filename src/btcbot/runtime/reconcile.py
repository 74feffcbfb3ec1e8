"""The reconciler's decision: bring local order records in line with what the exchange says.

Only positive evidence changes what we believe about an order: the venue showing it (open, or in its history,
by exchange id or by client id), or, for a submit, a failure that proves the request never left this process.
Absence from the venue's views proves nothing: they trail its matching engine, most of all right after the
timeouts and 5xx that make a submit UNKNOWN in the first place, so an order missing from openOrders and
allOrders may be resting all the same. An UNKNOWN order therefore stays UNKNOWN (its symbol blocked) until the
venue shows it, however many looks that takes; the supervisor ends the run when that outlasts
``UNKNOWN_ORDER_MAX_AGE_SECONDS`` (``btcbot.runtime.supervision``).

It never places an order to repair anything. It adjusts records (UNKNOWN/INTENT resolved by client id, fills,
confirmed cancels), adopts orphans that carry this bot's prefix so they can be cancelled, and raises alerts.
The I/O (which queries to make) is split from the decision (``reconcile``) so the decision is testable
without a venue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderStatus, VenueOrder
from btcbot.errors import ExchangeError, OutcomeUnknown, RejectedByVenue, RequestNotSent, SymbolNotTradable
from btcbot.runtime.lifecycle import OrderRecord, advance, status_from_venue


def status_after_submit_error(exc: ExchangeError) -> OrderStatus:
    """What a failed submit proves about the order.

    NOT_SENT only when the request provably never left (``RequestNotSent``: the connection was refused, or the
    client-side limiter held it back). REJECTED when the venue (or its front) answered 4xx: it refused this
    request, so nothing was placed. UNKNOWN for everything else: a timeout, a cut answer, a 5xx, an unreadable
    2xx — the order may be resting at the venue.
    """
    if isinstance(exc, RequestNotSent):
        return OrderStatus.NOT_SENT
    if isinstance(exc, (RejectedByVenue, SymbolNotTradable)):  # refusals, also from venues without HTTP (replay)
        return OrderStatus.REJECTED
    if not isinstance(exc, OutcomeUnknown) and exc.http_status is not None and 400 <= exc.http_status < 500:
        return OrderStatus.REJECTED
    return OrderStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class AlertSpec:
    severity: str  # info | warning | critical
    kind: str
    reason_code: str
    message: str
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    record: OrderRecord
    event: str  # order_events.event


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    updates: tuple[RecordUpdate, ...]
    adopted: tuple[OrderRecord, ...]
    alerts: tuple[AlertSpec, ...]

    @property
    def resolved_unknown(self) -> int:
        return sum(1 for u in self.updates if u.event == "resolved")

    @property
    def became_unknown(self) -> int:
        return sum(1 for u in self.updates if u.event == "unknown")


def _venue_index(venue_open: Iterable[VenueOrder]) -> tuple[dict[int, VenueOrder], dict[str, VenueOrder]]:
    by_id: dict[int, VenueOrder] = {}
    by_cid: dict[str, VenueOrder] = {}
    for v in venue_open:
        by_id[v.exchange_order_id] = v
        if v.client_order_id:
            by_cid[v.client_order_id] = v
    return by_id, by_cid


def needs_lookup(records: Sequence[OrderRecord], venue_open: Sequence[VenueOrder]) -> list[OrderRecord]:
    """Live records the open-orders view does not explain: they need a per-order or history lookup."""
    by_id, by_cid = _venue_index(venue_open)
    out = []
    for r in records:
        if not r.is_live:
            continue
        if r.exchange_order_id is not None and r.exchange_order_id in by_id:
            continue
        if r.client_order_id in by_cid:
            continue
        out.append(r)
    return out


def _event_for(old: OrderRecord, new_status: OrderStatus) -> str:
    if old.status in (OrderStatus.UNKNOWN, OrderStatus.INTENT):
        return "resolved"
    return {
        OrderStatus.FILLED: "filled",
        OrderStatus.PARTIAL: "partial",
        OrderStatus.CANCELLED: "cancelled",
        OrderStatus.OPEN: "acked",
    }.get(new_status, "adjusted")


def _apply_venue(r: OrderRecord, v: VenueOrder, now_ms: int) -> RecordUpdate | None:
    filled = v.filled_quantity
    if filled < r.filled_quantity:
        # A view from before a fill we have already seen (the lag varies between reads): no news, and following
        # it would walk a PARTIAL order back to OPEN, a transition the lifecycle forbids.
        return None
    status = status_from_venue(v.status, r.status)
    if status is r.status and filled == r.filled_quantity and r.exchange_order_id == v.exchange_order_id:
        return None
    new = advance(r, status, now_ms, exchange_order_id=v.exchange_order_id, filled_quantity=filled)
    return RecordUpdate(new, _event_for(r, status))


def adopted_record(v: VenueOrder, *, run_id: str, cycle_id: int, now_ms: int, ttl_seconds: int) -> OrderRecord:
    """A record for a venue order of ours that the DB never heard of (an orphan), in the venue's state."""
    return OrderRecord(
        client_order_id=v.client_order_id or "",
        symbol=v.symbol,
        side=v.side,
        method=v.method,
        price=v.price,
        quantity=v.quantity,
        status=status_from_venue(v.status, OrderStatus.OPEN),
        run_id=run_id,
        cycle_id=cycle_id,
        created_ms=v.created_ms,
        updated_ms=now_ms,
        ttl_seconds=ttl_seconds,
        exchange_order_id=v.exchange_order_id,
        filled_quantity=v.filled_quantity,
        last_error="adopted orphan",
    )


def reconcile(
    records: Sequence[OrderRecord],
    *,
    venue_open: Sequence[VenueOrder],
    lookups: Mapping[str, VenueOrder | None],
    owned_prefixes: tuple[str, ...],
    known_client_ids: frozenset[str],
    now_ms: int,
    run_id: str,
    cycle_id: int,
    default_ttl_seconds: int,
) -> ReconcileOutcome:
    """Compare live records with the venue.

    ``lookups`` maps a client id (from ``needs_lookup``) to the venue's order, or None when the venue's views
    do not show it (which proves nothing). ``known_client_ids`` are every id this process or its DB knows.
    """
    by_id, by_cid = _venue_index(venue_open)
    updates: list[RecordUpdate] = []
    alerts: list[AlertSpec] = []
    for r in records:
        if not r.is_live:
            continue
        v = (by_id.get(r.exchange_order_id) if r.exchange_order_id is not None else None) or by_cid.get(
            r.client_order_id
        )
        if v is None:
            v = lookups.get(r.client_order_id)
        if v is not None:
            upd = _apply_venue(r, v, now_ms)
            if upd is not None:
                updates.append(upd)
                if upd.event == "resolved" and r.status is OrderStatus.UNKNOWN:
                    alerts.append(
                        AlertSpec(
                            "info",
                            "unknown_order",
                            rc.RECONCILE_UNKNOWN_RESOLVED,
                            f"UNKNOWN order resolved by client id as {upd.record.status}",
                            r.client_order_id,
                        )
                    )
            continue
        if r.client_order_id in lookups and r.status is OrderStatus.INTENT:
            # Recorded (durably) before a submit by a process or an actor that died before it learnt the
            # outcome, and not visible at the venue: it may be resting all the same.
            updates.append(RecordUpdate(advance(r, OrderStatus.UNKNOWN, now_ms, unknown_since_ms=now_ms), "unknown"))
            alerts.append(
                AlertSpec(
                    "warning",
                    "unknown_order",
                    rc.ORDER_UNKNOWN,
                    "a submit recorded before a restart is not visible at the venue; UNKNOWN, symbol blocked "
                    "until the venue shows it",
                    r.client_order_id,
                )
            )
        # Anything else the venue does not show stays as it is: absence is not evidence.
    adopted: list[OrderRecord] = []
    for v in venue_open:
        cid = v.client_order_id
        if not cid or not cid.startswith(owned_prefixes) or cid in known_client_ids:
            continue
        adopted.append(
            adopted_record(v, run_id=run_id, cycle_id=cycle_id, now_ms=now_ms, ttl_seconds=default_ttl_seconds)
        )
        alerts.append(
            AlertSpec(
                "warning",
                "orphan_order",
                rc.RECONCILE_ORPHAN_FOUND,
                "an open order with this bot's prefix was unknown locally; adopted for cancel/TTL",
                cid,
            )
        )
    return ReconcileOutcome(tuple(updates), tuple(adopted), tuple(alerts))
