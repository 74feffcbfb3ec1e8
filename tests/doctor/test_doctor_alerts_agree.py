"""Doctor and ``stage7-alerts`` tell the same truth about drawdown on the same DB.

The DB comes from the real runtime against the simulator: a canary whose graceful stop cancels its order
(that path writes several balance snapshots for one cycle), then another run. Doctor once summed those
snapshots and reported a 0.667 drawdown FAIL for a day; now both read one curve, and agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.doctor.model import Status
from btcbot.doctor.runner import DoctorOptions, run_checks
from btcbot.settings import Settings
from btcbot.storage import StateStore, open_reader

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

ARMED = {"LIVE_TRADING": "true", "LIVE_TRADING_ACK": "I_UNDERSTAND", "DRY_RUN": "false", "KILL_SWITCH": "false",
         "SAFE_MODE": "false"}  # fmt: skip


@pytest.fixture
def sim() -> Iterator[Any]:
    from btcbot.sim import Simulator

    with Simulator(seed=3, market_tick_ms=0) as s:  # still: the canary order rests until the stop cancels it
        yield s


def _env(sim: Any, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "BTCTURK_"))}
    env.update(
        {
            "BTCTURK_BASE_URL": sim.rest_url,
            "BTCTURK_WS_URL": sim.ws_url,
            "BTCTURK_API_KEY": sim.api_key,
            "BTCTURK_API_SECRET": sim.api_secret,
            "STATE_DB_PATH": str(db),
            "TRACE_SINK_ENABLED": "false",
            "OTEL_SDK_DISABLED": "true",
            "RECONCILE_MIN_INTERVAL_MS": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }
    )
    return env


def _btcbot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btcbot", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=90
    )


def _verdicts(settings: Settings, env: dict[str, str], cwd: Path) -> tuple[Any, dict[str, Any], int]:
    """Doctor's drawdown check, stage7-alerts' drawdown alert (or None) and stage7-alerts' exit code."""
    report = run_checks(settings, None, DoctorOptions("24h", 86400, offline=True))
    check = next(c for c in report.checks if c.name == "slo_max_drawdown_ratio")
    alerts = _btcbot(env, cwd, "stage7-alerts", "--last", "1000", "--json")
    found = [a for a in json.loads(alerts.stdout)["alerts"] if a["kind"] == "drawdown_breach"]
    return check, (found[0] if found else {}), alerts.returncode


def test_doctor_and_alerts_agree_after_a_stop_time_cancel(sim: Any, tmp_path: Path) -> None:
    db = tmp_path / "var" / "state.db"
    env = _env(sim, db)
    canary = _btcbot(
        {**env, **ARMED, "CANCEL_OPEN_ORDERS_ON_STOP": "true"}, tmp_path,
        "canary", "loop", "--symbol", "BTCTRY", "--notional-try", "150", "--ttl-seconds", "600",
        "--cycle-seconds", "0.3", "--max-cycles", "3",
    )  # fmt: skip
    assert canary.returncode == 0, canary.stdout + canary.stderr
    again = _btcbot(env, tmp_path, "run", "--once", "--dry-run")
    assert again.returncode == 0, again.stdout + again.stderr
    with open_reader(db) as con:
        per_cycle = con.execute(
            "SELECT max(n) FROM (SELECT count(DISTINCT ts) AS n FROM balance_snapshots GROUP BY run_id, cycle_id)"
        ).fetchone()
    assert per_cycle is not None and per_cycle[0] >= 2  # the shape that fooled the doctor is really there

    settings = Settings(state_db_path=db, doctor_max_drawdown_ratio=Decimal("0.05"))
    check, alert, code = _verdicts(settings, env, tmp_path)
    assert check.status is Status.PASS and check.details["value"] == 0.0, check
    assert alert == {} and code == 0

    # A real 10 % fall of the account after that: both see it, with the same figure.
    last_try = Decimal(1_000_000)
    store = StateStore(db)
    store.insert(
        "balance_snapshots",
        [{"run_id": "later", "cycle_id": 1, "ts": datetime.now(UTC), "asset": "TRY", "total": last_try * Decimal("0.9"),
          "free": last_try * Decimal("0.9"), "locked": Decimal(0)}],
    )  # fmt: skip
    store.insert(
        "decisions",
        [{"decision_id": "later:1:BTCTRY", "run_id": "later", "cycle_id": 1, "ts": datetime.now(UTC),
          "symbol": "BTCTRY", "mode": "observe", "action": "none", "reason_code": "cycle:ok", "details": "{}"}],
    )  # fmt: skip
    store.close()
    check, alert, code = _verdicts(settings, env, tmp_path)
    assert check.status is Status.FAIL and abs(check.details["value"] - 0.1) < 1e-9, check
    assert alert["severity"] == "critical" and alert["status"] == "open" and code == 2
    assert f"max drawdown {check.details['value']:.4g}" in alert["message"]
