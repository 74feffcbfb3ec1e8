"""What ``orders cancel-all`` leaves in the state DB: decisions, order rows and events, one alert, one run row.

Every order it acted on gets a decision with a stable reason code (``operator:cancel_all`` when the venue
confirmed the order is no longer open, ``operator:cancel_failed`` otherwise) and the order's own row moves
to the state the venue confirmed, so the next run and the reports start from the truth. An order the DB
never heard of is first recorded as adopted, exactly as the reconciler would adopt it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from btcbot import reason_codes as rc
from btcbot.cleanup.cancel_all import CancelAttempt, CleanupResult, Outcome
from btcbot.domain.orders import OrderStatus
from btcbot.errors import InvariantViolation
from btcbot.reports.alerts import OPERATOR_CLEANUP_KIND
from btcbot.runtime.lifecycle import OrderRecord, advance, order_row, status_from_venue
from btcbot.runtime.reconcile import adopted_record
from btcbot.runtime.records import alert_row, order_event_row, utc

S = OrderStatus
COMMAND = "orders_cancel_all"
CYCLE_ID = 0  # operator actions belong to no runtime cycle

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CleanupContext:
    run_id: str
    mode: str  # the arming decision's mode: cancel-all leaves the gates as they were
    scope: str
    started_ms: int
    now_ms: int
    ttl_seconds: int  # for an adopted order's row (the orders table requires one)


def _decision(
    ctx: CleanupContext, symbol: str, key: str, cid: str | None, failed: bool, details: Mapping[str, Any]
) -> Row:
    return {
        "decision_id": f"{ctx.run_id}:{CYCLE_ID}:{key}",
        "run_id": ctx.run_id,
        "cycle_id": CYCLE_ID,
        "ts": utc(ctx.now_ms),
        "symbol": symbol,
        "mode": ctx.mode,
        "action": "none" if failed else "cancel",
        "reason_code": rc.OPERATOR_CANCEL_FAILED if failed else rc.OPERATOR_CANCEL_ALL,
        "details": json.dumps({"by": "operator", **details}, sort_keys=True, default=str),
        "trace_id": None,
        "market_data_age_ms": None,
        "client_order_id": cid,
    }


def _order_changes(
    ctx: CleanupContext, a: CancelAttempt, known: OrderRecord | None
) -> tuple[OrderRecord, list[tuple[str, dict[str, Any]]]]:
    """The order's row after the attempt, and the events that led there."""
    now = ctx.now_ms
    by = {"by": "operator"}
    events: list[tuple[str, dict[str, Any]]] = []
    record = known
    if record is None:
        record = adopted_record(a.order, run_id=ctx.run_id, cycle_id=CYCLE_ID, now_ms=now, ttl_seconds=ctx.ttl_seconds)
        events.append(("orphan", by))
    elif record.status in (S.INTENT, S.UNKNOWN):
        # The venue shows it: the submit's outcome is now known.
        record = advance(
            record,
            status_from_venue(a.order.status, S.OPEN),
            now,
            exchange_order_id=a.order.exchange_order_id,
            filled_quantity=a.order.filled_quantity,
        )
        events.append(("resolved", by))
    if a.outcome is Outcome.FAILED:
        events.append(("cancel_failed", {**by, "detail": a.detail}))
        return record, events
    events.append(("cancel_requested", by))
    seen = a.confirmed
    target = status_from_venue(seen.status, S.CANCEL_PENDING) if seen is not None else S.CANCEL_PENDING
    try:
        record = advance(
            record,
            target,
            now,
            exchange_order_id=a.order.exchange_order_id,
            filled_quantity=seen.filled_quantity if seen is not None else record.filled_quantity,
            cancel_requested_ms=now,
        )
    except InvariantViolation:
        # The DB had already closed this order although the venue showed it open; keep the row, say so.
        events.append(("db_disagrees", {**by, "db_status": record.status.value, "venue_status": target.value}))
        return record, events
    if target is S.CANCELLED:
        events.append(("cancelled", by))
    elif target is S.FILLED:
        events.append(("filled", by))
    return record, events


def _alert(ctx: CleanupContext, result: CleanupResult) -> Row:
    done = [a for a in result.attempts if a.outcome in (Outcome.CANCELLED, Outcome.FILLED)]
    remaining = [o.client_order_id or str(o.exchange_order_id) for o in result.remaining or ()]
    details = {
        "scope": ctx.scope,
        "attempted": len(result.attempts),
        "cancelled": sum(1 for a in done if a.outcome is Outcome.CANCELLED),
        "filled_first": sum(1 for a in done if a.outcome is Outcome.FILLED),
        "remaining": remaining,
    }
    if result.clean:
        severity, code = "info", rc.OPERATOR_CANCEL_ALL
        message = (
            f"operator cancel-all on scope {ctx.scope}: {details['cancelled']} cancelled, "
            f"{details['filled_first']} filled first; the venue shows none of this scope's orders open"
        )
    elif result.remaining is None:
        severity, code = "critical", rc.OPERATOR_CANCEL_FAILED
        message = (
            f"operator cancel-all on scope {ctx.scope}: the venue's open orders could not be read at the end; "
            "check them with `btcbot orders list`"
        )
    else:
        severity, code = "critical", rc.OPERATOR_CANCEL_FAILED
        message = (
            f"operator cancel-all on scope {ctx.scope}: {len(remaining)} order(s) still open at the venue "
            f"({', '.join(remaining[:3])}); rerun `btcbot orders cancel-all --confirm` or cancel them at the exchange"
        )
    return alert_row(
        run_id=ctx.run_id, now_ms=ctx.now_ms, severity=severity, kind=OPERATOR_CLEANUP_KIND, reason_code=code,
        message=message, details=details,
    )  # fmt: skip


def cleanup_rows(ctx: CleanupContext, result: CleanupResult, known: Mapping[str, OrderRecord]) -> dict[str, list[Row]]:
    """Rows per table for one cancel-all; ``known`` maps client ids to this scope's DB records."""
    decisions: list[Row] = []
    orders: list[Row] = []
    events: list[Row] = []
    open_at_end = {o.exchange_order_id for o in result.remaining or ()}
    for a in result.attempts:
        cid = a.order.client_order_id or ""
        before = known.get(cid)
        failed = a.outcome is Outcome.FAILED or (
            not result.clean and (result.remaining is None or a.order.exchange_order_id in open_at_end)
        )
        details = {
            "exchange_order_id": a.order.exchange_order_id,
            "outcome": a.outcome.value,
            "venue": a.detail,
            "db_status_before": before.status.value if before is not None else "unknown to DB",
        }
        # The venue does not enforce unique client ids, so its order id keys the decision.
        decisions.append(_decision(ctx, a.order.symbol, str(a.order.exchange_order_id), cid, failed, details))
        record, changes = _order_changes(ctx, a, before)
        orders.append(order_row(record))
        events += [order_event_row(record, event=e, run_id=ctx.run_id, now_ms=ctx.now_ms, **d) for e, d in changes]
    attempted = {a.order.exchange_order_id for a in result.attempts}
    for o in result.remaining or ():
        if o.exchange_order_id not in attempted:
            note = {"exchange_order_id": o.exchange_order_id, "outcome": "appeared during the clean-up; not cancelled"}
            decisions.append(_decision(ctx, o.symbol, str(o.exchange_order_id), o.client_order_id, True, note))
    if not decisions:
        note = {"open_orders": 0} if result.clean else {"outcome": "the venue's open orders could not be read"}
        decisions.append(_decision(ctx, "*", "*", None, not result.clean, note))
    return {"decisions": decisions, "orders": orders, "order_events": events, "alerts": [_alert(ctx, result)]}


def run_row(ctx: CleanupContext, *, arm_reasons: str, symbols: str, exit_code: int | None, settings_json: str) -> Row:
    return {
        "run_id": ctx.run_id,
        "started_at": utc(ctx.started_ms),
        "ended_at": utc(ctx.now_ms),
        "command": COMMAND,
        "mode": ctx.mode,
        "arm_reasons": arm_reasons,
        "pid": os.getpid(),
        "account_scope": ctx.scope,
        "symbols": symbols,
        "exit_code": exit_code,
        "settings_json": settings_json,
    }
