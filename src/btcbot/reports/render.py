"""Text and JSON renderings of the report and the alerts (what the operator reads at 3 a.m.)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from btcbot.reports.alerts import Alert
from btcbot.reports.summary import Report, utc_iso

REPORT_SCHEMA_VERSION = 1
ALERTS_SCHEMA_VERSION = 1


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _rate(value: float | None) -> str:
    return "n/a (no orders sent)" if value is None else f"{value:.3f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def report_text(report: Report, db_path: str) -> str:
    s = report.summary
    headers = (
        "time (UTC)",
        "cycle",
        "mode",
        "symbol",
        "action",
        "reason_code",
        "orders",
        "md_age_ms",
        "submit_ms",
        "cycle_ms",
    )
    rows = [
        (
            r.ts,
            str(r.cycle_id),
            r.mode,
            r.symbol,
            r.action,
            r.reason_code,
            r.orders,
            _ms(r.market_data_age_ms),
            _ms(r.submit_latency_ms),
            _ms(r.cycle_ms),
        )
        for r in report.rows
    ]
    lines = [f"stage7-report: last {s.decisions} decision record(s) over {s.cycles} cycle(s) from {db_path}"]
    if not report.rows:
        lines.append("no decision records yet (run `btcbot run --dry-run --loop ...` first)")
    else:
        lines += _table(headers, rows)
    lines.append("")
    lines.append("summary")
    lines.append(f"  window            {s.first_ts or '-'} .. {s.last_ts or '-'}")
    lines.append(
        f"  orders            sent={s.orders_sent} rejected={s.orders_rejected} filled={s.orders_filled} "
        f"unknown={s.orders_unknown}"
    )
    lines.append(f"  reject_rate       {_rate(s.reject_rate)}")
    lines.append(f"  fill_rate         {_rate(s.fill_rate)}")
    lines.append(f"  submit latency    p50={_ms(s.submit_latency_p50_ms)} ms  p95={_ms(s.submit_latency_p95_ms)} ms")
    lines.append(f"  market data age   p95={_ms(s.market_data_age_p95_ms)} ms")
    lines.append(f"  safe_mode_events  {s.safe_mode_events}")
    lines.append(f"  kill_switch_cycles {s.kill_switch_cycles}")
    lines.append("  by reason_code")
    for code, n in s.by_reason_code.items():
        lines.append(f"    {code:<36} {n}")
    return "\n".join(lines)


def report_json(report: Report, db_path: str) -> str:
    doc: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "db": db_path,
        "rows": [asdict(r) for r in report.rows],
        "summary": asdict(report.summary),
    }
    return json.dumps(doc, sort_keys=True)


def alerts_text(alerts: Sequence[Alert], decisions: int, db_path: str, exit_code: int) -> str:
    lines = [f"stage7-alerts: {len(alerts)} alert(s) over the last {decisions} decision record(s) from {db_path}"]
    if alerts:
        rows = [
            (
                a.severity.label.upper(),
                "open" if a.open else "resolved",
                a.kind,
                a.key,
                str(a.count),
                utc_iso(a.first_seen),
                utc_iso(a.last_seen),
                a.message,
            )
            for a in alerts
        ]
        lines += _table(("severity", "status", "kind", "key", "count", "first_seen", "last_seen", "message"), rows)
    status = {2: "CRITICAL", 1: "WARNING"}.get(exit_code, "OK")
    lines.append(f"alerts_status={status}")
    return "\n".join(lines)


def alerts_json(alerts: Sequence[Alert], decisions: int, db_path: str, exit_code: int) -> str:
    doc = {
        "schema_version": ALERTS_SCHEMA_VERSION,
        "db": db_path,
        "decisions": decisions,
        "status": {2: "critical", 1: "warning"}.get(exit_code, "ok"),
        "exit_code": exit_code,
        "alerts": [a.as_dict() for a in alerts],
    }
    return json.dumps(doc, sort_keys=True)
