"""Synthetic state DBs for the report tests, written through the real StateStore."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.storage import StateStore

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@dataclass
class Scenario:
    """Builds a run cycle by cycle; ``write`` flushes it into a DB file."""

    run_id: str = "run-1"
    decisions: list[dict[str, Any]] = field(default_factory=list)
    cycles: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def ts(self, cycle: int, offset_ms: int = 0) -> datetime:
        return T0 + timedelta(seconds=cycle, milliseconds=offset_ms)

    def cycle(
        self,
        cycle_id: int,
        reason: str,
        *,
        symbol: str = "BTCTRY",
        action: str = "none",
        mode: str = "observe",
        age_ms: float | None = 120.0,
        coid: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> str:
        if not any(c["cycle_id"] == cycle_id for c in self.cycles):
            self.cycles.append(
                {
                    "run_id": self.run_id,
                    "cycle_id": cycle_id,
                    "started_at": self.ts(cycle_id),
                    "ended_at": self.ts(cycle_id, 50),
                    "mode": mode,
                    "duration_ms": 50.0,
                    "outcome_reason_code": reason,
                    "trace_id": f"{cycle_id:032x}",
                }
            )
        decision_id = f"{self.run_id}-{cycle_id}-{symbol}-{len(self.decisions)}"
        self.decisions.append(
            {
                "decision_id": decision_id,
                "run_id": self.run_id,
                "cycle_id": cycle_id,
                "ts": self.ts(cycle_id, len(self.decisions) % 10),
                "symbol": symbol,
                "mode": mode,
                "action": action,
                "reason_code": reason,
                "details": json.dumps(details or {}),
                "trace_id": f"{cycle_id:032x}",
                "market_data_age_ms": age_ms,
                "client_order_id": coid,
            }
        )
        return decision_id

    def order(
        self,
        cycle_id: int,
        coid: str,
        status: str,
        *,
        latency_ms: float | None = 80.0,
        filled: str = "0",
        exchange_id: int | None = None,
        decision_id: str | None = None,
    ) -> None:
        self.orders.append(
            {
                "client_order_id": coid,
                "exchange_order_id": exchange_id,
                "run_id": self.run_id,
                "cycle_id": cycle_id,
                "decision_id": decision_id,
                "symbol": "BTCTRY",
                "side": "buy",
                "method": "limit",
                "price": Decimal("2500000.5"),
                "quantity": Decimal("0.00006"),
                "filled_quantity": Decimal(filled),
                "status": status,
                "created_at": self.ts(cycle_id, 1),
                "updated_at": self.ts(cycle_id, 2),
                "submitted_at": self.ts(cycle_id, 1),
                "acked_at": self.ts(cycle_id, 2),
                "submit_latency_ms": latency_ms,
                "ttl_seconds": 30,
                "last_error": None,
            }
        )

    def fill(self, cycle_id: int, coid: str | None, exchange_id: int, trade_id: int) -> None:
        self.fills.append(
            {
                "trade_id": trade_id,
                "exchange_order_id": exchange_id,
                "client_order_id": coid,
                "run_id": self.run_id,
                "symbol": "BTCTRY",
                "side": "buy",
                "price": Decimal("2500000.5"),
                "quantity": Decimal("0.00006"),
                "fee": Decimal("0.15"),
                "tax": Decimal("0.03"),
                "ts": self.ts(cycle_id, 3),
            }
        )

    def alert(self, cycle_id: int, kind: str, severity: str, reason: str, message: str) -> None:
        self.alerts.append(
            {
                "alert_id": f"a-{len(self.alerts)}",
                "run_id": self.run_id,
                "ts": self.ts(cycle_id, 5),
                "severity": severity,
                "kind": kind,
                "reason_code": reason,
                "message": message,
                "details": "{}",
            }
        )

    def write(self, path: Path) -> Path:
        store = StateStore(path)
        store.migrate()
        store.insert(
            "runs",
            [
                {
                    "run_id": self.run_id,
                    "started_at": T0,
                    "ended_at": None,
                    "command": "run",
                    "mode": "observe",
                    "arm_reasons": "arm:dry_run",
                    "pid": 1,
                    "account_scope": "public",
                    "symbols": "BTCTRY",
                    "exit_code": None,
                    "settings_json": json.dumps({"BTCTURK_API_SECRET": "set"}),
                }
            ],
        )
        for table, rows in (
            ("cycles", self.cycles),
            ("decisions", self.decisions),
            ("fills", self.fills),
            ("alerts", self.alerts),
        ):
            if rows:
                store.insert(table, rows)
        for o in self.orders:
            store.upsert_order(o)
        store.close()
        return path


@pytest.fixture
def scenario() -> Scenario:
    return Scenario()


@pytest.fixture
def incident_db(tmp_path: Path) -> Path:
    """A run with ok cycles, a fill, a reject, a stale streak, a safe-mode latch and lock contention."""
    s = Scenario()
    s.cycle(1, "cycle:ok", action="none")
    d2 = s.cycle(2, "order:submitted", action="submit", mode="live", coid="cb-1")
    s.order(2, "cb-1", "FILLED", filled="0.00006", exchange_id=11, decision_id=d2, latency_ms=90.0)
    s.fill(2, "cb-1", 11, 1001)
    s.fill(2, None, 11, 1002)  # a fill the venue reported without our client id: matched by exchange id
    s.cycle(3, "order:rejected", action="submit", mode="live", coid="cb-2")
    s.order(3, "cb-2", "REJECTED", latency_ms=40.0)
    for c in (4, 5, 6):
        s.cycle(c, "market_data:stale", action="block", age_ms=9000.0)
    s.cycle(7, "supervisor:safe_mode", symbol="*", action="escalate", age_ms=None)
    s.alert(7, "safe_mode", "critical", "supervisor:safe_mode", "safe mode latched after 3 stale cycles")
    s.alert(7, "lock_contention", "warning", "storage:lock_contention", "flush retried: DB held by another process")
    s.cycle(8, "arm:safe_mode_latched", action="skip")
    return s.write(tmp_path / "state" / "incident.db")
