"""SLO and lifecycle checks from a DB written by StateStore: each status, and no data never PASSes."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from btcbot.doctor.model import Status
from btcbot.doctor.slo import DbFacts, collect_db_facts, db_checks, max_drawdown
from btcbot.settings import Settings
from btcbot.storage import open_reader

DAY = 86400


def _facts(db: Path, kit: Any, window: int = DAY) -> DbFacts:
    with open_reader(db) as con:
        return collect_db_facts(con, now=kit.now, window_seconds=window, ttl_grace_seconds=25.0)


def _by_name(checks: list[Any]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_empty_db_warns_reduced_confidence_never_pass(
    tmp_path: Path, kit: Any, make_settings: Callable[..., Settings]
) -> None:
    db = tmp_path / "state.db"
    kit.write_db(db)
    checks = _by_name(db_checks(_facts(db, kit), make_settings(), "24h"))
    for name in ("slo_reject_rate", "slo_fill_rate", "slo_latency_p95_ms", "slo_max_drawdown_ratio"):
        assert checks[name].status is Status.WARN, name
        assert "reduced confidence" in checks[name].reason
    for name in ("unknown_orders", "safe_mode_escalations", "stale_blocks", "overdue_open_orders"):
        assert checks[name].status is Status.PASS, name


def test_no_order_evidence_points_at_the_canary_not_at_a_dry_run(
    tmp_path: Path, kit: Any, make_settings: Callable[..., Settings]
) -> None:
    """A dry run sends nothing, so a hint to run one for order SLOs would leave the same WARN after it was followed."""
    db = tmp_path / "state.db"
    kit.write_db(db)
    checks = _by_name(db_checks(_facts(db, kit), make_settings(), "24h"))
    for name in ("slo_reject_rate", "slo_fill_rate", "slo_latency_p95_ms"):
        assert "btcbot canary once" in checks[name].action and "dry-run" not in checks[name].action, name
    assert "dry-run loop" in checks["slo_max_drawdown_ratio"].action  # balance snapshots do come from a dry run


def test_healthy_history_passes(tmp_path: Path, kit: Any, make_settings: Callable[..., Settings]) -> None:
    db = tmp_path / "state.db"
    orders = [
        kit.order_row(
            f"c{i}",
            status="FILLED",
            created=kit.minutes_ago(10 + i),
            submit_latency_ms=100.0 + i,
            filled_quantity=Decimal("0.00006"),
        )
        for i in range(9)
    ] + [kit.order_row("c9", status="CANCELLED", created=kit.minutes_ago(30), submit_latency_ms=120.0)]
    balances = [r for i in range(5) for r in kit.balance_rows(i, kit.minutes_ago(50 - i), "1000000", "1")]
    fills = [
        {
            "trade_id": 1,
            "exchange_order_id": 1,
            "client_order_id": "c0",
            "run_id": "r1",
            "symbol": "BTCTRY",
            "side": "buy",
            "price": Decimal("2500000"),
            "quantity": Decimal("0.00006"),
            "fee": Decimal("0"),
            "tax": Decimal("0"),
            "ts": kit.minutes_ago(55),
        }
    ]
    kit.write_db(db, orders=orders, balances=balances, fills=fills)
    facts = _facts(db, kit)
    assert (facts.sent_orders, facts.rejected_orders, facts.filled_orders) == (10, 0, 9)
    assert facts.equity_points == 5 and facts.max_drawdown_ratio == 0.0
    checks = _by_name(db_checks(facts, make_settings(doctor_min_fill_rate="0.5"), "24h"))
    assert {c.status for c in checks.values()} == {Status.PASS}
    assert "fill_rate=0.9" in checks["slo_fill_rate"].reason


def test_breaches_fail(tmp_path: Path, kit: Any, make_settings: Callable[..., Settings]) -> None:
    db = tmp_path / "state.db"
    orders = [
        kit.order_row(f"r{i}", status="REJECTED", created=kit.minutes_ago(5), submit_latency_ms=3000.0)
        for i in range(3)
    ] + [kit.order_row("u1", status="UNKNOWN", created=kit.minutes_ago(5), submit_latency_ms=2500.0)]
    # Equity falls from 1,000,000 + 1 BTC@2.5M to 3.0M total: a 14% drawdown.
    balances = kit.balance_rows(1, kit.minutes_ago(20), "1000000", "1") + kit.balance_rows(
        2, kit.minutes_ago(10), "500000", "1"
    )
    fills = [
        {
            "trade_id": 1,
            "exchange_order_id": 1,
            "client_order_id": None,
            "run_id": "r1",
            "symbol": "BTCTRY",
            "side": "sell",
            "price": Decimal("2500000"),
            "quantity": Decimal("0.0001"),
            "fee": Decimal("0"),
            "tax": Decimal("0"),
            "ts": kit.minutes_ago(30),
        }
    ]
    kit.write_db(db, orders=orders, balances=balances, fills=fills)
    facts = _facts(db, kit)
    assert facts.max_drawdown_ratio is not None and abs(facts.max_drawdown_ratio - 500000 / 3500000) < 1e-9
    checks = _by_name(db_checks(facts, make_settings(doctor_min_fill_rate="0.1"), "24h"))
    for name in ("slo_reject_rate", "slo_fill_rate", "slo_latency_p95_ms", "slo_max_drawdown_ratio", "unknown_orders"):
        assert checks[name].status is Status.FAIL, name
    assert "u1" in checks["unknown_orders"].reason


def test_window_excludes_old_evidence(tmp_path: Path, kit: Any, make_settings: Callable[..., Settings]) -> None:
    db = tmp_path / "state.db"
    kit.write_db(db, orders=[kit.order_row("old", status="REJECTED", created=kit.minutes_ago(120))])
    facts = _facts(db, kit, window=3600)
    assert facts.sent_orders == 0
    assert _by_name(db_checks(facts, make_settings(), "1h"))["slo_reject_rate"].status is Status.WARN


def test_safe_mode_stale_and_overdue(tmp_path: Path, kit: Any, make_settings: Callable[..., Settings]) -> None:
    db = tmp_path / "state.db"
    decisions = [kit.decision_row(i, "market_data:stale", kit.minutes_ago(i)) for i in range(3)]
    decisions.append(kit.decision_row(9, "supervisor:safe_mode", kit.minutes_ago(2)))
    orders = [
        kit.order_row("late", status="OPEN", created=kit.minutes_ago(5)),  # ttl 30 s + 25 s grace long gone
        kit.order_row("fresh", status="OPEN", created=kit.minutes_ago(0.5)),
    ]
    kit.write_db(db, orders=orders, decisions=decisions)
    facts = _facts(db, kit)
    assert (facts.stale_blocks, facts.safe_mode_escalations, facts.overdue_open_orders) == (3, 1, ("late",))
    checks = _by_name(db_checks(facts, make_settings(doctor_stale_block_warn_count=3), "24h"))
    assert checks["stale_blocks"].status is Status.WARN
    assert checks["safe_mode_escalations"].status is Status.WARN
    assert checks["overdue_open_orders"].status is Status.FAIL and "late" in checks["overdue_open_orders"].reason
    below = _by_name(db_checks(facts, make_settings(doctor_stale_block_warn_count=4), "24h"))
    assert below["stale_blocks"].status is Status.PASS


def test_max_drawdown_helper() -> None:
    assert max_drawdown([]) is None and max_drawdown([5.0]) is None
    assert max_drawdown([100.0, 120.0, 90.0, 130.0, 117.0]) == 0.25


def test_several_snapshots_in_one_cycle_are_one_equity_point(tmp_path: Path, kit: Any) -> None:
    # A graceful stop's (or the kill switch's) cancel reconciles again inside the last cycle: two more snapshots
    # of the same account under one (run, cycle), one of them written twice at the same instant.
    db = tmp_path / "state.db"
    last = kit.minutes_ago(9)
    balances = (
        kit.balance_rows(1, kit.minutes_ago(20), "1000000", "1")
        + kit.balance_rows(2, kit.minutes_ago(10), "1000000", "1")
        + kit.balance_rows(2, last, "1000000", "1")
        + kit.balance_rows(2, last, "1000000", "1")
        + [{**row, "run_id": "r2"} for row in kit.balance_rows(1, kit.minutes_ago(5), "1000000", "1")]
    )
    kit.write_db(db, balances=balances)
    facts = _facts(db, kit)
    assert facts.equity_points == 3 and facts.max_drawdown_ratio == 0.0


def test_a_cycle_is_valued_at_its_last_snapshot(tmp_path: Path, kit: Any) -> None:
    db = tmp_path / "state.db"
    balances = (
        kit.balance_rows(1, kit.minutes_ago(20), "1000000", "0")
        + kit.balance_rows(2, kit.minutes_ago(10), "1000000", "0")
        + kit.balance_rows(2, kit.minutes_ago(9), "900000", "0")
    )
    kit.write_db(db, balances=balances)
    facts = _facts(db, kit)
    assert facts.equity_points == 2 and facts.max_drawdown_ratio is not None
    assert abs(facts.max_drawdown_ratio - 0.1) < 1e-12
