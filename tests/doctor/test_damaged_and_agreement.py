"""The doctor on a damaged or read-only state DB, and doctor / status / stage7-alerts judging one latency figure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from btcbot.cli import main
from btcbot.commands.reports import current_alerts
from btcbot.commands.status import gather
from btcbot.doctor import local
from btcbot.doctor.model import CheckResult, Status
from btcbot.doctor.runner import DoctorOptions, run_checks
from btcbot.doctor.slo import DB_CHECK_NAMES
from btcbot.reports.db import reader
from btcbot.reports.records import load_window
from btcbot.settings import Settings

OFFLINE = DoctorOptions("24h", 86400, offline=True)


def _history(kit: Any, db: Path, latencies: list[float], *, unknown: bool = False, now: datetime | None = None) -> None:
    """One submit per cycle, a minute apart before ``now``, each order with its submit latency."""
    orders, decisions = [], []
    for i, latency in enumerate(latencies, start=1):
        ts = (now or kit.now) - timedelta(minutes=len(latencies) - i + 1)
        status = "UNKNOWN" if unknown and i == 1 else "CANCELLED"
        orders.append(kit.order_row(f"c{i}", status=status, created=ts, cycle_id=i, submit_latency_ms=latency))
        decisions.append({**kit.decision_row(i, "order:submitted", ts), "client_order_id": f"c{i}"})
    kit.write_db(db, orders=orders, decisions=decisions)


def test_latency_p95_is_one_figure_for_doctor_status_and_alerts(
    kit: Any, make_settings: Callable[..., Settings]
) -> None:
    # Interpolated, this p95 would be 1440 ms (a latency never observed) and PASS, while stage7-alerts' nearest
    # rank saw 1800 ms and raised latency_breach: the same orders, two verdicts.
    settings = make_settings()
    db = settings.state_db_path
    _history(kit, db, [1000.0] * 9 + [1800.0])

    doctor = {c.name: c for c in run_checks(settings, None, OFFLINE, now=kit.now).checks}["slo_latency_p95_ms"]
    with reader(db) as con:
        alerts = current_alerts(settings, db, load_window(con, 50))
    status = gather(settings, "1h", 3600, now=kit.now)
    [status_slo] = [c for c in status.slos if c.name == "slo_latency_p95_ms"]

    assert doctor.status is Status.FAIL and doctor.details["value"] == 1800.0
    assert "latency_p95_ms=1800 over 10 submits" in doctor.reason
    assert [a.kind for a in alerts if a.open] == ["latency_breach"] and "p95 1800 ms" in alerts[0].message
    assert (status_slo.status, status_slo.reason) == (doctor.status, doctor.reason)
    assert status.db is not None and status.db.metrics.order_submit_latency_ms.p95 == 1800.0


def test_latency_below_the_threshold_passes_everywhere(kit: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    _history(kit, settings.state_db_path, [1000.0] * 9 + [1400.0])
    doctor = {c.name: c for c in run_checks(settings, None, OFFLINE, now=kit.now).checks}["slo_latency_p95_ms"]
    with reader(settings.state_db_path) as con:
        alerts = current_alerts(settings, settings.state_db_path, load_window(con, 50))
    assert doctor.status is Status.PASS and doctor.details["value"] == 1400.0
    assert not [a for a in alerts if a.kind == "latency_breach"]


def test_damaged_pages_fail_every_db_check_instead_of_crashing(
    kit: Any, make_settings: Callable[..., Settings], damage_db: Callable[..., None]
) -> None:
    settings = make_settings()
    db = settings.state_db_path
    _history(kit, db, [100.0] * 3)
    damage_db(db, broken="orders", intact="schema_version")
    report = run_checks(settings, None, OFFLINE, now=kit.now)
    by = {c.name: c for c in report.checks}
    assert by["db_schema"].status is Status.PASS
    for name in DB_CHECK_NAMES:
        assert by[name].status is Status.FAIL, name
        assert f"state DB {db} is damaged" in by[name].reason
    assert report.exit_code == 2


def test_the_cli_on_a_damaged_db_exits_2_without_a_traceback(
    kit: Any,
    tmp_path: Path,
    damage_db: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "state.db"
    _history(kit, db, [100.0] * 3, now=datetime.now(UTC))  # the CLI judges the window up to the wall clock
    damage_db(db, broken="orders", intact="schema_version")
    monkeypatch.setenv("STATE_DB_PATH", str(db))
    code = main(["doctor", "--offline"])
    out = capsys.readouterr()
    assert code == 2 and "Traceback" not in out.err, out.out + out.err
    assert out.out.splitlines()[-1] == "doctor_status=FAIL"


def test_a_db_a_run_could_not_write_is_still_judged(
    kit: Any, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only mount or an incident copy: db_path FAILs (a run could not write there) but the file reads fine,
    # so the evidence in it (here an UNKNOWN order) must not be hidden behind SKIPs (status showed those too).
    settings = make_settings()
    _history(kit, settings.state_db_path, [100.0] * 3, unknown=True)
    read_only = CheckResult("db_path", Status.FAIL, "on a read-only filesystem", "use a writable directory")
    monkeypatch.setattr(local, "check_db_path", lambda path: read_only)
    by = {c.name: c for c in run_checks(settings, None, OFFLINE, now=kit.now).checks}
    assert by["db_path"].status is Status.FAIL
    assert by["db_schema"].status is Status.PASS
    assert by["unknown_orders"].status is Status.FAIL and "c1" in by["unknown_orders"].reason
    assert by["slo_latency_p95_ms"].status is Status.PASS
    status = gather(settings, "1h", 3600, now=kit.now + timedelta(seconds=1))
    assert {c.name: c.status for c in status.slos}["unknown_orders"] is Status.FAIL
