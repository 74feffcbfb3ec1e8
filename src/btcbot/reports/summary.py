"""``stage7-report``: the per-cycle table and its summary, computed from rows (no I/O here)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from btcbot import reason_codes as rc
from btcbot.reports.records import DecisionRow, OrderRow, Window

SAFE_MODE_CODES = frozenset({rc.SUPERVISOR_SAFE_MODE})
# A cycle counts as a kill-switch cycle when any of its records was shaped by the kill switch.
KILL_SWITCH_CODES = frozenset({rc.ARM_KILL_SWITCH, rc.RISK_KILL_SWITCH, rc.KILL_SWITCH_CANCEL, rc.KILL_SWITCH_IDLE})


@dataclass(frozen=True, slots=True)
class ReportRow:
    ts: str
    run_id: str
    cycle_id: int
    mode: str
    symbol: str
    action: str
    reason_code: str
    orders: str
    market_data_age_ms: float | None
    submit_latency_ms: float | None
    cycle_ms: float | None


@dataclass(frozen=True, slots=True)
class Summary:
    decisions: int
    cycles: int
    first_ts: str | None
    last_ts: str | None
    by_reason_code: dict[str, int]
    orders_sent: int
    orders_rejected: int
    orders_filled: int
    orders_unknown: int
    reject_rate: float | None
    fill_rate: float | None
    submit_latency_p50_ms: float | None
    submit_latency_p95_ms: float | None
    market_data_age_p95_ms: float | None
    safe_mode_events: int
    kill_switch_cycles: int


@dataclass(frozen=True, slots=True)
class Report:
    rows: tuple[ReportRow, ...]
    summary: Summary


def utc_iso(ts: datetime) -> str:
    """DuckDB hands TIMESTAMPTZ back in the session's zone; reports always speak UTC."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure reported is one that was observed)."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(data)))
    return data[rank - 1]


def order_is_rejected(order: OrderRow) -> bool:
    return order.status == "REJECTED"


def order_is_filled(order: OrderRow) -> bool:
    return order.filled_quantity > 0 or order.status in ("FILLED", "PARTIAL")


def _orders_for(
    decision: DecisionRow, by_coid: dict[str, OrderRow], by_decision: dict[str, list[OrderRow]]
) -> list[OrderRow]:
    found = list(by_decision.get(decision.decision_id, ()))
    if decision.client_order_id and decision.client_order_id in by_coid:
        order = by_coid[decision.client_order_id]
        if order not in found:
            found.append(order)
    return found


def _describe_orders(orders: Sequence[OrderRow]) -> str:
    return ",".join(f"{o.side}:{o.status}" for o in orders) if orders else "-"


def build_report(window: Window) -> Report:
    by_coid = {o.client_order_id: o for o in window.orders}
    by_decision: dict[str, list[OrderRow]] = {}
    for o in window.orders:
        if o.decision_id:
            by_decision.setdefault(o.decision_id, []).append(o)
    cycle_ms = {(c.run_id, c.cycle_id): c.duration_ms for c in window.cycles}

    rows: list[ReportRow] = []
    for d in window.decisions:
        orders = _orders_for(d, by_coid, by_decision)
        latencies = [o.submit_latency_ms for o in orders if o.submit_latency_ms is not None]
        rows.append(
            ReportRow(
                ts=utc_iso(d.ts),
                run_id=d.run_id,
                cycle_id=d.cycle_id,
                mode=d.mode,
                symbol=d.symbol,
                action=d.action,
                reason_code=d.reason_code,
                orders=_describe_orders(orders),
                market_data_age_ms=d.market_data_age_ms,
                submit_latency_ms=max(latencies) if latencies else None,
                cycle_ms=cycle_ms.get((d.run_id, d.cycle_id)),
            )
        )
    return Report(rows=tuple(rows), summary=summarize(window))


def summarize(window: Window) -> Summary:
    decisions = window.decisions
    sent = [o for o in window.orders if o.sent]
    rejected = sum(1 for o in sent if order_is_rejected(o))
    filled = sum(1 for o in sent if order_is_filled(o))
    latencies = [o.submit_latency_ms for o in sent if o.submit_latency_ms is not None]
    ages = [d.market_data_age_ms for d in decisions if d.market_data_age_ms is not None]
    kill_cycles = {(d.run_id, d.cycle_id) for d in decisions if d.reason_code in KILL_SWITCH_CODES}
    counts = Counter(d.reason_code for d in decisions)
    return Summary(
        decisions=len(decisions),
        cycles=len({(d.run_id, d.cycle_id) for d in decisions}),
        first_ts=utc_iso(decisions[0].ts) if decisions else None,
        last_ts=utc_iso(decisions[-1].ts) if decisions else None,
        by_reason_code=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        orders_sent=len(sent),
        orders_rejected=rejected,
        orders_filled=filled,
        orders_unknown=sum(1 for o in sent if o.status == "UNKNOWN"),
        # No sent orders means no evidence, so the rate is unknown (None), never a reassuring 0.
        reject_rate=rejected / len(sent) if sent else None,
        fill_rate=filled / len(sent) if sent else None,
        submit_latency_p50_ms=percentile(latencies, 50),
        submit_latency_p95_ms=percentile(latencies, 95),
        market_data_age_p95_ms=percentile(ages, 95),
        safe_mode_events=sum(1 for d in decisions if d.reason_code in SAFE_MODE_CODES),
        kill_switch_cycles=len(kill_cycles),
    )
