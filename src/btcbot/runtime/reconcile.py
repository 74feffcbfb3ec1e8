"""The reconciler's decision: bring local order records in line with what the exchange says.

It never places an order to repair anything. It adjusts records (UNKNOWN/INTENT resolved by client id,
fills, confirmed cancels), adopts orphans that carry this bot's prefix so they can be cancelled, and
raises alerts. The I/O (which queries to make) is split from the decision (``reconcile``) so the
decision is testable without a venue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderStatus, VenueOrder
from btcbot.runtime.lifecycle import OrderRecord, advance, status_from_venue

# An unanswered submit that the venue still does not know after this many looks, and this long, never
# reached it; it is then marked NOT_SENT (an order that surfaced later would be adopted as an orphan).
NOT_FOUND_LOOKS = 3
NOT_FOUND_GRACE_MS = 2000


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
    status = status_from_venue(v.status, r.status)
    filled = v.filled_quantity
    if status is r.status and filled == r.filled_quantity and r.exchange_order_id == v.exchange_order_id:
        return None
    new = advance(r, status, now_ms, exchange_order_id=v.exchange_order_id, filled_quantity=filled, not_found_count=0)
    return RecordUpdate(new, _event_for(r, status))


def reconcile(
    records: Sequence[OrderRecord],
    *,
    venue_open: Sequence[VenueOrder],
    lookups: Mapping[str, VenueOrder | None],
    owned_prefix: str,
    known_client_ids: frozenset[str],
    now_ms: int,
    run_id: str,
    cycle_id: int,
    default_ttl_seconds: int,
) -> ReconcileOutcome:
    """Compare live records with the venue.

    ``lookups`` maps a client id (from ``needs_lookup``) to the venue's order, or None when the venue
    does not know it. ``known_client_ids`` are every id this process or its DB knows, live or finished.
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
        if r.client_order_id not in lookups:
            continue  # nothing was looked up for it this time (throttled); judge it next time
        looks = r.not_found_count + 1
        if (
            r.status in (OrderStatus.UNKNOWN, OrderStatus.INTENT)
            and looks >= NOT_FOUND_LOOKS
            and r.age_ms(now_ms) >= NOT_FOUND_GRACE_MS
        ):
            updates.append(RecordUpdate(advance(r, OrderStatus.NOT_SENT, now_ms, not_found_count=looks), "resolved"))
            alerts.append(
                AlertSpec(
                    "warning",
                    "unknown_order",
                    rc.RECONCILE_UNKNOWN_NOT_FOUND,
                    "the venue never saw this submit; marked NOT_SENT",
                    r.client_order_id,
                )
            )
        else:
            updates.append(RecordUpdate(replace(r, not_found_count=looks, updated_ms=now_ms), "not_found"))
    adopted: list[OrderRecord] = []
    for v in venue_open:
        cid = v.client_order_id
        if not cid or not cid.startswith(owned_prefix) or cid in known_client_ids:
            continue
        status = status_from_venue(v.status, OrderStatus.OPEN)
        adopted.append(
            OrderRecord(
                client_order_id=cid,
                symbol=v.symbol,
                side=v.side,
                method=v.method,
                price=v.price,
                quantity=v.quantity,
                status=status,
                run_id=run_id,
                cycle_id=cycle_id,
                created_ms=v.created_ms,
                updated_ms=now_ms,
                ttl_seconds=default_ttl_seconds,
                exchange_order_id=v.exchange_order_id,
                filled_quantity=v.filled_quantity,
                last_error="adopted orphan",
            )
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
