"""``btcbot status`` as terminal tables (rich) and as one JSON document (``--json``, schema_version 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from btcbot.doctor.model import Status
from btcbot.domain.decimal_text import plain_decimal
from btcbot.reports.alerts import Severity
from btcbot.reports.status import Distribution, Instance, StatusReport
from btcbot.reports.summary import utc_iso

STATUS_SCHEMA_VERSION = 1
_NONE = "-"
_STATUS_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}
_SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else utc_iso(ts)


def _ms_ts(ms: int) -> str:
    return utc_iso(datetime.fromtimestamp(ms / 1000, tz=UTC))




def _num(value: float | None, digits: int = 2) -> str:
    return _NONE if value is None else f"{value:.{digits}f}"


def _instance_json(instance: Instance, now: datetime) -> dict[str, Any]:
    uptime = instance.uptime_s(now)
    return {
        "running": instance.running,
        "pid": instance.pid,
        "run_id": instance.run_id,
        "started_at": _iso(instance.started_at),
        "uptime_s": None if uptime is None else round(uptime, 3),
        "last_cycle_at": _iso(instance.last_cycle_at),
        "cycles": instance.cycles,
        "mode": instance.mode,
        "ended_at": _iso(instance.ended_at),
        "exit_code": instance.exit_code,
    }


def _dist_json(d: Distribution) -> dict[str, Any]:
    return {"samples": d.samples, "p50": d.p50, "p95": d.p95, "max": d.max}


def status_dict(report: StatusReport) -> dict[str, Any]:
    now = report.generated_at
    db = report.db
    doc: dict[str, Any] = {
        "schema_version": STATUS_SCHEMA_VERSION,
        "generated_at": utc_iso(now),
        "state_db_path": report.state_db_path,
        "db_error": report.db_error,
        "window": report.window,
        "window_seconds": report.window_seconds,
        "instance": _instance_json(report.instance, now),
        "last_cycles": [],
        "open_orders": [],
        "metrics": None,
        "slos": [c.to_json() for c in report.slos],
        "alerts": [a.as_dict() for a in report.alerts],
    }
    if db is None:
        return doc
    now_ms = int(now.timestamp() * 1000)
    doc["last_cycles"] = [
        {
            "run_id": c.run_id,
            "cycle_id": c.cycle_id,
            "started_at": utc_iso(c.started_at),
            "mode": c.mode,
            "outcome_reason_code": c.outcome_reason_code,
            "duration_ms": c.duration_ms,
            "reconcile_lag_ms": c.reconcile_lag_ms,
            "update_to_order_ms": c.update_to_order_ms,
            "reasons": [{"symbol": s, "reason_code": code} for s, code in c.reasons],
        }
        for c in db.last_cycles
    ]
    doc["open_orders"] = [
        {
            "client_order_id": r.client_order_id,
            "exchange_order_id": r.exchange_order_id,
            "symbol": r.symbol,
            "side": r.side.value,
            "status": r.status.value,
            "price": plain_decimal(r.price),
            "quantity": plain_decimal(r.quantity),
            "filled_quantity": plain_decimal(r.filled_quantity),
            "created_at": _ms_ts(r.created_ms),
            "age_s": round(r.age_ms(now_ms) / 1000, 3),
            "ttl_seconds": r.ttl_seconds,
            "run_id": r.run_id,
        }
        for r in db.open_orders
    ]
    m = db.metrics
    doc["metrics"] = {
        "reconcile_lag_ms": _dist_json(m.reconcile_lag_ms),
        "order_submit_latency_ms": _dist_json(m.order_submit_latency_ms),
        "invalid_best_bid_count": m.invalid_best_bid_count,
        "stale_market_data_rate": m.stale_market_data_rate,
        "stale_blocks": m.stale_blocks,
        "symbol_cycles": m.symbol_cycles,
        "cycle_duration_ms": _dist_json(m.cycle_duration_ms),
        "update_to_order_ms": _dist_json(m.update_to_order_ms),
    }
    return doc


def status_json(report: StatusReport, *, indent: int | None = 2) -> str:
    return json.dumps(status_dict(report), indent=indent, sort_keys=False)


# ----- terminal -----------------------------------------------------------------------------------


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return _NONE
    return f"{max(0.0, (now - then).total_seconds()):.0f} s ago"


def _instance_text(report: StatusReport) -> Text:
    i = report.instance
    now = report.generated_at
    if i.running:
        head = Text.assemble(("RUNNING", "bold green"), f"  PID {i.pid if i.pid is not None else '?'}")
        if report.db is None:
            return head
        if i.run_id is None:
            return head.append("  (starting: no cycle recorded yet)")
        uptime = i.uptime_s(now)
        up = _NONE if uptime is None else str(timedelta(seconds=round(uptime)))
        return head.append(
            f"  run {i.run_id}  up {up}  cycles {i.cycles}  mode {i.mode}  last cycle {_ago(i.last_cycle_at, now)}"
        )
    head = Text("not running", style="bold")
    if report.db is None:
        return head
    if i.run_id is None:
        return head.append("  (no cycle recorded in this DB)")
    if i.ended_at is None:
        return head.append(
            f"  last run {i.run_id}: {i.cycles} cycle(s), last at {_iso(i.last_cycle_at)}, "
            "ended without a run record (killed?)"
        )
    return head.append(f"  last run {i.run_id}: {i.cycles} cycle(s), ended {_iso(i.ended_at)}, exit_code={i.exit_code}")


def _cycles_table(report: StatusReport) -> Table:
    t = Table(title="last cycles (newest first)", title_justify="left", box=None, padding=(0, 2))
    for name in ("started (UTC)", "cycle", "mode", "cycle ms", "update→order ms", "reconcile lag ms"):
        t.add_column(name, justify="right" if name.endswith("ms") or name == "cycle" else "left", no_wrap=True)
    t.add_column("reasons", overflow="fold")  # last and folded: a reason code is never cut short
    for c in report.db.last_cycles if report.db else ():
        reasons = " ".join(f"{s}={code}" for s, code in c.reasons) or c.outcome_reason_code
        t.add_row(
            c.started_at.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3],
            str(c.cycle_id),
            c.mode,
            _num(c.duration_ms),
            _num(c.update_to_order_ms),
            _num(c.reconcile_lag_ms),
            reasons,
        )
    return t


def _orders_table(report: StatusReport) -> Table:
    t = Table(title="this bot's open orders", title_justify="left", box=None, padding=(0, 2))
    for name in ("client order id", "symbol", "side", "status", "price", "quantity", "filled", "age s"):
        t.add_column(name)
    now_ms = int(report.generated_at.timestamp() * 1000)
    for r in report.db.open_orders if report.db else ():
        style = "bold red" if r.status.value == "UNKNOWN" else ""
        t.add_row(
            r.client_order_id,
            r.symbol,
            r.side.value,
            Text(r.status.value, style=style),
            plain_decimal(r.price),
            plain_decimal(r.quantity),
            plain_decimal(r.filled_quantity),
            f"{r.age_ms(now_ms) / 1000:.0f}",
        )
    return t


def _metrics_table(report: StatusReport) -> Table:
    t = Table(title=f"metrics over the last {report.window}", title_justify="left", box=None, padding=(0, 2))
    for name in ("metric", "samples", "p50", "p95", "max"):
        t.add_column(name, justify="left" if name == "metric" else "right")
    if report.db is None:
        return t
    m = report.db.metrics
    for name, d in (
        ("reconcile_lag_ms", m.reconcile_lag_ms),
        ("order_submit_latency_ms", m.order_submit_latency_ms),
        ("cycle_duration_ms", m.cycle_duration_ms),
        ("update_to_order_ms", m.update_to_order_ms),
    ):
        t.add_row(name, str(d.samples), _num(d.p50), _num(d.p95), _num(d.max))
    t.add_row("invalid_best_bid_count", str(m.invalid_best_bid_count), "", "", "")
    rate = m.stale_market_data_rate
    t.add_row(
        "stale_market_data_rate",
        f"{m.stale_blocks}/{m.symbol_cycles}",
        _num(rate, 4) if rate is not None else _NONE,
        "",
        "",
    )
    return t


def _slo_table(report: StatusReport) -> Table:
    t = Table(title="SLOs (the doctor's checks and thresholds)", title_justify="left", box=None, padding=(0, 2))
    t.add_column("check")
    t.add_column("status")
    t.add_column("reason")
    for c in report.slos:
        t.add_row(c.name, Text(c.status.value, style=_STATUS_STYLE.get(c.status, "")), c.reason)
    return t


def _alerts_table(report: StatusReport) -> RenderableType:
    if not report.alerts:
        return Text("open alerts: none", style="green")
    t = Table(title="open alerts", title_justify="left", box=None, padding=(0, 2))
    for name in ("severity", "kind", "count", "last seen (UTC)", "message"):
        t.add_column(name)
    for a in report.alerts:
        t.add_row(
            Text(a.severity.label, style=_SEVERITY_STYLE.get(a.severity, "")),
            a.kind,
            str(a.count),
            utc_iso(a.last_seen),
            a.message,
        )
    return t


def status_renderable(report: StatusReport) -> RenderableType:
    title = Text.assemble(
        ("btcbot status", "bold"),
        f"  {utc_iso(report.generated_at)}  DB {report.state_db_path}  window {report.window}",
    )
    parts: list[RenderableType] = [title, _instance_text(report)]
    if report.db is None:
        parts.append(Text(f"state DB not readable: {report.db_error}", style="bold red"))
        return Group(*parts)
    parts += [
        Text(""),
        _cycles_table(report),
        Text(""),
        _orders_table(report) if report.db.open_orders else Text("this bot's open orders: none"),
        Text(""),
        _metrics_table(report),
        Text(""),
        _slo_table(report),
        Text(""),
        _alerts_table(report),
    ]
    return Group(*parts)
