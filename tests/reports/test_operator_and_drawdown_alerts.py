"""stage7-alerts: operator clean-ups (``orders cancel-all``) and the doctor's drawdown threshold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from btcbot import reason_codes as rc
from btcbot.reports.alerts import OPERATOR_CLEANUP_KIND, Severity, Thresholds, alerts_exit_code, derive_alerts
from btcbot.reports.records import DecisionRow, StoredAlertRow, Window

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def decision(i: int) -> DecisionRow:
    return DecisionRow(f"d{i}", "r1", i, T0 + timedelta(seconds=i), "BTCTRY", "observe", "none", rc.CYCLE_OK)


def cleanup(i: int, ok: bool, scope: str = "acct1") -> StoredAlertRow:
    return StoredAlertRow(
        alert_id=f"a{i}",
        ts=T0 + timedelta(seconds=i),
        severity="info" if ok else "critical",
        kind=OPERATOR_CLEANUP_KIND,
        reason_code=rc.OPERATOR_CANCEL_ALL if ok else rc.OPERATOR_CANCEL_FAILED,
        message="ok" if ok else "1 order still open",
        run_id=f"op{i}",
        details=json.dumps({"scope": scope}),
    )


def test_a_clean_cancel_all_is_info_and_never_fails_the_exit_code() -> None:
    [alert] = derive_alerts(Window(decisions=(decision(1),), stored_alerts=(cleanup(2, True),)), Thresholds())
    assert (alert.kind, alert.key, alert.severity, alert.open) == (
        OPERATOR_CLEANUP_KIND,
        "scope:acct1",
        Severity.INFO,
        False,
    )
    assert alerts_exit_code([alert]) == 0


def test_orders_left_open_stay_critical_until_a_later_clean_up_of_that_scope_succeeds() -> None:
    left = Window(decisions=(decision(1),), stored_alerts=(cleanup(2, False),))
    [alert] = derive_alerts(left, Thresholds())
    assert alert.severity is Severity.CRITICAL and alert.open and alerts_exit_code([alert]) == 2
    fixed = Window(decisions=(decision(1),), stored_alerts=(cleanup(2, False), cleanup(3, True)))
    [alert] = derive_alerts(fixed, Thresholds())
    assert alert.severity is Severity.CRITICAL and not alert.open and alert.count == 2  # worst seen, now resolved
    assert alerts_exit_code([alert]) == 0
    other_scope = Window(decisions=(decision(1),), stored_alerts=(cleanup(2, False), cleanup(3, True, scope="b")))
    assert alerts_exit_code(derive_alerts(other_scope, Thresholds())) == 2


def _equity(*values: float) -> tuple[tuple[datetime, float], ...]:
    return tuple((T0 + timedelta(seconds=i), v) for i, v in enumerate(values))


def test_drawdown_beyond_the_doctor_threshold_is_critical() -> None:
    window = Window(decisions=(decision(1),), equity=_equity(100.0, 120.0, 108.0))
    [alert] = derive_alerts(window, Thresholds(max_drawdown_ratio=Decimal("0.05")))
    assert (alert.kind, alert.severity, alert.reason_code, alert.open) == (
        "drawdown_breach",
        Severity.CRITICAL,
        rc.SLO_MAX_DRAWDOWN,
        True,
    )
    assert "max drawdown 0.1 " in alert.message and alert.last_seen == T0 + timedelta(seconds=2)
    assert derive_alerts(window, Thresholds(max_drawdown_ratio=Decimal("0.1"))) == []  # at the limit: PASS


def test_one_snapshot_or_a_flat_curve_raises_nothing() -> None:
    for equity in (_equity(100.0), _equity(100.0, 100.0, 100.0), ()):
        assert derive_alerts(Window(decisions=(decision(1),), equity=equity), Thresholds()) == []
