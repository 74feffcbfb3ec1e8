"""The alert derivations as pure functions on rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from btcbot.reports.alerts import (
    Severity,
    Signal,
    Thresholds,
    alerts_exit_code,
    deduplicate,
    derive_alerts,
    latency_signals,
    reject_spike_signals,
    stale_streak_signals,
)
from btcbot.reports.records import DecisionRow, OrderRow, StoredAlertRow, Window

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def d(cycle: int, reason: str, symbol: str = "BTCTRY", run: str = "r1", coid: str | None = None) -> DecisionRow:
    return DecisionRow(
        decision_id=f"{run}-{cycle}-{symbol}",
        run_id=run,
        cycle_id=cycle,
        ts=T0 + timedelta(seconds=cycle),
        symbol=symbol,
        mode="observe",
        action="none",
        reason_code=reason,
        client_order_id=coid,
    )


def o(coid: str, status: str, latency: float | None = 50.0, cycle: int = 1) -> OrderRow:
    ts = T0 + timedelta(seconds=cycle)
    return OrderRow(
        client_order_id=coid,
        run_id="r1",
        cycle_id=cycle,
        symbol="BTCTRY",
        side="buy",
        status=status,
        created_at=ts,
        updated_at=ts,
        ttl_seconds=30,
        submit_latency_ms=latency,
    )


def test_stale_streak_below_threshold_is_info_and_closed_when_data_recovers() -> None:
    rows = [d(1, "market_data:stale"), d(2, "market_data:stale"), d(3, "cycle:ok")]
    [alert] = deduplicate(stale_streak_signals(rows, threshold=3))
    assert (alert.kind, alert.key, alert.severity, alert.count, alert.open) == (
        "stale_streak",
        "BTCTRY",
        Severity.INFO,
        2,
        False,
    )
    assert (alert.first_seen, alert.last_seen) == (rows[0].ts, rows[1].ts)


def test_stale_streak_at_threshold_is_a_warning_and_open_while_it_lasts() -> None:
    rows = [d(1, "cycle:ok"), *(d(c, "market_data:stale") for c in (2, 3, 4))]
    [alert] = deduplicate(stale_streak_signals(rows, threshold=3))
    assert alert.severity is Severity.WARNING and alert.open and alert.count == 3
    assert "3 consecutive" in alert.message


def test_stale_streaks_are_per_symbol_and_interrupted_streaks_do_not_add_up_to_a_warning() -> None:
    rows = [
        d(1, "market_data:stale"),
        d(1, "market_data:stale", symbol="ETHTRY"),
        d(2, "cycle:ok"),
        d(2, "market_data:stale", symbol="ETHTRY"),
        d(3, "market_data:stale"),
        d(3, "market_data:stale", symbol="ETHTRY"),
    ]
    alerts = {a.key: a for a in deduplicate(stale_streak_signals(rows, threshold=3))}
    assert alerts["BTCTRY"].severity is Severity.INFO and alerts["BTCTRY"].count == 2
    assert alerts["ETHTRY"].severity is Severity.WARNING and alerts["ETHTRY"].count == 3


def test_reject_spike_needs_enough_orders_and_a_rate_above_the_threshold() -> None:
    th = Thresholds(max_reject_rate=Decimal("0.2"), reject_spike_min_orders=3)
    assert reject_spike_signals([o("a", "REJECTED"), o("b", "FILLED")], th) == []  # too few orders
    assert reject_spike_signals([o("a", "REJECTED"), *(o(f"f{i}", "FILLED") for i in range(5))], th) == []  # 1/6
    some = deduplicate(reject_spike_signals([o("a", "REJECTED"), o("b", "FILLED"), o("c", "OPEN")], th))
    assert [(a.kind, a.severity, a.count) for a in some] == [("reject_spike", Severity.WARNING, 1)]
    every = deduplicate(reject_spike_signals([o(c, "REJECTED") for c in "abc"], th))
    assert [(a.severity, a.count) for a in every] == [(Severity.CRITICAL, 3)]


def test_orders_never_sent_do_not_count_towards_rejects() -> None:
    th = Thresholds(reject_spike_min_orders=3)
    assert reject_spike_signals([o("a", "REJECTED"), o("b", "NOT_SENT"), o("c", "INTENT")], th) == []


def test_latency_breach_compares_p95_to_the_doctor_threshold() -> None:
    th = Thresholds(max_latency_p95_ms=Decimal("1000"))
    fast = [o(str(i), "FILLED", latency=100.0 + i) for i in range(20)]
    assert latency_signals(fast, th) == []
    slow = [*fast[:18], o("s1", "FILLED", latency=2500.0), o("s2", "FILLED", latency=3000.0)]
    [alert] = deduplicate(latency_signals(slow, th))
    assert alert.kind == "latency_breach" and alert.count == 2 and alert.severity is Severity.WARNING
    assert "DOCTOR_MAX_LATENCY_P95_MS 1000" in alert.message


def test_unknown_orders_open_are_critical_and_resolved_ones_are_warnings() -> None:
    window = Window(
        decisions=(d(1, "order:unknown", coid="cb-1"), d(2, "order:unknown", coid="cb-2")),
        unresolved_orders=(o("cb-2", "UNKNOWN"),),
    )
    alerts = {a.key: a for a in derive_alerts(window, Thresholds())}
    assert alerts["cb-2"].severity is Severity.CRITICAL and alerts["cb-2"].open
    assert alerts["cb-1"].severity is Severity.WARNING and not alerts["cb-1"].open
    assert alerts_exit_code(alerts.values()) == 2


def test_a_stored_unknown_order_alert_defers_to_the_order_state() -> None:
    stored = StoredAlertRow(
        "a1",
        T0,
        "warning",
        "unknown_order",
        "order:unknown",
        "submit outcome unknown",
        "r1",
        '{"client_order_id": "cb-1"}',
    )
    window = Window(decisions=(d(1, "order:unknown", coid="cb-1"),), stored_alerts=(stored,))
    [alert] = derive_alerts(window, Thresholds())
    assert (alert.key, alert.severity, alert.open) == ("cb-1", Severity.WARNING, False)
    still = Window(decisions=window.decisions, stored_alerts=(stored,), unresolved_orders=(o("cb-1", "UNKNOWN"),))
    [alert] = derive_alerts(still, Thresholds())
    assert (alert.key, alert.severity, alert.open) == ("cb-1", Severity.CRITICAL, True)


def test_safe_mode_decision_and_stored_alert_fold_into_one_critical_alert() -> None:
    stored = StoredAlertRow("a1", T0 + timedelta(seconds=5), "critical", "safe_mode", "supervisor:safe_mode", "x", "r1")
    window = Window(decisions=(d(4, "supervisor:safe_mode", symbol="*"),), stored_alerts=(stored,))
    [alert] = derive_alerts(window, Thresholds())
    # The stored alert is the same latch as the decision: it extends last_seen but is not a second event.
    assert (alert.kind, alert.key, alert.severity, alert.count) == ("safe_mode", "r1", Severity.CRITICAL, 1)
    assert alert.first_seen == T0 + timedelta(seconds=4) and alert.last_seen == T0 + timedelta(seconds=5)


def test_orphans_restarts_and_lock_contention() -> None:
    lock = StoredAlertRow("a1", T0, "warning", "lock_contention", "storage:lock", "held", "r1")
    orphans = tuple(
        StoredAlertRow(
            f"o{i}",
            T0,
            "warning",
            "orphan_order",
            "reconcile:orphan_found",
            "adopted",
            "r1",
            f'{{"client_order_id": "{c}"}}',
        )
        for i, c in enumerate(("cb-x", "cb-y"))
    )
    window = Window(
        decisions=(
            d(1, "reconcile:orphan_found", coid="cb-x"),
            d(2, "supervisor:actor_restarted", symbol="*"),
        ),
        stored_alerts=(lock, *orphans),
    )
    alerts = derive_alerts(window, Thresholds())
    assert {a.kind: a.severity for a in alerts} == {
        "orphan_order": Severity.WARNING,
        "actor_failure": Severity.WARNING,
        "lock_contention": Severity.WARNING,
    }
    # One line per orphaned order: the decision and the stored alert about cb-x fold into one (two sightings).
    assert sorted((a.key, a.count) for a in alerts if a.kind == "orphan_order") == [("cb-x", 2), ("cb-y", 1)]


def test_dedup_keeps_the_worst_severity_first_and_last_seen_and_sorts_critical_first() -> None:
    sig = [
        Signal("k", "x", Severity.INFO, T0 + timedelta(seconds=3), "a:b", "later"),
        Signal("k", "x", Severity.WARNING, T0 + timedelta(seconds=1), "a:c", "worse"),
        Signal("z", "y", Severity.CRITICAL, T0 + timedelta(seconds=2), "a:d", "crit"),
    ]
    first, second = deduplicate(sig)
    assert first.kind == "z"
    assert (second.severity, second.count, second.first_seen, second.last_seen) == (
        Severity.WARNING,
        2,
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=3),
    )


def test_exit_code_ignores_resolved_alerts_and_info() -> None:
    def alert(sev: Severity, is_open: bool) -> Signal:
        return Signal(f"k{sev}{is_open}", "x", sev, T0, "a:b", "m", open=is_open)

    assert alerts_exit_code([]) == 0
    assert alerts_exit_code(deduplicate([alert(Severity.INFO, True)])) == 0
    assert alerts_exit_code(deduplicate([alert(Severity.CRITICAL, False), alert(Severity.WARNING, True)])) == 1
    assert alerts_exit_code(deduplicate([alert(Severity.CRITICAL, True)])) == 2


def test_a_state_writer_failing_on_a_busy_db_is_reported_as_lock_contention() -> None:
    busy = DecisionRow(
        decision_id="r1:5:*:x", run_id="r1", cycle_id=5, ts=T0, symbol="*", mode="observe", action="escalate",
        reason_code="supervisor:safe_mode",
        details=json.dumps({
            "cause": "actor_failure:state_writer",
            "detail": "StateStoreBusy: state DB /x.db stayed locked by another process for 5.0s",
        }),
    )  # fmt: skip
    other = DecisionRow(
        decision_id="r2:5:*:x", run_id="r2", cycle_id=5, ts=T0, symbol="*", mode="observe", action="escalate",
        reason_code="supervisor:safe_mode", details=json.dumps({"cause": "stale_market_data", "detail": "3 cycles"}),
    )  # fmt: skip
    alerts = {(a.kind, a.key): a for a in derive_alerts(Window(decisions=(busy, other)), Thresholds())}
    assert alerts[("lock_contention", "r1")].severity is Severity.WARNING
    assert ("lock_contention", "r2") not in alerts
    assert "actor_failure:state_writer" in alerts[("safe_mode", "r1")].message
