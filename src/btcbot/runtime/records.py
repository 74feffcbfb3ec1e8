"""Rows for the decisions, cycles, alerts and order_events tables (dicts of Python values)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from btcbot.runtime.cycle import SymbolOutcome
from btcbot.runtime.lifecycle import OrderRecord


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def decision_id(run_id: str, cycle_id: int, symbol: str) -> str:
    return f"{run_id}:{cycle_id}:{symbol}"


def decision_row(
    outcome: SymbolOutcome,
    *,
    run_id: str,
    cycle_id: int,
    now_ms: int,
    mode: str,
    trace_id: str | None,
    seq: int = 1,
) -> dict[str, Any]:
    """``seq``: the record's place among its symbol's records of the cycle; the first keeps the plain id (the one
    ``orders.decision_id`` names), the n-th (a second order, a refusal, a cancel) gets ``<id>:<n>``."""
    key = decision_id(run_id, cycle_id, outcome.symbol)
    return {
        "decision_id": key if seq == 1 else f"{key}:{seq}",
        "run_id": run_id,
        "cycle_id": cycle_id,
        "ts": utc(now_ms),
        "symbol": outcome.symbol,
        "mode": mode,
        "action": outcome.action,
        "reason_code": outcome.reason_code,
        "details": outcome.details_json(),
        "trace_id": trace_id,
        "market_data_age_ms": outcome.market_data_age_ms,
        "client_order_id": outcome.client_order_id,
    }


def escalation_decision_row(
    *, run_id: str, cycle_id: int, now_ms: int, reason_code: str, cause: str, detail: str, trace_id: str | None
) -> dict[str, Any]:
    return {
        "decision_id": f"{run_id}:{cycle_id}:*:{uuid.uuid4().hex[:8]}",
        "run_id": run_id,
        "cycle_id": cycle_id,
        "ts": utc(now_ms),
        "symbol": "*",
        "mode": "observe",
        "action": "escalate",
        "reason_code": reason_code,
        "details": json.dumps({"cause": cause, "detail": detail}, sort_keys=True),
        "trace_id": trace_id,
        "market_data_age_ms": None,
        "client_order_id": None,
    }


def alert_row(
    *, run_id: str, now_ms: int, severity: str, kind: str, reason_code: str, message: str, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "alert_id": uuid.uuid4().hex,
        "run_id": run_id,
        "ts": utc(now_ms),
        "severity": severity,
        "kind": kind,
        "reason_code": reason_code,
        "message": message,
        "details": json.dumps(details, sort_keys=True, default=str),
    }


def order_event_row(record: OrderRecord, *, event: str, run_id: str, now_ms: int, **details: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "client_order_id": record.client_order_id,
        "exchange_order_id": record.exchange_order_id,
        "run_id": run_id,
        "ts": utc(now_ms),
        "event": event,
        "status": record.status.value,
        "details": json.dumps(details, sort_keys=True, default=str),
    }


def cycle_row(
    *,
    run_id: str,
    cycle_id: int,
    started_ms: int,
    ended_ms: int,
    mode: str,
    duration_ms: float,
    outcome_reason_code: str,
    trace_id: str | None,
    reconcile_lag_ms: float | None = None,
    update_to_order_ms: float | None = None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "cycle_id": cycle_id,
        "started_at": utc(started_ms),
        "ended_at": utc(ended_ms),
        "mode": mode,
        "duration_ms": duration_ms,
        "outcome_reason_code": outcome_reason_code,
        "trace_id": trace_id,
        "reconcile_lag_ms": reconcile_lag_ms,
        "update_to_order_ms": update_to_order_ms,
    }
