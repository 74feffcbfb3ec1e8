"""Plain rows read from the state DB for the operator reports, and the one query that loads them.

The reports, alerts and export all look at the same *window*: the last N decision records (newest by
``ts``), the cycles and orders those records belong to, and the alerts written since the window began.
Keeping the rows as small frozen dataclasses lets the derivations be pure functions tested on rows.
"""

# ruff: noqa: S608 - SQL is assembled only from this module's constants and an int limit
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from btcbot.storage.equity import equity_curve

UNRESOLVED_STATUSES = frozenset({"UNKNOWN"})
# Orders that never left the process do not count towards reject or fill rates.
NOT_SENT_STATUSES = frozenset({"INTENT", "NOT_SENT"})


class Connection(Protocol):
    """The part of a DuckDB connection the loaders use (a read-only one in practice)."""

    def execute(self, query: str, parameters: Any = ...) -> Any: ...


@dataclass(frozen=True, slots=True)
class DecisionRow:
    decision_id: str
    run_id: str
    cycle_id: int
    ts: datetime
    symbol: str
    mode: str
    action: str
    reason_code: str
    details: str = "{}"
    trace_id: str | None = None
    market_data_age_ms: float | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRow:
    client_order_id: str
    run_id: str
    cycle_id: int
    symbol: str
    side: str
    status: str
    created_at: datetime
    updated_at: datetime
    ttl_seconds: int
    exchange_order_id: int | None = None
    decision_id: str | None = None
    price: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    filled_quantity: Decimal = Decimal(0)
    submit_latency_ms: float | None = None
    last_error: str | None = None

    @property
    def sent(self) -> bool:
        return self.status not in NOT_SENT_STATUSES


@dataclass(frozen=True, slots=True)
class CycleRow:
    run_id: str
    cycle_id: int
    started_at: datetime
    mode: str
    outcome_reason_code: str
    duration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class StoredAlertRow:
    alert_id: str
    ts: datetime
    severity: str
    kind: str
    reason_code: str
    message: str
    run_id: str | None = None
    details: str = "{}"


@dataclass(frozen=True, slots=True)
class Window:
    """Everything one report invocation looks at; decisions oldest first."""

    decisions: tuple[DecisionRow, ...]
    orders: tuple[OrderRow, ...] = ()
    cycles: tuple[CycleRow, ...] = ()
    stored_alerts: tuple[StoredAlertRow, ...] = ()
    # Orders still UNKNOWN anywhere in the DB: they matter even when older than the window.
    unresolved_orders: tuple[OrderRow, ...] = field(default=())
    # (time, account equity) per cycle since the window began; the same curve the doctor judges.
    equity: tuple[tuple[datetime, float], ...] = ()

    @property
    def start(self) -> datetime | None:
        return self.decisions[0].ts if self.decisions else None


_DECISION_COLS = (
    "decision_id, run_id, cycle_id, ts, symbol, mode, action, reason_code, details, trace_id, "
    "market_data_age_ms, client_order_id"
)
_ORDER_COLS = (
    "client_order_id, run_id, cycle_id, symbol, side, status, created_at, updated_at, ttl_seconds, "
    "exchange_order_id, decision_id, price, quantity, filled_quantity, submit_latency_ms, last_error"
)


def last_decisions_sql(last: int, columns: str = "decision_id") -> str:
    """The window's decisions; shared by the loaders and the export so both see the same rows."""
    return f"SELECT {columns} FROM decisions ORDER BY ts DESC, cycle_id DESC, decision_id DESC LIMIT {int(last)}"


def load_window(con: Connection, last: int) -> Window:
    """Read the last ``last`` decision records and what they refer to, in a handful of set queries."""
    decisions = tuple(
        DecisionRow(*r)
        for r in con.execute(
            f"SELECT {_DECISION_COLS} FROM decisions WHERE decision_id IN ({last_decisions_sql(last)}) "
            "ORDER BY ts, cycle_id, decision_id"
        ).fetchall()
    )
    if not decisions:
        unresolved = _orders(con, "status = 'UNKNOWN'", ())
        return Window(decisions=(), unresolved_orders=unresolved)
    start = decisions[0].ts
    # An order belongs to the window when a window decision names it or it was created in a window cycle.
    order_where = (
        f"client_order_id IN (SELECT client_order_id FROM decisions WHERE decision_id IN ({last_decisions_sql(last)}) "
        "AND client_order_id IS NOT NULL) "
        f"OR (run_id, cycle_id) IN (SELECT DISTINCT run_id, cycle_id FROM decisions "
        f"WHERE decision_id IN ({last_decisions_sql(last)}))"
    )
    orders = _orders(con, order_where, ())
    cycles = tuple(
        CycleRow(*r)
        for r in con.execute(
            "SELECT run_id, cycle_id, started_at, mode, outcome_reason_code, duration_ms FROM cycles "
            f"WHERE (run_id, cycle_id) IN (SELECT DISTINCT run_id, cycle_id FROM decisions "
            f"WHERE decision_id IN ({last_decisions_sql(last)})) ORDER BY started_at"
        ).fetchall()
    )
    stored = tuple(
        StoredAlertRow(*r)
        for r in con.execute(
            "SELECT alert_id, ts, severity, kind, reason_code, message, run_id, details FROM alerts "
            "WHERE ts >= ? ORDER BY ts",
            [start],
        ).fetchall()
    )
    unresolved = _orders(con, "status = 'UNKNOWN'", ())
    equity = tuple(equity_curve(con, start))
    return Window(
        decisions=decisions,
        orders=orders,
        cycles=cycles,
        stored_alerts=stored,
        unresolved_orders=unresolved,
        equity=equity,
    )


def _orders(con: Connection, where: str, params: tuple[Any, ...]) -> tuple[OrderRow, ...]:
    rows = con.execute(f"SELECT {_ORDER_COLS} FROM orders WHERE {where} ORDER BY created_at", list(params)).fetchall()
    return tuple(OrderRow(*r) for r in rows)
