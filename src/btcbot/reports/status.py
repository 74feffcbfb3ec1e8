"""``btcbot status``: the running instance, the last cycles, this bot's open orders and the runbook's metrics.

Everything comes from the state DB through a short read-only connection (safe while a run holds the DB) and
from the instance lock's probe; the SLOs and alerts are the doctor's and ``stage7-alerts``' own derivations,
added by the command. The runtime writes its ``runs`` row only when it ends, so a running instance is known by
its lock (PID) and by the newest run in ``cycles`` that has no ``runs`` row yet; its ``started_at`` and uptime
count from its first recorded cycle.
"""

# ruff: noqa: S608 - SQL is assembled only from this module's constants
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from btcbot import reason_codes as rc
from btcbot.doctor.model import CheckResult
from btcbot.reports.alerts import Alert
from btcbot.reports.records import Connection
from btcbot.reports.summary import percentile
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.ports import load_live_orders

# Schema version 2 added the cycles' timing columns; an older DB (not yet migrated by a run) shows them empty.
_TIMING_SCHEMA = 2


@dataclass(frozen=True, slots=True)
class Distribution:
    samples: int
    p50: float | None
    p95: float | None
    max: float | None

    @classmethod
    def of(cls, values: list[float]) -> Distribution:
        return cls(len(values), percentile(values, 50), percentile(values, 95), max(values, default=None))


@dataclass(frozen=True, slots=True)
class Instance:
    running: bool  # the instance lock is held
    pid: int | None
    run_id: str | None  # the running run, or the last one when nothing runs; None when no cycle is recorded
    started_at: datetime | None  # the run's first recorded cycle
    last_cycle_at: datetime | None
    cycles: int  # cycles the run has recorded
    mode: str | None  # of its last cycle (live | observe)
    ended_at: datetime | None  # from its runs row; None while it runs or when it was killed
    exit_code: int | None

    def uptime_s(self, now: datetime) -> float | None:
        if not self.running or self.started_at is None:
            return None
        return max(0.0, (now - self.started_at).total_seconds())


@dataclass(frozen=True, slots=True)
class CycleLine:
    run_id: str
    cycle_id: int
    started_at: datetime
    mode: str
    outcome_reason_code: str
    duration_ms: float | None
    reconcile_lag_ms: float | None
    update_to_order_ms: float | None
    reasons: tuple[tuple[str, str], ...]  # (symbol, reason_code) in record order


@dataclass(frozen=True, slots=True)
class WindowMetrics:
    """The four runbook metrics over the window, plus the cycle's own timing."""

    reconcile_lag_ms: Distribution
    order_submit_latency_ms: Distribution
    invalid_best_bid_count: int
    stale_blocks: int
    symbol_cycles: int  # decision records of a symbol (the rate's denominator)
    cycle_duration_ms: Distribution
    update_to_order_ms: Distribution

    @property
    def stale_market_data_rate(self) -> float | None:
        return self.stale_blocks / self.symbol_cycles if self.symbol_cycles else None


@dataclass(frozen=True, slots=True)
class DbStatus:
    instance: Instance
    last_cycles: tuple[CycleLine, ...]  # newest first
    open_orders: tuple[OrderRecord, ...]
    metrics: WindowMetrics


class _Rows:
    """A read-only connection seen as the runtime's ``RowSource`` (to reuse ``load_live_orders``)."""

    def __init__(self, con: Connection) -> None:
        self._con = con

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._con.execute(sql, list(params)).fetchall()
        return rows


def _instance(con: Connection, lock: tuple[bool, int | None], schema_version: int) -> Instance:
    held, pid = lock
    latest = con.execute(
        "SELECT run_id, count(*), min(started_at), max(started_at), arg_max(mode, started_at) "
        f"FROM {_every_cycle(schema_version)} GROUP BY run_id ORDER BY max(started_at) DESC LIMIT 1"
    ).fetchone()
    if latest is None:
        return Instance(held, pid, None, None, None, 0, None, None, None)
    run_id, cycles, first, last, mode = latest
    ended = con.execute(
        "SELECT ended_at, exit_code FROM runs WHERE run_id = ? AND ended_at IS NOT NULL", [run_id]
    ).fetchone()
    if held and ended is not None:
        # The newest recorded run has ended: the lock's holder has not recorded a cycle yet.
        return Instance(True, pid, None, None, None, 0, None, None, None)
    ended_at, exit_code = ended if ended is not None else (None, None)
    return Instance(held, pid, str(run_id), first, last, int(cycles), str(mode), ended_at, exit_code)


def _timing_columns(schema_version: int) -> str:
    if schema_version >= _TIMING_SCHEMA:
        return "reconcile_lag_ms, update_to_order_ms"
    return "CAST(NULL AS DOUBLE) AS reconcile_lag_ms, CAST(NULL AS DOUBLE) AS update_to_order_ms"


def _every_cycle(schema_version: int) -> str:
    """The recorded cycles and the aborted ones. A cycle in which an actor failed leaves its decisions but no
    ``cycles`` row (runtime/session.py, ``write_aborted``); without it the list would skip the very cycle the
    operator most needs to see, and the run's count would be short by one. Its time is the abort's."""
    return (
        "(SELECT run_id, cycle_id, started_at, mode, outcome_reason_code, duration_ms, "
        f"{_timing_columns(schema_version)} FROM cycles "
        "UNION ALL "
        f"SELECT d.run_id, d.cycle_id, min(d.ts), any_value(d.mode), '{rc.SUPERVISOR_CYCLE_ABORTED}', "
        "CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE) FROM decisions d "
        f"WHERE d.reason_code = '{rc.SUPERVISOR_CYCLE_ABORTED}' AND NOT EXISTS "
        "(SELECT 1 FROM cycles c WHERE c.run_id = d.run_id AND c.cycle_id = d.cycle_id) "
        "GROUP BY d.run_id, d.cycle_id)"
    )


def _last_cycles(con: Connection, n: int, schema_version: int) -> tuple[CycleLine, ...]:
    every = _every_cycle(schema_version)
    newest = f"SELECT run_id, cycle_id FROM {every} ORDER BY started_at DESC, cycle_id DESC LIMIT {int(n)}"
    reasons: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for run_id, cycle_id, symbol, code in con.execute(
        f"SELECT run_id, cycle_id, symbol, reason_code FROM decisions WHERE (run_id, cycle_id) IN ({newest}) "
        "AND symbol <> '*' ORDER BY ts, decision_id"
    ).fetchall():
        reasons.setdefault((run_id, cycle_id), []).append((symbol, code))
    rows = con.execute(
        "SELECT run_id, cycle_id, started_at, mode, outcome_reason_code, duration_ms, reconcile_lag_ms, "
        f"update_to_order_ms FROM {every} ORDER BY started_at DESC, cycle_id DESC LIMIT {int(n)}"
    ).fetchall()
    return tuple(
        CycleLine(run_id, cycle_id, started, mode, code, duration, lag, u2o, tuple(reasons.get((run_id, cycle_id), ())))
        for run_id, cycle_id, started, mode, code, duration, lag, u2o in rows
    )


def _metrics(con: Connection, since: datetime, schema_version: int) -> WindowMetrics:
    cycles = con.execute(
        f"SELECT duration_ms, {_timing_columns(schema_version)} FROM cycles WHERE started_at >= ?", [since]
    ).fetchall()
    latencies = con.execute(
        "SELECT submit_latency_ms FROM orders WHERE created_at >= ? AND submit_latency_ms IS NOT NULL", [since]
    ).fetchall()
    invalid, stale, symbol_cycles = con.execute(
        "SELECT count(*) FILTER (WHERE reason_code = ?), count(*) FILTER (WHERE reason_code = ?), count(*) "
        "FROM decisions WHERE ts >= ? AND symbol <> '*'",
        [rc.MARKET_DATA_INVALID_BOOK, rc.MARKET_DATA_STALE, since],
    ).fetchone() or (0, 0, 0)

    def column(i: int) -> list[float]:
        return [float(r[i]) for r in cycles if r[i] is not None]

    return WindowMetrics(
        reconcile_lag_ms=Distribution.of(column(1)),
        order_submit_latency_ms=Distribution.of([float(r[0]) for r in latencies]),
        invalid_best_bid_count=int(invalid),
        stale_blocks=int(stale),
        symbol_cycles=int(symbol_cycles),
        cycle_duration_ms=Distribution.of(column(0)),
        update_to_order_ms=Distribution.of(column(2)),
    )


def collect_db_status(
    con: Connection,
    *,
    now: datetime,
    window_seconds: int,
    owned_prefixes: tuple[str, ...],
    lock: tuple[bool, int | None],
    schema_version: int,
    last_cycles: int = 10,
) -> DbStatus:
    """Copy what ``status`` shows out of a read-only connection (the caller closes it right after)."""
    return DbStatus(
        instance=_instance(con, lock, schema_version),
        last_cycles=_last_cycles(con, last_cycles, schema_version),
        open_orders=tuple(
            sorted(load_live_orders(_Rows(con), owned_prefixes), key=lambda r: (r.created_ms, r.client_order_id))
        ),
        metrics=_metrics(con, now - timedelta(seconds=window_seconds), schema_version),
    )


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One refresh of ``btcbot status``; ``db`` is None (and ``db_error`` says why) when the DB was not readable."""

    generated_at: datetime
    state_db_path: str
    window: str
    window_seconds: int
    lock: tuple[bool, int | None]
    db: DbStatus | None
    db_error: str | None
    slos: tuple[CheckResult, ...] = ()
    alerts: tuple[Alert, ...] = ()  # open ones, worst first

    @property
    def instance(self) -> Instance:
        if self.db is not None:
            return self.db.instance
        return Instance(self.lock[0], self.lock[1], None, None, None, 0, None, None, None)

    @property
    def exit_code(self) -> int:
        """0 shown; 2 when the state DB could not be read (missing, not a btcbot DB, newer schema, busy)."""
        return 0 if self.db is not None else 2
