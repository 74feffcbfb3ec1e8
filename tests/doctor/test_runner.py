"""The assembled report: order of checks, verdict and exit code, --offline, config errors, JSON schema."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import duckdb
import pytest

from btcbot.doctor.model import CheckResult, DoctorReport, Status, exit_code_for, overall_status
from btcbot.doctor.network import ExchangeFacts
from btcbot.doctor.render import render_json, render_text
from btcbot.doctor.runner import DoctorOptions, run_checks
from btcbot.settings import Settings
from btcbot.testing.waiting import WEDGED_AFTER_S

NAMES = [
    "config",
    "arming",
    "strategy",
    "credentials",
    "db_path",
    "db_schema",
    "instance_lock",
    "intent_journal",
    "log_file",
    "exchange_connectivity",
    "clock_offset",
    "symbols_tradable",
    "min_order_notional",
    "slo_reject_rate",
    "slo_fill_rate",
    "slo_latency_p95_ms",
    "slo_max_drawdown_ratio",
    "unknown_orders",
    "safe_mode_escalations",
    "stale_blocks",
    "overdue_open_orders",
]
OPTS = DoctorOptions("24h", 86400)


def _never_called(settings: Settings) -> ExchangeFacts:
    raise AssertionError("the network must not be consulted")


@pytest.mark.parametrize(
    ("statuses", "expected", "code"),
    [
        ([Status.PASS, Status.SKIP], Status.PASS, 0),
        ([Status.PASS, Status.WARN, Status.SKIP], Status.WARN, 1),
        ([Status.WARN, Status.FAIL, Status.PASS], Status.FAIL, 2),
        ([Status.SKIP], Status.PASS, 0),
    ],
)
def test_verdict_and_exit_code(statuses: list[Status], expected: Status, code: int) -> None:
    checks = [CheckResult(f"c{i}", s, "r", "a") for i, s in enumerate(statuses)]
    assert overall_status(checks) is expected
    assert exit_code_for(expected) == code


def test_offline_skips_network_and_never_passes_it(make_settings: Callable[..., Settings]) -> None:
    report = run_checks(make_settings(), None, DoctorOptions("24h", 86400, offline=True), probe=_never_called)
    assert [c.name for c in report.checks] == NAMES
    net = [c for c in report.checks if c.name in NAMES[9:13]]
    assert {c.status for c in net} == {Status.SKIP}
    assert all("--offline" in c.reason for c in net)


def test_config_error_fails_everything_else_skips() -> None:
    report = run_checks(None, "invalid configuration: LIVE_TRADING: invalid value 'maybe'", OPTS, probe=_never_called)
    assert [c.name for c in report.checks] == NAMES
    assert report.checks[0].status is Status.FAIL and "LIVE_TRADING" in report.checks[0].reason
    assert {c.status for c in report.checks[1:]} == {Status.SKIP}
    assert (report.status, report.exit_code) == (Status.FAIL, 2)


def test_fake_probe_results_flow_into_the_report(kit: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(min_order_notional_try="100")
    report = run_checks(settings, None, OPTS, probe=lambda s: kit.facts(offset_ms=4500.0))
    by = {c.name: c for c in report.checks}
    assert by["exchange_connectivity"].status is Status.PASS
    assert by["clock_offset"].status is Status.FAIL
    assert report.exit_code == 2


def test_absent_db_skips_slos_as_reduced_confidence(kit: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(min_order_notional_try="100")
    report = run_checks(settings, None, OPTS, probe=lambda s: kit.facts())
    by = {c.name: c for c in report.checks}
    assert by["db_schema"].status is Status.SKIP
    for name in NAMES[13:]:
        assert by[name].status is Status.SKIP and "reduced confidence" in by[name].reason
    assert report.status is Status.PASS


def test_doctor_reads_while_another_connection_briefly_holds_the_db(
    kit: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(min_order_notional_try="100")
    db = settings.state_db_path.resolve()
    kit.write_db(db, orders=[kit.order_row("u1", status="UNKNOWN", created=kit.now)])
    holder = duckdb.connect(str(db))  # stands in for a flush in progress
    release = threading.Timer(0.2, holder.close)
    release.start()
    try:
        report = run_checks(
            settings, None, DoctorOptions("24h", 86400, reader_timeout_s=WEDGED_AFTER_S), probe=lambda s: kit.facts()
        )
    finally:
        release.join()
    by = {c.name: c for c in report.checks}
    assert by["db_schema"].status is Status.PASS
    assert by["unknown_orders"].status is Status.FAIL


def test_json_schema_is_stable(kit: Any, make_settings: Callable[..., Settings]) -> None:
    report = run_checks(make_settings(), None, OPTS, probe=lambda s: kit.facts())
    doc = json.loads(render_json(report))
    assert set(doc) == {
        "schema_version",
        "doctor_status",
        "exit_code",
        "generated_at",
        "window",
        "window_seconds",
        "offline",
        "counts",
        "checks",
    }
    assert doc["schema_version"] == 1
    assert doc["doctor_status"] in ("PASS", "WARN", "FAIL") and doc["exit_code"] == report.exit_code
    assert set(doc["counts"]) == {"PASS", "WARN", "FAIL", "SKIP"} and sum(doc["counts"].values()) == len(NAMES)
    assert doc["generated_at"].endswith("Z")
    for check in doc["checks"]:
        assert set(check) == {"name", "status", "reason", "action", "details"}
        assert check["status"] in ("PASS", "WARN", "FAIL", "SKIP")
        assert isinstance(check["details"], dict)


def test_text_ends_with_status_line() -> None:
    report = DoctorReport([CheckResult("x", Status.WARN, "why", "do this")], "2026-01-01T00:00:00Z", "1h", 3600, False)
    text = render_text(report)
    assert text.splitlines()[-1] == "doctor_status=WARN"
    assert "WARN  x  why  -> do this" in text


def test_db_busy_beyond_the_retry_budget_warns_and_skips(kit: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(min_order_notional_try="100")
    db = settings.state_db_path.resolve()
    kit.write_db(db)
    holder = duckdb.connect(str(db))  # a writer that does not let go
    try:
        report = run_checks(
            settings, None, DoctorOptions("24h", 86400, reader_timeout_s=0.05), probe=lambda s: kit.facts()
        )
    finally:
        holder.close()
    by = {c.name: c for c in report.checks}
    assert by["db_schema"].status is Status.WARN and "stayed locked" in by["db_schema"].reason
    assert by["unknown_orders"].status is Status.SKIP and "not readable now" in by["unknown_orders"].reason
    assert report.status is Status.WARN
