"""SLOs and lifecycle evidence from the state DB over the doctor's window.

``collect_db_facts`` copies a few aggregates out of a read-only connection (and closes it quickly so the
runtime's writer can flush); the ``check_*`` functions are pure. No data is never a PASS: it is a WARN that
says confidence is reduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from btcbot.doctor.model import CheckResult, Status
from btcbot.storage.equity import equity_curve, max_drawdown

if TYPE_CHECKING:
    import duckdb

    from btcbot.settings import Settings

# Orders that reached (or may have reached) the venue; INTENT/NOT_SENT never left the process.
_SENT = "('OPEN','PARTIAL','FILLED','CANCEL_PENDING','CANCELLED','REJECTED','UNKNOWN')"
_OPEN = ("OPEN", "PARTIAL", "CANCEL_PENDING")


@dataclass(frozen=True, slots=True)
class DbFacts:
    sent_orders: int = 0
    rejected_orders: int = 0
    filled_orders: int = 0  # any fill at all
    latency_samples: int = 0
    latency_p95_ms: float | None = None
    equity_points: int = 0
    max_drawdown_ratio: float | None = None
    unknown_orders: tuple[str, ...] = ()
    safe_mode_escalations: int = 0
    stale_blocks: int = 0
    overdue_open_orders: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def collect_db_facts(
    con: duckdb.DuckDBPyConnection, *, now: datetime, window_seconds: int, ttl_grace_seconds: float
) -> DbFacts:
    from btcbot.reports.summary import percentile

    since = now - timedelta(seconds=window_seconds)
    sent, rejected, filled = con.execute(
        f"""SELECT count(*) FILTER (WHERE status IN {_SENT}),
                   count(*) FILTER (WHERE status = 'REJECTED'),
                   count(*) FILTER (WHERE status IN {_SENT} AND filled_quantity > 0)
            FROM orders WHERE created_at >= ?""",  # noqa: S608 - constant fragment, no user input
        [since],
    ).fetchone() or (0, 0, 0)
    # The reports' nearest-rank p95 (an observed value), so doctor, status and stage7-alerts judge one figure.
    latencies = [
        float(r[0])
        for r in con.execute(
            f"SELECT submit_latency_ms FROM orders WHERE created_at >= ? AND status IN {_SENT} "  # noqa: S608
            "AND submit_latency_ms IS NOT NULL",
            [since],
        ).fetchall()
    ]
    equity = [value for _, value in equity_curve(con, since)]
    unknown = con.execute(
        "SELECT client_order_id FROM orders WHERE status = 'UNKNOWN' ORDER BY created_at LIMIT 20"
    ).fetchall()
    safe_mode, stale = con.execute(
        """SELECT count(*) FILTER (WHERE reason_code = 'supervisor:safe_mode'),
                  count(*) FILTER (WHERE reason_code = 'market_data:stale')
           FROM decisions WHERE ts >= ?""",
        [since],
    ).fetchone() or (0, 0)
    overdue = con.execute(
        """SELECT client_order_id FROM orders
           WHERE status IN ('OPEN','PARTIAL','CANCEL_PENDING')
             AND coalesce(acked_at, submitted_at, created_at) + to_seconds(ttl_seconds + ?) < ?
           ORDER BY created_at LIMIT 20""",
        [ttl_grace_seconds, now],
    ).fetchall()
    return DbFacts(
        sent_orders=int(sent),
        rejected_orders=int(rejected),
        filled_orders=int(filled),
        latency_samples=len(latencies),
        latency_p95_ms=percentile(latencies, 95),
        equity_points=len(equity),
        max_drawdown_ratio=max_drawdown(equity),
        unknown_orders=tuple(str(r[0]) for r in unknown),
        safe_mode_escalations=int(safe_mode),
        stale_blocks=int(stale),
        overdue_open_orders=tuple(str(r[0]) for r in overdue),
    )


# A dry run never sends, so only a live canary can give the order SLOs their evidence; balance snapshots come from
# any run with credentials. A hint that sends the operator to a dry run for order evidence is never satisfied.
ORDER_EVIDENCE_ACTION = "only orders sent give this evidence: the stage 2 canary (btcbot canary once) gathers it"
BALANCE_EVIDENCE_ACTION = "a run with credentials (the stage 0 dry-run loop) records balance snapshots"


def _no_data(name: str, what: str, window: str, action: str) -> CheckResult:
    return CheckResult(name, Status.WARN, f"no {what} in the last {window}: reduced confidence, not a pass", action)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _threshold_check(
    name: str, value: float, limit: Decimal, *, fail_below: bool, text: str, action: str, details: dict[str, object]
) -> CheckResult:
    """PASS inside the limit, FAIL past it (below it when ``fail_below``, else above it)."""
    measured = Decimal(str(value))
    breached = measured < limit if fail_below else measured > limit
    if breached:
        return CheckResult(name, Status.FAIL, text, action, details)
    return CheckResult(name, Status.PASS, text, "none", details)


def check_reject_rate(facts: DbFacts, settings: Settings, window: str) -> CheckResult:
    limit = settings.doctor_max_reject_rate
    if facts.sent_orders == 0:
        return _no_data("slo_reject_rate", "sent orders", window, ORDER_EVIDENCE_ACTION)
    rate = facts.rejected_orders / facts.sent_orders
    return _threshold_check(
        "slo_reject_rate",
        rate,
        limit,
        fail_below=False,
        text=f"reject_rate={_fmt(rate)} ({facts.rejected_orders}/{facts.sent_orders}), max {limit}",
        action="stop, set KILL_SWITCH=true, review rejects",
        details={"value": rate, "threshold": str(limit), "rejected": facts.rejected_orders, "sent": facts.sent_orders},
    )


def check_fill_rate(facts: DbFacts, settings: Settings, window: str) -> CheckResult:
    limit = settings.doctor_min_fill_rate
    if facts.sent_orders == 0:
        return _no_data("slo_fill_rate", "sent orders", window, ORDER_EVIDENCE_ACTION)
    rate = facts.filled_orders / facts.sent_orders
    return _threshold_check(
        "slo_fill_rate",
        rate,
        limit,
        fail_below=True,
        text=f"fill_rate={_fmt(rate)} ({facts.filled_orders}/{facts.sent_orders}), min {limit}",
        action="review pricing (CANARY_OFFSET_BPS) and TTL before continuing",
        details={"value": rate, "threshold": str(limit), "filled": facts.filled_orders, "sent": facts.sent_orders},
    )


def check_latency(facts: DbFacts, settings: Settings, window: str) -> CheckResult:
    limit = settings.doctor_max_latency_p95_ms
    if facts.latency_p95_ms is None:
        return _no_data("slo_latency_p95_ms", "submit latency samples", window, ORDER_EVIDENCE_ACTION)
    return _threshold_check(
        "slo_latency_p95_ms",
        facts.latency_p95_ms,
        limit,
        fail_below=False,
        text=f"latency_p95_ms={_fmt(facts.latency_p95_ms)} over {facts.latency_samples} submits, max {limit}",
        action="stop and check exchange health and network path",
        details={"value": facts.latency_p95_ms, "threshold": str(limit), "samples": facts.latency_samples},
    )


def check_drawdown(facts: DbFacts, settings: Settings, window: str) -> CheckResult:
    limit = settings.doctor_max_drawdown_ratio
    if facts.max_drawdown_ratio is None:
        return _no_data(
            "slo_max_drawdown_ratio", "balance snapshots (need two or more)", window, BALANCE_EVIDENCE_ACTION
        )
    return _threshold_check(
        "slo_max_drawdown_ratio",
        facts.max_drawdown_ratio,
        limit,
        fail_below=False,
        text=f"max_drawdown_ratio={_fmt(facts.max_drawdown_ratio)} over {facts.equity_points} snapshots, max {limit}",
        action="stop, set KILL_SWITCH=true, review fills and PnL",
        details={"value": facts.max_drawdown_ratio, "threshold": str(limit), "points": facts.equity_points},
    )


def check_unknown_orders(facts: DbFacts) -> CheckResult:
    if not facts.unknown_orders:
        return CheckResult("unknown_orders", Status.PASS, "no order in UNKNOWN state", "none")
    ids = ", ".join(facts.unknown_orders[:3])
    return CheckResult(
        "unknown_orders",
        Status.FAIL,
        f"{len(facts.unknown_orders)} order(s) with unresolved outcome: {ids}",
        "set KILL_SWITCH=true, run `btcbot run --once` to reconcile, check open orders in the BTCTurk UI",
        {"client_order_ids": list(facts.unknown_orders)},
    )


def check_safe_mode(facts: DbFacts, window: str) -> CheckResult:
    n = facts.safe_mode_escalations
    if n == 0:
        return CheckResult("safe_mode_escalations", Status.PASS, f"none in the last {window}", "none", {"count": 0})
    return CheckResult(
        "safe_mode_escalations",
        Status.WARN,
        f"{n} safe-mode escalation(s) (supervisor:safe_mode) in the last {window}",
        "read `btcbot stage7-alerts` for the cause; resume from stage 0 once understood",
        {"count": n},
    )


def check_stale_blocks(facts: DbFacts, settings: Settings, window: str) -> CheckResult:
    n = facts.stale_blocks
    limit = settings.doctor_stale_block_warn_count
    details = {"count": n, "threshold": limit}
    if n < limit:
        return CheckResult(
            "stale_blocks",
            Status.PASS,
            f"{n} market_data:stale block(s) in the last {window} (< {limit})",
            "none",
            details,
        )
    return CheckResult(
        "stale_blocks",
        Status.WARN,
        f"{n} market_data:stale blocks in the last {window} (>= {limit})",
        "check MARKET_DATA_MODE, WS connectivity, MAX_MARKET_DATA_AGE_MS and clock sync",
        details,
    )


def check_overdue_orders(facts: DbFacts) -> CheckResult:
    if not facts.overdue_open_orders:
        return CheckResult("overdue_open_orders", Status.PASS, "no open order past its TTL", "none")
    ids = ", ".join(facts.overdue_open_orders[:3])
    return CheckResult(
        "overdue_open_orders",
        Status.FAIL,
        f"{len(facts.overdue_open_orders)} open order(s) past TTL: {ids}",
        "set KILL_SWITCH=true and run `btcbot run --once`, or cancel in the BTCTurk UI",
        {"client_order_ids": list(facts.overdue_open_orders)},
    )


DB_CHECK_NAMES = (
    "slo_reject_rate",
    "slo_fill_rate",
    "slo_latency_p95_ms",
    "slo_max_drawdown_ratio",
    "unknown_orders",
    "safe_mode_escalations",
    "stale_blocks",
    "overdue_open_orders",
)


def db_checks(facts: DbFacts, settings: Settings, window: str) -> list[CheckResult]:
    return [
        check_reject_rate(facts, settings, window),
        check_fill_rate(facts, settings, window),
        check_latency(facts, settings, window),
        check_drawdown(facts, settings, window),
        check_unknown_orders(facts),
        check_safe_mode(facts, window),
        check_stale_blocks(facts, settings, window),
        check_overdue_orders(facts),
    ]


def skipped_db_checks(reason: str, action: str, status: Status = Status.SKIP) -> list[CheckResult]:
    """The DB checks, none of them evaluated: SKIP, or FAIL when the reason is itself a failure (a damaged DB)."""
    return [CheckResult(name, status, reason, action) for name in DB_CHECK_NAMES]
